// TelemetryDatabase on its own: opening real files (damaged, busy, unreadable, old schemas),
// loading, and writing on its thread, without a store in front of it.

#include "historytest.h"
#include "telemetrydatabase.h"

#include <QDateTime>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <cstdio>
#include <limits>
#include <vector>

#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

using nightlight::LedHistory;
using nightlight::TelemetryDatabase;
using Loaded = TelemetryDatabase::Loaded;
using Sample = nightlight::SampleSeries::Sample;
using Changes = std::vector<LedHistory::Change>;

namespace {

using historytest::execAll;
using historytest::queryValue;
using historytest::writeFile;

constexpr qint64 DayMs = 24 * 3600 * 1000;
constexpr qint64 KeepAll = std::numeric_limits<qint64>::min();

// A database with the reports it made, on this (the GUI) thread.
struct Database
{
    QObject context;
    QStringList failures;
    int successes = 0;
    TelemetryDatabase db{&context, [this](const QString &why) { failures << why; },
                         [this] {
                             ++successes;
                         }};
    QStringList movedAside;
    QString reason;
    QString message;

    bool open(const QString &path, Loaded *loaded = nullptr, qint64 cutoff = KeepAll)
    {
        return db.open(
            path, cutoff, loaded, [this](const QString &m) { movedAside << m; }, &reason, &message);
    }
};

std::vector<TelemetryDatabase::SampleRow> rows(const QString &device, qint64 from, int count,
                                               double v = 1)
{
    std::vector<TelemetryDatabase::SampleRow> out;
    for (int i = 0; i < count; ++i)
        out.push_back({device, from + i, v});
    return out;
}

// The samples of `device` in the file at `path`, in time order (equal times as written).
std::vector<Sample> fileSamples(const QString &path, const QString &device)
{
    const QString name = QStringLiteral("tst_telemetrydatabase.samples");
    std::vector<Sample> out;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        if (db.open()) {
            QSqlQuery q(db);
            q.prepare(
                QStringLiteral("SELECT t, v FROM samples WHERE device = ? ORDER BY t, rowid"));
            q.addBindValue(device);
            if (q.exec()) {
                while (q.next())
                    out.push_back({q.value(0).toLongLong(), q.value(1).toDouble()});
            }
        }
    }
    QSqlDatabase::removeDatabase(name);
    return out;
}

qint64 rowCount(const QString &path, const QString &table = QStringLiteral("samples"))
{
    return queryValue(path, QStringLiteral("SELECT COUNT(*) FROM %1").arg(table));
}

// The bytes of a real database file with `count` samples, made and closed (so its write-ahead
// log is checkpointed into it).
QByteArray databaseBytes(int count)
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("made.sqlite"));
    {
        Database made;
        if (!made.open(path))
            return QByteArray();
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        if (!made.db.insertNow(rows(QStringLiteral("kitchen"), now - count, count), {}, {})
                 .isEmpty())
            return QByteArray();
        made.db.close();
    }
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// Everything under `dir` (names, types, sizes, permissions, and the bytes of regular files),
// without following symbolic links: equal before and after means nothing was touched.
QStringList snapshot(const QString &dir)
{
    QStringList out;
    QDirIterator it(dir, QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        const QFileInfo info = it.fileInfo();
        struct stat st = {};
        ::lstat(QFile::encodeName(info.filePath()).constData(), &st);
        QString line = QStringLiteral("%1 mode=%2 size=%3")
                           .arg(info.filePath())
                           .arg(st.st_mode, 0, 8)
                           .arg(st.st_size);
        if (S_ISREG(st.st_mode)) {
            QFile f(info.filePath());
            if (f.open(QIODevice::ReadOnly))
                line += QLatin1Char(' ') + QString::fromLatin1(f.readAll().toHex());
        }
        out << line;
    }
    out.sort();
    return out;
}

// The option that makes this executable open a database instead of running the tests: see
// main().
constexpr char OpenAsChildOption[] = "--open-database-as-child";

// A command prefix that runs a program as the unprivileged user nobody (uid/gid 65534), or empty
// when this process is not root or no tool for it is installed.
QStringList asNobody()
{
    if (::geteuid() != 0)
        return {};
    const QString setpriv = QStandardPaths::findExecutable(QStringLiteral("setpriv"));
    if (setpriv.isEmpty())
        return {};
    return {setpriv, QStringLiteral("--reuid=65534"), QStringLiteral("--regid=65534"),
            QStringLiteral("--clear-groups"), QStringLiteral("--")};
}

} // namespace

class TestTelemetryDatabase : public QObject
{
    Q_OBJECT

private slots:
    void roundTrip();
    void loadAppliesTheCutoff();
    void laterJobsRunInOrder();
    void failedWritesAreKeptAndReported();
    void corruptFile_data();
    void corruptFile();
    void emptyFileIsANewDatabase();
    void pathIsLeftAlone_data();
    void pathIsLeftAlone();
    void unreadableDatabaseIsLeftAlone_data();
    void unreadableDatabaseIsLeftAlone();
    void lockedDatabaseIsNotMovedAside();
    void ledOldSchemaFile();
    void devicesOfAnOldFile();
};

void TestTelemetryDatabase::roundTrip()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    {
        Database d;
        Loaded loaded;
        QVERIFY2(d.open(path, &loaded), qPrintable(d.message));
        QVERIFY(loaded.ranges.empty() && loaded.led.empty() && loaded.devices.empty());
        QVERIFY(d.movedAside.isEmpty());
        // Out of time order on purpose: loading sorts by time.
        std::vector<TelemetryDatabase::SampleRow> samples = {{QStringLiteral("b"), now, 2},
                                                             {QStringLiteral("a"), now - 10, 1.5},
                                                             {QStringLiteral("b"), now - 20, 0.5}};
        const QString why =
            d.db.insertNow(samples,
                           {{QStringLiteral("a"), now - 5, true},
                            {QStringLiteral("a"), now - 5, false},
                            {QStringLiteral("c"), now - 1, true}},
                           {{QStringLiteral("a"), now}, {QStringLiteral("d"), now - 3}});
        QVERIFY2(why.isEmpty(), qPrintable(why));
        QCOMPARE(d.db.unwritten(), 0);
        d.db.close();
    }
    QCOMPARE(rowCount(path), 3);
    QCOMPARE(rowCount(path, QStringLiteral("led")), 3);
    QCOMPARE(rowCount(path, QStringLiteral("devices")), 2);

    Database d;
    Loaded loaded;
    QVERIFY2(d.open(path, &loaded), qPrintable(d.message));
    QCOMPARE(loaded.ranges.size(), size_t(2));
    // Where each device's samples begin and end; the samples stay in the file.
    QCOMPARE(loaded.ranges.at(QStringLiteral("b")).first, now - 20);
    QCOMPARE(loaded.ranges.at(QStringLiteral("b")).last, (Sample{now, 2}));
    QCOMPARE(fileSamples(path, QStringLiteral("a")), (std::vector<Sample>{{now - 10, 1.5}}));
    QCOMPARE(fileSamples(path, QStringLiteral("b")),
             (std::vector<Sample>{{now - 20, 0.5}, {now, 2}}));
    // LED changes of equal time in the order they were written.
    QCOMPARE(loaded.led.at(QStringLiteral("a")).changes(),
             (Changes{{now - 5, true}, {now - 5, false}}));
    QCOMPARE(loaded.led.at(QStringLiteral("c")).changes(), (Changes{{now - 1, true}}));
    QCOMPARE(
        loaded.devices,
        (std::map<QString, qint64>{{QStringLiteral("a"), now}, {QStringLiteral("d"), now - 3}}));
    d.db.close();
}

void TestTelemetryDatabase::loadAppliesTheCutoff()
{
    // LED changes before the cutoff are deleted from the file as it is opened; an LED on at the
    // cutoff gets a change to on there; a listed device not heard since the cutoff with nothing
    // left in the file after it goes.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const qint64 cutoff = now - 5 * DayMs;
    {
        Database d;
        QVERIFY(d.open(path));
        const QString why = d.db.insertNow(
            {{QStringLiteral("a"), now - 10 * DayMs, 1}, {QStringLiteral("a"), now - DayMs, 2}},
            {{QStringLiteral("a"), now - 10 * DayMs, true},
             {QStringLiteral("a"), now - 2 * DayMs, false}},
            {{QStringLiteral("a"), now - 10 * DayMs},
             {QStringLiteral("silent"), now - 10 * DayMs},
             {QStringLiteral("recent"), now - DayMs}});
        QVERIFY2(why.isEmpty(), qPrintable(why));
        d.db.close();
    }
    Database d;
    Loaded loaded;
    QVERIFY2(d.open(path, &loaded, cutoff), qPrintable(d.message));
    // Samples are left to the retention jobs (in small steps, not while the dashboard opens).
    QCOMPARE(fileSamples(path, QStringLiteral("a")),
             (std::vector<Sample>{{now - 10 * DayMs, 1}, {now - DayMs, 2}}));
    QCOMPARE(loaded.led.at(QStringLiteral("a")).changes(),
             (Changes{{cutoff, true}, {now - 2 * DayMs, false}}));
    QCOMPARE(loaded.devices.count(QStringLiteral("silent")), size_t(0));
    QCOMPARE(loaded.devices.count(QStringLiteral("recent")), size_t(1));
    QCOMPARE(loaded.devices.count(QStringLiteral("a")), size_t(1)); // it has rows left
    d.db.close();
    QCOMPARE(rowCount(path), 2);
    QCOMPARE(queryValue(path, QStringLiteral("SELECT MIN(t) FROM led")), cutoff);
}

void TestTelemetryDatabase::laterJobsRunInOrder()
{
    // Jobs handed over without waiting run in order on the thread: a delete after the insert
    // before it, and insertNow() after all of them.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    Database d;
    QVERIFY(d.open(path));
    d.db.insertLater(rows(QStringLiteral("a"), now - 1000, 1000), {}, {});
    d.db.insertLater(
        rows(QStringLiteral("b"), now - 1000, 10),
        {{QStringLiteral("b"), now - 900, true}, {QStringLiteral("b"), now - 10, false}},
        {{QStringLiteral("b"), now}});
    d.db.deleteSamplesBeforeLater(QStringLiteral("a"), now - 100);
    d.db.clipLedLater(QStringLiteral("b"), now - 500, true);
    d.db.forgetLater(QStringLiteral("b"), false);
    QVERIFY(d.db.unwritten() > 0 || rowCount(path) > 0);
    QVERIFY(d.db.insertNow({}, {}, {}).isEmpty());
    QCOMPARE(d.db.unwritten(), 0);
    QVERIFY(d.failures.isEmpty());
    QCOMPARE(d.successes, 0); // not asked for
    QCOMPARE(queryValue(path, QStringLiteral("SELECT COUNT(*) FROM samples WHERE device = ?"),
                        QStringLiteral("a")),
             100);
    QCOMPARE(queryValue(path, QStringLiteral("SELECT COUNT(*) FROM samples WHERE device = ?"),
                        QStringLiteral("b")),
             10); // forgotten, its history kept
    QCOMPARE(rowCount(path, QStringLiteral("devices")), 0);
    QCOMPARE(queryValue(path, QStringLiteral("SELECT MIN(t) FROM led")), now - 500);
    QCOMPARE(rowCount(path, QStringLiteral("led")), 2);
    d.db.forgetLater(QStringLiteral("b"), true);
    QVERIFY(d.db.insertNow({}, {}, {}).isEmpty());
    QCOMPARE(rowCount(path), 100);
    QCOMPARE(rowCount(path, QStringLiteral("led")), 0);
    d.db.close();
}

void TestTelemetryDatabase::failedWritesAreKeptAndReported()
{
    // A full file (max_page_count): the rows stay, counted in unwritten(), for the next try; a
    // later insert that fails is reported once per try; with room again they are written, and
    // a success is reported while asked for.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    Database d;
    QVERIFY(d.open(path));
    QVERIFY(d.db.insertNow(rows(QStringLiteral("a"), now - 100000, 10), {}, {}).isEmpty());
    QVERIFY(d.db.setMaxPageCount(1) > 0);
    QString why;
    qsizetype handed = 0;
    for (int round = 0; round < 100 && why.isEmpty(); ++round) {
        why = d.db.insertNow(rows(QStringLiteral("a"), now - 90000 + round * 500, 500), {}, {});
        handed += 500;
    }
    QVERIFY2(why.contains(QStringLiteral("database or disk is full")), qPrintable(why));
    QVERIFY2(why.startsWith(QStringLiteral("cannot write 500 samples to ")) || why.contains(path),
             qPrintable(why));
    const qsizetype kept = d.db.unwritten();
    QVERIFY(kept >= 500);
    QVERIFY(d.failures.isEmpty()); // insertNow() returns its failure, it does not report it

    d.db.insertLater(rows(QStringLiteral("a"), now, 1), {}, {});
    QCOMPARE(d.db.unwritten(), kept + 1);
    QTRY_COMPARE(d.failures.size(), 1);
    QVERIFY2(d.failures.first().contains(QStringLiteral("disk is full")),
             qPrintable(d.failures.first()));
    QCOMPARE(d.db.unwritten(), kept + 1);

    QVERIFY(d.db.setMaxPageCount(0) > 1);
    d.db.setReportSuccess(true);
    d.db.insertLater({}, {}, {});
    QTRY_COMPARE(d.successes, 1);
    QCOMPARE(d.db.unwritten(), 0);
    QCOMPARE(rowCount(path), 10 + qint64(handed) + 1);
    d.db.close();
}

void TestTelemetryDatabase::corruptFile_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QByteArray garbage(8192, '\0');
    QRandomGenerator rng(42);
    for (auto &c : garbage)
        c = char(rng.bounded(256));
    QTest::newRow("garbage bytes") << garbage;
    QTest::newRow("a text file") << QByteArray("time_utc,device,light\nnot a database\n");
    QByteArray header("SQLite format 3", 16);
    QTest::newRow("SQLite header then garbage") << header + garbage;
    QTest::newRow("the text file hello") << QByteArray("hello");
    // Damaged databases: SQLite itself says SQLITE_CORRUPT ("database disk image is malformed").
    const QByteArray database = databaseBytes(20000);
    QVERIFY(database.size() > 16 * 4096);
    QCOMPARE(database.left(16), header);
    QTest::newRow("a truncated database") << database.left(database.size() / 2);
    QByteArray garbled = database;
    // The first page (header and schema) intact, every later page overwritten.
    for (qsizetype i = 4096; i < garbled.size(); ++i)
        garbled[i] = char(rng.bounded(256));
    QTest::newRow("a garbled database") << garbled;
}

void TestTelemetryDatabase::corruptFile()
{
    QFETCH(QByteArray, bytes);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("telemetry.sqlite"));
    writeFile(path, bytes);
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    {
        Database d;
        Loaded loaded;
        QVERIFY2(d.open(path, &loaded), qPrintable(d.message));
        QCOMPARE(d.movedAside.size(), 1);
        QVERIFY2(
            d.movedAside.first().contains(QStringLiteral("not a readable telemetry database")) &&
                d.movedAside.first().contains(QStringLiteral(".corrupt-")),
            qPrintable(d.movedAside.first()));
        QVERIFY(loaded.ranges.empty() && loaded.led.empty() && loaded.devices.empty());

        // The old file was moved aside intact.
        const QStringList aside =
            QDir(dir.path()).entryList({QStringLiteral("telemetry.sqlite.corrupt-*")});
        QCOMPARE(aside.size(), 1);
        QFile moved(dir.filePath(aside.first()));
        QVERIFY(moved.open(QIODevice::ReadOnly));
        QCOMPARE(moved.readAll(), bytes);

        // The new database works.
        QVERIFY(d.db.insertNow({{QStringLiteral("d"), now, 1.5}},
                               {{QStringLiteral("d"), now, true}}, {})
                    .isEmpty());
        d.db.close();
    }
    Database again;
    Loaded loaded;
    QVERIFY(again.open(path, &loaded));
    QVERIFY(again.movedAside.isEmpty());
    QCOMPARE(fileSamples(path, QStringLiteral("d")), (std::vector<Sample>{{now, 1.5}}));
    QCOMPARE(loaded.led.at(QStringLiteral("d")).changes(), (Changes{{now, true}}));
    again.db.close();
}

void TestTelemetryDatabase::emptyFileIsANewDatabase()
{
    // An empty file is what SQLite makes of a new database before its first write: not moved.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("telemetry.sqlite"));
    writeFile(path, QByteArray());
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    {
        Database d;
        QVERIFY2(d.open(path), qPrintable(d.message));
        QVERIFY(d.movedAside.isEmpty());
        QVERIFY(d.db.insertNow({{QStringLiteral("d"), now, 2.5}}, {}, {}).isEmpty());
        d.db.close();
    }
    QVERIFY(QDir(dir.path()).entryList({QStringLiteral("*.corrupt-*")}).isEmpty());
    QCOMPARE(rowCount(path), qint64(1));
}

void TestTelemetryDatabase::pathIsLeftAlone_data()
{
    // What is made at the path, and what open()'s reason must say.
    QTest::addColumn<QString>("what");
    QTest::addColumn<QString>("reason");
    QTest::newRow("a directory with a file in it")
        << QStringLiteral("directory") << QStringLiteral("is a directory");
    QTest::newRow("a FIFO") << QStringLiteral("fifo") << QStringLiteral("is a FIFO");
    QTest::newRow("a symbolic link loop")
        << QStringLiteral("loop") << QStringLiteral("Too many levels of symbolic links");
    QTest::newRow("a folder that does not exist")
        << QStringLiteral("no folder") << QStringLiteral("does not exist");
    QTest::newRow("a character device (/dev/null)")
        << QStringLiteral("device") << QStringLiteral("is a character device");
}

void TestTelemetryDatabase::pathIsLeftAlone()
{
    // Nothing says these are broken databases: open() fails with a clear reason and nothing is
    // moved, created or changed (before, a directory was renamed with the user's files in it).
    QFETCH(QString, what);
    QFETCH(QString, reason);
    QTemporaryDir dir;
    QString path = dir.filePath(QStringLiteral("telemetry.sqlite"));
    if (what == QLatin1String("directory")) {
        QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("telemetry.sqlite")));
        writeFile(path + QStringLiteral("/notes.txt"), "the user's own file\n");
    } else if (what == QLatin1String("fifo")) {
        QCOMPARE(::mkfifo(QFile::encodeName(path).constData(), 0644), 0);
    } else if (what == QLatin1String("loop")) {
        QVERIFY(QFile::link(dir.filePath(QStringLiteral("other")), path));
        QVERIFY(QFile::link(path, dir.filePath(QStringLiteral("other"))));
    } else if (what == QLatin1String("no folder")) {
        path = dir.filePath(QStringLiteral("missing/telemetry.sqlite"));
    } else if (what == QLatin1String("device")) {
        path = QStringLiteral("/dev/null");
    }
    const QStringList before = snapshot(dir.path());
    struct stat devBefore = {};
    ::stat("/dev/null", &devBefore);

    Database d;
    QVERIFY(!d.open(path));
    QVERIFY2(d.message.startsWith(QStringLiteral("cannot open ")) && d.message.contains(path) &&
                 d.message.contains(reason),
             qPrintable(d.message));
    QVERIFY2(d.reason.contains(reason) && !d.reason.contains(path), qPrintable(d.reason));
    QVERIFY(d.movedAside.isEmpty());
    QCOMPARE(snapshot(dir.path()), before);
    struct stat devAfter = {};
    QCOMPARE(::stat("/dev/null", &devAfter), 0);
    QCOMPARE(devAfter.st_rdev, devBefore.st_rdev);
}

void TestTelemetryDatabase::unreadableDatabaseIsLeftAlone_data()
{
    // The folder's and the file's permissions; what open()'s error must say.
    QTest::addColumn<int>("folderMode");
    QTest::addColumn<int>("fileMode");
    QTest::addColumn<QString>("reason");
    QTest::newRow("a database it cannot read (mode 000)")
        << 0700 << 0000 << QStringLiteral("Permission denied");
    QTest::newRow("a database in a folder it cannot write to")
        << 0555 << 0600 << QStringLiteral("cannot write to its folder");
}

void TestTelemetryDatabase::unreadableDatabaseIsLeftAlone()
{
    // A valid database the user cannot read is an error, not "corrupt": before, SQLite's
    // SQLITE_CANTOPEN moved it aside and started an empty one. Root reads any file whatever its
    // mode, so as root (the CI container) the open runs in a child process of this executable
    // as the user nobody, the folder and file owned by nobody; otherwise in this process.
    QFETCH(int, folderMode);
    QFETCH(int, fileMode);
    QFETCH(QString, reason);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("telemetry.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    {
        Database maker;
        QVERIFY(maker.open(path));
        QVERIFY(maker.db.insertNow({{QStringLiteral("d"), now, 7}}, {}, {}).isEmpty());
        maker.db.close();
    }
    const QStringList prefix = asNobody();
    if (::geteuid() == 0) {
        if (prefix.isEmpty())
            QSKIP("running as root without setpriv: cannot test as an unprivileged user");
        const QByteArray folder = QFile::encodeName(dir.path());
        const QByteArray file = QFile::encodeName(path);
        QCOMPARE(::chown(folder.constData(), 65534, 65534), 0);
        QCOMPARE(::chown(file.constData(), 65534, 65534), 0);
    }
    QCOMPARE(::chmod(QFile::encodeName(path).constData(), mode_t(fileMode)), 0);
    QCOMPARE(::chmod(QFile::encodeName(dir.path()).constData(), mode_t(folderMode)), 0);
    const QStringList before = snapshot(dir.path());

    QString error;
    if (prefix.isEmpty()) {
        Database d;
        QVERIFY(!d.open(path));
        QVERIFY2(d.reason.contains(reason), qPrintable(d.reason));
        error = d.message;
    } else {
        // nobody must reach this executable (every folder on the way searchable by others).
        QProcess probe;
        probe.start(prefix.first(),
                    prefix.mid(1) +
                        QStringList{QStringLiteral("test"), QStringLiteral("-x"),
                                    QCoreApplication::applicationFilePath()});
        QVERIFY(probe.waitForFinished(10000));
        if (probe.exitCode() != 0)
            QSKIP("the user nobody cannot run this test executable");
        QProcess child;
        child.start(prefix.first(),
                    prefix.mid(1) +
                        QStringList{QCoreApplication::applicationFilePath(),
                                    QLatin1String(OpenAsChildOption), path});
        QVERIFY(child.waitForFinished(20000));
        const QString err = QString::fromLocal8Bit(child.readAllStandardError());
        error = QString::fromUtf8(child.readAllStandardOutput());
        QCOMPARE(child.exitStatus(), QProcess::NormalExit);
        QVERIFY2(child.exitCode() == 1, qPrintable(error + QLatin1Char('\n') + err));
    }
    QVERIFY2(error.contains(path) && error.contains(reason), qPrintable(error));
    // The file is where it was, with its mode and bytes (as root: the sample is still in it).
    QCOMPARE(::chmod(QFile::encodeName(dir.path()).constData(), 0700), 0);
    QCOMPARE(snapshot(dir.path()), before);
    struct stat st = {};
    QCOMPARE(::stat(QFile::encodeName(path).constData(), &st), 0);
    QCOMPARE(int(st.st_mode & 07777), fileMode);
    if (::geteuid() == 0)
        QCOMPARE(rowCount(path), qint64(1));
}

void TestTelemetryDatabase::lockedDatabaseIsNotMovedAside()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    {
        Database first;
        QVERIFY(first.open(path));
        QVERIFY(first.db.insertNow({{QStringLiteral("d"), now, 1}}, {}, {}).isEmpty());
        first.db.close();
    }
    const QString lockName = QStringLiteral("tst_telemetrydatabase.locker");
    {
        // Another program holds an exclusive lock: the file is fine, only busy.
        QSqlDatabase locker = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), lockName);
        locker.setDatabaseName(path);
        QVERIFY(locker.open());
        QSqlQuery q(locker);
        QVERIFY(q.exec(QStringLiteral("PRAGMA locking_mode=EXCLUSIVE")));
        QVERIFY(q.exec(QStringLiteral("BEGIN EXCLUSIVE")));

        Database d;
        Loaded loaded;
        QVERIFY(!d.open(path, &loaded));
        QVERIFY2(d.message.contains(QStringLiteral("locked")), qPrintable(d.message));
        QVERIFY(d.movedAside.isEmpty());
        QVERIFY(loaded.ranges.empty());
        QVERIFY(QDir(dir.path()).entryList({QStringLiteral("*.corrupt-*")}).isEmpty());
        QVERIFY(q.exec(QStringLiteral("ROLLBACK")));
        locker.close();
    }
    QSqlDatabase::removeDatabase(lockName);
    Database again;
    Loaded loaded;
    QVERIFY(again.open(path, &loaded));
    QCOMPARE(fileSamples(path, QStringLiteral("d")), (std::vector<Sample>{{now, 1}}));
    again.db.close();
}

void TestTelemetryDatabase::ledOldSchemaFile()
{
    // A file written before LED changes were stored: only the samples table. It gets the led
    // table (and the devices table) and is not moved aside.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("old.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    QVERIFY(execAll(
        path,
        {QStringLiteral("CREATE TABLE samples(device TEXT NOT NULL, "
                        "t INTEGER NOT NULL, v REAL NOT NULL)"),
         QStringLiteral("CREATE INDEX samples_device_t ON samples(device, t)"),
         QStringLiteral("INSERT INTO samples(device, t, v) VALUES ('d', %1, 7.5)").arg(now)}));
    QCOMPARE(rowCount(path, QStringLiteral("led")), qint64(-1)); // no such table
    {
        Database d;
        Loaded loaded;
        QVERIFY2(d.open(path, &loaded), qPrintable(d.message));
        QVERIFY(d.movedAside.isEmpty());
        QCOMPARE(fileSamples(path, QStringLiteral("d")), (std::vector<Sample>{{now, 7.5}}));
        QVERIFY(loaded.led.empty());
        QVERIFY(d.db.insertNow({}, {{QStringLiteral("d"), now, true}}, {}).isEmpty());
        d.db.close();
    }
    // Not moved aside: the same file, now with the table.
    QVERIFY(QDir(dir.path()).entryList({QStringLiteral("old.sqlite.corrupt-*")}).isEmpty());
    QCOMPARE(rowCount(path, QStringLiteral("led")), qint64(1));
    Database again;
    Loaded loaded;
    QVERIFY(again.open(path, &loaded));
    QCOMPARE(fileSamples(path, QStringLiteral("d")), (std::vector<Sample>{{now, 7.5}}));
    QCOMPARE(loaded.led.at(QStringLiteral("d")).changes(), (Changes{{now, true}}));
    again.db.close();
}

void TestTelemetryDatabase::devicesOfAnOldFile()
{
    // A file from before the devices table lists the devices it has samples or LED changes of,
    // each last heard at its newest row.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("old.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    QVERIFY(execAll(
        path,
        {QStringLiteral(
             "CREATE TABLE samples(device TEXT NOT NULL, t INTEGER NOT NULL, v REAL NOT NULL)"),
         QStringLiteral("CREATE INDEX samples_device_t ON samples(device, t)"),
         QStringLiteral(
             "CREATE TABLE led(device TEXT NOT NULL, t INTEGER NOT NULL, led_on INTEGER NOT NULL)"),
         QStringLiteral("CREATE INDEX led_device_t ON led(device, t)"),
         QStringLiteral("INSERT INTO samples(device, t, v) VALUES ('a', %1, 1)").arg(now - 2000),
         QStringLiteral("INSERT INTO samples(device, t, v) VALUES ('a', %1, 1)").arg(now - 1000),
         QStringLiteral("INSERT INTO led(device, t, led_on) VALUES ('b', %1, 1)").arg(now - 500)}));
    QCOMPARE(rowCount(path, QStringLiteral("devices")), -1);
    {
        Database d;
        Loaded loaded;
        QVERIFY2(d.open(path, &loaded), qPrintable(d.message));
        QCOMPARE(loaded.devices,
                 (std::map<QString, qint64>{{QStringLiteral("a"), now - 1000},
                                            {QStringLiteral("b"), now - 500}}));
        d.db.close();
    }
    QCOMPARE(queryValue(path, QStringLiteral("SELECT seen FROM devices WHERE device = ?"),
                        QStringLiteral("a")),
             now - 1000);
    QCOMPARE(queryValue(path, QStringLiteral("SELECT seen FROM devices WHERE device = ?"),
                        QStringLiteral("b")),
             now - 500);
}

// As QTEST_GUILESS_MAIN, and "tst_telemetrydatabase --open-database-as-child <path>": opens a
// database on <path>, prints open()'s message (or "opened") and exits 1 (or 0).
// unreadableDatabaseIsLeftAlone runs it as another user.
int main(int argc, char *argv[])
{
    if (argc == 3 && qstrcmp(argv[1], OpenAsChildOption) == 0) {
        QCoreApplication app(argc, argv);
        Database d;
        const bool ok = d.open(QString::fromLocal8Bit(argv[2]));
        std::fputs(ok ? "opened" : qUtf8Printable(d.message), stdout);
        d.db.close();
        return ok ? 0 : 1;
    }
    QCoreApplication app(argc, argv);
    TestTelemetryDatabase tc;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&tc, argc, argv);
}

#include "tst_telemetrydatabase.moc"
