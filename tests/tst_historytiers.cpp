// TelemetryDatabase's summaries (history format 2, docs/chart.md "Format 2"): built on the writer
// thread equal to a brute-force reference computed from the raw rows, caught up in chunks after a
// migration with inserts going in between, kept right by replays, dropped with a forgotten
// device, and deleted per tier by retention, which shrinks a new file.

#include "historytest.h"
#include "telemetrydatabase.h"

#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>
#include <vector>

using nightlight::TelemetryDatabase;
using SampleRow = TelemetryDatabase::SampleRow;

namespace {

using historytest::execAll;
using historytest::queryValue;

constexpr qint64 MinuteMs = 60000;
constexpr qint64 QuarterMs = 900000;
constexpr qint64 HourMs = 3600000;
constexpr qint64 DayMs = 24 * HourMs;
constexpr int WaitMs = 60000;

qint64 floorTo(qint64 t, qint64 tier)
{
    return t - (((t % tier) + tier) % tier);
}

// A base time far in the clock's future, on a 15-minute edge: the summarize that open() posts
// (at the current time) finds no samples and writes nothing, so each test says itself up to when
// it summarizes.
qint64 futureBase()
{
    return floorTo(QDateTime::currentMSecsSinceEpoch() + 30 * DayMs, QuarterMs);
}

struct Database
{
    QObject context;
    QStringList failures;
    TelemetryDatabase db{&context, [this](const QString &why) { failures << why; },
                         [] {
                         }};
    QString reason;
    QString message;

    bool open(const QString &path)
    {
        return db.open(
            path, std::numeric_limits<qint64>::min(), nullptr, [](const QString &) {}, &reason,
            &message);
    }
};

struct Bucket
{
    double min = 0, max = 0, first = 0, last = 0, sum = 0;
    qint64 count = 0;
    bool operator==(const Bucket &o) const
    {
        return std::tie(min, max, first, last, sum, count) ==
            std::tie(o.min, o.max, o.first, o.last, o.sum, o.count);
    }
};
using Buckets = std::map<std::pair<QString, qint64>, Bucket>;

// The summaries of `tier` in the file, and the reference: every raw row of the file in (device,
// t, rowid) order, bucketed by brute force, for the buckets before the tier's until. Empty when
// they agree, else what differs first.
QString compareWithReference(const QString &path, qint64 tier, qint64 *until = nullptr)
{
    const QString name = QStringLiteral("tst_historytiers.reference");
    QString result;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        if (!db.open())
            return QStringLiteral("cannot open");
        QSqlQuery q(db);
        q.setForwardOnly(true);
        qint64 done = std::numeric_limits<qint64>::min();
        if (!q.exec(QStringLiteral("SELECT until FROM summary_done WHERE tier = %1").arg(tier)))
            return q.lastError().text();
        if (q.next())
            done = q.value(0).toLongLong();
        q.finish();
        if (until)
            *until = done;
        Buckets want;
        if (!q.exec(QStringLiteral("SELECT device, t, v FROM samples ORDER BY device, t, rowid")))
            return q.lastError().text();
        while (q.next()) {
            const qint64 t = q.value(1).toLongLong();
            const double v = q.value(2).toDouble();
            const qint64 b = floorTo(t, tier);
            if (b + tier > done)
                continue;
            auto [it, fresh] = want.try_emplace({q.value(0).toString(), b});
            Bucket &bucket = it->second;
            if (fresh)
                bucket = {v, v, v, v, 0, 0};
            bucket.min = std::min(bucket.min, v);
            bucket.max = std::max(bucket.max, v);
            bucket.last = v;
            bucket.sum += v;
            ++bucket.count;
        }
        q.finish();
        Buckets got;
        if (!q.exec(QStringLiteral("SELECT device, t, min, max, first_v, last_v, sum, count FROM "
                                   "summary WHERE tier = %1")
                        .arg(tier)))
            return q.lastError().text();
        while (q.next()) {
            got[{q.value(0).toString(), q.value(1).toLongLong()}] = {
                q.value(2).toDouble(), q.value(3).toDouble(), q.value(4).toDouble(),
                q.value(5).toDouble(), q.value(6).toDouble(), q.value(7).toLongLong()};
        }
        q.finish();
        if (got.size() != want.size())
            result = QStringLiteral("tier %1: %2 buckets, want %3")
                         .arg(tier)
                         .arg(got.size())
                         .arg(want.size());
        for (const auto &[key, bucket] : want) {
            if (!result.isEmpty())
                break;
            const auto it = got.find(key);
            if (it == got.end()) {
                result = QStringLiteral("tier %1: no bucket %2 %3")
                             .arg(tier)
                             .arg(key.first)
                             .arg(key.second);
            } else if (!(it->second == bucket)) {
                const Bucket &g = it->second;
                result = QStringLiteral("tier %1 %2 %3: got %4 %5 %6 %7 %8 %9, want %10 %11 %12 "
                                        "%13 %14 %15")
                             .arg(tier)
                             .arg(key.first)
                             .arg(key.second)
                             .arg(g.min)
                             .arg(g.max)
                             .arg(g.first)
                             .arg(g.last)
                             .arg(g.sum)
                             .arg(g.count)
                             .arg(bucket.min)
                             .arg(bucket.max)
                             .arg(bucket.first)
                             .arg(bucket.last)
                             .arg(bucket.sum)
                             .arg(bucket.count);
            }
        }
    }
    QSqlDatabase::removeDatabase(name);
    return result;
}

qint64 untilOf(const QString &path, qint64 tier)
{
    return queryValue(path,
                      QStringLiteral("SELECT until FROM summary_done WHERE tier = %1").arg(tier));
}

qint64 countOf(const QString &path, const QString &sql)
{
    return queryValue(path, sql);
}

// A format-1 file (as the dashboard wrote it before summaries) with `devices` devices, a sample
// every `stepMs` from `from` for `count` samples each, values 0..999 by a formula.
bool makeFormat1File(const QString &path, int devices, qint64 from, qint64 stepMs, int count)
{
    QStringList statements{
        QStringLiteral("CREATE TABLE samples(device TEXT NOT NULL, t INTEGER NOT NULL, "
                       "v REAL NOT NULL)"),
        QStringLiteral("CREATE INDEX samples_device_t ON samples(device, t)"),
        QStringLiteral("CREATE TABLE led(device TEXT NOT NULL, t INTEGER NOT NULL, "
                       "led_on INTEGER NOT NULL)"),
        QStringLiteral("CREATE INDEX led_device_t ON led(device, t)"),
        QStringLiteral("CREATE TABLE devices(device TEXT PRIMARY KEY NOT NULL, seen INTEGER NOT "
                       "NULL)"),
        QStringLiteral("PRAGMA application_id = %1").arg(TelemetryDatabase::ApplicationId),
        QStringLiteral("PRAGMA user_version = 1")};
    // In time order across the devices, as the dashboard writes them.
    statements << QStringLiteral(
                      "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < "
                      "%1), dev(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM dev WHERE n < %2) "
                      "INSERT INTO samples(device, t, v) SELECT 'room-' || n, %3 + i * %4 + n * 7, "
                      "(i * 37 + n * 101) % 1000 FROM k, dev ORDER BY i, n")
                      .arg(count - 1)
                      .arg(devices)
                      .arg(from)
                      .arg(stepMs);
    return execAll(path, statements);
}

} // namespace

class TestHistoryTiers : public QObject
{
    Q_OBJECT

private slots:
    void newFileIsFormat2();
    void summariesMatchTheReference();
    void catchUpOfTheFixture();
    void catchUpInChunksWithAnInsertBetween();
    void forgetDropsSummaries();
    void retentionPerTier();
};

void TestHistoryTiers::newFileIsFormat2()
{
    // A new file: format 2, incremental auto-vacuum, empty summaries, no until (nothing
    // summarised yet), and open()'s summarize wrote nothing to it.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    Database d;
    QVERIFY2(d.open(path), qPrintable(d.message));
    QVERIFY(d.db.insertNow({}, {}, {}).isEmpty());
    QCOMPARE(queryValue(path, QStringLiteral("PRAGMA user_version")), 2);
    QCOMPARE(queryValue(path, QStringLiteral("PRAGMA auto_vacuum")), 2);
    QCOMPARE(countOf(path, QStringLiteral("SELECT COUNT(*) FROM summary")), 0);
    QCOMPARE(countOf(path, QStringLiteral("SELECT COUNT(*) FROM summary_done")), 0);
    d.db.close();
}

void TestHistoryTiers::summariesMatchTheReference()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 b = futureBase();
    Database d;
    QVERIFY2(d.open(path), qPrintable(d.message));
    std::vector<SampleRow> rows;
    // a: every 5 s for 3 hours, values with halves (sums stay exact).
    for (int i = 0; i < 3 * 720; ++i)
        rows.push_back({QStringLiteral("a"), b + i * 5000 + 1, (i * 37 % 1000) + 0.5});
    // Equal times at and next to a bucket edge, in the order written.
    for (const double v : {7.0, -3.0, 11.5})
        rows.push_back({QStringLiteral("a"), b + MinuteMs, v});
    rows.push_back({QStringLiteral("a"), b + MinuteMs - 1, 999});
    // b: 10 minutes, a gap of almost two hours, an hour; samples on both sides of a 15-minute
    // edge.
    for (int i = 0; i < 120; ++i)
        rows.push_back({QStringLiteral("b"), b + i * 5000, double(i % 17)});
    rows.push_back({QStringLiteral("b"), b + QuarterMs - 1, 500});
    rows.push_back({QStringLiteral("b"), b + QuarterMs, 501});
    for (int i = 0; i < 514; ++i)
        rows.push_back({QStringLiteral("b"), b + 2 * HourMs + i * 7000, double(1000 - i)});
    // c: one sample.
    rows.push_back({QStringLiteral("c"), b + HourMs, 42});
    QVERIFY(d.db.insertNow(rows, {}, {}).isEmpty());

    // Two minutes behind the time given, floored to the tier; 15 minutes from complete 1-minute
    // rows only.
    const qint64 now = b + 2 * HourMs + 30000;
    const qint64 horizon = floorTo(now - 120000, MinuteMs);
    QCOMPARE(horizon, b + HourMs + 58 * MinuteMs);
    d.db.summarizeLater(now);
    d.db.summarizeLater(now); // twice: the same result
    QTRY_COMPARE_WITH_TIMEOUT(untilOf(path, QuarterMs), b + HourMs + 45 * MinuteMs, WaitMs);
    QCOMPARE(untilOf(path, MinuteMs), horizon);
    QVERIFY(d.db.insertNow({}, {}, {}).isEmpty()); // all jobs done: still there, not beyond
    QCOMPARE(untilOf(path, MinuteMs), horizon);
    QCOMPARE(untilOf(path, QuarterMs), b + HourMs + 45 * MinuteMs);
    QCOMPARE(countOf(path,
                     QStringLiteral("SELECT COUNT(*) FROM summary WHERE t + tier > "
                                    "(SELECT until FROM summary_done WHERE summary_done.tier = "
                                    "summary.tier)")),
             0);
    for (const qint64 tier : TelemetryDatabase::SummaryTiers) {
        const QString why = compareWithReference(path, tier);
        QVERIFY2(why.isEmpty(), qPrintable(why));
    }
    QVERIFY(countOf(path, QStringLiteral("SELECT COUNT(*) FROM summary")) > 100);
    // The equal times: first and last in the order written.
    QCOMPARE(queryValue(path,
                        QStringLiteral("SELECT first_v FROM summary WHERE tier = 60000 AND "
                                       "device = ? AND t = %1")
                            .arg(b + MinuteMs),
                        QStringLiteral("a")),
             7);

    // A late sample inside the two minutes: not summarised yet, then included.
    QVERIFY(d.db.insertNow({{QStringLiteral("c"), horizon + 30000, 77}}, {}, {}).isEmpty());
    // A replay older than until: its buckets (both tiers) are rebuilt at once, with the insert.
    QVERIFY(d.db.insertNow({{QStringLiteral("b"), b + 10 * MinuteMs + 1, 1e6}}, {}, {}).isEmpty());
    QCOMPARE(queryValue(path,
                        QStringLiteral("SELECT max FROM summary WHERE tier = 60000 AND "
                                       "device = ? AND t = %1")
                            .arg(b + 10 * MinuteMs),
                        QStringLiteral("b")),
             1000000);
    QCOMPARE(queryValue(path,
                        QStringLiteral("SELECT max FROM summary WHERE tier = 900000 AND "
                                       "device = ? AND t = %1")
                            .arg(b),
                        QStringLiteral("b")),
             1000000);
    for (const qint64 tier : TelemetryDatabase::SummaryTiers) {
        const QString why = compareWithReference(path, tier);
        QVERIFY2(why.isEmpty(), qPrintable(why));
    }
    QCOMPARE(countOf(path,
                     QStringLiteral("SELECT COUNT(*) FROM summary WHERE device = 'c' AND "
                                    "tier = 60000")),
             1);
    d.db.summarizeLater(b + 4 * HourMs);
    QTRY_COMPARE_WITH_TIMEOUT(untilOf(path, QuarterMs), b + 3 * HourMs + 45 * MinuteMs, WaitMs);
    QCOMPARE(countOf(path,
                     QStringLiteral("SELECT COUNT(*) FROM summary WHERE device = 'c' AND "
                                    "tier = 60000")),
             2);
    for (const qint64 tier : TelemetryDatabase::SummaryTiers) {
        const QString why = compareWithReference(path, tier);
        QVERIFY2(why.isEmpty(), qPrintable(why));
    }
    QVERIFY(d.failures.isEmpty());
    d.db.close();
}

void TestHistoryTiers::catchUpOfTheFixture()
{
    // tests/data/history-0a0dc75.db (before formats, see tst_telemetrystore): migrated with until
    // at its oldest sample, and summarised by the job open() posts.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("history.sqlite"));
    QVERIFY(QFile::copy(QFINDTESTDATA("data/history-0a0dc75.db"), path));
    QVERIFY(QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner));
    constexpr qint64 T = 1767225600000; // its oldest sample
    Database d;
    QVERIFY2(d.open(path), qPrintable(d.message));
    const qint64 horizon = floorTo(QDateTime::currentMSecsSinceEpoch() - 120000, QuarterMs);
    QTRY_VERIFY_WITH_TIMEOUT(untilOf(path, QuarterMs) >= horizon, WaitMs);
    QCOMPARE(queryValue(path, QStringLiteral("PRAGMA user_version")), 2);
    QCOMPARE(queryValue(path, QStringLiteral("PRAGMA auto_vacuum")), 2); // small: vacuumed
    QCOMPARE(countOf(path, QStringLiteral("SELECT MIN(t) FROM summary")), T);
    QCOMPARE(countOf(path, QStringLiteral("SELECT SUM(count) FROM summary WHERE tier = 900000")),
             250);
    for (const qint64 tier : TelemetryDatabase::SummaryTiers) {
        const QString why = compareWithReference(path, tier);
        QVERIFY2(why.isEmpty(), qPrintable(why));
    }
    d.db.close();
}

void TestHistoryTiers::catchUpInChunksWithAnInsertBetween()
{
    // A format-1 file of 30 days: the migration sets until to the oldest sample and the job
    // open() posts catches up in chunks, each its own job: an insert handed over right after
    // open() goes in after the first chunk, long before the catch-up ends. A trigger in the file
    // records the 1-minute until at the moment of the insert.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("old.sqlite"));
    const qint64 from = floorTo(QDateTime::currentMSecsSinceEpoch() - 31 * DayMs, MinuteMs) + 123;
    QVERIFY(makeFormat1File(path, 4, from, 30000, 30 * 2880));
    QVERIFY(execAll(path,
                    {QStringLiteral("CREATE TABLE probe(until INTEGER)"),
                     QStringLiteral("CREATE TRIGGER probe AFTER INSERT ON samples WHEN "
                                    "NEW.device = 'probe' BEGIN INSERT INTO probe SELECT "
                                    "(SELECT until FROM summary_done WHERE tier = 60000); END")}));
    Database d;
    QVERIFY2(d.open(path), qPrintable(d.message));
    d.db.insertLater({{QStringLiteral("probe"), from + DayMs, 1}}, {}, {});
    const qint64 horizon = floorTo(QDateTime::currentMSecsSinceEpoch() - 120000, QuarterMs);
    QTRY_VERIFY_WITH_TIMEOUT(untilOf(path, QuarterMs) >= horizon, WaitMs);
    const qint64 atInsert = countOf(path, QStringLiteral("SELECT until FROM probe"));
    QVERIFY2(atInsert > floorTo(from, MinuteMs) && atInsert < from + 20 * DayMs,
             qPrintable(QString::number(atInsert - from)));
    QVERIFY(d.failures.isEmpty());
    for (const qint64 tier : TelemetryDatabase::SummaryTiers) {
        const QString why = compareWithReference(path, tier);
        QVERIFY2(why.isEmpty(), qPrintable(why));
    }
    QCOMPARE(countOf(path, QStringLiteral("SELECT SUM(count) FROM summary WHERE tier = 60000")),
             4 * 30 * 2880 + 1);
    // Large files keep auto_vacuum off (no VACUUM on open); this one is small enough.
    QCOMPARE(queryValue(path, QStringLiteral("PRAGMA auto_vacuum")), 2);
    d.db.close();
}

void TestHistoryTiers::forgetDropsSummaries()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 b = futureBase();
    Database d;
    QVERIFY(d.open(path));
    std::vector<SampleRow> rows;
    for (int i = 0; i < 720; ++i) {
        rows.push_back({QStringLiteral("a"), b + i * 5000, double(i)});
        rows.push_back({QStringLiteral("b"), b + i * 5000, double(i)});
    }
    QVERIFY(d.db.insertNow(rows, {}, {}).isEmpty());
    d.db.summarizeLater(b + HourMs);
    QTRY_COMPARE_WITH_TIMEOUT(untilOf(path, QuarterMs), b + 45 * MinuteMs, WaitMs);
    const QString count = QStringLiteral("SELECT COUNT(*) FROM summary WHERE device = ?");
    QCOMPARE(queryValue(path, count, QStringLiteral("a")), 58 + 3);
    d.db.forgetLater(QStringLiteral("b"), false); // its history stays
    d.db.forgetLater(QStringLiteral("a"), true);
    QVERIFY(d.db.insertNow({}, {}, {}).isEmpty());
    QCOMPARE(queryValue(path, count, QStringLiteral("a")), 0);
    QCOMPARE(queryValue(path, count, QStringLiteral("b")), 58 + 3);
    d.db.deleteSamplesBeforeLater(QStringLiteral("b"), b + HourMs); // raw only
    QVERIFY(d.db.insertNow({}, {}, {}).isEmpty());
    QCOMPARE(queryValue(path, count, QStringLiteral("b")), 58 + 3);
    d.db.close();
}

void TestHistoryTiers::retentionPerTier()
{
    // 40 days of two devices, summarised up to day 30: each tier loses what is older than its
    // retention and nothing newer; raw rows not yet summarised stay whatever the retention; the
    // freed pages go back (incremental vacuum), so the file shrinks.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.sqlite"));
    const qint64 b = futureBase();
    Database d;
    QVERIFY(d.open(path));
    std::vector<SampleRow> rows;
    for (int i = 0; i < 40 * 1440; ++i) {
        rows.push_back({QStringLiteral("a"), b + i * MinuteMs + 17, double(i % 1000)});
        rows.push_back({QStringLiteral("b"), b + i * MinuteMs + 29, double(i % 700)});
    }
    QVERIFY(d.db.insertNow(rows, {}, {}).isEmpty());
    d.db.summarizeLater(b + 30 * DayMs);
    const qint64 until = b + 30 * DayMs - 2 * MinuteMs;
    QTRY_COMPARE_WITH_TIMEOUT(untilOf(path, QuarterMs), until - 13 * MinuteMs, WaitMs);
    QCOMPARE(untilOf(path, MinuteMs), until);
    d.db.close(); // checkpointed into the file
    const qint64 sizeBefore = QFileInfo(path).size();
    QVERIFY(d.open(path));

    const QString raw = QStringLiteral("SELECT COUNT(*) FROM samples WHERE t >= %1");
    const QString tier = QStringLiteral("SELECT COUNT(*) FROM summary WHERE tier = %1 AND t >= %2");
    const qint64 now = b + 40 * DayMs;
    const qint64 rawKept = countOf(path, raw.arg(now - 35 * DayMs));
    const qint64 minutesKept = countOf(path, tier.arg(MinuteMs).arg(now - 38 * DayMs));
    const qint64 quartersKept = countOf(path, tier.arg(QuarterMs).arg(now - 39 * DayMs));
    QVERIFY(rawKept > 0 && rawKept < 80 * 1440);
    d.db.applyRetentionLater(now, {35 * DayMs, 38 * DayMs, 39 * DayMs});
    QTRY_COMPARE_WITH_TIMEOUT(countOf(path,
                                      QStringLiteral("SELECT COUNT(*) FROM summary WHERE "
                                                     "tier = 900000")),
                              quartersKept, WaitMs);
    QCOMPARE(countOf(path, QStringLiteral("SELECT COUNT(*) FROM samples")), rawKept);
    QCOMPARE(countOf(path, raw.arg(now - 35 * DayMs)), rawKept);
    QCOMPARE(countOf(path, QStringLiteral("SELECT COUNT(*) FROM summary WHERE tier = 60000")),
             minutesKept);

    // Raw retention of 1 ms: only what the 1-minute tier holds goes; the unsummarised ten days
    // stay.
    d.db.applyRetentionLater(now, {1, 0, 0});
    QTRY_COMPARE_WITH_TIMEOUT(countOf(path, QStringLiteral("SELECT MIN(t) FROM samples")),
                              until + 17, WaitMs);
    QCOMPARE(countOf(path, QStringLiteral("SELECT COUNT(*) FROM samples")),
             countOf(path, raw.arg(until)));
    QCOMPARE(countOf(path, raw.arg(until)), 2 * (10 * 1440 + 2));
    QTRY_COMPARE_WITH_TIMEOUT(queryValue(path, QStringLiteral("PRAGMA freelist_count")), 0, WaitMs);
    QVERIFY(d.db.insertNow({}, {}, {}).isEmpty());
    QVERIFY(d.failures.isEmpty());
    d.db.close();
    const qint64 sizeAfter = QFileInfo(path).size();
    QVERIFY2(sizeAfter < sizeBefore * 2 / 3,
             qPrintable(QStringLiteral("%1 -> %2 bytes").arg(sizeBefore).arg(sizeAfter)));
}

QTEST_GUILESS_MAIN(TestHistoryTiers)

#include "tst_historytiers.moc"
