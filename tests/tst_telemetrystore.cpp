#include "historytest.h"
#include "telemetrydatabase.h"
#include "telemetrystore.h"

#include <QBuffer>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <limits>
#include <vector>

using nightlight::TelemetryDatabase;
using nightlight::TelemetryStore;
using Column = TelemetryStore::Column;
using Sample = TelemetryStore::Sample;
using Periods = QList<QPair<qint64, qint64>>;
using LedChanges = QList<QPair<qint64, bool>>; // (t, on) in arrival order

namespace {

using historytest::bruteForce;
using historytest::describe;
using historytest::makeSamples;
using historytest::queryValue;
using historytest::T0;
using historytest::writeFile;
constexpr qint64 DayMs = 24 * 3600 * 1000;

std::vector<Sample> contents(const TelemetryStore &store, const QString &id)
{
    std::vector<Sample> out;
    store.forEachInRange(id, std::numeric_limits<qint64>::min(), std::numeric_limits<qint64>::max(),
                         [&](qint64 t, double v) {
                             out.push_back({t, v});
                         });
    return out;
}

// decimate() once every column the file holds is read (the reader answers on this thread's
// event loop); empty when it does not settle within 10 s.
std::vector<Column> settled(TelemetryStore &store, const QString &id, qint64 t0, qint64 t1,
                            int columns)
{
    for (int round = 0; round < 100; ++round) {
        QSignalSpy loaded(&store, &TelemetryStore::historyLoaded);
        std::vector<Column> cols = store.decimate(id, t0, t1, columns);
        if (std::none_of(cols.begin(), cols.end(), [](const Column &c) { return c.loading; }))
            return cols;
        loaded.wait(100);
    }
    return {};
}

qint64 rowCount(const QString &path, const QString &where = QString())
{
    const QString name = QStringLiteral("tst_telemetrystore.check");
    qint64 count = -1;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        if (db.open()) {
            QSqlQuery q(db);
            if (q.exec(QStringLiteral("SELECT COUNT(*) FROM samples") + where) && q.next())
                count = q.value(0).toLongLong();
        }
    }
    QSqlDatabase::removeDatabase(name);
    return count;
}

qint64 ledRowCount(const QString &path)
{
    const QString name = QStringLiteral("tst_telemetrystore.checkled");
    qint64 count = -1;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        if (db.open()) {
            QSqlQuery q(db);
            if (q.exec(QStringLiteral("SELECT COUNT(*) FROM led")) && q.next())
                count = q.value(0).toLongLong();
        }
    }
    QSqlDatabase::removeDatabase(name);
    return count;
}

qint64 rowsOf(const QString &path, const QString &table, const QString &device)
{
    return queryValue(path, QStringLiteral("SELECT COUNT(*) FROM %1 WHERE device = ?").arg(table),
                      device);
}

Periods allLedPeriods(const TelemetryStore &store, const QString &id)
{
    return store.ledPeriods(id, std::numeric_limits<qint64>::min(),
                            std::numeric_limits<qint64>::max());
}

} // namespace

class TestTelemetryStore : public QObject
{
    Q_OBJECT

private slots:
    void appendAndQuery();
    void ignoresDuplicatesAndNonFinite();
    void outOfOrder_data();
    void outOfOrder();
    void sqliteRoundTrip();
    void batchedWritesByTimer();
    void appendBeforeOpenAndReopen();
    void appendWhileWriterWrites();
    void guiDoesNotWaitForLockedFile();
    void unwritableLocation();
    void openErrorSaysWhy();
    void corruptFileIsMovedAsideWithAWarning();
    void diskFullBacklogIsBounded();
    void retention();
    void retentionOnOpen();
    void maxSamplesPerDevice();
    void csvExport();
    void openReadsOnlyWhatIsShown();
    void summariesServeWideWindows();
    void replayOlderThanTheTailShowsOnceWritten();
    void unknownDevice();
    void ledStatesThroughTheStore();
    void ledSqliteRoundTrip();
    void ledRetention();
    void ledRetentionOnOpen();
    void devicesAreListed();
    void silentDevicesGoOnOpen();
    void forgetDevice_data();
    void forgetDevice();
    void forgetDoesNotWaitForTheFile();
    void fileOfBeforeFormatsIsMigrated();
    void fileNotOursOrNewerIsRefused_data();
    void fileNotOursOrNewerIsRefused();
};

void TestTelemetryStore::appendAndQuery()
{
    TelemetryStore store;
    QSignalSpy added(&store, &TelemetryStore::deviceAdded);
    QSignalSpy appended(&store, &TelemetryStore::samplesAppended);
    QVERIFY(store.devices().isEmpty());
    QCOMPARE(store.last(QStringLiteral("kitchen")), std::nullopt);
    QVERIFY(!store.timeRange(QStringLiteral("kitchen")));

    for (int i = 0; i < 200; ++i)
        store.append(QStringLiteral("kitchen"), T0 + i * 1000, i);
    store.append(QStringLiteral("attic"), T0, 7);

    QCOMPARE(store.devices(), QStringList({QStringLiteral("attic"), QStringLiteral("kitchen")}));
    QCOMPARE(added.count(), 2);
    QCOMPARE(added.at(0).at(0).toString(), QStringLiteral("kitchen"));
    QCOMPARE(appended.count(), 201);
    QCOMPARE(store.size(QStringLiteral("kitchen")), 200);
    QCOMPARE(store.size(QStringLiteral("nobody")), 0);
    QCOMPARE(store.last(QStringLiteral("kitchen")), (Sample{T0 + 199000, 199}));
    QCOMPARE(store.timeRange(QStringLiteral("kitchen"))->first, T0);
    QCOMPARE(store.timeRange(QStringLiteral("kitchen"))->last, T0 + 199000);
    QCOMPARE(store.countInRange(QStringLiteral("kitchen"), T0 + 10000, T0 + 20000), 11);

    std::vector<Sample> window;
    store.forEachInRange(QStringLiteral("kitchen"), T0 + 10000, T0 + 12500,
                         [&](qint64 t, double v) {
                             window.push_back({t, v});
                         });
    QCOMPARE(window.size(), size_t(3));
    QCOMPARE(window.front(), (Sample{T0 + 10000, 10}));
    QCOMPARE(window.back(), (Sample{T0 + 12000, 12}));

    QCOMPARE(store.nearest(QStringLiteral("kitchen"), T0 + 10400), (Sample{T0 + 10000, 10}));
    QCOMPARE(store.nearest(QStringLiteral("kitchen"), T0 + 10600), (Sample{T0 + 11000, 11}));
    QCOMPARE(store.nearest(QStringLiteral("kitchen"), T0 + 10500), (Sample{T0 + 10000, 10}));
    QCOMPARE(store.nearest(QStringLiteral("kitchen"), T0 - 99999), (Sample{T0, 0}));
    QCOMPARE(store.nearest(QStringLiteral("kitchen"), T0 + 999999), (Sample{T0 + 199000, 199}));
    QCOMPARE(store.generation(QStringLiteral("kitchen")), quint64(0));
}

void TestTelemetryStore::ignoresDuplicatesAndNonFinite()
{
    TelemetryStore store;
    const QString id = QStringLiteral("d");
    store.append(id, T0, 1);
    store.append(id, T0, 1); // QoS 1 redelivery
    store.append(id, T0, 2); // same time, other value: kept
    store.append(id, T0 + 5, std::numeric_limits<double>::quiet_NaN());
    store.append(id, T0 + 6, std::numeric_limits<double>::infinity());
    store.append(id, T0 - 5, 0);
    store.append(id, T0 - 5, 0); // duplicate of an inserted one
    QCOMPARE(contents(store, id), (std::vector<Sample>{{T0 - 5, 0}, {T0, 1}, {T0, 2}}));
}

void TestTelemetryStore::outOfOrder_data()
{
    historytest::addOutOfOrderRows();
}

void TestTelemetryStore::outOfOrder()
{
    QFETCH(std::vector<Sample>, samples);
    QFETCH(bool, asBatch);

    TelemetryStore store;
    const QString id = QStringLiteral("d");
    if (asBatch) {
        // The in-order part first, then the rest in one call.
        const size_t firstLate = size_t(
            std::is_sorted_until(samples.begin(), samples.end(),
                                 [](const Sample &a, const Sample &b) { return a.t < b.t; }) -
            samples.begin());
        for (size_t i = 0; i < firstLate; ++i)
            store.append(id, samples[i].t, samples[i].v);
        QSignalSpy appended(&store, &TelemetryStore::samplesAppended);
        store.append(id,
                     std::vector<Sample>(samples.begin() + qsizetype(firstLate), samples.end()));
        QCOMPARE(appended.count(), 1);
    } else {
        for (const Sample &s : samples)
            store.append(id, s.t, s.v);
    }
    auto sorted = samples;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Sample &a, const Sample &b) { return a.t < b.t; });
    QCOMPARE(contents(store, id), sorted);
    QVERIFY(store.generation(id) > 0);
    // The summaries were rebuilt: decimation still equals the brute force.
    const qint64 t1 = sorted.back().t + 1;
    for (int columns : {1, 7, 333}) {
        const auto got = store.decimate(id, sorted.front().t, t1, columns);
        const auto want = bruteForce(sorted, sorted.front().t, t1, columns);
        QVERIFY2(got == want, qPrintable(describe(got, want)));
    }
}

void TestTelemetryStore::sqliteRoundTrip()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("telemetry.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    std::vector<Sample> kitchen;
    for (int i = 0; i < 5000; ++i)
        kitchen.push_back({now - 100000 + i * 10, 0.25 * i});
    {
        TelemetryStore store;
        QString error;
        QVERIFY2(store.open(path, &error), qPrintable(error));
        QVERIFY(store.isOpen());
        QVERIFY(store.lastWarning().isEmpty());
        for (const Sample &s : kitchen)
            store.append(QStringLiteral("kitchen"), s.t, s.v);
        store.append(QStringLiteral("attic"), now, 42);
        store.append(QStringLiteral("kitchen"), now - 200000, -1); // out of order
        QVERIFY(store.pendingWrites() > 0);
        QVERIFY2(store.flush(&error), qPrintable(error));
        QCOMPARE(store.pendingWrites(), 0);
    }
    QVERIFY(QFile::exists(path));
    QCOMPARE(rowCount(path), qint64(5002));

    TelemetryStore reopened;
    QSignalSpy added(&reopened, &TelemetryStore::deviceAdded);
    QString error;
    QVERIFY2(reopened.open(path, &error), qPrintable(error));
    QVERIFY(reopened.lastWarning().isEmpty());
    QCOMPARE(added.count(), 2);
    QCOMPARE(reopened.devices(), QStringList({QStringLiteral("attic"), QStringLiteral("kitchen")}));
    kitchen.insert(kitchen.begin(), Sample{now - 200000, -1});
    QCOMPARE(contents(reopened, QStringLiteral("kitchen")), kitchen);
    QCOMPARE(contents(reopened, QStringLiteral("attic")), (std::vector<Sample>{{now, 42}}));
    // Loading does not write the loaded rows back.
    QCOMPARE(reopened.pendingWrites(), 0);
}

void TestTelemetryStore::batchedWritesByTimer()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    TelemetryStore store;
    store.setFlushInterval(50);
    store.setFlushBatchSize(1000000);
    QVERIFY(store.open(path));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (int i = 0; i < 300; ++i)
        store.append(QStringLiteral("d"), now + i, i);
    // Nothing is written on the append path itself.
    QCOMPARE(store.pendingWrites(), 300);
    QTRY_COMPARE_WITH_TIMEOUT(store.pendingWrites(), 0, 5000);
    QCOMPARE(rowCount(path), qint64(300));

    // A full batch is written at the next event loop turn, not after the interval.
    store.setFlushInterval(60 * 60 * 1000);
    store.setFlushBatchSize(100);
    for (int i = 0; i < 100; ++i)
        store.append(QStringLiteral("d"), now + 1000 + i, i);
    QTRY_COMPARE_WITH_TIMEOUT(store.pendingWrites(), 0, 5000);
    QCOMPARE(rowCount(path), qint64(400));
}

void TestTelemetryStore::appendBeforeOpenAndReopen()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    TelemetryStore store;
    store.append(QStringLiteral("d"), now, 1);
    QCOMPARE(store.pendingWrites(), 0); // memory only: nothing queued while closed
    QVERIFY(store.open(path));
    QCOMPARE(store.pendingWrites(), 1);
    QVERIFY(store.flush());
    QCOMPARE(rowCount(path), qint64(1));

    store.close();
    QVERIFY(!store.isOpen());
    store.append(QStringLiteral("d"), now + 1, 2);
    QVERIFY(store.open(path));
    // Only the sample the file lacks is written again, not the whole history.
    QCOMPARE(store.pendingWrites(), 1);
    QVERIFY(store.flush());
    QCOMPARE(rowCount(path), qint64(2));
    QCOMPARE(contents(store, QStringLiteral("d")), (std::vector<Sample>{{now, 1}, {now + 1, 2}}));
}

void TestTelemetryStore::appendWhileWriterWrites()
{
    // Batches are handed to the writer thread while it is still writing earlier ones, with
    // out-of-order inserts, a batch append and a retention delete among them: after flush() the
    // file holds exactly what is in memory.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 start = QDateTime::currentMSecsSinceEpoch() - 100000;
    const QStringList ids = {QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")};
    TelemetryStore store;
    store.setFlushInterval(5);
    store.setFlushBatchSize(250);
    QVERIFY(store.open(path));
    QSignalSpy warned(&store, &TelemetryStore::warningOccurred);
    for (int i = 0; i < 30000; ++i) {
        const QString &id = ids.at(i % 3);
        store.append(id, start + i, i);
        if (i % 1000 == 500)
            store.append(id, start + i - 400, -i); // replayed late
        if (i % 200 == 0)
            QCoreApplication::processEvents(); // the flush timer hands a batch over
        if (i == 15000) {
            // Rows older than this are partly in the file, partly on their way to it.
            store.removeBefore(start + 5000);
            QCOMPARE(store.timeRange(QStringLiteral("a"))->first, start + 5001);
        }
    }
    std::vector<Sample> batch;
    for (int i = 0; i < 1000; ++i)
        batch.push_back({start + 40000 + i, 0.5 * i});
    store.append(QStringLiteral("b"), batch);
    QVERIFY(store.pendingWrites() > 0);

    QString error;
    QVERIFY2(store.flush(&error), qPrintable(error));
    QCOMPARE(store.pendingWrites(), 0);
    QVERIFY(warned.isEmpty());
    qint64 total = 0;
    for (const QString &id : ids)
        total += store.size(id);
    QVERIFY(total > 25000);
    QCOMPARE(rowCount(path), total);
    QCOMPARE(rowCount(path, QStringLiteral(" WHERE t < %1").arg(start + 5000)), qint64(0));

    // A second store on the same file sees everything, in order.
    TelemetryStore reopened;
    QVERIFY(reopened.open(path));
    QCOMPARE(reopened.devices(), ids);
    for (const QString &id : ids)
        QCOMPARE(contents(reopened, id), contents(store, id));
}

void TestTelemetryStore::guiDoesNotWaitForLockedFile()
{
    // Another program locks the file: the writer thread waits (2 s busy timeout) and fails,
    // the GUI thread goes on appending, the rows are kept and written once the lock is gone.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    TelemetryStore store;
    store.setFlushInterval(5);
    store.setFlushBatchSize(100);
    QVERIFY(store.open(path));
    QSignalSpy warned(&store, &TelemetryStore::warningOccurred);
    const QString lockName = QStringLiteral("tst_telemetrystore.writelocker");
    {
        QSqlDatabase locker = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), lockName);
        locker.setDatabaseName(path);
        QVERIFY(locker.open());
        QSqlQuery q(locker);
        // The write lock (WAL): readers go on, other writers wait.
        QVERIFY2(q.exec(QStringLiteral("BEGIN IMMEDIATE")), qPrintable(q.lastError().text()));

        QElapsedTimer clock;
        clock.start();
        for (int i = 0; i < 1000; ++i) {
            store.append(QStringLiteral("d"), now + i, i);
            if (i % 100 == 99)
                QCoreApplication::processEvents(); // hands the batch to the stuck writer
        }
        // Ten batches handed over, none could be written, and the GUI thread did not wait.
        QVERIFY2(clock.elapsed() < 1500, qPrintable(QString::number(clock.elapsed())));
        QCOMPARE(store.pendingWrites(), 1000);

        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("^cannot write ")));
        QVERIFY(warned.isEmpty());
        QVERIFY(warned.wait(10000));
        QVERIFY2(store.lastWarning().contains(QStringLiteral("locked")),
                 qPrintable(store.lastWarning()));
        QCOMPARE(store.pendingWrites(), 1000); // kept for the next try
        QVERIFY(q.exec(QStringLiteral("ROLLBACK")));
        locker.close();
    }
    QSqlDatabase::removeDatabase(lockName);
    QString error;
    QVERIFY2(store.flush(&error), qPrintable(error));
    QCOMPARE(store.pendingWrites(), 0);
    QCOMPARE(rowCount(path), qint64(1000));
}

void TestTelemetryStore::unwritableLocation()
{
    QTemporaryDir dir;
    // A regular file where the directory should be: SQLite cannot create the database.
    const QString blocker = dir.filePath(QStringLiteral("file"));
    {
        QFile f(blocker);
        QVERIFY(f.open(QIODevice::WriteOnly));
    }
    TelemetryStore store;
    QString error;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("^cannot open ")));
    QVERIFY(!store.open(blocker + QStringLiteral("/telemetry.sqlite"), &error));
    QVERIFY(!error.isEmpty());
    QVERIFY(!store.isOpen());
    // Still works in memory.
    store.append(QStringLiteral("d"), T0, 1);
    QCOMPARE(store.size(QStringLiteral("d")), 1);
    QVERIFY(store.flush());
}

void TestTelemetryStore::diskFullBacklogIsBounded()
{
    // A real "database or disk is full" (SQLITE_FULL): SQLite's max_page_count stops the file
    // from growing past its size. Before, the rows waiting to be written grew without bound and
    // every retry warned. Now at most maxPendingWrites() wait, newer samples are counted as
    // dropped, one warning says writing fails and one says it works again, with the count.
    constexpr qsizetype Cap = 1000;
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const QString id = QStringLiteral("d");
    const qint64 start = QDateTime::currentMSecsSinceEpoch() - 100000;
    TelemetryStore store;
    store.setFlushInterval(5);
    store.setFlushBatchSize(100);
    store.setMaxPendingWrites(Cap);
    QCOMPARE(store.maxPendingWrites(), Cap);
    QVERIFY(store.open(path));
    for (int i = 0; i < 200; ++i)
        store.append(id, start + i, i);
    QVERIFY(store.flush());
    QCOMPARE(rowCount(path), qint64(200));

    QVERIFY(store.setMaxPageCount(1) > 0); // no page beyond those the file has now
    QSignalSpy warned(&store, &TelemetryStore::warningOccurred);
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("^cannot write .*disk is full")));
    // Fill what is left of the last pages, 100 rows a transaction, until a write fails.
    qint64 t = start + 1000;
    QString error;
    for (int round = 0; round < 100 && error.isEmpty(); ++round) {
        for (int i = 0; i < 100; ++i, ++t)
            store.append(id, t, 1);
        store.flush(&error);
    }
    QVERIFY2(error.contains(QStringLiteral("database or disk is full")), qPrintable(error));
    QCOMPARE(warned.count(), 1);
    QVERIFY2(store.lastWarning().contains(QStringLiteral("disk is full")),
             qPrintable(store.lastWarning()));
    const qint64 writtenWhileFilling = rowCount(path) - 200; // what fit before the disk was full
    QVERIFY(writtenWhileFilling < t - (start + 1000));

    // Five times the bound more, handed to the failing writer batch by batch: the backlog never
    // passes the bound, and the retries (also synchronous ones) do not warn again.
    for (int i = 0; i < 5 * Cap; ++i, ++t) {
        store.append(id, t, 2);
        QVERIFY2(store.pendingWrites() <= Cap, qPrintable(QString::number(store.pendingWrites())));
        if (i % 100 == 99)
            QCoreApplication::processEvents();
    }
    QVERIFY(!store.flush());
    QVERIFY(!store.flush());
    QCOMPARE(store.pendingWrites(), Cap);
    const qint64 appended = t - (start + 1000);
    QCOMPARE(qint64(store.droppedWrites()), appended - writtenWhileFilling - Cap);
    QCOMPARE(rowCount(path), 200 + writtenWhileFilling);
    QCOMPARE(warned.count(), 1);
    // Every sample is still in memory, for the chart.
    QCOMPARE(qint64(store.size(id)), 200 + appended);

    // Space again: the kept rows are written by the next retry, and it says so once.
    QVERIFY(store.setMaxPageCount(0) > 1000);
    QTRY_COMPARE_WITH_TIMEOUT(store.pendingWrites(), 0, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(warned.count(), 2, 10000);
    const QString recovered = warned.at(1).at(0).toString();
    QVERIFY2(recovered.contains(QStringLiteral("works again")) &&
                 recovered.contains(QString::number(store.droppedWrites())),
             qPrintable(recovered));
    QCOMPARE(rowCount(path), 200 + writtenWhileFilling + Cap);
    // The oldest rows were kept: the file goes on without a gap, up to where the bound was hit.
    QCOMPARE(
        rowCount(path,
                 QStringLiteral(" WHERE t >= %1").arg(start + 1000 + writtenWhileFilling + Cap)),
        qint64(0));

    // New samples are written again, and nothing more is dropped.
    const qsizetype dropped = store.droppedWrites();
    for (int i = 0; i < 300; ++i, ++t)
        store.append(id, t, 0.5);
    QVERIFY(store.flush(&error));
    QCOMPARE(store.droppedWrites(), dropped);
    QCOMPARE(rowCount(path, QStringLiteral(" WHERE v = 0.5")), qint64(300));
    QCOMPARE(warned.count(), 2);
}

void TestTelemetryStore::retention()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    TelemetryStore store;
    QVERIFY(store.open(path));
    for (int day = 40; day >= 0; --day)
        store.append(QStringLiteral("d"), now - day * DayMs, day);
    QVERIFY(store.flush());
    QCOMPARE(rowCount(path), qint64(41));
    QSignalSpy removed(&store, &TelemetryStore::samplesRemoved);
    const quint64 generation = store.generation(QStringLiteral("d"));

    store.removeBefore(now - 30 * DayMs);
    QCOMPARE(removed.count(), 1);
    QVERIFY(store.generation(QStringLiteral("d")) != generation);
    QCOMPARE(store.size(QStringLiteral("d")), 31);
    QCOMPARE(store.timeRange(QStringLiteral("d"))->first, now - 30 * DayMs);
    // The file's delete runs on the writer thread; flush() waits for it.
    QVERIFY(store.flush());
    QCOMPARE(rowCount(path), qint64(31));
    // Decimation sees the rebuilt summaries.
    const auto cols = store.decimate(QStringLiteral("d"), now - 40 * DayMs, now + 1, 1);
    QCOMPARE(cols.front().max, 30.0);

    // A shorter retention applies at once.
    store.setRetention(20 * DayMs + 1000);
    QCOMPARE(store.size(QStringLiteral("d")), 21);
    QVERIFY(store.flush());
    QCOMPARE(rowCount(path), qint64(21));
}

void TestTelemetryStore::retentionOnOpen()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    {
        TelemetryStore keepAll;
        keepAll.setRetention(0);
        QVERIFY(keepAll.open(path));
        for (int day = 10; day >= 0; --day)
            keepAll.append(QStringLiteral("d"), now - day * DayMs, day);
    }
    QCOMPARE(rowCount(path), qint64(11));
    TelemetryStore store;
    QCOMPARE(store.retention(), TelemetryStore::DefaultRetentionMs);
    store.setRetention(5 * DayMs + 1000);
    QVERIFY(store.open(path));
    // Shown at once from the cutoff on; deleted from the file on the writer thread.
    QCOMPARE(contents(store, QStringLiteral("d")).size(), size_t(6));
    // The range starts at the cutoff (the file's first sample is not read again).
    const qint64 first = store.timeRange(QStringLiteral("d"))->first;
    QVERIFY(first > now - 5 * DayMs - 1000 && first <= now - 5 * DayMs);
    QVERIFY(store.flush());
    QCOMPARE(rowCount(path), qint64(6));
}

void TestTelemetryStore::maxSamplesPerDevice()
{
    TelemetryStore store;
    store.setMaxSamplesPerDevice(1000);
    for (int i = 0; i < 5000; ++i) {
        store.append(QStringLiteral("d"), T0 + i, i);
        QVERIFY(store.size(QStringLiteral("d")) <= 1000 + 1000 / 8);
    }
    QVERIFY(store.size(QStringLiteral("d")) >= 1000);
    QCOMPARE(store.last(QStringLiteral("d"))->v, 4999.0);
    QCOMPARE(store.timeRange(QStringLiteral("d"))->first,
             T0 + 5000 - store.size(QStringLiteral("d")));
    store.setMaxSamplesPerDevice(10);
    QCOMPARE(store.size(QStringLiteral("d")), 10);
    QCOMPARE(store.timeRange(QStringLiteral("d"))->first, T0 + 4990);
}

void TestTelemetryStore::csvExport()
{
    TelemetryStore store;
    store.append(QStringLiteral("kitchen"), T0 - 1, 1); // before the range
    store.append(QStringLiteral("kitchen"), T0, 412);
    store.append(QStringLiteral("kitchen"), T0 + 877, 0.1);
    store.append(QStringLiteral("kitchen"), T0 + 3600000, 1e6); // the range is inclusive
    store.append(QStringLiteral("kitchen"), T0 + 3600001, 2); // after it
    store.append(QStringLiteral("hall"), T0, 5); // another device

    QBuffer buffer;
    QVERIFY(buffer.open(QIODevice::WriteOnly));
    QString error;
    QVERIFY2(store.exportCsv(&buffer, QStringLiteral("kitchen"), T0, T0 + 3600000, &error),
             qPrintable(error));
    QCOMPARE(buffer.data(),
             QByteArray("time_utc,device,light\n"
                        "2026-11-26T11:14:11.123Z,kitchen,412\n"
                        "2026-11-26T11:14:12.000Z,kitchen,0.1\n"
                        "2026-11-26T12:14:11.123Z,kitchen,1000000\n"));

    QBuffer closed;
    QVERIFY(!store.exportCsv(&closed, QStringLiteral("kitchen"), T0, T0, &error));
    QVERIFY(!error.isEmpty());
}

void TestTelemetryStore::openReadsOnlyWhatIsShown()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    {
        TelemetryStore store;
        QVERIFY(store.open(path));
        std::vector<Sample> batch;
        for (int i = 0; i < 100000; ++i)
            batch.push_back({now - 100000 + i, double(i % 1000)});
        store.append(QStringLiteral("d"), batch);
    }
    // Opening reads where the history begins and ends, not the samples: memory holds none of
    // them until a window shows them, and then only what it asked for.
    TelemetryStore store;
    QVERIFY(store.open(path));
    const QString d = QStringLiteral("d");
    QCOMPARE(store.size(d), 0);
    QCOMPARE(store.memoryBytes(), 0);
    QCOMPARE(store.timeRange(d)->first, now - 100000);
    QCOMPARE(store.timeRange(d)->last, now - 1);
    QCOMPARE(store.last(d), (Sample{now - 1, double(99999 % 1000)}));
    QCOMPARE(store.sampleCount(d), 100000);
    // The last 10 s: raw samples, read on the reader thread; loading until they come.
    const auto first = store.decimate(d, now - 10000, now, 10);
    QVERIFY(std::all_of(first.begin(), first.end(), [](const Column &c) { return c.loading; }));
    const auto cols = settled(store, d, now - 10000, now, 10);
    QCOMPARE(cols.size(), size_t(10));
    for (const Column &c : cols) {
        QVERIFY(!c.empty);
        QCOMPARE(c.count, 1000);
        QCOMPARE(c.min, 0.0);
        QCOMPARE(c.max, 999.0);
    }
    // Two hours of the file's raw chunks are cached (the window straddles an hour or not).
    QVERIFY(store.memoryBytes() > 1000 * 16);
    QVERIFY2(store.memoryBytes() < 2 * 100000 * 16,
             qPrintable(QString::number(store.memoryBytes())));
}

void TestTelemetryStore::summariesServeWideWindows()
{
    // Two days at 5 s, ending an hour ago: a window of two days in 200 columns (14.4 min each)
    // comes from the 1-minute summaries, a bucket in the column of its start; 48 columns (an hour
    // each) from the 15-minute ones. Both against a reference built from the raw samples.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const QString id = QStringLiteral("d");
    const qint64 end = (QDateTime::currentMSecsSinceEpoch() / 60000 - 60) * 60000;
    const qint64 begin = end - 2 * DayMs;
    std::vector<Sample> samples;
    for (qint64 t = begin; t < end; t += 5000)
        samples.push_back({t, double((t / 5000) % 997) + (t % 86400000 == 0 ? 5000 : 0)});
    {
        TelemetryStore store;
        QVERIFY(store.open(path));
        store.append(id, samples);
    }
    TelemetryStore store;
    QVERIFY(store.open(path));
    QCOMPARE(store.size(id), 0);
    for (const auto &[columns, tier] : {std::pair{200, qint64(60000)}, {48, qint64(900000)}}) {
        const auto cols = settled(store, id, begin, end, columns);
        QCOMPARE(cols.size(), size_t(columns));
        std::vector<Column> want(static_cast<size_t>(columns));
        for (const Sample &x : samples) {
            const qint64 bucket = x.t / tier * tier;
            if (bucket < begin)
                continue;
            Column &c =
                want[size_t(nightlight::SampleSeries::columnOf(begin, end, columns, bucket))];
            if (c.empty) {
                c = {x.v, x.v, x.v, x.v, 0, false};
            } else {
                c.min = std::min(c.min, x.v);
                c.max = std::max(c.max, x.v);
                c.last = x.v;
            }
            ++c.count;
        }
        QVERIFY2(cols == want, qPrintable(describe(cols, want)));
        for (size_t i = 0; i < cols.size(); ++i)
            QCOMPARE(cols[i].count, want[i].count);
    }
    // A minute at the end: raw samples, exactly.
    const auto minute = settled(store, id, end - 60000, end, 12);
    QVERIFY2(minute == bruteForce(samples, end - 60000, end, 12),
             qPrintable(describe(minute, bruteForce(samples, end - 60000, end, 12))));
    // Memory: the cache's chunks only (three of 1-minute buckets, one of 15-minute ones, two
    // hours of raw samples), half of what loading every sample would take.
    QVERIFY2(store.memoryBytes() < qsizetype(samples.size()) * 16 / 2,
             qPrintable(QString::number(store.memoryBytes())));
}

void TestTelemetryStore::replayOlderThanTheTailShowsOnceWritten()
{
    // A sample older than the file's last when the store opened is not kept in memory: it is
    // written, and the chunk around it is read again once it is in the file.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const QString id = QStringLiteral("d");
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    {
        TelemetryStore store;
        QVERIFY(store.open(path));
        for (int i = 0; i < 60; ++i)
            store.append(id, now - 600000 + i * 10000, 10);
    }
    TelemetryStore store;
    QVERIFY(store.open(path));
    auto cols = settled(store, id, now - 600000, now, 60);
    QCOMPARE(cols[30].max, 10.0);
    QSignalSpy loaded(&store, &TelemetryStore::historyLoaded);
    store.append(id, now - 300000 + 5000, 99); // inside column 30, between two samples
    QCOMPARE(store.size(id), 0); // not in memory
    QVERIFY(store.flush());
    QTRY_VERIFY(store.decimate(id, now - 600000, now, 60)[30].max == 99.0);
    QVERIFY(loaded.count() > 0);
    QCOMPARE(store.sampleCount(id), 61);

    // Forgotten with its history: what the file held leaves the view at once.
    QSignalSpy removed(&store, &TelemetryStore::samplesRemoved);
    store.forgetDevice(id, true);
    QCOMPARE(removed.count(), 1);
    QVERIFY(!store.timeRange(id));
    cols = store.decimate(id, now - 600000, now, 60);
    QVERIFY(std::none_of(cols.begin(), cols.end(),
                         [](const Column &c) { return !c.empty || c.loading; }));
    QCOMPARE(store.sampleCount(id), 0);
}

void TestTelemetryStore::openErrorSaysWhy()
{
    // A path that is no database (a directory with the user's files in it): open() fails, says
    // why (openError() without the path, *error with it), warns nothing, and the store works in
    // memory. tst_telemetrydatabase tests the kinds of path.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("telemetry.sqlite"));
    QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("telemetry.sqlite")));
    TelemetryStore store;
    QSignalSpy warned(&store, &TelemetryStore::warningOccurred);
    QString error;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("^cannot open ")));
    QVERIFY(!store.open(path, &error));
    QVERIFY(!store.isOpen());
    QCOMPARE(error, QStringLiteral("cannot open %1: %2").arg(path, store.openError()));
    QVERIFY2(store.openError().contains(QStringLiteral("is a directory")),
             qPrintable(store.openError()));
    QVERIFY(warned.isEmpty());
    QVERIFY(store.lastWarning().isEmpty());
    store.append(QStringLiteral("d"), T0, 1);
    QCOMPARE(store.size(QStringLiteral("d")), 1);
    QCOMPARE(store.pendingWrites(), 0);

    // A later open() that works clears openError().
    QVERIFY(store.open(dir.filePath(QStringLiteral("other.sqlite"))));
    QVERIFY(store.openError().isEmpty());
}

void TestTelemetryStore::corruptFileIsMovedAsideWithAWarning()
{
    // The store's side of a damaged file (tst_telemetrydatabase tests the kinds of damage): one
    // warning inside open(), lastWarning() names where the file went, and the new file works.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("telemetry.sqlite"));
    writeFile(path, "time_utc,device,light\nnot a database\n");
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    {
        TelemetryStore store;
        store.append(QStringLiteral("d"), now, 1.5); // before open(): queued by it
        QSignalSpy warned(&store, &TelemetryStore::warningOccurred);
        QTest::ignoreMessage(
            QtWarningMsg, QRegularExpression(QStringLiteral("not a readable telemetry database")));
        QString error;
        QVERIFY2(store.open(path, &error), qPrintable(error));
        QVERIFY(store.openError().isEmpty());
        QCOMPARE(warned.count(), 1);
        QCOMPARE(warned.at(0).at(0).toString(), store.lastWarning());
        QVERIFY2(store.lastWarning().contains(QStringLiteral(".corrupt-")),
                 qPrintable(store.lastWarning()));
        QCOMPARE(QDir(dir.path()).entryList({QStringLiteral("telemetry.sqlite.corrupt-*")}).size(),
                 1);
        store.appendLedState(QStringLiteral("d"), now, true);
        QCOMPARE(store.pendingWrites(), 2);
        QVERIFY(store.flush(&error));
    }
    TelemetryStore again;
    QVERIFY(again.open(path));
    QVERIFY(again.lastWarning().isEmpty());
    QCOMPARE(contents(again, QStringLiteral("d")), (std::vector<Sample>{{now, 1.5}}));
    QCOMPARE(allLedPeriods(again, QStringLiteral("d")), (Periods{{now, now}}));
}

void TestTelemetryStore::unknownDevice()
{
    // Every reading of a device the store does not have answers "nothing".
    TelemetryStore store;
    store.append(QStringLiteral("d"), T0, 1);
    const QString nobody = QStringLiteral("nobody");
    QVERIFY(!store.contains(nobody));
    QCOMPARE(store.size(nobody), 0);
    QCOMPARE(store.generation(nobody), quint64(0));
    QCOMPARE(store.nearest(nobody, T0), std::nullopt);
    QCOMPARE(store.countInRange(nobody, T0 - 1000, T0 + 1000), 0);
    QVERIFY(contents(store, nobody).empty());
    const auto cols = store.decimate(nobody, T0 - 1000, T0 + 1000, 5);
    QCOMPARE(cols.size(), size_t(5));
    QVERIFY(std::all_of(cols.begin(), cols.end(), [](const Column &c) { return c.empty; }));
    QVERIFY(store.decimate(nobody, T0 - 1000, T0 + 1000, -1).empty());
    QVERIFY(allLedPeriods(store, nobody).isEmpty());
    QCOMPARE(store.memoryBytes(nobody), 0);
    QCOMPARE(store.memoryBytes(), store.memoryBytes(QStringLiteral("d")));
    QVERIFY(store.memoryBytes() > 0);
}

void TestTelemetryStore::ledStatesThroughTheStore()
{
    // appendLedState: a change emits ledPeriodsChanged, a repeat of the value in effect does not
    // (tst_ledhistory has the cases); LED changes alone make no device with samples, but list it.
    const QString id = QStringLiteral("d");
    TelemetryStore store;
    QSignalSpy changed(&store, &TelemetryStore::ledPeriodsChanged);
    QSignalSpy added(&store, &TelemetryStore::deviceAdded);
    store.appendLedState(id, T0 + 50, false); // off before the first change: a repeat
    store.appendLedState(id, T0 + 100, true);
    store.appendLedState(id, T0 + 150, true); // a repeat
    store.appendLedState(id, T0 + 200, false);
    QCOMPARE(changed.count(), 2);
    QCOMPARE(changed.at(0).at(0).toString(), id);
    QCOMPARE(store.ledPeriods(id, T0, T0 + 1000), (Periods{{T0 + 100, T0 + 200}}));
    QCOMPARE(store.ledPeriods(id, T0 + 150, T0 + 150), Periods{}); // an empty window
    QVERIFY(!store.contains(id));
    QVERIFY(added.isEmpty());
    QCOMPARE(store.knownDevices(), QStringList{id});
    QVERIFY(store.ledPeriods(QStringLiteral("other"), T0, T0 + 1000).isEmpty());
}

void TestTelemetryStore::ledSqliteRoundTrip()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("telemetry.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const QString kitchen = QStringLiteral("kitchen");
    const QString attic = QStringLiteral("attic");
    Periods before;
    {
        TelemetryStore store;
        // Appended before open(): memory only, queued by open() as the file lacks it.
        store.appendLedState(kitchen, now - 100000, true);
        QCOMPARE(store.pendingWrites(), 0);
        QString error;
        QVERIFY2(store.open(path, &error), qPrintable(error));
        QCOMPARE(store.pendingWrites(), 1);
        store.appendLedState(kitchen, now - 90000, false);
        store.appendLedState(kitchen, now - 50000, true);
        store.appendLedState(kitchen, now - 50000, true); // repeat: not written
        store.appendLedState(kitchen, now - 70000, false); // out of order: a repeat too
        store.appendLedState(kitchen, now - 95000, false); // out of order
        store.appendLedState(kitchen, now - 92000, true); // out of order
        store.appendLedState(attic, now - 10000, true);
        store.append(kitchen, now, 1.5);
        QCOMPARE(store.pendingWrites(), 7);
        QVERIFY2(store.flush(&error), qPrintable(error));
        QCOMPARE(store.pendingWrites(), 0);
        before = allLedPeriods(store, kitchen);
        QCOMPARE(before,
                 (Periods{{now - 100000, now - 95000},
                          {now - 92000, now - 90000},
                          {now - 50000, now - 50000}}));
    }
    QCOMPARE(ledRowCount(path), qint64(6));
    QCOMPARE(rowCount(path), qint64(1));

    TelemetryStore reopened;
    QSignalSpy changed(&reopened, &TelemetryStore::ledPeriodsChanged);
    QString error;
    QVERIFY2(reopened.open(path, &error), qPrintable(error));
    QVERIFY(reopened.lastWarning().isEmpty());
    QCOMPARE(changed.count(), 2);
    QCOMPARE(allLedPeriods(reopened, kitchen), before);
    QCOMPARE(allLedPeriods(reopened, attic), (Periods{{now - 10000, now - 10000}}));
    QCOMPARE(reopened.devices(), QStringList{kitchen}); // LED changes add no device
    // Loading does not write the loaded rows back; the stored value still counts for repeats.
    QCOMPARE(reopened.pendingWrites(), 0);
    reopened.appendLedState(kitchen, now - 1000, true);
    QCOMPARE(reopened.pendingWrites(), 0);
    reopened.appendLedState(kitchen, now - 1000, false);
    QCOMPARE(reopened.pendingWrites(), 1);
    QVERIFY(reopened.flush());
    QCOMPARE(ledRowCount(path), qint64(7));
}

void TestTelemetryStore::ledRetention()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const QString id = QStringLiteral("d");
    const QString off = QStringLiteral("off at the cutoff");
    const qint64 cutoff = now - 30 * DayMs;
    {
        TelemetryStore store;
        store.setRetention(0);
        QVERIFY(store.open(path));
        store.appendLedState(id, now - 40 * DayMs, true);
        store.appendLedState(id, now - 35 * DayMs, false);
        store.appendLedState(id, now - 31 * DayMs, true); // on at the cutoff
        store.appendLedState(id, now - 10 * DayMs, false);
        store.appendLedState(id, now - 5 * DayMs, true);
        store.appendLedState(off, now - 40 * DayMs, true);
        store.appendLedState(off, now - 35 * DayMs, false); // off at the cutoff
        store.appendLedState(off, now - 5 * DayMs, true);
        QVERIFY(store.flush());
        QCOMPARE(ledRowCount(path), qint64(8));

        QSignalSpy changed(&store, &TelemetryStore::ledPeriodsChanged);
        store.removeBefore(cutoff);
        QCOMPARE(changed.count(), 2);
        // The period that started before the cutoff shades from the cutoff.
        const Periods expected{{cutoff, now - 10 * DayMs}, {now - 5 * DayMs, now - 5 * DayMs}};
        QCOMPARE(allLedPeriods(store, id), expected);
        QCOMPARE(allLedPeriods(store, off), (Periods{{now - 5 * DayMs, now - 5 * DayMs}}));
        QVERIFY(store.flush());
        QCOMPARE(ledRowCount(path), qint64(4)); // on at the cutoff, off, on; and on

        // Again later: the carried change moves up, nothing else changes.
        store.removeBefore(cutoff + 1000);
        QCOMPARE(allLedPeriods(store, id),
                 (Periods{{cutoff + 1000, now - 10 * DayMs}, {now - 5 * DayMs, now - 5 * DayMs}}));
        QVERIFY(store.flush());
        QCOMPARE(ledRowCount(path), qint64(4));
    }
    TelemetryStore again;
    again.setRetention(0);
    QVERIFY(again.open(path));
    QCOMPARE(allLedPeriods(again, id),
             (Periods{{cutoff + 1000, now - 10 * DayMs}, {now - 5 * DayMs, now - 5 * DayMs}}));
    QCOMPARE(allLedPeriods(again, off), (Periods{{now - 5 * DayMs, now - 5 * DayMs}}));
}

void TestTelemetryStore::ledRetentionOnOpen()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const QString id = QStringLiteral("d");
    {
        TelemetryStore keepAll;
        keepAll.setRetention(0);
        QVERIFY(keepAll.open(path));
        keepAll.appendLedState(id, now - 10 * DayMs, true);
        keepAll.appendLedState(id, now - 2 * DayMs, false);
        keepAll.appendLedState(id, now - DayMs, true);
    }
    QCOMPARE(ledRowCount(path), qint64(3));
    TelemetryStore store;
    store.setRetention(5 * DayMs);
    QVERIFY(store.open(path));
    const qint64 after = QDateTime::currentMSecsSinceEpoch();
    const Periods periods = allLedPeriods(store, id);
    QCOMPARE(periods.size(), 2);
    // Shaded from open()'s cutoff (now - retention when it ran) to the change off.
    QVERIFY(periods.at(0).first >= now - 5 * DayMs);
    QVERIFY(periods.at(0).first <= after - 5 * DayMs);
    QCOMPARE(periods.at(0).second, now - 2 * DayMs);
    QCOMPARE(periods.at(1), (QPair<qint64, qint64>(now - DayMs, now - DayMs)));
    // The file was trimmed the same way (the change on moved to the cutoff), nothing queued.
    QCOMPARE(ledRowCount(path), qint64(3));
    QCOMPARE(store.pendingWrites(), 0);
    store.close();
    TelemetryStore again;
    again.setRetention(0);
    QVERIFY(again.open(path));
    QCOMPARE(allLedPeriods(again, id), periods);
}

void TestTelemetryStore::devicesAreListed()
{
    // A device is listed once it sent a reading (append), a state (addDevice) or an LED change,
    // in memory and in the file's devices table; nothing else lists one.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    {
        TelemetryStore store;
        store.append(QStringLiteral("before-open"), now, 1); // memory only, until open()
        QVERIFY(store.open(path));
        store.append(QStringLiteral("reading"), now, 1);
        store.addDevice(QStringLiteral("state"));
        store.appendLedState(QStringLiteral("led"), now, true);
        QCOMPARE(store.knownDevices(),
                 (QStringList{QStringLiteral("before-open"), QStringLiteral("led"),
                              QStringLiteral("reading"), QStringLiteral("state")}));
        QCOMPARE(store.devices(),
                 (QStringList{QStringLiteral("before-open"), QStringLiteral("reading")}));
        QCOMPARE(store.pendingWrites(), 3); // device rows are not part of the bounded backlog
        QString error;
        QVERIFY2(store.flush(&error), qPrintable(error));
    }
    QCOMPARE(queryValue(path, QStringLiteral("SELECT COUNT(*) FROM devices")), 4);
    for (const char *id : {"before-open", "reading", "state", "led"}) {
        const qint64 seen = queryValue(
            path, QStringLiteral("SELECT seen FROM devices WHERE device = ?"), QLatin1String(id));
        QVERIFY2(seen >= now && seen <= QDateTime::currentMSecsSinceEpoch(), id);
    }
    TelemetryStore again;
    QVERIFY(again.open(path));
    QCOMPARE(again.knownDevices(),
             (QStringList{QStringLiteral("before-open"), QStringLiteral("led"),
                          QStringLiteral("reading"), QStringLiteral("state")}));
}

void TestTelemetryStore::silentDevicesGoOnOpen()
{
    // At open(), a listed device not heard within the retention period with nothing left of it
    // in the file goes (as a device whose samples had all expired did before the table); one
    // heard recently stays even with no rows (a state, LED off), and so does one with rows.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    {
        TelemetryStore store;
        store.setRetention(0);
        QVERIFY(store.open(path));
        store.append(QStringLiteral("expired"), now - 40 * DayMs, 1);
        store.addDevice(QStringLiteral("state-only"));
        store.addDevice(QStringLiteral("silent"));
        store.append(QStringLiteral("old-but-kept"), now - 10 * DayMs, 1);
        QVERIFY(store.flush());
    }
    const QString name = QStringLiteral("tst_telemetrystore.seen");
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        QVERIFY(db.open());
        QSqlQuery q(db);
        // Heard 40 days ago: their `seen` says so.
        q.prepare(QStringLiteral("UPDATE devices SET seen = ? WHERE device IN "
                                 "('expired', 'silent', 'old-but-kept')"));
        q.addBindValue(now - 40 * DayMs);
        QVERIFY2(q.exec(), qPrintable(q.lastError().text()));
    }
    QSqlDatabase::removeDatabase(name);
    TelemetryStore store; // 30 days
    QVERIFY(store.open(path));
    QCOMPARE(store.knownDevices(),
             (QStringList{QStringLiteral("old-but-kept"), QStringLiteral("state-only")}));
    QCOMPARE(queryValue(path, QStringLiteral("SELECT COUNT(*) FROM devices")), 2);
}

void TestTelemetryStore::forgetDevice_data()
{
    QTest::addColumn<bool>("deleteHistory");
    QTest::newRow("with its history") << true;
    QTest::newRow("keeping its history") << false;
}

void TestTelemetryStore::forgetDevice()
{
    // Forgetting takes the device off the list (memory and file); with its history, its samples
    // and LED changes go too, those written, those queued and those handed over. Another
    // device's rows stay. Sending again lists it again.
    QFETCH(bool, deleteHistory);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const QString gone = QStringLiteral("gone");
    const QString other = QStringLiteral("other");
    {
        TelemetryStore store;
        store.setFlushInterval(60000);
        QVERIFY(store.open(path));
        for (int i = 0; i < 100; ++i) {
            store.append(gone, now - 1000 + i, i);
            store.append(other, now - 1000 + i, i);
        }
        store.appendLedState(gone, now - 900, true);
        QVERIFY(store.flush());
        for (int i = 100; i < 110; ++i) // queued, not written yet
            store.append(gone, now - 1000 + i, i);
        store.appendLedState(gone, now - 800, false);
        QCOMPARE(store.pendingWrites(), 11);

        QSignalSpy removed(&store, &TelemetryStore::samplesRemoved);
        QSignalSpy ledChanged(&store, &TelemetryStore::ledPeriodsChanged);
        store.forgetDevice(gone, deleteHistory);
        QCOMPARE(store.knownDevices(), QStringList{other});
        QCOMPARE(store.devices().contains(gone), !deleteHistory);
        QCOMPARE(store.sampleCount(gone), deleteHistory ? 0 : 110);
        QCOMPARE(allLedPeriods(store, gone).isEmpty(), deleteHistory);
        QCOMPARE(removed.size(), deleteHistory ? 1 : 0);
        QCOMPARE(ledChanged.size(), deleteHistory ? 1 : 0);
        QCOMPARE(store.pendingWrites(), deleteHistory ? 0 : 11);
        QString error;
        QVERIFY2(store.flush(&error), qPrintable(error));
        QCOMPARE(rowsOf(path, QStringLiteral("samples"), gone), deleteHistory ? 0 : 110);
        QCOMPARE(rowsOf(path, QStringLiteral("led"), gone), deleteHistory ? 0 : 2);
        QCOMPARE(rowsOf(path, QStringLiteral("devices"), gone), 0);
        QCOMPARE(rowsOf(path, QStringLiteral("samples"), other), 100);
        QCOMPARE(rowsOf(path, QStringLiteral("devices"), other), 1);
    }
    {
        // Not listed at the next start; its kept history is loaded (it shows if it comes back).
        TelemetryStore store;
        QVERIFY(store.open(path));
        QCOMPARE(store.knownDevices(), QStringList{other});
        QCOMPARE(store.sampleCount(gone), deleteHistory ? 0 : 110);
        // It sends again: listed again.
        store.append(gone, now, 1);
        QCOMPARE(store.knownDevices(), (QStringList{gone, other}));
        QVERIFY(store.flush());
        QCOMPARE(rowsOf(path, QStringLiteral("devices"), gone), 1);
        QCOMPARE(rowsOf(path, QStringLiteral("samples"), gone), deleteHistory ? 1 : 111);
    }
}

void TestTelemetryStore::forgetDoesNotWaitForTheFile()
{
    // The history is deleted on the writer thread: with the file locked by another program,
    // forgetDevice() returns at once and the rows go once the lock is released.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    TelemetryStore store;
    QVERIFY(store.open(path));
    for (int i = 0; i < 1000; ++i)
        store.append(QStringLiteral("d"), now - 1000 + i, i);
    QVERIFY(store.flush());
    const QString lockName = QStringLiteral("tst_telemetrystore.forgetlocker");
    {
        QSqlDatabase locker = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), lockName);
        locker.setDatabaseName(path);
        QVERIFY(locker.open());
        QSqlQuery q(locker);
        QVERIFY2(q.exec(QStringLiteral("BEGIN IMMEDIATE")), qPrintable(q.lastError().text()));
        QElapsedTimer clock;
        clock.start();
        store.forgetDevice(QStringLiteral("d"), true);
        // The writer waits up to 2 s for the lock; this thread did not.
        QVERIFY2(clock.elapsed() < 500, qPrintable(QString::number(clock.elapsed())));
        QCOMPARE(store.size(QStringLiteral("d")), 0);
        QVERIFY(q.exec(QStringLiteral("ROLLBACK")));
        locker.close();
    }
    QSqlDatabase::removeDatabase(lockName);
    // The writer waits up to 2 s for the lock, released just now: the delete went through.
    QVERIFY(store.flush());
    QCOMPARE(rowsOf(path, QStringLiteral("samples"), QStringLiteral("d")), 0);
}

// tests/data/history-0a0dc75.db was written by the store of 0a0dc75, before history formats were
// numbered (user_version 0), with retention off: kitchen 200 samples every 5 s from T (100 + i,
// 3.5 at every i % 50 == 7), its LED on at T + 10 s, off at T + 300 s, on at T + 900 s; hall 50
// samples from T + 1.234 s (900 - i / 4); porch listed with nothing else.
void TestTelemetryStore::fileOfBeforeFormatsIsMigrated()
{
    constexpr qint64 T = 1767225600000; // 2026-01-01T00:00:00Z
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("history.sqlite"));
    QVERIFY(QFile::copy(QFINDTESTDATA("data/history-0a0dc75.db"), path));
    QVERIFY(QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner));
    QCOMPARE(queryValue(path, QStringLiteral("PRAGMA user_version")), 0);

    const auto check = [&](TelemetryStore &store) {
        QCOMPARE(store.knownDevices(),
                 QStringList(
                     {QStringLiteral("hall"), QStringLiteral("kitchen"), QStringLiteral("porch")}));
        const QString kitchen = QStringLiteral("kitchen");
        QCOMPARE(store.sampleCount(kitchen), 200);
        int i = 0;
        bool same = true;
        store.forEachInRange(kitchen, T, T + 1000000, [&](qint64 t, double v) {
            same = same && t == T + i * 5000 && v == (i % 50 == 7 ? 3.5 : 100.0 + i);
            ++i;
        });
        QVERIFY(same);
        QCOMPARE(i, 200);
        QCOMPARE(store.sampleCount(QStringLiteral("hall")), 50);
        QCOMPARE(store.last(QStringLiteral("hall")),
                 (Sample{T + 49 * 5000 + 1234, 900 - 49 * 0.25}));
        QCOMPARE(store.ledPeriods(kitchen, T, T + 1000000),
                 (QList<QPair<qint64, qint64>>{{T + 10000, T + 300000}, {T + 900000, T + 900000}}));
        // The curve as the chart asks for it: one column per minute over the first 10 minutes.
        const auto columns = settled(store, kitchen, T, T + 600000, 10);
        QCOMPARE(columns.size(), size_t(10));
        QCOMPARE(columns[0].min, 3.5);
        QCOMPARE(columns[0].max, 111.0);
    };
    {
        TelemetryStore store;
        store.setRetention(0);
        QString error;
        QVERIFY2(store.open(path, &error), qPrintable(error));
        check(store);
    }
    QCOMPARE(queryValue(path, QStringLiteral("PRAGMA user_version")),
             TelemetryDatabase::HistoryFormat);
    QCOMPARE(queryValue(path, QStringLiteral("PRAGMA application_id")),
             TelemetryDatabase::ApplicationId);
    // Opened again: nothing to migrate, the same history.
    TelemetryStore again;
    again.setRetention(0);
    QString error;
    QVERIFY2(again.open(path, &error), qPrintable(error));
    check(again);
}

void TestTelemetryStore::fileNotOursOrNewerIsRefused_data()
{
    QTest::addColumn<QString>("pragma");
    QTest::addColumn<QString>("reason");
    QTest::newRow("newer format")
        << QStringLiteral("PRAGMA user_version = %1").arg(TelemetryDatabase::HistoryFormat + 1)
        << QStringLiteral("it was written by a newer Nightlight dashboard (history format %1; "
                          "this one reads formats up to %2)")
               .arg(TelemetryDatabase::HistoryFormat + 1)
               .arg(TelemetryDatabase::HistoryFormat);
    QTest::newRow("another program's")
        << QStringLiteral("PRAGMA application_id = 1179602756")
        << QStringLiteral("it is not a Nightlight history file (another program's SQLite "
                          "database, application id 0x464f4f44)");
}

// Refused, said why, and left exactly as it was: not moved aside, not migrated, not written.
void TestTelemetryStore::fileNotOursOrNewerIsRefused()
{
    QFETCH(QString, pragma);
    QFETCH(QString, reason);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("history.sqlite"));
    const QString name = QStringLiteral("tst_telemetrystore.make");
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        QVERIFY(db.open());
        QSqlQuery q(db);
        QVERIFY(q.exec(QStringLiteral("CREATE TABLE samples(device TEXT NOT NULL, "
                                      "t INTEGER NOT NULL, v REAL NOT NULL)")));
        QVERIFY(q.exec(QStringLiteral("INSERT INTO samples VALUES ('kitchen', 1, 2)")));
        QVERIFY(q.exec(pragma));
    }
    QSqlDatabase::removeDatabase(name);
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray before = file.readAll();
    file.close();
    const QStringList entries = QDir(dir.path()).entryList(QDir::Files);

    TelemetryStore store;
    QSignalSpy warnings(&store, &TelemetryStore::warningOccurred);
    QString error;
    QVERIFY(!store.open(path, &error));
    QVERIFY2(error.startsWith(QStringLiteral("cannot open %1: %2").arg(path, reason)),
             qPrintable(error));
    QVERIFY2(store.openError().startsWith(reason), qPrintable(store.openError()));
    QCOMPARE(warnings.count(), 0);
    QVERIFY(!store.isOpen());
    store.append(QStringLiteral("kitchen"), T0, 1); // in memory
    QCOMPARE(store.size(QStringLiteral("kitchen")), 1);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), before);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), entries);
}

QTEST_GUILESS_MAIN(TestTelemetryStore)
#include "tst_telemetrystore.moc"
