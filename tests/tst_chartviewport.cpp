// ChartViewport on its own: LightChart's visible window, live mode, presets, zoom and pan, with
// the clock and the data's time range given, without a widget.

#include "chartviewport.h"

#include <QTest>

#include <cmath>

using nightlight::ChartViewport;
using Range = nightlight::SampleSeries::Range;
using Window = QPair<qint64, qint64>;

namespace {

constexpr qint64 Now = 1795691651123; // 2026-11-26T11:14:11.123Z
constexpr qint64 MinuteMs = 60 * 1000;
constexpr qint64 HourMs = 60 * MinuteMs;
constexpr qint64 DayMs = 24 * HourMs;

} // namespace

class TestChartViewport : public QObject
{
    Q_OBJECT

private slots:
    void liveEndsAtNowOrTheLastSample();
    void windowAll();
    void setWindowClampsAndKeepsTheEnd();
    void setLive();
    void showRangeLeavesLive();
    void zoomKeepsTheAnchor_data();
    void zoomKeepsTheAnchor();
    void zoomIsClamped();
    void pan();
    void liveRepaintInterval();
};

void TestChartViewport::liveEndsAtNowOrTheLastSample()
{
    ChartViewport v;
    QVERIFY(v.isLive());
    QCOMPARE(v.window(), HourMs);
    QCOMPARE(v.range(Now, std::nullopt), Window(Now - HourMs, Now));
    QCOMPARE(v.range(Now, Range{Now - DayMs, Now - 5000}), Window(Now - HourMs, Now));
    // A sample from a clock ahead of ours: the window ends just after it.
    QCOMPARE(v.range(Now, Range{Now - DayMs, Now + 5000}), Window(Now + 5001 - HourMs, Now + 5001));
}

void TestChartViewport::windowAll()
{
    ChartViewport v;
    v.setWindow(0, 0);
    QCOMPARE(v.window(), ChartViewport::All);
    v.setWindow(-5, 0);
    QCOMPARE(v.window(), ChartViewport::All);
    // Live: from the first sample to now.
    QCOMPARE(v.range(Now, Range{Now - 3 * DayMs, Now - 10}), Window(Now - 3 * DayMs, Now));
    // No data: the hour before now.
    QCOMPARE(v.range(Now, std::nullopt), Window(Now - HourMs, Now));
    // At least MinSpanMs.
    QCOMPARE(v.range(Now, Range{Now - 10, Now - 10}), Window(Now - ChartViewport::MinSpanMs, Now));
    // Not live: from the first to just after the last sample, whatever the clock says.
    QVERIFY(v.setLive(false, Now));
    QCOMPARE(v.range(Now + DayMs, Range{Now - 3 * DayMs, Now - 10}),
             Window(Now - 3 * DayMs, Now - 9));
}

void TestChartViewport::setWindowClampsAndKeepsTheEnd()
{
    ChartViewport v;
    v.setWindow(30 * 365 * DayMs, 0);
    QCOMPARE(v.window(), ChartViewport::MaxSpanMs);
    v.setWindow(1, 0);
    QCOMPARE(v.window(), qint64(1));
    // Not live, from All to a preset: the window keeps the end All had.
    v.setWindow(ChartViewport::All, 0);
    QVERIFY(v.setLive(false, Now - 500));
    v.setWindow(MinuteMs, Now - 77);
    QCOMPARE(v.viewEnd(), Now - 77);
    QCOMPARE(v.range(Now, std::nullopt), Window(Now - 77 - MinuteMs, Now - 77));
    // From one length to another: the end stays where it was.
    v.setWindow(HourMs, Now - 12345);
    QCOMPARE(v.viewEnd(), Now - 77);
    QVERIFY(!v.isLive());
}

void TestChartViewport::setLive()
{
    ChartViewport v;
    QVERIFY(!v.setLive(true, Now)); // already live
    QVERIFY(v.setLive(false, Now - 1000));
    QCOMPARE(v.viewEnd(), Now - 1000);
    QCOMPARE(v.range(Now + HourMs, std::nullopt), Window(Now - 1000 - HourMs, Now - 1000));
    QVERIFY(!v.setLive(false, Now)); // already not live: the end stays
    QCOMPARE(v.viewEnd(), Now - 1000);
    QVERIFY(v.setLive(true, 0));
    QCOMPARE(v.range(Now, std::nullopt), Window(Now - HourMs, Now));
}

void TestChartViewport::showRangeLeavesLive()
{
    ChartViewport v;
    QVERIFY(v.showRange(Now - 5000, Now - 1000)); // it was live
    QVERIFY(!v.isLive());
    QCOMPARE(v.window(), qint64(4000));
    QCOMPARE(v.range(Now + DayMs, Range{Now - DayMs, Now}), Window(Now - 5000, Now - 1000));
    QVERIFY(!v.showRange(Now, Now)); // not live any more; at least 1 ms long
    QCOMPARE(v.window(), qint64(1));
}

void TestChartViewport::zoomKeepsTheAnchor_data()
{
    QTest::addColumn<int>("delta");
    QTest::addColumn<double>("factor");
    QTest::newRow("one notch in") << 120 << 0.8;
    QTest::newRow("one notch out") << -120 << 1.25;
    QTest::newRow("three notches in") << 360 << 0.512;
    QTest::newRow("half a notch in (a touchpad)") << 60 << std::sqrt(0.8);
}

void TestChartViewport::zoomKeepsTheAnchor()
{
    QFETCH(int, delta);
    QFETCH(double, factor);
    const qint64 t0 = Now - HourMs;
    const qint64 t1 = Now;
    const double anchor = double(Now - 15 * MinuteMs); // three quarters across
    const auto [z0, z1] = ChartViewport::zoomed(t0, t1, anchor, delta);
    QVERIFY(qAbs(double(z1 - z0) - HourMs * factor) <= 1);
    // The anchor stays three quarters across.
    QVERIFY(qAbs((anchor - double(z0)) / double(z1 - z0) - 0.75) < 1e-6);
}

void TestChartViewport::zoomIsClamped()
{
    // Never shorter than MinSpanMs, never longer than MaxSpanMs; an anchor outside the window
    // counts as its edge.
    auto [a0, a1] = ChartViewport::zoomed(Now - 1500, Now, double(Now), 1200);
    QCOMPARE(a1 - a0, ChartViewport::MinSpanMs);
    QCOMPARE(a1, Now);
    auto [b0, b1] =
        ChartViewport::zoomed(Now - ChartViewport::MaxSpanMs / 2, Now, double(Now), -1200);
    QCOMPARE(b1 - b0, ChartViewport::MaxSpanMs);
    auto [c0, c1] = ChartViewport::zoomed(Now - HourMs, Now, double(Now + DayMs), 120);
    QCOMPARE(c1, Now);
    QCOMPARE(c1 - c0, qint64(0.8 * HourMs));
}

void TestChartViewport::pan()
{
    // Dragging right by a quarter of the plot shows a quarter of the span earlier.
    QCOMPARE(ChartViewport::panned(Now, HourMs, 200, 800),
             Window(Now - 15 * MinuteMs - HourMs, Now - 15 * MinuteMs));
    QCOMPARE(ChartViewport::panned(Now, HourMs, -400, 800),
             Window(Now + 30 * MinuteMs - HourMs, Now + 30 * MinuteMs));
    QCOMPARE(ChartViewport::panned(Now, HourMs, 0, 800), Window(Now - HourMs, Now));
}

void TestChartViewport::liveRepaintInterval()
{
    QCOMPARE(ChartViewport::liveRepaintIntervalMs(HourMs, 720), 5000); // one column
    QCOMPARE(ChartViewport::liveRepaintIntervalMs(MinuteMs, 800), 200); // at most 5 a second
    QCOMPARE(ChartViewport::liveRepaintIntervalMs(30 * DayMs, 100), 60000); // once a minute
    QCOMPARE(ChartViewport::liveRepaintIntervalMs(HourMs, 0), 60000); // no width yet
}

QTEST_GUILESS_MAIN(TestChartViewport)
#include "tst_chartviewport.moc"
