// AxisTicks on its own: the steps and ticks of LightChart's axes, their label formats and the
// value range of a frame, without a widget.

#include "axisticks.h"

#include <QDateTime>
#include <QScopeGuard>
#include <QTest>
#include <QTimeZone>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <optional>

using nightlight::AxisTicks;
using ValueScale = AxisTicks::ValueScale;

Q_DECLARE_METATYPE(std::optional<double>)

namespace {

constexpr qint64 MinuteMs = 60 * 1000;
constexpr qint64 HourMs = 60 * MinuteMs;
constexpr qint64 DayMs = 24 * HourMs;

} // namespace

class TestAxisTicks : public QObject
{
    Q_OBJECT

private slots:
    void timeStep_data();
    void timeStep();
    void timeTicksAreLocalMultiples_data();
    void timeTicksAreLocalMultiples();
    void timeTicksAcrossDaylightSaving();
    void timeTicksOfAnEmptyWindow();
    void timeLabelFormat_data();
    void timeLabelFormat();
    void valueStep_data();
    void valueStep();
    void valueTicks();
    void decimalsFor_data();
    void decimalsFor();
    void valueScale_data();
    void valueScale();
    void scaleTicks();
};

void TestAxisTicks::timeStep_data()
{
    QTest::addColumn<qint64>("span");
    QTest::addColumn<int>("maxTicks");
    QTest::addColumn<qint64>("step");
    QTest::newRow("1 minute, 10 ticks: 10 s") << MinuteMs << 10 << qint64(10000);
    QTest::newRow("90 s, 6 ticks: 30 s") << qint64(90000) << 6 << qint64(30000);
    QTest::newRow("10 minutes, 10 ticks: 1 min") << 10 * MinuteMs << 10 << MinuteMs;
    QTest::newRow("1 hour, 8 ticks: 10 min") << HourMs << 8 << 10 * MinuteMs;
    QTest::newRow("5 hours, 10 ticks: 30 min") << 5 * HourMs << 10 << 30 * MinuteMs;
    QTest::newRow("12 hours, 4 ticks: 3 h") << 12 * HourMs << 4 << 3 * HourMs;
    QTest::newRow("24 hours, 10 ticks: 3 h") << DayMs << 10 << 3 * HourMs;
    QTest::newRow("24 hours, 3 ticks: 12 h") << DayMs << 3 << 12 * HourMs;
    QTest::newRow("3 days, 3 ticks: 1 day") << 3 * DayMs << 3 << DayMs;
    QTest::newRow("30 days, 10 ticks: 7 days") << 30 * DayMs << 10 << 7 * DayMs;
    QTest::newRow("5 s, 5 ticks: 1 s") << qint64(5000) << 5 << qint64(1000);
    QTest::newRow("6 s, 5 ticks: 5 s") << qint64(6000) << 5 << qint64(5000);
    QTest::newRow("2 s, 10 ticks: 200 ms") << qint64(2000) << 10 << qint64(200);
}

void TestAxisTicks::timeStep()
{
    QFETCH(qint64, span);
    QFETCH(int, maxTicks);
    QFETCH(qint64, step);
    QCOMPARE(AxisTicks::timeStep(span, maxTicks), step);
}

void TestAxisTicks::timeTicksAreLocalMultiples_data()
{
    QTest::addColumn<qint64>("t0");
    QTest::addColumn<qint64>("span");
    QTest::addColumn<int>("maxTicks");
    const qint64 t = 1795691651123; // 2026-11-26T11:14:11.123Z
    QTest::newRow("1 minute") << t << MinuteMs << 8;
    QTest::newRow("10 minutes") << t + 777 << 10 * MinuteMs << 8;
    QTest::newRow("1 hour") << t << HourMs << 8;
    QTest::newRow("24 hours") << t << DayMs << 8;
    QTest::newRow("3 days") << t << 3 * DayMs << 4;
}

void TestAxisTicks::timeTicksAreLocalMultiples()
{
    QFETCH(qint64, t0);
    QFETCH(qint64, span);
    QFETCH(int, maxTicks);
    const qint64 step = AxisTicks::timeStep(span, maxTicks);
    const auto ticks = AxisTicks::timeTicks(t0, t0 + span, maxTicks);
    QVERIFY(!ticks.empty());
    QVERIFY(int(ticks.size()) <= maxTicks + 1);
    QVERIFY(ticks.front() >= t0 && ticks.front() - t0 < step);
    QVERIFY(ticks.back() <= t0 + span);
    for (size_t i = 0; i < ticks.size(); ++i) {
        if (i > 0)
            QCOMPARE(ticks[i] - ticks[i - 1], step);
        // On a whole multiple of the step in local time (10:20, 12:00, local midnight).
        const QTime local = QDateTime::fromMSecsSinceEpoch(ticks[i]).time();
        QCOMPARE(local.msecsSinceStartOfDay() % std::min(step, DayMs), 0);
    }
}

void TestAxisTicks::timeTicksAcrossDaylightSaving()
{
    // Central Europe: summer time ends on 2026-10-25 at 03:00 local (01:00 UTC). Day and 6-hour
    // ticks stay on local midnights and 06:00/12:00/18:00 on both sides of the change. A POSIX
    // TZ string needs no tzdata.
    const QByteArray previousTz = qgetenv("TZ");
    const auto restoreTz = qScopeGuard([&] {
        if (previousTz.isNull())
            qunsetenv("TZ");
        else
            qputenv("TZ", previousTz);
        tzset();
    });
    qputenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3");
    tzset();
    const qint64 t0 =
        QDateTime(QDate(2026, 10, 23), QTime(12, 0), QTimeZone::utc()).toMSecsSinceEpoch();
    const qint64 change =
        QDateTime(QDate(2026, 10, 25), QTime(1, 0), QTimeZone::utc()).toMSecsSinceEpoch();
    QCOMPARE(QDateTime::fromMSecsSinceEpoch(change - 1).offsetFromUtc(), 7200); // TZ took effect
    QCOMPARE(QDateTime::fromMSecsSinceEpoch(change).offsetFromUtc(), 3600);
    for (const qint64 span : {6 * DayMs, 2 * DayMs}) {
        const auto ticks = AxisTicks::timeTicks(t0, t0 + span, 8);
        const qint64 step = AxisTicks::timeStep(span, 8);
        QVERIFY(ticks.size() >= 4);
        QVERIFY(ticks.front() < change && ticks.back() > change);
        for (size_t i = 0; i < ticks.size(); ++i) {
            const QTime local = QDateTime::fromMSecsSinceEpoch(ticks[i]).time();
            QVERIFY2(local.msecsSinceStartOfDay() % std::min(step, DayMs) == 0,
                     qPrintable(local.toString()));
            if (i > 0)
                QVERIFY(ticks[i] > ticks[i - 1]);
        }
    }
}

void TestAxisTicks::valueStep_data()
{
    QTest::addColumn<double>("span");
    QTest::addColumn<int>("maxTicks");
    QTest::addColumn<double>("step");
    QTest::newRow("0..100 in 10") << 100.0 << 10 << 10.0;
    QTest::newRow("0..1000 in 5") << 1000.0 << 5 << 200.0;
    QTest::newRow("span 1 in 4") << 1.0 << 4 << 0.25;
    QTest::newRow("span 0.7 in 7") << 0.7 << 7 << 0.1;
    QTest::newRow("span 37 in 5") << 37.0 << 5 << 10.0;
    QTest::newRow("span 3 in 10") << 3.0 << 10 << 0.5;
    QTest::newRow("span 1e6 in 8") << 1e6 << 8 << 200000.0;
    QTest::newRow("zero span") << 0.0 << 5 << 1.0;
}

void TestAxisTicks::valueStep()
{
    QFETCH(double, span);
    QFETCH(int, maxTicks);
    QFETCH(double, step);
    QCOMPARE(AxisTicks::valueStep(span, maxTicks), step);
}

void TestAxisTicks::valueTicks()
{
    QCOMPARE(AxisTicks::valueTicks(0, 1000, 5), (std::vector<double>{0, 200, 400, 600, 800, 1000}));
    QCOMPARE(AxisTicks::valueTicks(-0.3, 0.3, 6),
             (std::vector<double>{-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3}));
    QCOMPARE(AxisTicks::valueTicks(13, 37, 3), (std::vector<double>{20, 30}));
    QVERIFY(AxisTicks::valueTicks(5, 1, 3).empty());
}

void TestAxisTicks::timeTicksOfAnEmptyWindow()
{
    const qint64 t = 1795691651123;
    QVERIFY(AxisTicks::timeTicks(t, t, 8).empty());
    QVERIFY(AxisTicks::timeTicks(t, t - 1000, 8).empty());
    // Beyond a year: whole years.
    QCOMPARE(AxisTicks::timeStep(10 * 365 * DayMs, 4), 3 * 365 * DayMs);
    // Degenerate arguments count as 1.
    QCOMPARE(AxisTicks::timeStep(0, 0), qint64(100));
}

void TestAxisTicks::timeLabelFormat_data()
{
    QTest::addColumn<qint64>("step");
    QTest::addColumn<QString>("format");
    QTest::newRow("500 ms: with ms") << qint64(500) << QStringLiteral("HH:mm:ss.zzz");
    QTest::newRow("1 s: seconds") << qint64(1000) << QStringLiteral("HH:mm:ss");
    QTest::newRow("30 s: seconds") << qint64(30000) << QStringLiteral("HH:mm:ss");
    QTest::newRow("1 min: minutes") << MinuteMs << QStringLiteral("HH:mm");
    QTest::newRow("12 h: minutes") << 12 * HourMs << QStringLiteral("HH:mm");
    QTest::newRow("1 day: a date") << DayMs << QString();
}

void TestAxisTicks::timeLabelFormat()
{
    QFETCH(qint64, step);
    QFETCH(QString, format);
    QCOMPARE(AxisTicks::timeLabelFormat(step), format);
}

void TestAxisTicks::decimalsFor_data()
{
    QTest::addColumn<double>("step");
    QTest::addColumn<int>("decimals");
    QTest::newRow("200") << 200.0 << 0;
    QTest::newRow("1") << 1.0 << 0;
    QTest::newRow("0.5") << 0.5 << 1;
    QTest::newRow("0.25") << 0.25 << 2;
    QTest::newRow("0.1 (not exact in binary)") << 0.1 << 1;
    QTest::newRow("1/7: at most 9") << 1.0 / 7 << 9;
}

void TestAxisTicks::decimalsFor()
{
    QFETCH(double, step);
    QFETCH(int, decimals);
    QCOMPARE(AxisTicks::decimalsFor(step), decimals);
}

void TestAxisTicks::valueScale_data()
{
    QTest::addColumn<double>("lo");
    QTest::addColumn<double>("hi");
    QTest::addColumn<std::optional<double>>("threshold");
    QTest::addColumn<int>("maxTicks");
    QTest::addColumn<double>("wantLo");
    QTest::addColumn<double>("wantHi");
    QTest::addColumn<double>("wantStep");
    const std::optional<double> none;
    QTest::newRow("ends moved out to the step")
        << 13.0 << 87.0 << none << 8 << 10.0 << 90.0 << 10.0;
    QTest::newRow("no height: 1 each way") << 5.0 << 5.0 << none << 4 << 4.0 << 6.0 << 0.5;
    QTest::newRow("no height, large: 5 % each way")
        << 1000.0 << 1000.0 << none << 4 << 950.0 << 1050.0 << 25.0;
    QTest::newRow("threshold inside: nothing changes")
        << 0.0 << 100.0 << std::optional<double>(50) << 10 << 0.0 << 100.0 << 10.0;
    QTest::newRow("threshold above the data: included")
        << 0.0 << 100.0 << std::optional<double>(150) << 10 << 0.0 << 160.0 << 20.0;
    QTest::newRow("threshold on the top edge: a step of room")
        << 0.0 << 100.0 << std::optional<double>(100) << 10 << 0.0 << 110.0 << 10.0;
    QTest::newRow("threshold on the bottom edge: a step of room")
        << 0.0 << 100.0 << std::optional<double>(0) << 10 << -10.0 << 100.0 << 10.0;
}

void TestAxisTicks::valueScale()
{
    QFETCH(double, lo);
    QFETCH(double, hi);
    QFETCH(std::optional<double>, threshold);
    QFETCH(int, maxTicks);
    QFETCH(double, wantLo);
    QFETCH(double, wantHi);
    QFETCH(double, wantStep);
    const ValueScale got = AxisTicks::valueScale(lo, hi, threshold, maxTicks);
    QCOMPARE(got.lo, wantLo);
    QCOMPARE(got.hi, wantHi);
    QCOMPARE(got.step, wantStep);
    if (threshold)
        QVERIFY(*threshold > got.lo && *threshold < got.hi);
}

void TestAxisTicks::scaleTicks()
{
    QCOMPARE(AxisTicks::scaleTicks({0, 100, 25}), (std::vector<double>{0, 25, 50, 75, 100}));
    QCOMPARE(AxisTicks::scaleTicks({-10, 10, 10}), (std::vector<double>{-10, 0, 10}));
    // A value a rounding error from 0 is 0, not -0 or 1e-17.
    const auto ticks = AxisTicks::scaleTicks({-0.3, 0.3, 0.1});
    QCOMPARE(ticks.size(), size_t(7));
    QCOMPARE(ticks[3], 0.0);
    QVERIFY(!std::signbit(ticks[3]));
}

QTEST_GUILESS_MAIN(TestAxisTicks)
#include "tst_axisticks.moc"
