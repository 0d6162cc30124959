#include "telemetrydatabase.h"

#include "databasefile.h"

#include <QDateTime>
#include <QFile>
#include <QMetaObject>
#include <QObject>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStringList>
#include <QThread>

#include <algorithm>
#include <atomic>
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

// The database side of the store. Lives on the store's writer thread: every member function
// runs there (called through queued or blocking-queued invocations), so the QSqlDatabase
// connection is created, used and removed on that one thread, as Qt SQL requires. Only
// `unwritten` is read from the GUI thread.
class Writer
{
public:
    explicit Writer(QString connectionName) : m_connectionName(std::move(connectionName)) { }

    // Rows handed over (or kept after a failed write) and not yet committed or dropped: samples
    // and LED changes, the backlog that is bounded. Device rows (one per device an hour at most)
    // are not counted.
    std::atomic<qsizetype> unwritten{0};
    // Set by the GUI thread while writing is in trouble: then every successful insert is
    // reported back, so the store can say when it works again.
    std::atomic<bool> reportSuccess{false};

    // Opens (creating if needed) the database at `path`. With `out`, deletes rows older than
    // `cutoff` and loads the rest. On failure closes again, sets *error and whether the failure
    // means the file is not a usable database (*corrupt).
    bool open(const QString &path, qint64 cutoff, Loaded *out, QString *error, bool *corrupt)
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

    // PRAGMA max_page_count on the connection (it is not stored in the file); 0 puts back what
    // SQLite had at open(). Kept for the next open(). Returns the limit now in effect.
    qint64 setMaxPageCount(qint64 pages)
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

    void close()
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

    // Writes `rows`, `ledRows` and `deviceRows`, after those kept from a failed write, in one
    // transaction. On failure keeps them all for the next call and returns the message; empty on
    // success.
    QString insert(std::vector<SampleRow> rows, std::vector<LedRow> ledRows,
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

    // Takes `id` out of the devices table and, with `history`, deletes its samples and LED
    // changes (one transaction; on this thread, so a long history never holds up the GUI). Rows
    // of it kept from a failed write go too (its listing always, its history with `history`).
    QString forget(const QString &id, bool history)
    {
        const auto drop = [&](auto &rows) {
            using Row = typename std::decay_t<decltype(rows)>::value_type;
            const auto kept = std::remove_if(rows.begin(), rows.end(),
                                             [&](const Row &r) { return r.device == id; });
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

    // Deletes the rows of `id` older than `cutoff`, and drops such rows kept for a retry. Returns
    // the message on failure, empty on success.
    QString deleteBefore(const QString &id, qint64 cutoff)
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

    // Deletes the LED changes of `id` before `cutoff` (also those kept for a retry) and, with
    // `carryOn`, records a change to on at the cutoff (see LedHistory::clipBefore). Returns the
    // message on failure, empty on success.
    QString clipLed(const QString &id, qint64 cutoff, bool carryOn)
    {
        const auto kept =
            std::remove_if(m_retryLed.begin(), m_retryLed.end(),
                           [&](const LedRow &r) { return r.device == id && r.t < cutoff; });
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

private:
    QSqlDatabase db() const { return QSqlDatabase::database(m_connectionName, false); }
    bool openDatabase(QString *error, bool *corrupt);
    bool load(Loaded &out, qint64 cutoff, QString *error, bool *corrupt);
    bool loadLed(std::map<QString, LedHistory> &out, qint64 cutoff, QString *error, bool *corrupt);
    // The file side of clipLed(): one transaction; the SQLite error text on failure.
    static QString clipLedRows(QSqlDatabase handle, const QString &id, qint64 cutoff, bool carryOn);

    QString m_connectionName;
    QString m_path;
    qint64 m_maxPageCount = 0; // setMaxPageCount(); 0: SQLite's own
    qint64 m_defaultMaxPageCount = 0; // what SQLite said at open()
    // Rows of a failed write, written first by the next insert().
    std::vector<SampleRow> m_retry;
    std::vector<LedRow> m_retryLed;
    std::vector<DeviceRow> m_retryDevices;
};

std::atomic<quint64> s_connectionCounter{0};

bool Writer::openDatabase(QString *error, bool *corrupt)
{
    QSqlDatabase handle = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connectionName);
    handle.setDatabaseName(m_path);
    // Wait this long for another program's lock (a second dashboard flushing) before failing.
    handle.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=2000"));
    if (!handle.open()) {
        *corrupt = meansCorrupt(handle.lastError());
        *error = sqlErrorText(handle.lastError());
        return false;
    }
    QSqlQuery query(handle);
    // Reading the schema is what fails on a file that is not SQLite ("file is not a database").
    if (!query.exec(QStringLiteral("PRAGMA schema_version"))) {
        *corrupt = meansCorrupt(query.lastError());
        *error = sqlErrorText(query.lastError());
        return false;
    }
    // Files from before the devices table: it starts as the devices they hold rows of.
    bool hasDevices = false;
    if (!query.exec(QStringLiteral(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'devices'"))) {
        *corrupt = meansCorrupt(query.lastError());
        *error = sqlErrorText(query.lastError());
        return false;
    }
    hasDevices = query.next();
    query.finish();
    QStringList statements = {
        QStringLiteral("PRAGMA journal_mode=WAL"),
        QStringLiteral("PRAGMA synchronous=NORMAL"),
        QStringLiteral("CREATE TABLE IF NOT EXISTS samples("
                       "device TEXT NOT NULL, t INTEGER NOT NULL, v REAL NOT NULL)"),
        QStringLiteral("CREATE INDEX IF NOT EXISTS samples_device_t ON samples(device, t)"),
        // Added later: files without it get it here; no other change to the old tables.
        QStringLiteral("CREATE TABLE IF NOT EXISTS led("
                       "device TEXT NOT NULL, t INTEGER NOT NULL, led_on INTEGER NOT NULL)"),
        QStringLiteral("CREATE INDEX IF NOT EXISTS led_device_t ON led(device, t)"),
    };
    if (!hasDevices) {
        // Added for #9: the devices the dashboard lists, with when each was last heard (ms since
        // the epoch, to TelemetryStore's resolution of an hour). A device is here once it sent a
        // reading or a state. Made and filled in one transaction, so a file never has the table
        // half filled.
        statements << QStringLiteral("BEGIN IMMEDIATE")
                   << QStringLiteral("CREATE TABLE IF NOT EXISTS devices("
                                     "device TEXT PRIMARY KEY NOT NULL, seen INTEGER NOT NULL)")
                   << QStringLiteral("INSERT OR IGNORE INTO devices(device, seen) "
                                     "SELECT device, MAX(t) FROM samples GROUP BY device")
                   << QStringLiteral("INSERT OR IGNORE INTO devices(device, seen) "
                                     "SELECT device, MAX(t) FROM led GROUP BY device")
                   << QStringLiteral("COMMIT");
    }
    for (const QString &sql : statements) {
        if (!query.exec(sql)) {
            *corrupt = meansCorrupt(query.lastError());
            *error = sqlErrorText(query.lastError());
            return false;
        }
    }
    return true;
}

bool Writer::load(Loaded &loaded, qint64 cutoff, QString *error, bool *corrupt)
{
    if (!loadLed(loaded.led, cutoff, error, corrupt))
        return false;
    std::map<QString, std::vector<SampleSeries::Sample>> &out = loaded.samples;
    QSqlDatabase handle = db();
    auto fail = [&](const QSqlQuery &q) {
        *corrupt = meansCorrupt(q.lastError());
        *error = sqlErrorText(q.lastError());
        return false;
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
    for (const QString &id : ids) {
        if (cutoff > std::numeric_limits<qint64>::min()) {
            QSqlQuery expire(handle);
            expire.prepare(QStringLiteral("DELETE FROM samples WHERE device = ? AND t < ?"));
            expire.addBindValue(id);
            expire.addBindValue(cutoff);
            if (!expire.exec())
                return fail(expire);
        }
        QSqlQuery count(handle);
        count.prepare(QStringLiteral("SELECT COUNT(*) FROM samples WHERE device = ?"));
        count.addBindValue(id);
        if (!count.exec() || !count.next())
            return fail(count);
        std::vector<SampleSeries::Sample> &samples = out[id];
        samples.reserve(size_t(count.value(0).toLongLong()));

        // In time order straight from the index, no sort.
        QSqlQuery query(handle);
        query.setForwardOnly(true);
        query.prepare(QStringLiteral("SELECT t, v FROM samples WHERE device = ? ORDER BY t"));
        query.addBindValue(id);
        if (!query.exec())
            return fail(query);
        while (query.next())
            samples.push_back({query.value(0).toLongLong(), query.value(1).toDouble()});
        if (query.lastError().isValid())
            return fail(query);
    }
    // The listed devices. One not heard within the retention period with nothing of it left in
    // the file goes, as a device whose samples all expired always did.
    if (cutoff > std::numeric_limits<qint64>::min()) {
        QSqlQuery expire(handle);
        expire.prepare(QStringLiteral(
            "DELETE FROM devices WHERE seen < ? "
            "AND NOT EXISTS (SELECT 1 FROM samples WHERE samples.device = devices.device) "
            "AND NOT EXISTS (SELECT 1 FROM led WHERE led.device = devices.device)"));
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

bool Writer::loadLed(std::map<QString, LedHistory> &out, qint64 cutoff, QString *error,
                     bool *corrupt)
{
    QSqlDatabase handle = db();
    // LED changes are few (a handful a day per device): read them all, in the order they were
    // written among equal times (rowid), then apply the retention here and in the file.
    QSqlQuery query(handle);
    query.setForwardOnly(true);
    if (!query.exec(
            QStringLiteral("SELECT device, t, led_on FROM led ORDER BY device, t, rowid"))) {
        *corrupt = meansCorrupt(query.lastError());
        *error = sqlErrorText(query.lastError());
        return false;
    }
    std::map<QString, std::vector<LedHistory::Change>> rows;
    while (query.next()) {
        rows[query.value(0).toString()].push_back(
            {query.value(1).toLongLong(), query.value(2).toLongLong() != 0});
    }
    if (query.lastError().isValid()) {
        *corrupt = meansCorrupt(query.lastError());
        *error = sqlErrorText(query.lastError());
        return false;
    }
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

QString Writer::clipLedRows(QSqlDatabase handle, const QString &id, qint64 cutoff, bool carryOn)
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

// Moves the file at `path` aside to "<path>.corrupt-<yyyyMMdd-HHmmss>" (with "-2", "-3" ... when
// taken), its write-ahead log beside it. Returns the new name in *result, or false and the
// message in *result.
bool moveAside(const QString &path, QString *result)
{
    const QString stamp =
        QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-HHmmss"));
    QString target = path + QStringLiteral(".corrupt-") + stamp;
    for (int n = 2; QFile::exists(target); ++n)
        target = path + QStringLiteral(".corrupt-") + stamp + QLatin1Char('-') + QString::number(n);
    QFile file(path);
    if (!file.rename(target)) {
        *result =
            QStringLiteral("cannot move %1 aside to %2: %3").arg(path, target, file.errorString());
        return false;
    }
    // A stale write-ahead log belongs to the old file; keep it beside it.
    for (const QString &suffix : {QStringLiteral("-wal"), QStringLiteral("-shm")}) {
        if (QFile::exists(path + suffix))
            QFile::rename(path + suffix, target + suffix);
    }
    *result = target;
    return true;
}

} // namespace

struct TelemetryDatabase::Private
{
    QObject *context = nullptr; // on the GUI thread: where reports go
    std::function<void(const QString &)> writeFailed;
    std::function<void()> insertSucceeded;
    QString connectionName;

    // The worker thread, started by the first open() (or setMaxPageCount()). `worker` lives on
    // it: the context of every invocation there. `writer` is only touched on it (besides its
    // atomic members). Declared in this order so the thread is stopped (by ~TelemetryDatabase)
    // before they go.
    std::unique_ptr<Writer> writer;
    std::unique_ptr<QObject> worker;
    QThread thread;

    void startThread()
    {
        if (thread.isRunning())
            return;
        writer = std::make_unique<Writer>(connectionName);
        worker = std::make_unique<QObject>();
        worker->moveToThread(&thread);
        thread.setObjectName(QStringLiteral("nightlight.store.writer"));
        thread.start();
    }

    void stopThread()
    {
        if (!thread.isRunning())
            return;
        thread.quit();
        thread.wait();
        worker.reset(); // its thread has finished: nothing can reach it any more
    }

    // Runs fn on the writer thread and waits for it (open, flush, close only).
    template<typename Fn>
    void runOnWriter(Fn fn)
    {
        QMetaObject::invokeMethod(worker.get(), std::move(fn), Qt::BlockingQueuedConnection);
    }

    // Runs fn on the writer thread later; the GUI thread goes on at once. Jobs run in the order
    // they were posted (one receiver, one thread), so a delete follows the inserts before it.
    // A failure comes back as a queued report; the success of an insert too, while asked for.
    template<typename Fn>
    void postToWriter(Fn fn, bool isInsert = false)
    {
        QMetaObject::invokeMethod(
            worker.get(),
            [this, isInsert, fn = std::move(fn)]() mutable {
                const QString why = fn(*writer);
                // Back on the GUI thread; dropped with the context if it is gone by then.
                if (!why.isEmpty()) {
                    QMetaObject::invokeMethod(
                        context, [this, why] { writeFailed(why); }, Qt::QueuedConnection);
                } else if (isInsert && writer->reportSuccess.load()) {
                    QMetaObject::invokeMethod(
                        context, [this] { insertSucceeded(); }, Qt::QueuedConnection);
                }
            },
            Qt::QueuedConnection);
    }

    // Opens the database on the writer thread (loading it into *loaded when given) and waits.
    bool openDatabase(const QString &path, Loaded *loaded, qint64 cutoff, QString *error,
                      bool *corrupt)
    {
        startThread();
        bool ok = false;
        runOnWriter([&] { ok = writer->open(path, cutoff, loaded, error, corrupt); });
        return ok;
    }
};

TelemetryDatabase::TelemetryDatabase(QObject *context,
                                     std::function<void(const QString &)> writeFailed,
                                     std::function<void()> insertSucceeded)
    : d(std::make_unique<Private>())
{
    d->context = context;
    d->writeFailed = std::move(writeFailed);
    d->insertSucceeded = std::move(insertSucceeded);
    d->connectionName = QStringLiteral("nightlight.store.%1").arg(++s_connectionCounter);
}

TelemetryDatabase::~TelemetryDatabase()
{
    d->stopThread();
}

bool TelemetryDatabase::open(const QString &path, qint64 cutoff, Loaded *loaded,
                             const std::function<void(const QString &)> &movedAside,
                             QString *reason, QString *message)
{
    // Only a file positively known not to be a database (no SQLite header), or one SQLite finds
    // damaged, is moved aside. Anything else wrong with the path (a folder, no permission, a
    // FIFO, a symbolic link loop, an unwritable folder) is an error that touches nothing (#9).
    const DatabaseFile inspected = DatabaseFile::inspect(path);
    if (inspected.kind() == DatabaseFile::Kind::Unusable) {
        *reason = inspected.errorString();
        *message = QStringLiteral("cannot open %1: %2").arg(path, inspected.errorString());
        return false;
    }
    QString why;
    bool corrupt = false;
    bool opened = false;
    if (inspected.kind() == DatabaseFile::Kind::NotSqlite) {
        why = QStringLiteral("it does not start with the SQLite header");
        corrupt = true;
    } else {
        // Loading runs on the writer thread (the connection lives there); open() waits for it.
        opened = d->openDatabase(path, loaded, cutoff, &why, &corrupt);
    }
    if (opened)
        return true;
    if (loaded) {
        loaded->samples.clear();
        loaded->led.clear();
        loaded->devices.clear();
    }
    // SQLite's "damaged" only counts for a file that has its header: SQLite read it.
    if (!corrupt || inspected.kind() == DatabaseFile::Kind::Missing ||
        inspected.kind() == DatabaseFile::Kind::Empty) {
        // A problem that is not the file's fault (a lock held by another program, a full
        // disk, an I/O error): keep the file.
        *reason = why;
        *message = QStringLiteral("cannot open %1: %2").arg(path, why);
        return false;
    }
    QString target;
    if (!moveAside(path, &target)) {
        *reason = QStringLiteral("%1, and %2").arg(why, target);
        *message = QStringLiteral("cannot read %1 (%2), and %3").arg(path, why, target);
        return false;
    }
    movedAside(QStringLiteral("%1 was not a readable telemetry database (%2); moved it to "
                              "%3 and started a new one")
                   .arg(path, why, target));
    QString again;
    if (!d->openDatabase(path, nullptr, cutoff, &again, &corrupt)) {
        *reason = again;
        *message = QStringLiteral("cannot create %1: %2").arg(path, again);
        return false;
    }
    return true;
}

void TelemetryDatabase::close()
{
    if (d->thread.isRunning())
        d->runOnWriter([this] { d->writer->close(); });
}

QString TelemetryDatabase::insertNow(std::vector<SampleRow> rows, std::vector<LedRow> ledRows,
                                     std::vector<DeviceRow> deviceRows)
{
    d->writer->unwritten += qsizetype(rows.size() + ledRows.size());
    QString message;
    d->runOnWriter([&] {
        message = d->writer->insert(std::move(rows), std::move(ledRows), std::move(deviceRows));
    });
    return message;
}

void TelemetryDatabase::insertLater(std::vector<SampleRow> rows, std::vector<LedRow> ledRows,
                                    std::vector<DeviceRow> deviceRows)
{
    d->writer->unwritten += qsizetype(rows.size() + ledRows.size());
    d->postToWriter(
        [rows = std::move(rows), ledRows = std::move(ledRows),
         deviceRows = std::move(deviceRows)](Writer &w) mutable {
            return w.insert(std::move(rows), std::move(ledRows), std::move(deviceRows));
        },
        true);
}

void TelemetryDatabase::forgetLater(const QString &id, bool history)
{
    d->postToWriter([id, history](Writer &w) { return w.forget(id, history); });
}

void TelemetryDatabase::deleteSamplesBeforeLater(const QString &id, qint64 cutoff)
{
    d->postToWriter([id, cutoff](Writer &w) { return w.deleteBefore(id, cutoff); });
}

void TelemetryDatabase::clipLedLater(const QString &id, qint64 cutoff, bool carryOn)
{
    d->postToWriter([id, cutoff, carryOn](Writer &w) { return w.clipLed(id, cutoff, carryOn); });
}

qint64 TelemetryDatabase::setMaxPageCount(qint64 pages)
{
    d->startThread();
    qint64 inEffect = 0;
    d->runOnWriter([&] { inEffect = d->writer->setMaxPageCount(pages); });
    return inEffect;
}

qsizetype TelemetryDatabase::unwritten() const
{
    return d->writer ? d->writer->unwritten.load() : 0;
}

void TelemetryDatabase::setReportSuccess(bool report)
{
    d->writer->reportSuccess = report;
}

} // namespace nightlight
