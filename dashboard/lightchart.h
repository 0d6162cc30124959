#pragma once

// LightChart: draws a time window of one device's samples from a TelemetryStore with QPainter,
// decimated to one min/max line per pixel column (spikes never lost, never more points than
// columns). Time axis in local time, value axis, hover read-out, threshold line, shaded
// LED-on periods and the latest value drawn large in the top-right corner.
//
// Interaction: mouse wheel zooms around the cursor, dragging pans (both leave live mode),
// double-click returns to live. In live mode the window ends at the newest of "now" and the
// last sample, and follows new data.
//
// Thread: GUI thread. The store is not owned and must outlive the chart (or be unset first).

#include "telemetrystore.h"

#include <QImage>
#include <QList>
#include <QPair>
#include <QWidget>

#include <memory>
#include <optional>
#include <vector>

namespace nightlight {

class LightChart : public QWidget
{
    Q_OBJECT
public:
    // Window presets for setWindow(), in ms. WindowAll shows everything the device has.
    static constexpr qint64 WindowOneMinute = 60 * 1000;
    static constexpr qint64 WindowTenMinutes = 10 * 60 * 1000;
    static constexpr qint64 WindowOneHour = 60 * 60 * 1000;
    static constexpr qint64 WindowOneDay = 24 * 60 * 60 * 1000;
    static constexpr qint64 WindowAll = 0;

    explicit LightChart(QWidget *parent = nullptr);
    ~LightChart() override;

    void setStore(TelemetryStore *store); // not owned; nullptr to detach
    TelemetryStore *store() const;
    void setDevice(const QString &deviceId);
    QString device() const;

    // Window length in ms (a preset or any value >= 1), or WindowAll. Keeps the live state: in
    // live mode the window ends at the newest data, otherwise it keeps its end time.
    void setWindow(qint64 ms);
    qint64 window() const; // WindowAll or the length in ms
    // The visible time range [t0, t1) in ms since the epoch (UTC), now.
    QPair<qint64, qint64> visibleRange() const;
    // Where the data is drawn, in widget coordinates (inside the axes); for tests and overlays.
    QRectF plotRect() const;
    // The axis labels as drawn at the widget's size: the text (numbers, times and dates in the
    // widget's locale()) and the rectangle it covers, in widget coordinates. Empty without data.
    // For tests: every label fits inside rect().
    struct AxisLabel
    {
        QString text;
        QRectF rect;
    };
    std::vector<AxisLabel> axisLabels() const;
    // Shows exactly [t0Ms, t1Ms) and leaves live mode.
    void setVisibleRange(qint64 t0Ms, qint64 t1Ms);

    bool isLive() const;
    void setLive(bool live);

    // Horizontal threshold line (the auto rule's "dark" level); nullopt hides it.
    void setThreshold(std::optional<double> threshold);
    std::optional<double> threshold() const;
    // Periods the LED was on, as (start, end) in ms since the epoch; an end <= start means
    // "still on" (shaded to the right edge). Any order; overlapping is fine.
    void setLedPeriods(const QList<QPair<qint64, qint64>> &periods);
    QList<QPair<qint64, qint64>> ledPeriods() const;
    // Shown after values in the read-outs, e.g. "lx"; empty (default) for the lesson's units.
    void setUnit(const QString &unit);
    QString unit() const;

    // The sample under the mouse (nearest in time to the cursor), nullopt when not hovering.
    std::optional<TelemetryStore::Sample> hoveredSample() const;
    // The device's newest sample (what the chart draws large), nullopt without data.
    std::optional<TelemetryStore::Sample> latestSample() const;

    // The chart drawn at `size` (the widget's size if empty) on an opaque background, at the
    // widget's device pixel ratio; for "Export PNG".
    QImage renderToImage(QSize size = QSize());

    // Paint events handled so far (for tests of repaint coalescing).
    int paintCount() const;
    // What the last frame showed: whether part of its window was still being read from the
    // history file (shaded), and whether any sample was in it.
    bool lastFrameLoading() const;
    bool lastFrameHadData() const;

    // Axis ticks (AxisTicks does the arithmetic), exposed for tests. timeStep: the smallest "nice"
    // step (1 s, 5 s, 10 s, 30 s, 1, 5, 10, 30 min, 1, 3, 6, 12 h, 1 day, then whole days) giving
    // at most maxTicks ticks over spanMs. timeTicks: multiples of that step in [t0, t1], aligned in
    // local time.
    static qint64 timeStep(qint64 spanMs, int maxTicks);
    static std::vector<qint64> timeTicks(qint64 t0Ms, qint64 t1Ms, int maxTicks);
    // 1, 2, 2.5 or 5 times a power of ten, giving at most maxTicks ticks over span.
    static double valueStep(double span, int maxTicks);
    static std::vector<double> valueTicks(double lo, double hi, int maxTicks);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

signals:
    void liveChanged(bool live);
    void visibleRangeChanged(qint64 t0Ms, qint64 t1Ms);
    void hoveredSampleChanged();

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void leaveEvent(QEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    struct Private;
    std::unique_ptr<Private> const d;
};

} // namespace nightlight
