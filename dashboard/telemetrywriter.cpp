#include "telemetrywriter.h"

#include <QSqlError>
#include <QSqlQuery>
#include <QStringList>

#include <algorithm>
#include <iterator>
#include <limits>

namespace nightlight {

namespace {

using SampleRow = TelemetryDatabase::SampleRow;
using LedRow = TelemetryDatabase::LedRow;
using DeviceRow = TelemetryDatabase::DeviceRow;
using Loaded = TelemetryDatabase::Loaded;

// SQLite result codes (sqlite3.h) that mean "this file is damaged or not a database": the only
// errors for which a file that DatabaseFile found readable is moved aside. Others leave it alone:
// SQLITE_CANTOPEN (a folder, no permission: nothing says the file is bad), SQLITE_BUSY (another
// program holds a lock), SQLITE_IOERR, SQLITE_FULL, SQLITE_READONLY.
constexpr int SqliteCorrupt = 11;
constexpr int SqliteNotADb = 26;

bool meansCorrupt(const QSqlError &e)
{
    bool ok = false;
    const int code = e.nativeErrorCode().toInt(&ok) & 0xff; // primary code of an extended one
    return ok && (code == SqliteCorrupt || code == SqliteNotADb);
}

QString sqlErrorText(const QSqlError &e)
{
    const QString text = e.text().trimmed();
    return text.isEmpty() ? QStringLiteral("unknown SQLite error") : text;
}

// Reports a failed open or load step: *error the message, *corrupt whether it means the file
// is damaged. Returns false, for `return failed(...)`.
bool failed(const QSqlError &e, QString *error, bool *corrupt)
{
    *corrupt = meansCorrupt(e);
    *error = sqlErrorText(e);
    return false;
}

} // namespace

bool TelemetryWriter::open(const QString &path, qint64 cutoff, Loaded *out, QString *error,
                           bool *corrupt)
{
    m_path = path;
    *corrupt = false;
    if (!openDatabase(error, corrupt) || (out && !load(*out, cutoff, error, corrupt))) {
        close();
        return false;
    }
    QSqlQuery query(db());
    if (query.exec(QStringLiteral("PRAGMA max_page_count")) && query.next())
        m_defaultMaxPageCount = query.value(0).toLongLong();
    if (m_maxPageCount > 0)
        setMaxPageCount(m_maxPageCount);
    return true;
}

qint64 TelemetryWriter::setMaxPageCount(qint64 pages)
{
    m_maxPageCount = pages;
    if (!QSqlDatabase::contains(m_connectionName))
        return 0;
    const qint64 value = pages > 0 ? pages : m_defaultMaxPageCount;
    QSqlQuery query(db());
    if (value <= 0 || !query.exec(QStringLiteral("PRAGMA max_page_count = %1").arg(value)) ||
        !query.next())
        return 0;
    return query.value(0).toLongLong();
}

void TelemetryWriter::close()
{
    // Rows still kept after a failed write are given up; the next open() queues again what
    // the file lacks.
    unwritten -= qsizetype(m_retry.size() + m_retryLed.size());
    m_retry.clear();
    m_retryLed.clear();
    m_retryDevices.clear();
    if (QSqlDatabase::contains(m_connectionName)) {
        {
            QSqlDatabase handle = db();
            handle.close();
        }
        QSqlDatabase::removeDatabase(m_connectionName);
    }
}

QString TelemetryWriter::insert(std::vector<SampleRow> rows, std::vector<LedRow> ledRows,
                                std::vector<DeviceRow> deviceRows)
{
    if (m_retry.empty()) {
        m_retry = std::move(rows);
    } else {
        m_retry.insert(m_retry.end(), std::make_move_iterator(rows.begin()),
                       std::make_move_iterator(rows.end()));
    }
    m_retryLed.insert(m_retryLed.end(), std::make_move_iterator(ledRows.begin()),
                      std::make_move_iterator(ledRows.end()));
    m_retryDevices.insert(m_retryDevices.end(), std::make_move_iterator(deviceRows.begin()),
                          std::make_move_iterator(deviceRows.end()));
    if ((m_retry.empty() && m_retryLed.empty() && m_retryDevices.empty()) ||
        !QSqlDatabase::contains(m_connectionName))
        return QString();
    QSqlDatabase handle = db();
    QString why;
    if (!handle.transaction()) {
        why = sqlErrorText(handle.lastError());
    } else {
        QSqlQuery query(handle);
        query.prepare(QStringLiteral("INSERT INTO samples(device, t, v) VALUES (?, ?, ?)"));
        for (const SampleRow &row : m_retry) {
            query.bindValue(0, row.device);
            query.bindValue(1, row.t);
            query.bindValue(2, row.v);
            if (!query.exec()) {
                why = sqlErrorText(query.lastError());
                break;
            }
        }
        query.finish();
        if (why.isEmpty() && !m_retryLed.empty()) {
            QSqlQuery led(handle);
            led.prepare(QStringLiteral("INSERT INTO led(device, t, led_on) VALUES (?, ?, ?)"));
            for (const LedRow &row : m_retryLed) {
                led.bindValue(0, row.device);
                led.bindValue(1, row.t);
                led.bindValue(2, row.on ? 1 : 0);
                if (!led.exec()) {
                    why = sqlErrorText(led.lastError());
                    break;
                }
            }
            led.finish();
        }
        if (why.isEmpty() && !m_retryDevices.empty()) {
            QSqlQuery device(handle);
            device.prepare(QStringLiteral(
                "INSERT INTO devices(device, seen) VALUES (?, ?) "
                "ON CONFLICT(device) DO UPDATE SET seen = max(seen, excluded.seen)"));
            for (const DeviceRow &row : m_retryDevices) {
                device.bindValue(0, row.device);
                device.bindValue(1, row.seen);
                if (!device.exec()) {
                    why = sqlErrorText(device.lastError());
                    break;
                }
            }
            device.finish();
        }
        if (why.isEmpty() && !handle.commit())
            why = sqlErrorText(handle.lastError());
        if (!why.isEmpty())
            handle.rollback();
    }
    if (!why.isEmpty()) {
        if (m_retryLed.empty()) {
            return QStringLiteral("cannot write %1 samples to %2: %3")
                .arg(m_retry.size())
                .arg(m_path, why);
        }
        return QStringLiteral("cannot write %1 samples and %2 LED changes to %3: %4")
            .arg(m_retry.size())
            .arg(m_retryLed.size())
            .arg(m_path, why);
    }
    unwritten -= qsizetype(m_retry.size() + m_retryLed.size());
    m_retry.clear();
    m_retryLed.clear();
    m_retryDevices.clear();
    return QString();
}

QString TelemetryWriter::forget(const QString &id, bool history)
{
    const auto drop = [&](auto &rows) {
        using Row = typename std::decay_t<decltype(rows)>::value_type;
        const auto kept =
            std::remove_if(rows.begin(), rows.end(), [&](const Row &r) { return r.device == id; });
        const qsizetype dropped = qsizetype(rows.end() - kept);
        rows.erase(kept, rows.end());
        return dropped;
    };
    drop(m_retryDevices);
    if (history)
        unwritten -= drop(m_retry) + drop(m_retryLed);
    if (!QSqlDatabase::contains(m_connectionName))
        return QString();
    QSqlDatabase handle = db();
    QString why;
    if (!handle.transaction()) {
        why = sqlErrorText(handle.lastError());
    } else {
        QStringList statements{QStringLiteral("DELETE FROM devices WHERE device = ?")};
        if (history) {
            statements << QStringLiteral("DELETE FROM samples WHERE device = ?")
                       << QStringLiteral("DELETE FROM led WHERE device = ?");
        }
        for (const QString &sql : std::as_const(statements)) {
            QSqlQuery query(handle);
            query.prepare(sql);
            query.addBindValue(id);
            if (!query.exec()) {
                why = sqlErrorText(query.lastError());
                break;
            }
        }
        if (why.isEmpty() && !handle.commit())
            why = sqlErrorText(handle.lastError());
        if (!why.isEmpty())
            handle.rollback();
    }
    if (why.isEmpty())
        return QString();
    return QStringLiteral("cannot forget device %1 in %2: %3").arg(id, m_path, why);
}

QString TelemetryWriter::deleteBefore(const QString &id, qint64 cutoff)
{
    const auto kept = std::remove_if(m_retry.begin(), m_retry.end(), [&](const SampleRow &r) {
        return r.device == id && r.t < cutoff;
    });
    unwritten -= qsizetype(m_retry.end() - kept);
    m_retry.erase(kept, m_retry.end());
    if (!QSqlDatabase::contains(m_connectionName))
        return QString();
    QSqlQuery query(db());
    query.prepare(QStringLiteral("DELETE FROM samples WHERE device = ? AND t < ?"));
    query.addBindValue(id);
    query.addBindValue(cutoff);
    if (!query.exec()) {
        return QStringLiteral("cannot delete old samples of %1 from %2: %3")
            .arg(id, m_path, sqlErrorText(query.lastError()));
    }
    return QString();
}

QString TelemetryWriter::clipLed(const QString &id, qint64 cutoff, bool carryOn)
{
    const auto kept = std::remove_if(m_retryLed.begin(), m_retryLed.end(), [&](const LedRow &r) {
        return r.device == id && r.t < cutoff;
    });
    unwritten -= qsizetype(m_retryLed.end() - kept);
    m_retryLed.erase(kept, m_retryLed.end());
    if (!QSqlDatabase::contains(m_connectionName))
        return QString();
    const QString why = clipLedRows(db(), id, cutoff, carryOn);
    if (!why.isEmpty()) {
        return QStringLiteral("cannot delete old LED changes of %1 from %2: %3")
            .arg(id, m_path, why);
    }
    return QString();
}

bool TelemetryWriter::openDatabase(QString *error, bool *corrupt)
{
    QSqlDatabase handle = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connectionName);
    handle.setDatabaseName(m_path);
    // Wait this long for another program's lock (a second dashboard flushing) before failing.
    handle.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=2000"));
    if (!handle.open())
        return failed(handle.lastError(), error, corrupt);
    QSqlQuery query(handle);
    // Reading the schema is what fails on a file that is not SQLite ("file is not a database").
    if (!query.exec(QStringLiteral("PRAGMA schema_version")))
        return failed(query.lastError(), error, corrupt);
    query.finish();
    const auto pragma = [&](const QString &name, qint64 *value) {
        if (!query.exec(QStringLiteral("PRAGMA ") + name) || !query.next())
            return failed(query.lastError(), error, corrupt);
        *value = query.value(0).toLongLong();
        query.finish();
        return true;
    };
    // Whose file and which format, before anything is written to it.
    qint64 format = 0;
    qint64 application = 0;
    if (!pragma(QStringLiteral("application_id"), &application) ||
        !pragma(QStringLiteral("user_version"), &format))
        return false;
    if (application != 0 && application != TelemetryDatabase::ApplicationId) {
        *error = QStringLiteral("it is not a Nightlight history file (another program's SQLite "
                                "database, application id 0x%1)")
                     .arg(quint32(application), 8, 16, QLatin1Char('0'));
        return false;
    }
    if (format > TelemetryDatabase::HistoryFormat) {
        *error = QStringLiteral("it was written by a newer Nightlight dashboard (history format "
                                "%1; this one reads formats up to %2): open it with that version, "
                                "or choose another file")
                     .arg(format)
                     .arg(TelemetryDatabase::HistoryFormat);
        return false;
    }
    for (const QString &sql :
         {QStringLiteral("PRAGMA journal_mode=WAL"), QStringLiteral("PRAGMA synchronous=NORMAL")}) {
        if (!query.exec(sql))
            return failed(query.lastError(), error, corrupt);
    }
    if (format == TelemetryDatabase::HistoryFormat && application != 0)
        return true;
    return migrate(format, error, corrupt);
}

// Brings a file of an older format (or a new, empty one) to HistoryFormat in one transaction:
// a file is always wholly one format. Format 0 covers every file written before formats were
// numbered: some have only `samples`, some `led` too, some `devices` too.
bool TelemetryWriter::migrate(qint64 from, QString *error, bool *corrupt)
{
    QSqlQuery query(db());
    const auto fail = [&] {
        failed(query.lastError(), error, corrupt);
        query.exec(QStringLiteral("ROLLBACK"));
        return false;
    };
    if (!query.exec(QStringLiteral("BEGIN IMMEDIATE")))
        return failed(query.lastError(), error, corrupt);
    QStringList statements;
    if (from < 1) {
        // Files from before the devices table: it starts as the devices they hold rows of.
        if (!query.exec(QStringLiteral(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'devices'")))
            return fail();
        const bool hasDevices = query.next();
        query.finish();
        statements = {
            QStringLiteral("CREATE TABLE IF NOT EXISTS samples("
                           "device TEXT NOT NULL, t INTEGER NOT NULL, v REAL NOT NULL)"),
            QStringLiteral("CREATE INDEX IF NOT EXISTS samples_device_t ON samples(device, t)"),
            // Added later: files without it get it here; no other change to the old tables.
            QStringLiteral("CREATE TABLE IF NOT EXISTS led("
                           "device TEXT NOT NULL, t INTEGER NOT NULL, led_on INTEGER NOT NULL)"),
            QStringLiteral("CREATE INDEX IF NOT EXISTS led_device_t ON led(device, t)"),
        };
        if (!hasDevices) {
            // Added for #9: the devices the dashboard lists, with when each was last heard (ms
            // since the epoch, to TelemetryStore's resolution of an hour). A device is here once
            // it sent a reading or a state.
            statements << QStringLiteral("CREATE TABLE devices("
                                         "device TEXT PRIMARY KEY NOT NULL, seen INTEGER NOT NULL)")
                       << QStringLiteral("INSERT OR IGNORE INTO devices(device, seen) "
                                         "SELECT device, MAX(t) FROM samples GROUP BY device")
                       << QStringLiteral("INSERT OR IGNORE INTO devices(device, seen) "
                                         "SELECT device, MAX(t) FROM led GROUP BY device");
        }
    }
    statements << QStringLiteral("PRAGMA application_id = %1").arg(TelemetryDatabase::ApplicationId)
               << QStringLiteral("PRAGMA user_version = %1").arg(TelemetryDatabase::HistoryFormat)
               << QStringLiteral("COMMIT");
    for (const QString &sql : std::as_const(statements)) {
        if (!query.exec(sql))
            return fail();
    }
    return true;
}

bool TelemetryWriter::load(Loaded &loaded, qint64 cutoff, QString *error, bool *corrupt)
{
    if (!loadLed(loaded.led, cutoff, error, corrupt))
        return false;
    QSqlDatabase handle = db();
    auto fail = [&](const QSqlQuery &q) {
        return failed(q.lastError(), error, corrupt);
    };
    // The device ids, by skipping through the (device, t) index: one lookup per device instead
    // of a scan. Reading the id with every row instead costs a QString per row (3 to 5 times
    // slower for a million rows).
    QStringList ids;
    {
        QSqlQuery query(handle);
        query.setForwardOnly(true);
        if (!query.exec(QStringLiteral(
                "WITH RECURSIVE d(id) AS (SELECT MIN(device) FROM samples UNION ALL "
                "SELECT (SELECT MIN(device) FROM samples WHERE device > d.id) FROM d "
                "WHERE d.id IS NOT NULL) SELECT id FROM d WHERE id IS NOT NULL")))
            return fail(query);
        while (query.next())
            ids.append(query.value(0).toString());
        if (query.lastError().isValid())
            return fail(query);
    }
    // Each device's first and last sample: two index lookups, whatever the file holds. The
    // samples themselves are read as they come into view (TelemetryReader).
    QSqlQuery first(handle);
    first.setForwardOnly(true);
    first.prepare(QStringLiteral("SELECT MIN(t) FROM samples WHERE device = ?"));
    QSqlQuery last(handle);
    last.setForwardOnly(true);
    last.prepare(
        QStringLiteral("SELECT t, v FROM samples WHERE device = ? ORDER BY t DESC LIMIT 1"));
    for (const QString &id : std::as_const(ids)) {
        first.addBindValue(id);
        if (!first.exec() || !first.next())
            return fail(first);
        last.addBindValue(id);
        if (!last.exec() || !last.next())
            return fail(last);
        loaded.ranges[id] = {first.value(0).toLongLong(),
                             {last.value(0).toLongLong(), last.value(1).toDouble()}};
        first.finish();
        last.finish();
    }
    {
        // Files of format 1 have no summaries (migration adds them).
        QSqlQuery until(handle);
        until.setForwardOnly(true);
        if (until.exec(QStringLiteral("SELECT tier, until FROM summary_done"))) {
            while (until.next())
                loaded.until[until.value(0).toLongLong()] = until.value(1).toLongLong();
        }
    }
    // The listed devices. One not heard within the retention period with nothing of it left in
    // the file goes, as a device whose samples all expired always did.
    if (cutoff > std::numeric_limits<qint64>::min()) {
        QSqlQuery expire(handle);
        expire.prepare(QStringLiteral(
            "DELETE FROM devices WHERE seen < ? "
            "AND NOT EXISTS (SELECT 1 FROM samples WHERE samples.device = devices.device "
            "AND samples.t >= ?) "
            "AND NOT EXISTS (SELECT 1 FROM led WHERE led.device = devices.device)"));
        expire.addBindValue(cutoff);
        expire.addBindValue(cutoff);
        if (!expire.exec())
            return fail(expire);
    }
    QSqlQuery devices(handle);
    devices.setForwardOnly(true);
    if (!devices.exec(QStringLiteral("SELECT device, seen FROM devices")))
        return fail(devices);
    while (devices.next())
        loaded.devices.emplace(devices.value(0).toString(), devices.value(1).toLongLong());
    if (devices.lastError().isValid())
        return fail(devices);
    return true;
}

bool TelemetryWriter::loadLed(std::map<QString, LedHistory> &out, qint64 cutoff, QString *error,
                              bool *corrupt)
{
    QSqlDatabase handle = db();
    // LED changes are few (a handful a day per device): read them all, in the order they were
    // written among equal times (rowid), then apply the retention here and in the file.
    QSqlQuery query(handle);
    query.setForwardOnly(true);
    if (!query.exec(QStringLiteral("SELECT device, t, led_on FROM led ORDER BY device, t, rowid")))
        return failed(query.lastError(), error, corrupt);
    std::map<QString, std::vector<LedHistory::Change>> rows;
    while (query.next()) {
        rows[query.value(0).toString()].push_back(
            {query.value(1).toLongLong(), query.value(2).toLongLong() != 0});
    }
    if (query.lastError().isValid())
        return failed(query.lastError(), error, corrupt);
    query.finish();
    for (auto &[id, changes] : rows)
        out.emplace(id, LedHistory(std::move(changes)));
    if (cutoff == std::numeric_limits<qint64>::min())
        return true;
    for (auto &[id, changes] : out) {
        bool carried = false;
        if (!changes.clipBefore(cutoff, &carried))
            continue;
        const QString why = clipLedRows(handle, id, cutoff, carried);
        if (!why.isEmpty()) {
            *error = why;
            return false;
        }
    }
    return true;
}

QString TelemetryWriter::clipLedRows(QSqlDatabase handle, const QString &id, qint64 cutoff,
                                     bool carryOn)
{
    if (!handle.transaction())
        return sqlErrorText(handle.lastError());
    QString why;
    {
        QSqlQuery query(handle);
        query.prepare(QStringLiteral("DELETE FROM led WHERE device = ? AND t < ?"));
        query.addBindValue(id);
        query.addBindValue(cutoff);
        if (!query.exec())
            why = sqlErrorText(query.lastError());
        if (why.isEmpty() && carryOn) {
            query.prepare(QStringLiteral("INSERT INTO led(device, t, led_on) VALUES (?, ?, 1)"));
            query.addBindValue(id);
            query.addBindValue(cutoff);
            if (!query.exec())
                why = sqlErrorText(query.lastError());
        }
    }
    if (why.isEmpty() && !handle.commit())
        why = sqlErrorText(handle.lastError());
    if (!why.isEmpty())
        handle.rollback();
    return why;
}

} // namespace nightlight
