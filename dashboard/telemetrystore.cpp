#include "telemetrystore.h"

#include "databasefile.h"

#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QIODevice>
#include <QLoggingCategory>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QThread>
#include <QTimeZone>
#include <QTimer>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <map>

namespace nightlight {

namespace {

Q_LOGGING_CATEGORY(lcStore, "nightlight.store")

constexpr int RetentionCheckMs = 60 * 1000;

// One device: two sorted columns plus min/max of each BlockSize-sample block (the last block may
// be partial). 16 bytes per sample, 16 bytes per block.
struct Series
{
    std::vector<qint64> t;
    std::vector<double> v;
    std::vector<double> blockMin;
    std::vector<double> blockMax;
    quint64 generation = 0;

    qsizetype size() const { return qsizetype(t.size()); }

    // Recomputes the summaries of every block from the one holding sample `from` on.
    void rebuildSummaries(size_t from = 0)
    {
        const size_t n = t.size();
        const size_t blocks = (n + TelemetryStore::BlockSize - 1) / TelemetryStore::BlockSize;
        blockMin.resize(blocks);
        blockMax.resize(blocks);
        for (size_t b = from / TelemetryStore::BlockSize; b < blocks; ++b) {
            const size_t a = b * TelemetryStore::BlockSize;
            const size_t e = std::min(n, a + TelemetryStore::BlockSize);
            double lo = v[a];
            double hi = v[a];
            for (size_t i = a + 1; i < e; ++i) {
                lo = std::min(lo, v[i]);
                hi = std::max(hi, v[i]);
            }
            blockMin[b] = lo;
            blockMax[b] = hi;
        }
    }

    void pushBack(qint64 ts, double value)
    {
        const size_t i = t.size();
        t.push_back(ts);
        v.push_back(value);
        const size_t b = i / TelemetryStore::BlockSize;
        if (b == blockMin.size()) {
            blockMin.push_back(value);
            blockMax.push_back(value);
        } else {
            blockMin[b] = std::min(blockMin[b], value);
            blockMax[b] = std::max(blockMax[b], value);
        }
    }

    // True when (ts, value) is already stored.
    bool containsExact(qint64 ts, double value) const
    {
        auto it = std::lower_bound(t.begin(), t.end(), ts);
        for (; it != t.end() && *it == ts; ++it) {
            if (v[size_t(it - t.begin())] == value)
                return true;
        }
        return false;
    }

    // Min and max of v[a, e), e > a: whole blocks from their summaries.
    void minMax(size_t a, size_t e, double &lo, double &hi) const
    {
        constexpr size_t B = TelemetryStore::BlockSize;
        lo = v[a];
        hi = v[a];
        auto scan = [&](size_t from, size_t to) {
            for (size_t i = from; i < to; ++i) {
                lo = std::min(lo, v[i]);
                hi = std::max(hi, v[i]);
            }
        };
        if (e - a < 2 * B) {
            scan(a + 1, e);
            return;
        }
        const size_t ba = (a + B - 1) / B; // first whole block
        const size_t be = e / B; // one past the last whole block
        scan(a + 1, ba * B);
        for (size_t b = ba; b < be; ++b) {
            lo = std::min(lo, blockMin[b]);
            hi = std::max(hi, blockMax[b]);
        }
        scan(be * B, e);
    }

    qsizetype memoryBytes() const
    {
        return qsizetype(t.capacity() * sizeof(qint64) + v.capacity() * sizeof(double) +
                         blockMin.capacity() * sizeof(double) +
                         blockMax.capacity() * sizeof(double));
    }
};

struct PendingRow
{
    QString device;
    qint64 t;
    double v;
};

// One LED change of a device: from `t` on (ms since the epoch, UTC) the LED is `on`.
struct LedChange
{
    qint64 t;
    bool on;
};

struct PendingLed
{
    QString device;
    qint64 t;
    bool on;
};

// A device the file should list (the `devices` table), heard at `seen` (ms since the epoch).
struct PendingDevice
{
    QString device;
    qint64 seen;
};

// `seen` is written again once it is this much older than the time a device is heard (at most 24
// writes a day per device): it only decides, at open(), whether a device with nothing left in the
// file was heard within the retention period.
constexpr qint64 SeenResolutionMs = qint64(3600) * 1000;

// What open() reads from the file: samples and LED changes per device, each in time order, and
// the devices it lists with when they were last heard.
struct Loaded
{
    std::map<QString, std::vector<TelemetryStore::Sample>> samples;
    std::map<QString, std::vector<LedChange>> led;
    std::map<QString, qint64> devices;
};

// Drops the changes before `cutoff`. When the LED was on at the cutoff (the last dropped change
// is "on" and no change falls on the cutoff itself), puts a change to on at the cutoff first, so
// the period that started before it still shades from the cutoff (*carried says so). Returns
// whether anything was dropped.
bool byTime(const LedChange &c, qint64 t)
{
    return c.t < t;
}

bool clipLedBefore(std::vector<LedChange> &changes, qint64 cutoff, bool *carried)
{
    *carried = false;
    const auto it = std::lower_bound(changes.begin(), changes.end(), cutoff, byTime);
    if (it == changes.begin())
        return false;
    const bool onBefore = std::prev(it)->on;
    const bool atCutoff = it != changes.end() && it->t == cutoff;
    changes.erase(changes.begin(), it);
    if (onBefore && !atCutoff) {
        changes.insert(changes.begin(), LedChange{cutoff, true});
        *carried = true;
    }
    return true;
}

// floor(span * i / n) without overflowing for any span and n.
qint64 slice(qint64 span, qint64 i, qint64 n)
{
    return (span / n) * i + ((span % n) * i) / n;
}

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

QByteArray csvField(const QString &s)
{
    if (!s.contains(QLatin1Char(',')) && !s.contains(QLatin1Char('"')) &&
        !s.contains(QLatin1Char('\n')) && !s.contains(QLatin1Char('\r')))
        return s.toUtf8();
    QString quoted = s;
    quoted.replace(QStringLiteral("\""), QStringLiteral("\"\""));
    return '"' + quoted.toUtf8() + '"';
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
    QString insert(std::vector<PendingRow> rows, std::vector<PendingLed> ledRows,
                   std::vector<PendingDevice> deviceRows)
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
            for (const PendingRow &row : m_retry) {
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
                for (const PendingLed &row : m_retryLed) {
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
                for (const PendingDevice &row : m_retryDevices) {
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
        const auto kept = std::remove_if(m_retry.begin(), m_retry.end(), [&](const PendingRow &r) {
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
    // `carryOn`, records a change to on at the cutoff (see clipLedBefore). Returns the message
    // on failure, empty on success.
    QString clipLed(const QString &id, qint64 cutoff, bool carryOn)
    {
        const auto kept =
            std::remove_if(m_retryLed.begin(), m_retryLed.end(),
                           [&](const PendingLed &r) { return r.device == id && r.t < cutoff; });
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
    bool loadLed(std::map<QString, std::vector<LedChange>> &out, qint64 cutoff, QString *error,
                 bool *corrupt);
    // The file side of clipLed(): one transaction; the SQLite error text on failure.
    static QString clipLedRows(QSqlDatabase handle, const QString &id, qint64 cutoff, bool carryOn);

    QString m_connectionName;
    QString m_path;
    qint64 m_maxPageCount = 0; // setMaxPageCount(); 0: SQLite's own
    qint64 m_defaultMaxPageCount = 0; // what SQLite said at open()
    // Rows of a failed write, written first by the next insert().
    std::vector<PendingRow> m_retry;
    std::vector<PendingLed> m_retryLed;
    std::vector<PendingDevice> m_retryDevices;
};

std::atomic<quint64> s_connectionCounter{0};

} // namespace

struct TelemetryStore::Private
{
    TelemetryStore *q = nullptr;
    std::map<QString, Series> series;
    // Every device's LED changes in time order (equal times in arrival order). A change never
    // repeats the value in effect before it, but a later one may (after an out-of-order insert):
    // ledPeriods() skips those.
    std::map<QString, std::vector<LedChange>> led;
    // The devices the store lists (knownDevices()), each with the `seen` last queued for the file.
    std::map<QString, qint64> known;
    // Rows queued on the GUI thread, handed to the writer as one batch.
    std::vector<PendingRow> pending;
    std::vector<PendingLed> pendingLed;
    std::vector<PendingDevice> pendingDevices;

    QString connectionName;
    QString path;
    bool open = false;
    QString lastWarning;
    QString openError; // why the last open() failed, without the path

    // The backlog bound (#9): rows waiting to be written, queued here or handed to the writer,
    // never exceed maxPendingWrites; samples beyond it are dropped (newest first: they are never
    // queued) and counted. `trouble` is true from the first failed write (or dropped sample) until
    // a write succeeds with the backlog at most half the bound; each such episode warns once at
    // its start and once, with `droppedInTrouble`, at its end.
    qsizetype maxPendingWrites = DefaultMaxPendingWrites;
    qsizetype dropped = 0;
    qsizetype droppedInTrouble = 0;
    bool trouble = false;

    QTimer flushTimer;
    QTimer retentionTimer;
    int flushIntervalMs = 1000;
    int flushBatchSize = 2000;
    qint64 retentionMs = DefaultRetentionMs;
    qsizetype maxSamples = 0;

    // The writer thread, started by the first open(). `worker` lives on it: the context of every
    // invocation there. `writer` is only touched on it (besides its atomic counter). Declared
    // in this order so the thread is stopped (by ~TelemetryStore) before they go.
    std::unique_ptr<Writer> writer;
    std::unique_ptr<QObject> worker;
    QThread thread;

    const Series *find(const QString &id) const
    {
        const auto it = series.find(id);
        return it == series.end() ? nullptr : &it->second;
    }

    // `problem` false: good news (writing works again), logged as info, not as a warning.
    void setWarning(const QString &message, bool problem = true)
    {
        lastWarning = message;
        if (problem)
            qCWarning(lcStore).noquote() << message;
        else
            qCInfo(lcStore).noquote() << message;
        emit q->warningOccurred(message);
    }

    void beginTrouble(const QString &message)
    {
        trouble = true;
        droppedInTrouble = 0;
        writer->reportSuccess = true;
        setWarning(message);
    }

    // A write failed (on the writer thread, or in flush()): warn at the first failure of an
    // episode only (a full disk fails every retry, once a second), and try again after the
    // interval; the writer keeps the rows.
    void writeFailed(const QString &message)
    {
        if (!trouble) {
            beginTrouble(QStringLiteral("%1; retrying, and keeping at most %2 unwritten rows "
                                        "(newer samples are then not saved)")
                             .arg(message)
                             .arg(maxPendingWrites));
        }
        if (open && !flushTimer.isActive())
            flushTimer.start(flushIntervalMs);
    }

    // An insert succeeded while in trouble: the episode ends once the backlog is down to half the
    // bound (so a writer that only just keeps up does not warn and recover over and over).
    void writeSucceeded()
    {
        if (!trouble || pendingWrites() > maxPendingWrites / 2)
            return;
        trouble = false;
        writer->reportSuccess = false;
        setWarning(droppedInTrouble == 0
                       ? QStringLiteral("writing to %1 works again; no samples were lost").arg(path)
                       : QStringLiteral("writing to %1 works again; %2 samples that arrived "
                                        "while it did not could not be kept and are not in the "
                                        "file")
                             .arg(path)
                             .arg(droppedInTrouble),
                   false);
    }

    qsizetype pendingWrites() const { return queued() + (writer ? writer->unwritten.load() : 0); }

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
    // A failure comes back as a queued warning; the success of an insert too, while in trouble.
    template<typename Fn>
    void postToWriter(Fn fn, bool isInsert = false)
    {
        QMetaObject::invokeMethod(
            worker.get(),
            [this, isInsert, fn = std::move(fn)]() mutable {
                const QString why = fn(*writer);
                // Back on the GUI thread; dropped with q if it is gone by then.
                if (!why.isEmpty()) {
                    QMetaObject::invokeMethod(
                        q, [this, why] { writeFailed(why); }, Qt::QueuedConnection);
                } else if (isInsert && writer->reportSuccess.load()) {
                    QMetaObject::invokeMethod(
                        q, [this] { writeSucceeded(); }, Qt::QueuedConnection);
                }
            },
            Qt::QueuedConnection);
    }

    // Gives the queued rows to the writer thread without waiting (the flush timer's job). With
    // nothing queued, still pokes the writer when it holds rows of a failed write.
    void handOver()
    {
        flushTimer.stop();
        if (!open || (queued() == 0 && pendingDevices.empty() && writer->unwritten.load() == 0))
            return;
        std::vector<PendingRow> batch;
        batch.swap(pending);
        std::vector<PendingLed> ledBatch;
        ledBatch.swap(pendingLed);
        std::vector<PendingDevice> deviceBatch;
        deviceBatch.swap(pendingDevices);
        writer->unwritten += qsizetype(batch.size() + ledBatch.size());
        postToWriter(
            [rows = std::move(batch), ledRows = std::move(ledBatch),
             deviceRows = std::move(deviceBatch)](Writer &w) mutable {
                return w.insert(std::move(rows), std::move(ledRows), std::move(deviceRows));
            },
            true);
    }

    // The backlog queued here (device rows are not part of it).
    qsizetype queued() const { return qsizetype(pending.size() + pendingLed.size()); }

    // The device is heard of now: listed from now on, and in the file's devices table (again,
    // when the `seen` written last is SeenResolutionMs old). Like LED changes, always queued.
    void noteDevice(const QString &id)
    {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        const auto it = known.find(id);
        if (it != known.end() && now - it->second < SeenResolutionMs)
            return;
        known[id] = now;
        if (!open)
            return; // open() queues what the file lacks
        pendingDevices.push_back({id, now});
        startFlushTimer();
    }

    void startFlushTimer()
    {
        if (queued() >= flushBatchSize)
            flushTimer.start(0);
        else if (!flushTimer.isActive())
            flushTimer.start(flushIntervalMs);
    }

    void queue(const QString &id, qint64 t, double v)
    {
        // Memory-only until open(), which queues what was appended before it.
        if (!open)
            return;
        // Only this thread adds to the backlog, so it never grows past the bound. Refusing the
        // newest keeps what waits a gapless continuation of the file, and keeps the rows already
        // handed to the writer out of reach of this thread (docs/dashboard.md "Disk full").
        if (pendingWrites() >= maxPendingWrites) {
            if (!trouble) {
                beginTrouble(QStringLiteral("%1 rows wait to be written to %2; newer samples are "
                                            "not saved until they are")
                                 .arg(pendingWrites())
                                 .arg(path));
            }
            ++dropped;
            ++droppedInTrouble;
            return;
        }
        pending.push_back({id, t, v});
        startFlushTimer();
    }

    void queueLed(const QString &id, qint64 t, bool on)
    {
        if (!open)
            return;
        pendingLed.push_back({id, t, on});
        startFlushTimer();
    }

    // Applies the retention cutoff to the LED changes of every device, in memory and (on the
    // writer thread, after the rows handed over before) in the file.
    void clipLed(qint64 cutoff)
    {
        for (auto &[id, changes] : led) {
            bool carried = false;
            if (!clipLedBefore(changes, cutoff, &carried))
                continue;
            const QString device = id;
            pendingLed.erase(std::remove_if(pendingLed.begin(), pendingLed.end(),
                                            [&](const PendingLed &r) {
                                                return r.device == device && r.t < cutoff;
                                            }),
                             pendingLed.end());
            if (open) {
                postToWriter([device, cutoff, carried](Writer &w) {
                    return w.clipLed(device, cutoff, carried);
                });
            }
            emit q->ledPeriodsChanged(id);
        }
    }

    void deleteRowsBefore(const QString &id, qint64 cutoff)
    {
        if (!open)
            return;
        postToWriter([id, cutoff](Writer &w) { return w.deleteBefore(id, cutoff); });
    }

    // Drops the oldest samples of `id` so that its first sample is at index `count`.
    void dropFront(const QString &id, Series &s, size_t count)
    {
        if (count == 0)
            return;
        const qint64 newFirst = count < s.t.size() ? s.t[count] : s.t.back() + 1;
        s.t.erase(s.t.begin(), s.t.begin() + qsizetype(count));
        s.v.erase(s.v.begin(), s.v.begin() + qsizetype(count));
        s.rebuildSummaries();
        ++s.generation;
        pending.erase(
            std::remove_if(pending.begin(), pending.end(),
                           [&](const PendingRow &r) { return r.device == id && r.t < newFirst; }),
            pending.end());
        deleteRowsBefore(id, newFirst);
        emit q->samplesRemoved(id);
    }

    void enforceCap(const QString &id, Series &s)
    {
        if (maxSamples <= 0)
            return;
        const qsizetype slack = std::max<qsizetype>(1, maxSamples / 8);
        if (s.size() > maxSamples + slack)
            dropFront(id, s, size_t(s.size() - maxSamples));
    }

    // Merges sorted, de-duplicated `in` into `s`; rows that were new are queued when `persist`.
    // Returns the number of samples added.
    qsizetype merge(const QString &id, Series &s, const std::vector<Sample> &in, bool persist)
    {
        if (in.empty())
            return 0;
        if (s.t.empty() || in.front().t >= s.t.back()) {
            qsizetype added = 0;
            for (const Sample &x : in) {
                if (!s.t.empty() && x.t == s.t.back() && s.containsExact(x.t, x.v))
                    continue;
                s.pushBack(x.t, x.v);
                if (persist)
                    queue(id, x.t, x.v);
                ++added;
            }
            return added;
        }
        std::vector<qint64> t;
        std::vector<double> v;
        t.reserve(s.t.size() + in.size());
        v.reserve(s.t.size() + in.size());
        size_t i = 0;
        qsizetype added = 0;
        for (const Sample &x : in) {
            while (i < s.t.size() && s.t[i] <= x.t) {
                t.push_back(s.t[i]);
                v.push_back(s.v[i]);
                ++i;
            }
            bool duplicate = false;
            for (size_t k = t.size(); k > 0 && t[k - 1] == x.t; --k) {
                if (v[k - 1] == x.v) {
                    duplicate = true;
                    break;
                }
            }
            if (duplicate)
                continue;
            t.push_back(x.t);
            v.push_back(x.v);
            if (persist)
                queue(id, x.t, x.v);
            ++added;
        }
        t.insert(t.end(), s.t.begin() + qsizetype(i), s.t.end());
        v.insert(v.end(), s.v.begin() + qsizetype(i), s.v.end());
        s.t = std::move(t);
        s.v = std::move(v);
        s.rebuildSummaries();
        ++s.generation;
        return added;
    }

    Series &seriesFor(const QString &id, bool *created)
    {
        auto it = series.find(id);
        *created = it == series.end();
        if (*created)
            it = series.emplace(id, Series()).first;
        return it->second;
    }

    // Opens the database on the writer thread (loading it into *loaded when given) and waits.
    bool openDatabase(Loaded *loaded, qint64 cutoff, QString *error, bool *corrupt)
    {
        startThread();
        bool ok = false;
        runOnWriter([&] { ok = writer->open(path, cutoff, loaded, error, corrupt); });
        return ok;
    }
    void closeDatabase()
    {
        if (thread.isRunning())
            runOnWriter([this] { writer->close(); });
        open = false;
    }
    bool moveAside(QString *error);

    // open(): merges the LED changes read from the file with those appended before, and queues
    // the latter where the file lacks them.
    void mergeLoadedLed(std::map<QString, std::vector<LedChange>> &fromFile, qint64 cutoff)
    {
        for (auto &[id, changes] : led) {
            // What the file lacks; anything before the cutoff it has dropped on purpose.
            bool carried = false;
            clipLedBefore(changes, cutoff, &carried);
            const auto it = fromFile.find(id);
            const std::vector<LedChange> none;
            const std::vector<LedChange> &inFile = it == fromFile.end() ? none : it->second;
            for (const LedChange &c : changes) {
                bool stored = false;
                for (auto f = std::lower_bound(inFile.begin(), inFile.end(), c.t, byTime);
                     f != inFile.end() && f->t == c.t && !stored; ++f)
                    stored = f->on == c.on;
                if (!stored)
                    pendingLed.push_back({id, c.t, c.on});
            }
        }
        for (auto &[id, inFile] : fromFile) {
            if (inFile.empty())
                continue;
            std::vector<LedChange> &changes = led[id];
            if (changes.empty()) {
                changes = std::move(inFile);
            } else {
                // Both in time order: the file's first among equal times (it came first).
                std::vector<LedChange> merged;
                merged.reserve(changes.size() + inFile.size());
                std::merge(inFile.begin(), inFile.end(), changes.begin(), changes.end(),
                           std::back_inserter(merged),
                           [](const LedChange &a, const LedChange &b) { return a.t < b.t; });
                // Drop exact copies (a change both appended and in the file).
                merged.erase(std::unique(merged.begin(), merged.end(),
                                         [](const LedChange &a, const LedChange &b) {
                                             return a.t == b.t && a.on == b.on;
                                         }),
                             merged.end());
                changes = std::move(merged);
            }
            emit q->ledPeriodsChanged(id);
        }
    }
};

TelemetryStore::TelemetryStore(QObject *parent) : QObject(parent), d(std::make_unique<Private>())
{
    d->q = this;
    d->connectionName = QStringLiteral("nightlight.store.%1").arg(++s_connectionCounter);
    d->flushTimer.setSingleShot(true);
    connect(&d->flushTimer, &QTimer::timeout, this, [this] { d->handOver(); });
    d->retentionTimer.setInterval(RetentionCheckMs);
    connect(&d->retentionTimer, &QTimer::timeout, this, [this] {
        if (d->retentionMs > 0)
            removeBefore(QDateTime::currentMSecsSinceEpoch() - d->retentionMs);
    });
    d->retentionTimer.start();
}

TelemetryStore::~TelemetryStore()
{
    close();
    d->stopThread();
}

// --- persistence ---------------------------------------------------------------------------

namespace {

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
        // the epoch, to SeenResolutionMs). A device is here once it sent a reading or a state.
        // Made and filled in one transaction, so a file never has the table half filled.
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
    std::map<QString, std::vector<TelemetryStore::Sample>> &out = loaded.samples;
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
        std::vector<TelemetryStore::Sample> &samples = out[id];
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

bool Writer::loadLed(std::map<QString, std::vector<LedChange>> &out, qint64 cutoff, QString *error,
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
    while (query.next()) {
        out[query.value(0).toString()].push_back(
            {query.value(1).toLongLong(), query.value(2).toLongLong() != 0});
    }
    if (query.lastError().isValid()) {
        *corrupt = meansCorrupt(query.lastError());
        *error = sqlErrorText(query.lastError());
        return false;
    }
    query.finish();
    if (cutoff == std::numeric_limits<qint64>::min())
        return true;
    for (auto &[id, changes] : out) {
        bool carried = false;
        if (!clipLedBefore(changes, cutoff, &carried))
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

} // namespace

bool TelemetryStore::Private::moveAside(QString *error)
{
    const QString stamp =
        QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-HHmmss"));
    QString target = path + QStringLiteral(".corrupt-") + stamp;
    for (int n = 2; QFile::exists(target); ++n)
        target = path + QStringLiteral(".corrupt-") + stamp + QLatin1Char('-') + QString::number(n);
    QFile file(path);
    if (!file.rename(target)) {
        *error =
            QStringLiteral("cannot move %1 aside to %2: %3").arg(path, target, file.errorString());
        return false;
    }
    // A stale write-ahead log belongs to the old file; keep it beside it.
    for (const QString &suffix : {QStringLiteral("-wal"), QStringLiteral("-shm")}) {
        if (QFile::exists(path + suffix))
            QFile::rename(path + suffix, target + suffix);
    }
    *error = target;
    return true;
}

bool TelemetryStore::open(const QString &path, QString *error)
{
    close();
    d->path = path;
    d->openError.clear();
    const auto fail = [&](const QString &reason, const QString &message) {
        d->openError = reason;
        qCWarning(lcStore).noquote() << message;
        if (error)
            *error = message;
        return false;
    };
    // Only a file positively known not to be a database (no SQLite header), or one SQLite finds
    // damaged, is moved aside. Anything else wrong with the path (a folder, no permission, a
    // FIFO, a symbolic link loop, an unwritable folder) is an error that touches nothing (#9).
    const DatabaseFile inspected = DatabaseFile::inspect(path);
    if (inspected.kind() == DatabaseFile::Kind::Unusable) {
        return fail(inspected.errorString(),
                    QStringLiteral("cannot open %1: %2").arg(path, inspected.errorString()));
    }
    QString why;
    Loaded file;
    std::map<QString, std::vector<Sample>> &loaded = file.samples;
    const qint64 cutoff = d->retentionMs > 0 ? QDateTime::currentMSecsSinceEpoch() - d->retentionMs
                                             : std::numeric_limits<qint64>::min();
    bool corrupt = false;
    bool opened = false;
    if (inspected.kind() == DatabaseFile::Kind::NotSqlite) {
        why = QStringLiteral("it does not start with the SQLite header");
        corrupt = true;
    } else {
        // Loading runs on the writer thread (the connection lives there); open() waits for it.
        opened = d->openDatabase(&file, cutoff, &why, &corrupt);
    }
    if (!opened) {
        loaded.clear();
        file.led.clear();
        file.devices.clear();
        // SQLite's "damaged" only counts for a file that has its header: SQLite read it.
        if (!corrupt || inspected.kind() == DatabaseFile::Kind::Missing ||
            inspected.kind() == DatabaseFile::Kind::Empty) {
            // A problem that is not the file's fault (a lock held by another program, a full
            // disk, an I/O error): keep the file and work in memory.
            return fail(why, QStringLiteral("cannot open %1: %2").arg(path, why));
        }
        QString target;
        if (!d->moveAside(&target)) {
            return fail(QStringLiteral("%1, and %2").arg(why, target),
                        QStringLiteral("cannot read %1 (%2), and %3").arg(path, why, target));
        }
        d->setWarning(QStringLiteral("%1 was not a readable telemetry database (%2); moved it to "
                                     "%3 and started a new one")
                          .arg(path, why, target));
        QString again;
        if (!d->openDatabase(nullptr, cutoff, &again, &corrupt))
            return fail(again, QStringLiteral("cannot create %1: %2").arg(path, again));
    }
    d->open = true;
    // Samples appended before open() (or while closed) that the file does not hold yet.
    for (const auto &[id, s] : d->series) {
        const auto it = loaded.find(id);
        const std::vector<Sample> none;
        const std::vector<Sample> &inFile = it == loaded.end() ? none : it->second;
        size_t j = 0;
        for (size_t i = 0; i < s.t.size(); ++i) {
            while (j < inFile.size() && inFile[j].t < s.t[i])
                ++j;
            bool stored = false;
            for (size_t k = j; k < inFile.size() && inFile[k].t == s.t[i] && !stored; ++k)
                stored = inFile[k].v == s.v[i];
            if (!stored)
                d->queue(id, s.t[i], s.v[i]); // within the backlog bound
        }
    }

    for (auto &[id, samples] : loaded) {
        if (samples.empty())
            continue;
        bool created = false;
        Series &s = d->seriesFor(id, &created);
        if (created) {
            s.t.reserve(samples.size());
            s.v.reserve(samples.size());
            for (const Sample &x : samples)
                s.pushBack(x.t, x.v);
            s.blockMin.shrink_to_fit();
            s.blockMax.shrink_to_fit();
        } else {
            // Samples appended before open(): merge; they were queued for writing above.
            d->merge(id, s, samples, false);
        }
        samples = std::vector<Sample>();
        if (created)
            emit deviceAdded(id);
        emit samplesAppended(id);
        d->enforceCap(id, s);
    }
    d->mergeLoadedLed(file.led, cutoff);
    // Devices heard of before open() that the file does not list yet, then the file's.
    for (const auto &[id, seen] : d->known) {
        if (!file.devices.count(id))
            d->pendingDevices.push_back({id, seen});
    }
    for (const auto &[id, seen] : file.devices) {
        qint64 &mine = d->known[id];
        mine = std::max(mine, seen);
    }
    if (d->queued() > 0 || !d->pendingDevices.empty())
        d->flushTimer.start(d->flushIntervalMs);
    return true;
}

bool TelemetryStore::isOpen() const
{
    return d->open;
}

QString TelemetryStore::path() const
{
    return d->path;
}

bool TelemetryStore::flush(QString *error)
{
    d->flushTimer.stop();
    if (!d->open)
        return true;
    std::vector<PendingRow> batch;
    batch.swap(d->pending);
    std::vector<PendingLed> ledBatch;
    ledBatch.swap(d->pendingLed);
    std::vector<PendingDevice> deviceBatch;
    deviceBatch.swap(d->pendingDevices);
    d->writer->unwritten += qsizetype(batch.size() + ledBatch.size());
    // Queued after every batch and delete handed over before, so when it returns they are done.
    // With nothing new it still retries the rows of a failed write.
    QString message;
    d->runOnWriter([&] {
        message = d->writer->insert(std::move(batch), std::move(ledBatch), std::move(deviceBatch));
    });
    if (!message.isEmpty()) {
        // The writer keeps the rows: the next flush (or the timer) tries again.
        d->writeFailed(message);
        if (error)
            *error = message;
        return false;
    }
    d->writeSucceeded();
    return true;
}

void TelemetryStore::close()
{
    if (!d->open)
        return;
    flush();
    d->flushTimer.stop();
    d->closeDatabase();
    // What could not be written is queued again by the next open() (it compares with the file).
    d->pending.clear();
    d->pendingLed.clear();
    d->pendingDevices.clear();
    // A new file, a new start: its first failure warns again.
    d->trouble = false;
    d->writer->reportSuccess = false;
}

QString TelemetryStore::lastWarning() const
{
    return d->lastWarning;
}

QString TelemetryStore::openError() const
{
    return d->openError;
}

void TelemetryStore::setFlushInterval(int ms)
{
    d->flushIntervalMs = std::max(0, ms);
}

int TelemetryStore::flushInterval() const
{
    return d->flushIntervalMs;
}

void TelemetryStore::setFlushBatchSize(int samples)
{
    d->flushBatchSize = std::max(1, samples);
}

int TelemetryStore::flushBatchSize() const
{
    return d->flushBatchSize;
}

qsizetype TelemetryStore::pendingWrites() const
{
    return d->pendingWrites();
}

void TelemetryStore::setMaxPendingWrites(qsizetype rows)
{
    d->maxPendingWrites = std::max<qsizetype>(1, rows);
}

qsizetype TelemetryStore::maxPendingWrites() const
{
    return d->maxPendingWrites;
}

qsizetype TelemetryStore::droppedWrites() const
{
    return d->dropped;
}

qint64 TelemetryStore::setMaxPageCount(qint64 pages)
{
    pages = std::max<qint64>(0, pages);
    d->startThread();
    qint64 inEffect = 0;
    d->runOnWriter([&] { inEffect = d->writer->setMaxPageCount(pages); });
    return inEffect;
}

// --- bounds --------------------------------------------------------------------------------

void TelemetryStore::setRetention(qint64 ms)
{
    d->retentionMs = std::max<qint64>(0, ms);
    if (d->retentionMs > 0)
        removeBefore(QDateTime::currentMSecsSinceEpoch() - d->retentionMs);
}

qint64 TelemetryStore::retention() const
{
    return d->retentionMs;
}

void TelemetryStore::setMaxSamplesPerDevice(qsizetype count)
{
    d->maxSamples = std::max<qsizetype>(0, count);
    for (auto &[id, s] : d->series)
        d->enforceCap(id, s);
}

qsizetype TelemetryStore::maxSamplesPerDevice() const
{
    return d->maxSamples;
}

void TelemetryStore::removeBefore(qint64 cutoffMs)
{
    for (auto &[id, s] : d->series) {
        const auto it = std::lower_bound(s.t.begin(), s.t.end(), cutoffMs);
        d->dropFront(id, s, size_t(it - s.t.begin()));
    }
    // Rows of devices not in memory cannot exist (open() loads them all), but queued rows can.
    d->pending.erase(std::remove_if(d->pending.begin(), d->pending.end(),
                                    [&](const PendingRow &r) { return r.t < cutoffMs; }),
                     d->pending.end());
    d->clipLed(cutoffMs);
}

// --- writing -------------------------------------------------------------------------------

void TelemetryStore::append(const QString &deviceId, qint64 tMs, double value)
{
    if (!std::isfinite(value))
        return;
    d->noteDevice(deviceId);
    bool created = false;
    Series &s = d->seriesFor(deviceId, &created);
    if (s.t.empty() || tMs > s.t.back()) {
        s.pushBack(tMs, value);
    } else if (s.containsExact(tMs, value)) {
        return;
    } else if (tMs == s.t.back()) {
        s.pushBack(tMs, value);
    } else {
        // Replayed outage data: insert after any samples with the same time.
        const auto it = std::upper_bound(s.t.begin(), s.t.end(), tMs);
        const auto index = it - s.t.begin();
        s.t.insert(it, tMs);
        s.v.insert(s.v.begin() + index, value);
        s.rebuildSummaries(size_t(index));
        ++s.generation;
    }
    d->queue(deviceId, tMs, value);
    if (created)
        emit deviceAdded(deviceId);
    emit samplesAppended(deviceId);
    d->enforceCap(deviceId, s);
}

void TelemetryStore::append(const QString &deviceId, std::vector<Sample> samples)
{
    samples.erase(std::remove_if(samples.begin(), samples.end(),
                                 [](const Sample &s) { return !std::isfinite(s.v); }),
                  samples.end());
    if (samples.empty())
        return;
    d->noteDevice(deviceId);
    std::stable_sort(samples.begin(), samples.end(),
                     [](const Sample &a, const Sample &b) { return a.t < b.t; });
    bool created = false;
    Series &s = d->seriesFor(deviceId, &created);
    const qsizetype added = d->merge(deviceId, s, samples, true);
    if (created)
        emit deviceAdded(deviceId);
    if (added > 0)
        emit samplesAppended(deviceId);
    d->enforceCap(deviceId, s);
}

void TelemetryStore::appendLedState(const QString &deviceId, qint64 tMs, bool on)
{
    d->noteDevice(deviceId);
    std::vector<LedChange> &changes = d->led[deviceId];
    // After any change with the same time: equal times keep their arrival order.
    const auto it = std::upper_bound(changes.begin(), changes.end(), tMs,
                                     [](qint64 t, const LedChange &c) { return t < c.t; });
    const bool before = it != changes.begin() && std::prev(it)->on;
    // Not a change (a state published for another reason, a redelivery, the retained state
    // again after a restart). Before the first change the LED counts as off.
    if (on == before)
        return;
    changes.insert(it, LedChange{tMs, on});
    d->queueLed(deviceId, tMs, on);
    emit ledPeriodsChanged(deviceId);
}

void TelemetryStore::addDevice(const QString &deviceId)
{
    d->noteDevice(deviceId);
}

void TelemetryStore::forgetDevice(const QString &deviceId, bool deleteHistory)
{
    d->known.erase(deviceId);
    const auto ofDevice = [&deviceId](const auto &row) {
        return row.device == deviceId;
    };
    auto &queuedDevices = d->pendingDevices;
    queuedDevices.erase(std::remove_if(queuedDevices.begin(), queuedDevices.end(), ofDevice),
                        queuedDevices.end());
    bool hadSamples = false;
    bool hadLed = false;
    if (deleteHistory) {
        hadSamples = d->series.erase(deviceId) > 0;
        hadLed = d->led.erase(deviceId) > 0;
        d->pending.erase(std::remove_if(d->pending.begin(), d->pending.end(), ofDevice),
                         d->pending.end());
        d->pendingLed.erase(std::remove_if(d->pendingLed.begin(), d->pendingLed.end(), ofDevice),
                            d->pendingLed.end());
    }
    // After the rows handed over before, on the writer thread: a long history is deleted there.
    if (d->open) {
        d->postToWriter(
            [deviceId, deleteHistory](Writer &w) { return w.forget(deviceId, deleteHistory); });
    }
    if (hadSamples)
        emit samplesRemoved(deviceId);
    if (hadLed)
        emit ledPeriodsChanged(deviceId);
}

QStringList TelemetryStore::knownDevices() const
{
    QStringList ids;
    ids.reserve(qsizetype(d->known.size()));
    for (const auto &entry : d->known)
        ids.append(entry.first);
    return ids;
}

// --- reading -------------------------------------------------------------------------------

QList<QPair<qint64, qint64>> TelemetryStore::ledPeriods(const QString &deviceId, qint64 t0Ms,
                                                        qint64 t1Ms) const
{
    QList<QPair<qint64, qint64>> out;
    const auto found = d->led.find(deviceId);
    if (found == d->led.end() || t1Ms <= t0Ms)
        return out;
    const std::vector<LedChange> &changes = found->second;
    // From the change in effect at t0 (the last one at or before it) on.
    auto it = std::upper_bound(changes.begin(), changes.end(), t0Ms,
                               [](qint64 t, const LedChange &c) { return t < c.t; });
    if (it != changes.begin())
        --it;
    bool on = false;
    qint64 start = 0;
    for (; it != changes.end(); ++it) {
        if (it->on == on)
            continue; // a repeat left by an out-of-order insert
        if (it->on) {
            if (it->t >= t1Ms)
                break;
            start = it->t;
            on = true;
            continue;
        }
        on = false;
        // At least 1 ms long, so it never reads as "still on".
        const qint64 end = std::max(it->t, start + 1);
        if (end > t0Ms)
            out.append({std::max(start, t0Ms), std::min(end, t1Ms)});
    }
    if (on) {
        const qint64 from = std::max(start, t0Ms);
        out.append({from, from});
    }
    return out;
}

QStringList TelemetryStore::devices() const
{
    QStringList ids;
    ids.reserve(qsizetype(d->series.size()));
    for (const auto &entry : d->series)
        ids.append(entry.first);
    return ids;
}

bool TelemetryStore::contains(const QString &deviceId) const
{
    return d->find(deviceId) != nullptr;
}

qsizetype TelemetryStore::size(const QString &deviceId) const
{
    const Series *s = d->find(deviceId);
    return s ? s->size() : 0;
}

std::optional<TelemetryStore::Sample> TelemetryStore::last(const QString &deviceId) const
{
    const Series *s = d->find(deviceId);
    if (!s || s->t.empty())
        return std::nullopt;
    return Sample{s->t.back(), s->v.back()};
}

std::optional<TelemetryStore::Range> TelemetryStore::timeRange(const QString &deviceId) const
{
    const Series *s = d->find(deviceId);
    if (!s || s->t.empty())
        return std::nullopt;
    return Range{s->t.front(), s->t.back()};
}

quint64 TelemetryStore::generation(const QString &deviceId) const
{
    const Series *s = d->find(deviceId);
    return s ? s->generation : 0;
}

std::vector<TelemetryStore::Column> TelemetryStore::decimate(const QString &deviceId, qint64 t0Ms,
                                                             qint64 t1Ms, int columns) const
{
    std::vector<Column> out(size_t(std::max(0, columns)));
    const Series *s = d->find(deviceId);
    if (!s || s->t.empty() || columns <= 0 || t1Ms <= t0Ms)
        return out;
    const qint64 span = t1Ms - t0Ms;
    const auto begin = s->t.begin();
    const auto end = s->t.end();
    auto lo = std::lower_bound(begin, end, t0Ms);
    for (int c = 0; c < columns && lo != end; ++c) {
        const qint64 boundary = t0Ms + slice(span, c + 1, columns);
        // Columns are consecutive: search only from where the previous one ended.
        const auto hi = std::lower_bound(lo, end, boundary);
        if (hi != lo) {
            const size_t a = size_t(lo - begin);
            const size_t e = size_t(hi - begin);
            Column &col = out[size_t(c)];
            s->minMax(a, e, col.min, col.max);
            col.first = s->v[a];
            col.last = s->v[e - 1];
            col.empty = false;
        }
        lo = hi;
    }
    return out;
}

void TelemetryStore::forEachInRange(const QString &deviceId, qint64 t0Ms, qint64 t1Ms,
                                    const std::function<void(qint64, double)> &fn) const
{
    const Series *s = d->find(deviceId);
    if (!s)
        return;
    const auto a = std::lower_bound(s->t.begin(), s->t.end(), t0Ms);
    const auto e = std::upper_bound(a, s->t.end(), t1Ms);
    for (auto it = a; it != e; ++it)
        fn(*it, s->v[size_t(it - s->t.begin())]);
}

qsizetype TelemetryStore::countInRange(const QString &deviceId, qint64 t0Ms, qint64 t1Ms) const
{
    const Series *s = d->find(deviceId);
    if (!s || t1Ms < t0Ms)
        return 0;
    const auto a = std::lower_bound(s->t.begin(), s->t.end(), t0Ms);
    const auto e = std::upper_bound(a, s->t.end(), t1Ms);
    return qsizetype(e - a);
}

std::optional<TelemetryStore::Sample> TelemetryStore::nearest(const QString &deviceId,
                                                              qint64 tMs) const
{
    const Series *s = d->find(deviceId);
    if (!s || s->t.empty())
        return std::nullopt;
    const auto it = std::lower_bound(s->t.begin(), s->t.end(), tMs);
    size_t i = size_t(it - s->t.begin());
    if (i == s->t.size()) {
        i = s->t.size() - 1;
    } else if (i > 0 && tMs - s->t[i - 1] <= s->t[i] - tMs) {
        // The earlier one wins a tie; among equal times, the last one of that time.
        i = i - 1;
    }
    return Sample{s->t[i], s->v[i]};
}

bool TelemetryStore::exportCsv(QIODevice *out, const QString &deviceId, qint64 t0Ms, qint64 t1Ms,
                               QString *error) const
{
    if (!out || !out->isWritable()) {
        if (error)
            *error = QStringLiteral("the CSV output is not open for writing");
        return false;
    }
    const QByteArray device = csvField(deviceId);
    QByteArray buffer = "time_utc,device,light\n";
    bool ok = true;
    auto write = [&] {
        if (out->write(buffer) != buffer.size())
            ok = false;
        buffer.clear();
    };
    // The Qt::TimeSpec overloads are deprecated from Qt 6.8 on; QTimeZone::UTC (Qt 6.5) is the
    // same lightweight UTC ("Z" in ISO dates), where QTimeZone::utc() would write "+00:00".
#if QT_VERSION >= QT_VERSION_CHECK(6, 5, 0)
    const QTimeZone utc(QTimeZone::UTC);
#else
    const Qt::TimeSpec utc = Qt::UTC;
#endif
    forEachInRange(deviceId, t0Ms, t1Ms, [&](qint64 t, double v) {
        if (!ok)
            return;
        buffer += QDateTime::fromMSecsSinceEpoch(t, utc).toString(Qt::ISODateWithMs).toLatin1();
        buffer += ',';
        buffer += device;
        buffer += ',';
        buffer += QByteArray::number(v, 'f', QLocale::FloatingPointShortest);
        buffer += '\n';
        if (buffer.size() > 64 * 1024)
            write();
    });
    if (ok)
        write();
    if (!ok && error)
        *error = QStringLiteral("cannot write CSV: %1").arg(out->errorString());
    return ok;
}

qsizetype TelemetryStore::memoryBytes(const QString &deviceId) const
{
    if (!deviceId.isEmpty()) {
        const Series *s = d->find(deviceId);
        return s ? s->memoryBytes() : 0;
    }
    qsizetype total = 0;
    for (const auto &entry : d->series)
        total += entry.second.memoryBytes();
    return total;
}

} // namespace nightlight
