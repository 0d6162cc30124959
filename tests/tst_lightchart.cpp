#include "axisticks.h"
#include "lightchart.h"
#include "telemetrystore.h"

#include <QDateTime>
#include <QImage>
#include <QLocale>
#include <QMouseEvent>
#include <QSignalSpy>
#include <QTest>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>
#include <limits>

using nightlight::LightChart;
using nightlight::TelemetryStore;
using Sample = TelemetryStore::Sample;

namespace {

constexpr qint64 MinuteMs = 60 * 1000;
constexpr qint64 HourMs = 60 * MinuteMs;
constexpr qint64 DayMs = 24 * HourMs;
const QString Device = QStringLiteral("kitchen");

// Pixels of exactly `color` inside `region`.
int countColor(const QImage &image, const QRect &region, QColor color)
{
    const QRgb want = color.rgb();
    int n = 0;
    const QRect r = region.intersected(image.rect());
    for (int y = r.top(); y <= r.bottom(); ++y) {
        for (int x = r.left(); x <= r.right(); ++x) {
            if ((image.pixel(x, y) & 0xffffff) == (want & 0xffffff))
                ++n;
        }
    }
    return n;
}

// A rectangle in widget coordinates, in the device pixels of an image grabbed from `chart`.
QRect toDevice(const LightChart &chart, const QRectF &r)
{
    const qreal dpr = chart.devicePixelRatioF();
    return QRectF(r.topLeft() * dpr, r.size() * dpr).toRect();
}

QPoint toDevice(const LightChart &chart, QPointF p)
{
    return (p * chart.devicePixelRatioF()).toPoint();
}

double xOf(const LightChart &chart, qint64 t)
{
    const auto [t0, t1] = chart.visibleRange();
    const QRectF plot = chart.plotRect();
    return plot.left() + double(t - t0) * plot.width() / double(t1 - t0);
}

void sendMouse(QWidget *w, QEvent::Type type, QPointF pos, Qt::MouseButton button,
               Qt::MouseButtons buttons)
{
    QMouseEvent event(type, pos, w->mapToGlobal(pos), button, buttons, Qt::NoModifier);
    QCoreApplication::sendEvent(w, &event);
}

void sendWheel(QWidget *w, QPointF pos, int delta)
{
    QWheelEvent event(pos, w->mapToGlobal(pos), QPoint(), QPoint(0, delta), Qt::NoButton,
                      Qt::NoModifier, Qt::NoScrollPhase, false);
    QCoreApplication::sendEvent(w, &event);
}

// An hour of samples every 5 s, shown live in an 800x300 chart with the 10-minute window.
struct HourOfData
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch(); // the newest sample's time
    TelemetryStore store;
    LightChart chart; // after the store: destroyed first
    HourOfData()
    {
        for (qint64 t = now - HourMs; t <= now; t += 5000)
            store.append(Device, t, double(t % 1000));
        chart.resize(800, 300);
        chart.setStore(&store);
        chart.setDevice(Device);
        chart.setWindow(LightChart::WindowTenMinutes);
    }
};

} // namespace

class TestLightChart : public QObject
{
    Q_OBJECT

private slots:
    void rendersSeriesWhereExpected();
    void emptyState();
    void hoverReadsNearestSample();
    void wheelZoomsAroundCursorAndLeavesLive();
    void dragPansAndDoubleClickReturnsToLive();
    void setWindowPresets();
    void repaintsAreCoalesced();
    void cachedColumnsMatchAFreshChart();
    void sparseDataIsJoinedButOutagesAreNot();
    void ledPeriodsAndThresholdAreDrawn();
    void renderToImageHasRequestedSize();
    void axisLabelsInLocale_data();
    void axisLabelsInLocale();
    void thresholdOnTheDataEdgeGetsRoom();
    void ticksAreAxisTicks();
};

void TestLightChart::rendersSeriesWhereExpected()
{
    // Low values in the left half of the window, high values in the right half.
    TelemetryStore store;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (qint64 t = now - 10 * MinuteMs; t <= now; t += 1000)
        store.append(Device, t, t < now - 5 * MinuteMs ? 25 : 75);
    LightChart chart;
    chart.resize(600, 300);
    chart.setStore(&store);
    chart.setDevice(Device);
    chart.setWindow(LightChart::WindowTenMinutes);
    QVERIFY(chart.isLive());

    const QImage image = chart.grab().toImage();
    QCOMPARE(image.size(), QSize(600, 300) * chart.devicePixelRatioF());
    const QColor series = chart.palette().color(QPalette::Highlight);
    const QRect plot = toDevice(chart, chart.plotRect());
    QVERIFY(plot.width() > 400 && plot.height() > 150);
    const int leftX = plot.left() + plot.width() / 8;
    const int rightX = plot.left() + plot.width() * 5 / 8;
    const int w = plot.width() / 4;
    const int midY = plot.center().y();
    const QRect leftLow(leftX, midY, w, plot.bottom() - midY);
    const QRect leftHigh(leftX, plot.top(), w, midY - plot.top());
    const QRect rightLow(rightX, midY, w, plot.bottom() - midY);
    const QRect rightHigh(rightX, plot.top(), w, midY - plot.top());
    QVERIFY(countColor(image, leftLow, series) > w / 2);
    QCOMPARE(countColor(image, leftHigh, series), 0);
    QVERIFY(countColor(image, rightHigh, series) > w / 2);
    QCOMPARE(countColor(image, rightLow, series), 0);
    QVERIFY(chart.paintCount() >= 1);
    QCOMPARE(chart.latestSample()->v, 75.0);
}

void TestLightChart::emptyState()
{
    TelemetryStore store;
    LightChart chart;
    chart.resize(400, 200);
    chart.setStore(&store);
    chart.setDevice(Device);
    const QImage image = chart.grab().toImage();
    const QColor series = chart.palette().color(QPalette::Highlight);
    QCOMPARE(countColor(image, image.rect(), series), 0);
    // The "No data yet for kitchen" text: not a uniform background.
    const QColor background = chart.palette().color(QPalette::Window);
    QVERIFY(countColor(image, image.rect(), background) < image.width() * image.height());
    QVERIFY(!chart.latestSample());
}

void TestLightChart::hoverReadsNearestSample()
{
    TelemetryStore store;
    const qint64 base = QDateTime::currentMSecsSinceEpoch() - HourMs;
    for (int k = 0; k < 10; ++k)
        store.append(Device, base + k * MinuteMs, k * 10);
    LightChart chart;
    chart.resize(800, 300);
    chart.setStore(&store);
    chart.setDevice(Device);
    chart.setVisibleRange(base - 30000, base + 10 * MinuteMs);
    QVERIFY(!chart.isLive());
    QSignalSpy changed(&chart, &LightChart::hoveredSampleChanged);
    const double y = chart.plotRect().center().y();

    sendMouse(&chart, QEvent::MouseMove, QPointF(xOf(chart, base + 4 * MinuteMs + 10000), y),
              Qt::NoButton, Qt::NoButton);
    QVERIFY(chart.hoveredSample());
    QCOMPARE(*chart.hoveredSample(), (Sample{base + 4 * MinuteMs, 40}));
    QCOMPARE(changed.count(), 1);

    sendMouse(&chart, QEvent::MouseMove, QPointF(xOf(chart, base + 7 * MinuteMs - 20000), y),
              Qt::NoButton, Qt::NoButton);
    QCOMPARE(*chart.hoveredSample(), (Sample{base + 7 * MinuteMs, 70}));
    QCOMPARE(changed.count(), 2);
    // The read-out is drawn: the frame differs from one without hover.
    const QImage hovered = chart.grab().toImage();

    // Outside the plot (over the value axis): no read-out.
    sendMouse(&chart, QEvent::MouseMove, QPointF(2, y), Qt::NoButton, Qt::NoButton);
    QVERIFY(!chart.hoveredSample());
    QVERIFY(chart.grab().toImage() != hovered);

    sendMouse(&chart, QEvent::MouseMove, QPointF(xOf(chart, base), y), Qt::NoButton, Qt::NoButton);
    QVERIFY(chart.hoveredSample());
    QEvent leave(QEvent::Leave);
    QCoreApplication::sendEvent(&chart, &leave);
    QVERIFY(!chart.hoveredSample());
}

void TestLightChart::wheelZoomsAroundCursorAndLeavesLive()
{
    HourOfData data;
    LightChart &chart = data.chart;
    QSignalSpy live(&chart, &LightChart::liveChanged);

    const QRectF plot = chart.plotRect();
    const QPointF cursor(plot.left() + plot.width() / 4, plot.center().y());
    const auto [before0, before1] = chart.visibleRange();
    const double anchor =
        before0 + (cursor.x() - plot.left()) * double(before1 - before0) / plot.width();
    sendWheel(&chart, cursor, 120);

    QVERIFY(!chart.isLive());
    QCOMPARE(live.count(), 1);
    QCOMPARE(live.at(0).at(0).toBool(), false);
    const auto [after0, after1] = chart.visibleRange();
    QVERIFY(after1 - after0 < before1 - before0);
    QVERIFY(chart.window() < LightChart::WindowTenMinutes);
    // The time under the cursor stays under the cursor (within a pixel's worth).
    const double anchorAfter =
        after0 + (cursor.x() - plot.left()) * double(after1 - after0) / plot.width();
    QVERIFY2(std::abs(anchorAfter - anchor) < double(before1 - before0) / plot.width(),
             qPrintable(QStringLiteral("%1 vs %2").arg(anchorAfter).arg(anchor)));

    // Wheel the other way: wider again.
    sendWheel(&chart, cursor, -240);
    const auto [wide0, wide1] = chart.visibleRange();
    QVERIFY(wide1 - wide0 > after1 - after0);
}

void TestLightChart::dragPansAndDoubleClickReturnsToLive()
{
    HourOfData data;
    LightChart &chart = data.chart;
    TelemetryStore &store = data.store;
    const qint64 now = data.now;
    QSignalSpy live(&chart, &LightChart::liveChanged);

    const QRectF plot = chart.plotRect();
    const QPointF start = plot.center();
    const auto [t0, t1] = chart.visibleRange();
    // Dragging right shows earlier times.
    sendMouse(&chart, QEvent::MouseButtonPress, start, Qt::LeftButton, Qt::LeftButton);
    QVERIFY(chart.isLive()); // a press alone does not pan
    sendMouse(&chart, QEvent::MouseMove, start + QPointF(plot.width() / 4, 0), Qt::NoButton,
              Qt::LeftButton);
    sendMouse(&chart, QEvent::MouseButtonRelease, start + QPointF(plot.width() / 4, 0),
              Qt::LeftButton, Qt::NoButton);
    QVERIFY(!chart.isLive());
    QCOMPARE(live.count(), 1);
    const auto [p0, p1] = chart.visibleRange();
    QCOMPARE(p1 - p0, t1 - t0);
    const qint64 quarter = (t1 - t0) / 4;
    QVERIFY2(
        std::abs((t1 - p1) - quarter) < (t1 - t0) / 100,
        qPrintable(QStringLiteral("panned by %1 ms, expected about %2").arg(t1 - p1).arg(quarter)));

    // The window stays put while not live, even when data arrives.
    store.append(Device, now + 1000, 1);
    QCOMPARE(chart.visibleRange(), (QPair<qint64, qint64>(p0, p1)));

    sendMouse(&chart, QEvent::MouseButtonDblClick, start, Qt::LeftButton, Qt::LeftButton);
    QVERIFY(chart.isLive());
    QCOMPARE(live.count(), 2);
    QCOMPARE(live.at(1).at(0).toBool(), true);
    const auto [l0, l1] = chart.visibleRange();
    QVERIFY(l1 > now + 1000); // ends at the newest of now and the last sample
    QCOMPARE(l1 - l0, t1 - t0);
}

void TestLightChart::setWindowPresets()
{
    TelemetryStore store;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    store.append(Device, now - 3 * DayMs, 1);
    store.append(Device, now, 2);
    LightChart chart;
    chart.setStore(&store);
    chart.setDevice(Device);
    for (qint64 w : {LightChart::WindowOneMinute, LightChart::WindowTenMinutes,
                     LightChart::WindowOneHour, LightChart::WindowOneDay}) {
        chart.setWindow(w);
        QCOMPARE(chart.window(), w);
        const auto [t0, t1] = chart.visibleRange();
        QCOMPARE(t1 - t0, w);
        QVERIFY(t1 > now);
    }
    chart.setWindow(LightChart::WindowAll);
    QCOMPARE(chart.window(), LightChart::WindowAll);
    QCOMPARE(chart.visibleRange().first, now - 3 * DayMs);
    QVERIFY(chart.isLive());
}

void TestLightChart::repaintsAreCoalesced()
{
    TelemetryStore store;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    store.append(Device, now - 1000, 1);
    LightChart chart;
    chart.resize(600, 300);
    chart.setStore(&store);
    chart.setDevice(Device);
    chart.show();
    QVERIFY(QTest::qWaitForWindowExposed(&chart));
    QTRY_VERIFY(chart.paintCount() >= 1);
    const int before = chart.paintCount();

    for (int i = 0; i < 1000; ++i)
        store.append(Device, now + i, i % 100);
    QCOMPARE(chart.paintCount(), before); // nothing painted synchronously
    QTRY_VERIFY_WITH_TIMEOUT(chart.paintCount() > before, 5000);
    QVERIFY2(
        chart.paintCount() - before <= 3,
        qPrintable(QStringLiteral("%1 paints for 1000 samples").arg(chart.paintCount() - before)));
}

void TestLightChart::cachedColumnsMatchAFreshChart()
{
    TelemetryStore store;
    const qint64 base = QDateTime::currentMSecsSinceEpoch() - DayMs;
    for (int i = 0; i < 20000; ++i)
        store.append(Device, base + i * 1000,
                     100 + 50 * std::sin(i / 300.0) + (i % 997 == 0 ? 400 : 0));
    LightChart cached;
    cached.resize(700, 300);
    cached.setStore(&store);
    cached.setDevice(Device);
    const qint64 t0 = base + 2 * HourMs;
    cached.setVisibleRange(t0, t0 + 4 * HourMs);
    (void)cached.renderToImage();

    // New samples inside the window (appended), then a pan: both reuse cached columns.
    for (int i = 20000; i < 20500; ++i)
        store.append(Device, base + i * 1000, 300 - (i % 50));
    cached.setVisibleRange(t0 + 37 * MinuteMs, t0 + 37 * MinuteMs + 4 * HourMs);
    (void)cached.renderToImage();
    cached.setVisibleRange(t0 + 2 * HourMs, t0 + 6 * HourMs);
    const QImage incremental = cached.renderToImage();

    LightChart fresh;
    fresh.resize(700, 300);
    fresh.setStore(&store);
    fresh.setDevice(Device);
    fresh.setVisibleRange(t0 + 2 * HourMs, t0 + 6 * HourMs);
    QCOMPARE(incremental, fresh.renderToImage());

    // An out-of-order insert changes the generation: the cache is rebuilt.
    store.append(Device, t0 + 3 * HourMs + 500, 1000);
    QCOMPARE(cached.renderToImage(), fresh.renderToImage());
}

void TestLightChart::sparseDataIsJoinedButOutagesAreNot()
{
    // One sample every 20 s (about 11 px apart), and no data from 400 s to 600 s.
    TelemetryStore store;
    const qint64 base = QDateTime::currentMSecsSinceEpoch() - HourMs;
    for (qint64 s = 0; s <= 1000; s += 20) {
        if (s <= 400 || s >= 600)
            store.append(Device, base + s * 1000, 50);
    }
    LightChart chart;
    chart.resize(600, 300);
    chart.setStore(&store);
    chart.setDevice(Device);
    chart.setVisibleRange(base - 10000, base + 1010 * 1000);
    const QImage image = chart.renderToImage();
    const QColor series = chart.palette().color(QPalette::Highlight);
    const QRectF plot = chart.plotRect();
    auto columnHasSeries = [&](qint64 t) {
        const QRectF column(xOf(chart, t), plot.top(), 1, plot.height());
        return countColor(image, toDevice(chart, column), series) > 0;
    };
    // Between two samples 20 s apart: joined.
    QVERIFY(columnHasSeries(base + 110 * 1000));
    QVERIFY(columnHasSeries(base + 730 * 1000));
    // Inside the 200 s outage: left blank.
    QVERIFY(!columnHasSeries(base + 450 * 1000));
    QVERIFY(!columnHasSeries(base + 500 * 1000));
    QVERIFY(!columnHasSeries(base + 550 * 1000));
}

void TestLightChart::ledPeriodsAndThresholdAreDrawn()
{
    TelemetryStore store;
    const qint64 base = QDateTime::currentMSecsSinceEpoch() - HourMs;
    for (int i = 0; i <= 600; ++i)
        store.append(Device, base + i * 1000, i < 300 ? 100 : 200);
    LightChart chart;
    chart.resize(600, 300);
    chart.setStore(&store);
    chart.setDevice(Device);
    chart.setVisibleRange(base, base + 600 * 1000);
    const QImage plain = chart.renderToImage();
    const QRectF plot = chart.plotRect();

    // LED on during the middle third: pixels change there and only there.
    chart.setLedPeriods({{base + 200 * 1000, base + 400 * 1000}});
    QCOMPARE(chart.ledPeriods().size(), 1);
    const QImage shaded = chart.renderToImage();
    auto at = [&](double fx, double fy) {
        return toDevice(chart,
                        QPointF(plot.left() + plot.width() * fx, plot.top() + plot.height() * fy));
    };
    // Several rows: grid lines and background alike are tinted.
    for (double fy : {0.2, 0.21, 0.3, 0.5}) {
        QVERIFY(shaded.pixel(at(0.45, fy)) != plain.pixel(at(0.45, fy)));
        QCOMPARE(shaded.pixel(at(1.0 / 6, fy)), plain.pixel(at(1.0 / 6, fy)));
        QCOMPARE(shaded.pixel(at(5.0 / 6, fy)), plain.pixel(at(5.0 / 6, fy)));
    }

    // Threshold 150 (between the two levels): a line across the plot changes some row.
    chart.setLedPeriods({});
    chart.setThreshold(150.0);
    QCOMPARE(chart.threshold(), std::optional<double>(150.0));
    const QImage withThreshold = chart.renderToImage();
    QVERIFY(withThreshold != plain);
    chart.setThreshold(std::nullopt);
    QCOMPARE(chart.renderToImage(), plain);
}

void TestLightChart::renderToImageHasRequestedSize()
{
    TelemetryStore store;
    store.append(Device, QDateTime::currentMSecsSinceEpoch(), 5);
    LightChart chart;
    chart.resize(300, 200);
    chart.setStore(&store);
    chart.setDevice(Device);
    const QImage image = chart.renderToImage(QSize(1200, 400));
    QCOMPARE(image.size(), QSize(1200, 400) * chart.devicePixelRatioF());
    const QColor background = chart.palette().color(QPalette::Window);
    QVERIFY(countColor(image, image.rect(), background) < image.width() * image.height());
}

void TestLightChart::thresholdOnTheDataEdgeGetsRoom()
{
    // The data's minimum is exactly the threshold: the value axis reaches one step below it, so
    // the dashed line is not hidden under the frame.
    TelemetryStore store;
    const qint64 base = QDateTime::currentMSecsSinceEpoch() - MinuteMs;
    for (int i = 0; i < 60; ++i)
        store.append(Device, base + i * 1000, 400 + i * 10);
    LightChart chart;
    chart.setLocale(QLocale::c());
    chart.resize(800, 300);
    chart.setStore(&store);
    chart.setDevice(Device);
    chart.setVisibleRange(base, base + MinuteMs);
    const auto lowestValueLabel = [&chart] {
        double lowest = std::numeric_limits<double>::infinity();
        for (const auto &label : chart.axisLabels()) {
            bool ok = false;
            const double v = QLocale::c().toDouble(label.text, &ok);
            if (ok)
                lowest = std::min(lowest, v);
        }
        return lowest;
    };
    QCOMPARE(lowestValueLabel(), 400.0); // 400..990 in steps of 200 at this height
    chart.setThreshold(400.0);
    QVERIFY2(lowestValueLabel() < 400.0, qPrintable(QString::number(lowestValueLabel())));
}

void TestLightChart::axisLabelsInLocale_data()
{
    QTest::addColumn<QLocale>("locale");
    QTest::addColumn<QString>("digits"); // the locale's 0 to 9
    QTest::newRow("English") << QLocale(QLocale::English, QLocale::UnitedStates)
                             << QStringLiteral("0123456789");
    QTest::newRow("Bengali") << QLocale(QLocale::Bengali, QLocale::Bangladesh)
                             << QStringLiteral("০১২৩৪৫৬৭৮৯");
}

void TestLightChart::axisLabelsInLocale()
{
    // Both axes write numbers and times in the widget's locale, and the date under the first
    // time tick (at the left edge here) stays inside the widget.
    QFETCH(QLocale, locale);
    QFETCH(QString, digits);
    const QDate day(2026, 11, 26); // a Thursday: "বৃহস্পতি" in Bengali, a long word
    const qint64 t0 = QDateTime(day, QTime(11, 14, 0)).toMSecsSinceEpoch() - 300;
    TelemetryStore store;
    for (int i = 0; i < 60; ++i)
        store.append(Device, t0 + 300 + i * 1000, 100 + i * 7.5);
    LightChart chart;
    chart.setLocale(locale);
    chart.resize(800, 300);
    chart.setStore(&store);
    chart.setDevice(Device);
    chart.setVisibleRange(t0, t0 + MinuteMs);

    const auto labels = chart.axisLabels();
    QVERIFY(labels.size() > 6);
    const QRectF widget(chart.rect());
    int digitCount = 0;
    for (const auto &label : labels) {
        for (const QChar c : label.text) {
            if (c.isDigit()) {
                QVERIFY2(digits.contains(c), qPrintable(label.text));
                ++digitCount;
            }
        }
        QVERIFY2(widget.contains(label.rect),
                 qPrintable(QStringLiteral("%1 at %2,%3 %4x%5")
                                .arg(label.text)
                                .arg(label.rect.x())
                                .arg(label.rect.y())
                                .arg(label.rect.width())
                                .arg(label.rect.height())));
    }
    QVERIFY(digitCount > 20);
    auto has = [&](const QString &text) {
        return std::any_of(labels.begin(), labels.end(),
                           [&](const LightChart::AxisLabel &l) { return l.text == text; });
    };
    const QString firstTick = locale.toString(QTime(11, 14, 0), QStringLiteral("HH:mm:ss"));
    QVERIFY2(has(firstTick), qPrintable(firstTick));
    const QString date = locale.toString(day, QStringLiteral("ddd d MMM"));
    QVERIFY2(has(date), qPrintable(date));
}

void TestLightChart::ticksAreAxisTicks()
{
    // LightChart's tick functions are AxisTicks's (tst_axisticks has the cases).
    QCOMPARE(LightChart::timeStep(HourMs, 8), nightlight::AxisTicks::timeStep(HourMs, 8));
    const qint64 t0 = 1795691651123;
    QCOMPARE(LightChart::timeTicks(t0, t0 + DayMs, 8),
             nightlight::AxisTicks::timeTicks(t0, t0 + DayMs, 8));
    QCOMPARE(LightChart::valueStep(37, 5), 10.0);
    QCOMPARE(LightChart::valueTicks(13, 37, 3), (std::vector<double>{20, 30}));
}

QTEST_MAIN(TestLightChart)
#include "tst_lightchart.moc"
