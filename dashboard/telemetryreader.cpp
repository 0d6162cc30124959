#include "telemetryreader.h"

#include "csvexport.h"

#include <QMetaObject>
#include <QObject>
#include <QSaveFile>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QThread>

#include <atomic>

namespace nightlight {

namespace {

std::atomic<quint64> s_readerCounter{0};

// The 1-minute tier: the finest summary, counted for the samples older than the raw ones.
constexpr qint64 MinuteTier = 60000;

} // namespace

struct TelemetryReader::Private
{
    QObject *context = nullptr;
    std::function<void(Answer)> answered;
    QString connectionName;
    // Bumped by open() and close() on the GUI thread; a read made under an older value is
    // not answered.
    std::atomic<quint64> epoch{0};

    // Only touched on the reader thread.
    QString path;
    bool connected = false;

    std::unique_ptr<QObject> worker;
    QThread thread;

    void start()
    {
        if (thread.isRunning())
            return;
        worker = std::make_unique<QObject>();
        worker->moveToThread(&thread);
        thread.setObjectName(QStringLiteral("nightlight.store.reader"));
        thread.start();
    }

    // Reader thread: the connection, made on first use.
    bool connect(QString *error)
    {
        if (connected)
            return true;
        QSqlDatabase handle = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connectionName);
        handle.setDatabaseName(path);
        // Read-only: this connection never writes, and a reader that waits on the writer's
        // checkpoint gives up after a while instead of blocking the thread for good.
        handle.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY;QSQLITE_BUSY_TIMEOUT=2000"));
        if (!handle.open()) {
            *error = handle.lastError().text();
            handle = QSqlDatabase();
            QSqlDatabase::removeDatabase(connectionName);
            return false;
        }
        connected = true;
        return true;
    }

    void disconnect()
    {
        if (!connected)
            return;
        {
            QSqlDatabase handle = QSqlDatabase::database(connectionName, false);
            handle.close();
        }
        QSqlDatabase::removeDatabase(connectionName);
        connected = false;
    }

    QSqlDatabase db() const { return QSqlDatabase::database(connectionName, false); }

    // Reader thread. The summary tiers' `until` (none when it cannot be read).
    void readUntil(std::map<qint64, qint64> &until)
    {
        QSqlQuery query(db());
        query.setForwardOnly(true);
        if (!query.exec(QStringLiteral("SELECT tier, until FROM summary_done")))
            return;
        while (query.next())
            until[query.value(0).toLongLong()] = query.value(1).toLongLong();
    }

    // Reader thread: calls fn(t, v) for each raw sample of `device` with t0 <= t < t1, in time
    // order, straight from the query. False and *error when the read failed.
    bool forEachSample(const QString &device, qint64 t0, qint64 t1,
                       const std::function<void(qint64, double)> &fn, QString *error)
    {
        QSqlQuery query(db());
        query.setForwardOnly(true);
        query.prepare(QStringLiteral(
            "SELECT t, v FROM samples WHERE device = ? AND t >= ? AND t < ? ORDER BY t"));
        query.addBindValue(device);
        query.addBindValue(t0);
        query.addBindValue(t1);
        if (!query.exec()) {
            *error = query.lastError().text();
            return false;
        }
        while (query.next())
            fn(query.value(0).toLongLong(), query.value(1).toDouble());
        if (query.lastError().isValid()) {
            *error = query.lastError().text();
            return false;
        }
        return true;
    }

    // Reader thread.
    void read(Answer &a)
    {
        if (!connect(&a.error))
            return;
        readUntil(a.until);
        const Request &r = a.request;
        if (r.tier < 0)
            return;
        if (r.tier == 0) {
            forEachSample(
                r.device, r.t0, r.t1,
                [&a](qint64 t, double v) {
                    a.samples.push_back({t, v});
                },
                &a.error);
            return;
        }
        const auto done = a.until.find(r.tier);
        if (done == a.until.end())
            return; // nothing summarised yet
        QSqlQuery query(db());
        query.setForwardOnly(true);
        query.prepare(
            QStringLiteral("SELECT t, min, max, first_v, last_v, sum, count FROM summary "
                           "WHERE tier = ? AND device = ? AND t >= ? AND t < ? ORDER BY t"));
        query.addBindValue(r.tier);
        query.addBindValue(r.device);
        query.addBindValue(r.t0);
        query.addBindValue(std::min(r.t1, done->second));
        if (!query.exec()) {
            a.error = query.lastError().text();
            return;
        }
        while (query.next()) {
            a.buckets.push_back({query.value(0).toLongLong(), query.value(1).toDouble(),
                                 query.value(2).toDouble(), query.value(3).toDouble(),
                                 query.value(4).toDouble(), query.value(5).toDouble(),
                                 query.value(6).toLongLong()});
        }
        if (query.lastError().isValid())
            a.error = query.lastError().text();
    }

    void post(Request r)
    {
        start();
        const quint64 at = epoch.load();
        QMetaObject::invokeMethod(
            worker.get(),
            [this, at, r = std::move(r)]() mutable {
                if (epoch.load() != at)
                    return; // a close() or open() came after it: nobody wants it
                Answer a;
                a.request = std::move(r);
                read(a);
                QMetaObject::invokeMethod(
                    context,
                    [this, at, a = std::move(a)]() mutable {
                        if (epoch.load() == at)
                            answered(std::move(a));
                    },
                    Qt::QueuedConnection);
            },
            Qt::QueuedConnection);
    }

    template<typename Fn>
    void runOnReader(Fn fn)
    {
        start();
        QMetaObject::invokeMethod(worker.get(), std::move(fn), Qt::BlockingQueuedConnection);
    }
};

TelemetryReader::TelemetryReader(QObject *context, std::function<void(Answer)> answered)
    : d(std::make_unique<Private>())
{
    d->context = context;
    d->answered = std::move(answered);
    d->connectionName = QStringLiteral("nightlight.reader.%1").arg(++s_readerCounter);
}

TelemetryReader::~TelemetryReader()
{
    close();
    if (d->thread.isRunning()) {
        d->thread.quit();
        d->thread.wait();
    }
    d->worker.reset();
}

void TelemetryReader::open(const QString &path)
{
    ++d->epoch;
    d->runOnReader([this, path] {
        d->disconnect();
        d->path = path;
    });
}

void TelemetryReader::close()
{
    ++d->epoch;
    if (d->thread.isRunning())
        d->runOnReader([this] { d->disconnect(); });
}

void TelemetryReader::request(Request request)
{
    d->post(std::move(request));
}

void TelemetryReader::requestUntil(quint64 id)
{
    Request r;
    r.id = id;
    r.tier = -1;
    d->post(std::move(r));
}

void TelemetryReader::exportCsvLater(const QString &fileName, const QString &device, qint64 t0,
                                     qint64 t1, std::function<void(const QString &, qint64)> done)
{
    d->start();
    const quint64 at = d->epoch.load();
    QMetaObject::invokeMethod(
        d->worker.get(),
        [this, at, fileName, device, t0, t1, done = std::move(done)]() mutable {
            QString error;
            qint64 rows = 0;
            QSaveFile file(fileName);
            if (d->epoch.load() != at) {
                error = QStringLiteral("the history was closed");
            } else if (!d->connect(&error)) {
                error = QStringLiteral("cannot read the history: %1").arg(error);
            } else if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) {
                error = file.errorString();
            } else {
                // Straight from the query to the file, 64 KiB at a time: a month of one device
                // is never all in memory.
                QString readError;
                const bool written = writeCsv(
                    &file, device,
                    [&](const std::function<void(qint64, double)> &sink) {
                        d->forEachSample(
                            device, t0, t1,
                            [&](qint64 t, double v) {
                                sink(t, v);
                                ++rows;
                            },
                            &readError);
                    },
                    &error);
                if (written && !readError.isEmpty())
                    error = QStringLiteral("cannot read the history: %1").arg(readError);
                if (error.isEmpty() && !file.commit())
                    error = file.errorString();
            }
            QMetaObject::invokeMethod(
                d->context, [error, rows, done = std::move(done)] { done(error, rows); },
                Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

bool TelemetryReader::readSamples(const QString &device, qint64 t0, qint64 t1,
                                  std::vector<SampleSeries::Sample> *out, QString *error)
{
    Answer a;
    a.request.device = device;
    a.request.t0 = t0;
    a.request.t1 = t1;
    d->runOnReader([this, &a] { d->read(a); });
    if (!a.error.isEmpty()) {
        if (error)
            *error = a.error;
        return false;
    }
    *out = std::move(a.samples);
    return true;
}

qint64 TelemetryReader::countSamples(const QString &device, qint64 t1, QString *error)
{
    qint64 count = -1;
    QString why;
    d->runOnReader([&] {
        if (!d->connect(&why))
            return;
        QSqlQuery query(d->db());
        query.setForwardOnly(true);
        query.prepare(QStringLiteral("SELECT COUNT(*), MIN(t) FROM samples WHERE device = ? "
                                     "AND t < ?"));
        query.addBindValue(device);
        query.addBindValue(t1);
        if (!query.exec() || !query.next()) {
            why = query.lastError().text();
            return;
        }
        count = query.value(0).toLongLong();
        const bool anyRaw = !query.value(1).isNull();
        const qint64 firstRaw = query.value(1).toLongLong();
        query.finish();
        // What retention took from the raw rows and the summaries still stand for.
        QSqlQuery older(d->db());
        older.prepare(QStringLiteral("SELECT TOTAL(count) FROM summary WHERE tier = ? AND "
                                     "device = ? AND t + ? <= ? AND t < ?"));
        older.addBindValue(MinuteTier);
        older.addBindValue(device);
        older.addBindValue(MinuteTier);
        older.addBindValue(anyRaw ? firstRaw : t1);
        older.addBindValue(t1);
        if (older.exec() && older.next())
            count += qint64(older.value(0).toDouble());
    });
    if (count < 0 && error)
        *error = why;
    return count;
}

} // namespace nightlight
