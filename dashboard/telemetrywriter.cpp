// Over 600 lines: the history file's schema with its migration from three older layouts and the
// format-2 VACUUM decision, loading, and the writes with their retry buffer (the summaries and
// retention per tier are in telemetrysummaries.cpp).

#include "telemetrywriter.h"

#include "telemetrysql.h"

#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QSqlError>
#include <QSqlQuery>
#include <QStringList>

#include <algorithm>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <utility>

namespace nightlight {

namespace {

Q_LOGGING_CATEGORY(lcWriter, "nightlight.store")

using SampleRow = TelemetryDatabase::SampleRow;
using LedRow = TelemetryDatabase::LedRow;
using DeviceRow = TelemetryDatabase::DeviceRow;
using Loaded = TelemetryDatabase::Loaded;

using namespace telemetrysql;

constexpr auto SummaryTiers = TelemetryDatabase::SummaryTiers;
// Migrating a file to format 2 turns on incremental auto-vacuum, which needs a VACUUM (it
// rewrites the whole file while open() waits: about 1 s for 100 MiB here, docs/chart.md), only
// up to this size; a larger file keeps auto-vacuum off (retention then frees pages for reuse,
// the file does not shrink).
constexpr qint64 VacuumOnMigrateBytes = qint64(64) * 1024 * 1024;

} // namespace

bool TelemetryWriter::open(const QString &path, qint64 cutoff, Loaded *out, QString *error,
                           bool *corrupt)
{
    m_path = path;
    *corrupt = false;
    ++m_generation;
    m_summarizing = false;
    m_retaining = false;
    m_retentionAgain = false;
    if (!openDatabase(error, corrupt) || !loadSummaryState(error, corrupt) ||
        (out && !load(*out, cutoff, error, corrupt))) {
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
    ++m_generation;
    m_summarizing = false;
    m_retaining = false;
    m_until.fill(std::nullopt);
    m_replayBefore = std::numeric_limits<qint64>::min();
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
        // Replays: samples older than a tier's until, whose buckets are rebuilt below. The common
        // case (every row newer) costs one comparison a row.
        std::set<std::pair<QString, qint64>> replayed;
        for (const SampleRow &row : m_retry) {
            if (row.t < m_replayBefore)
                replayed.emplace(row.device, floorTo(row.t, SummaryTiers[0]));
            query.bindValue(0, row.device);
            query.bindValue(1, row.t);
            query.bindValue(2, row.v);
            if (!query.exec()) {
                why = sqlErrorText(query.lastError());
                break;
            }
        }
        query.finish();
        // Each replayed 1-minute bucket again from the raw rows, then the 15-minute buckets they
        // are in from the 1-minute rows, in this transaction: summaries never go stale.
        for (size_t tier = 0; tier < TierCount && why.isEmpty(); ++tier) {
            std::set<std::pair<QString, qint64>> buckets;
            for (const auto &[device, minute] : replayed) {
                if (m_until[tier] && minute < *m_until[tier])
                    buckets.emplace(device, floorTo(minute, SummaryTiers[tier]));
            }
            for (const auto &[device, bucket] : buckets) {
                why = aggregate(tier, bucket, bucket + SummaryTiers[tier], &device);
                if (!why.isEmpty())
                    break;
            }
        }
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
            for (const qint64 tier : SummaryTiers) {
                statements << QStringLiteral("DELETE FROM summary WHERE tier = %1 AND device = ?")
                                  .arg(tier);
            }
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
    if (format == 0 && application == 0) {
        // A new file (or an empty one): incremental auto-vacuum only takes before the first
        // table, and before journal_mode=WAL writes the first page.
        qint64 pages = 0;
        if (!pragma(QStringLiteral("page_count"), &pages))
            return false;
        if (pages == 0 && !query.exec(QStringLiteral("PRAGMA auto_vacuum = INCREMENTAL")))
            return failed(query.lastError(), error, corrupt);
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
    if (from < 2) {
        // Format 2: the summaries (docs/chart.md, "Format 2"), derived data built behind the raw
        // rows by summarizeStep(). Empty here; each tier's until starts at the oldest sample,
        // floored to the tier (the oldest of each device's, by skipping through the index). A
        // file without samples gets no until row: nothing summarised yet.
        statements
            << QStringLiteral(
                   "CREATE TABLE summary(tier INTEGER NOT NULL, device TEXT NOT NULL, t INTEGER "
                   "NOT NULL, "
                   "min REAL NOT NULL, max REAL NOT NULL, first_v REAL NOT NULL, last_v REAL NOT "
                   "NULL, "
                   "sum REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY(tier, device, t)) "
                   "WITHOUT ROWID")
            << QStringLiteral("CREATE TABLE summary_done("
                              "tier INTEGER PRIMARY KEY NOT NULL, until INTEGER NOT NULL)");
        for (const qint64 tier : SummaryTiers) {
            statements << QStringLiteral(
                              "INSERT INTO summary_done(tier, until) SELECT %1, %2 FROM ("
                              "WITH RECURSIVE %3 SELECT MIN((SELECT MIN(t) FROM samples "
                              "WHERE device = d.id)) AS m FROM d WHERE d.id IS NOT NULL) "
                              "WHERE m IS NOT NULL")
                              .arg(tier)
                              .arg(bucketOf(QStringLiteral("m"), tier),
                                   skipScan(QStringLiteral("samples"), QString()));
        }
    }
    statements << QStringLiteral("PRAGMA application_id = %1").arg(TelemetryDatabase::ApplicationId)
               << QStringLiteral("PRAGMA user_version = %1").arg(TelemetryDatabase::HistoryFormat)
               << QStringLiteral("COMMIT");
    for (const QString &sql : std::as_const(statements)) {
        if (!query.exec(sql))
            return fail();
    }
    query.finish();
    if (from >= 2)
        return true;
    // A file made before format 2 (a new one has it already, see openDatabase()): incremental
    // auto-vacuum needs a VACUUM to take, which rewrites the file
    // while open() waits. Only for a small file; a large one keeps auto_vacuum off (said in the
    // log), and its retention frees pages for reuse without shrinking it. Never moved or copied.
    qint64 autoVacuum = 0;
    qint64 pages = 0;
    qint64 pageSize = 0;
    for (auto [name, value] :
         {std::pair{"auto_vacuum", &autoVacuum}, std::pair{"page_count", &pages},
          std::pair{"page_size", &pageSize}}) {
        if (!query.exec(QStringLiteral("PRAGMA ") + QLatin1String(name)) || !query.next())
            return failed(query.lastError(), error, corrupt);
        *value = query.value(0).toLongLong();
        query.finish();
    }
    if (autoVacuum != 0)
        return true;
    if (pages * pageSize > VacuumOnMigrateBytes) {
        qCInfo(lcWriter).noquote()
            << QStringLiteral("%1: %2 MiB, left without incremental auto-vacuum (a VACUUM would "
                              "rewrite it all now); retention will reuse its free pages but not "
                              "shrink it")
                   .arg(m_path)
                   .arg(pages * pageSize / (1024 * 1024));
        return true;
    }
    QElapsedTimer timer;
    timer.start();
    if (!query.exec(QStringLiteral("PRAGMA auto_vacuum = INCREMENTAL")) ||
        !query.exec(QStringLiteral("VACUUM")))
        return failed(query.lastError(), error, corrupt);
    qCInfo(lcWriter).noquote() << QStringLiteral("%1: turned on incremental auto-vacuum (VACUUM of "
                                                 "%2 MiB in %3 ms)")
                                      .arg(m_path)
                                      .arg(pages * pageSize / (1024 * 1024))
                                      .arg(timer.elapsed());
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
    // of a scan (reading the id with every row costs a QString per row, 3 to 5 times slower for
    // a million rows). Devices with raw samples, then those whose raw samples retention has
    // taken and that have summaries left (the file is of format 2 by now: migrate()).
    QStringList ids;
    std::set<QString> seen;
    for (const auto &[table, where] :
         {std::pair{QStringLiteral("samples"), QString()},
          std::pair{QStringLiteral("summary"),
                    QStringLiteral("tier = %1").arg(TelemetryDatabase::SummaryTiers[1])}}) {
        QSqlQuery query(handle);
        query.setForwardOnly(true);
        if (!query.exec(QStringLiteral("WITH RECURSIVE %1 SELECT id FROM d WHERE id IS NOT NULL")
                            .arg(skipScan(table, where))))
            return fail(query);
        while (query.next()) {
            QString id = query.value(0).toString();
            if (seen.insert(id).second)
                ids.append(std::move(id));
        }
        if (query.lastError().isValid())
            return fail(query);
    }
    // Each device's first and last sample: index lookups, whatever the file holds (the oldest
    // of the coarsest summary, where retention took the raw samples before it). The samples
    // themselves are read as they come into view (TelemetryReader).
    QSqlQuery oldest(handle);
    oldest.setForwardOnly(true);
    oldest.prepare(QStringLiteral("SELECT MIN(t) FROM summary WHERE tier = ? AND device = ?"));
    QSqlQuery newest(handle);
    newest.setForwardOnly(true);
    newest.prepare(QStringLiteral("SELECT t, last_v FROM summary WHERE tier = ? AND device = ? "
                                  "ORDER BY t DESC LIMIT 1"));
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
        if (!last.exec())
            return fail(last);
        std::optional<TelemetryDatabase::SampleRange> range;
        if (last.next()) {
            range = TelemetryDatabase::SampleRange{
                first.value(0).toLongLong(),
                {last.value(0).toLongLong(), last.value(1).toDouble()}};
        }
        first.finish();
        last.finish();
        oldest.addBindValue(TelemetryDatabase::SummaryTiers[1]);
        oldest.addBindValue(id);
        if (!oldest.exec() || !oldest.next())
            return fail(oldest);
        if (!oldest.value(0).isNull()) {
            const qint64 t = oldest.value(0).toLongLong();
            if (range) {
                range->first = std::min(range->first, t);
            } else {
                // Only summaries left: the last is the newest 1-minute bucket's last value.
                newest.addBindValue(TelemetryDatabase::SummaryTiers[0]);
                newest.addBindValue(id);
                if (!newest.exec())
                    return fail(newest);
                if (newest.next()) {
                    range = TelemetryDatabase::SampleRange{
                        t, {newest.value(0).toLongLong(), newest.value(1).toDouble()}};
                }
                newest.finish();
            }
        }
        oldest.finish();
        if (range)
            loaded.ranges[id] = *range;
    }
    // Each tier's `until`, as loadSummaryState() read it.
    for (size_t i = 0; i < TierCount; ++i) {
        if (m_until[i])
            loaded.until[SummaryTiers[i]] = *m_until[i];
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
