#include "telemetrydatabase.h"

#include "databasefile.h"
#include "telemetrywriter.h"

#include <QDateTime>
#include <QFile>
#include <QMetaObject>
#include <QObject>
#include <QThread>

#include <atomic>

namespace nightlight {

namespace {

std::atomic<quint64> s_connectionCounter{0};

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
    std::unique_ptr<TelemetryWriter> writer;
    std::unique_ptr<QObject> worker;
    QThread thread;

    void startThread()
    {
        if (thread.isRunning())
            return;
        writer = std::make_unique<TelemetryWriter>(connectionName);
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

    // On the writer thread: runs the next step of a catch-up (summaries or retention) and, while
    // there is more, posts the step after it, behind the jobs handed over meanwhile. A step
    // posted before the writer's last open() or close() is dropped.
    template<typename Step>
    QString continueOnWriter(TelemetryWriter &w, Step step)
    {
        bool more = false;
        const QString why = step(w, &more);
        if (more) {
            postToWriter([this, step, generation = w.generation()](TelemetryWriter &next) {
                return next.generation() == generation ? continueOnWriter(next, step) : QString();
            });
        }
        return why;
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
    if (opened) {
        summarizeLater(QDateTime::currentMSecsSinceEpoch());
        return true;
    }
    if (loaded) {
        *loaded = Loaded();
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
    summarizeLater(QDateTime::currentMSecsSinceEpoch());
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
         deviceRows = std::move(deviceRows)](TelemetryWriter &w) mutable {
            return w.insert(std::move(rows), std::move(ledRows), std::move(deviceRows));
        },
        true);
}

void TelemetryDatabase::forgetLater(const QString &id, bool history)
{
    d->postToWriter([id, history](TelemetryWriter &w) { return w.forget(id, history); });
}

void TelemetryDatabase::deleteSamplesBeforeLater(const QString &id, qint64 cutoff)
{
    d->postToWriter([id, cutoff](TelemetryWriter &w) { return w.deleteBefore(id, cutoff); });
}

void TelemetryDatabase::clipLedLater(const QString &id, qint64 cutoff, bool carryOn)
{
    d->postToWriter(
        [id, cutoff, carryOn](TelemetryWriter &w) { return w.clipLed(id, cutoff, carryOn); });
}

void TelemetryDatabase::afterWritesLater(std::function<void(bool)> fn)
{
    QMetaObject::invokeMethod(
        d->worker.get(),
        [this, fn = std::move(fn)]() mutable {
            const bool written = !d->writer->holdsFailedRows();
            QMetaObject::invokeMethod(
                d->context, [fn = std::move(fn), written] { fn(written); }, Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

void TelemetryDatabase::summarizeLater(qint64 nowMs)
{
    if (!d->thread.isRunning())
        return;
    d->postToWriter([this, nowMs](TelemetryWriter &w) {
        // While a catch-up runs it takes the new end; otherwise one starts here.
        if (!w.requestSummarize(nowMs))
            return QString();
        return d->continueOnWriter(
            w, [](TelemetryWriter &step, bool *more) { return step.summarizeStep(more); });
    });
}

void TelemetryDatabase::applyRetentionLater(qint64 nowMs, Retention r)
{
    if (!d->thread.isRunning())
        return;
    d->postToWriter([this, nowMs, r](TelemetryWriter &w) {
        if (!w.requestRetention(nowMs, r))
            return QString();
        return d->continueOnWriter(
            w, [](TelemetryWriter &step, bool *more) { return step.retentionStep(more); });
    });
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
