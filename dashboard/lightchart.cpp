// Over 600 lines: a widget's painting, column cache, events; arithmetic: AxisTicks, ChartViewport.

#include "lightchart.h"

#include "axisticks.h"
#include "chartviewport.h"

#include <QDateTime>
#include <QFontMetricsF>
#include <QLocale>
#include <QMouseEvent>
#include <QPaintEvent>
#include <QPainter>
#include <QPointer>
#include <QTimer>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>
#include <limits>

namespace nightlight {

namespace {

constexpr qint64 Day = 24 * 60 * 60 * 1000;

// Repaints after new data are limited to about one per screen refresh.
constexpr int RepaintDelayMs = 16;

static_assert(LightChart::WindowAll == ChartViewport::All);

QString formatValue(const QLocale &locale, double v)
{
    return locale.toString(v, 'g', 7);
}

QColor withAlpha(QColor c, int alpha)
{
    c.setAlpha(alpha);
    return c;
}

} // namespace

struct LightChart::Private
{
    LightChart *q = nullptr;
    QPointer<TelemetryStore> store;
    QString device;
    ChartViewport view; // the window, live or not
    std::optional<double> threshold;
    QList<QPair<qint64, qint64>> ledPeriods;
    QString unit;

    std::optional<QPointF> hoverPos;
    std::optional<TelemetryStore::Sample> hovered;

    bool dragging = false;
    QPointF dragStart;
    qint64 dragT1 = 0;

    int paintCount = 0;
    bool lastFrameLoading = false;
    bool lastFrameHadData = false;
    QImage layer; // the plot area, reused between frames
    QTimer repaintTimer;
    QTimer liveTimer;

    // Decimated columns on an absolute grid: column c covers [c*colMs, (c+1)*colMs), so panning
    // and live scrolling reuse what is already computed, and appends recompute only the columns
    // from the previous last sample on.
    struct Cache
    {
        const TelemetryStore *store = nullptr;
        QString device;
        qint64 colMs = 0;
        quint64 generation = 0;
        qsizetype size = 0;
        std::optional<qint64> lastT;
        qint64 c0 = 0;
        std::vector<TelemetryStore::Column> cols;
    } cache;

    // Geometry of one frame.
    struct Layout
    {
        QRectF area;
        QRectF plot;
        qint64 t0 = 0;
        qint64 t1 = 1;
        double lo = 0;
        double hi = 1;
        double valueStep = 1;
        bool hasData = false;

        double xOf(double t) const
        {
            return plot.left() + (t - double(t0)) * plot.width() / double(t1 - t0);
        }
        double tOf(double x) const
        {
            return double(t0) + (x - plot.left()) * double(t1 - t0) / plot.width();
        }
        double yOf(double v) const { return plot.bottom() - (v - lo) * plot.height() / (hi - lo); }
    };

    QFont bigFont() const
    {
        QFont f = q->font();
        f.setPointSizeF(f.pointSizeF() > 0 ? f.pointSizeF() * 2.2 : 20);
        f.setBold(true);
        return f;
    }

    // Heights of the rows of text as they are really drawn. A label's glyphs may come from a
    // fallback font (Bengali digits, day and month names from Lohit Bengali, say) whose lines are
    // taller than the widget font's, and QFontMetricsF::height() knows only the widget font: a
    // row measured with it cuts the text off (issue #8: a clipped date on a machine with few
    // fonts). So each row is the tallest laid-out line of the texts it can show, measured once
    // per font and locale.
    struct Rows
    {
        double value = 0; // a value label, the hover box
        double time = 0; // a time (or "d MMM") label under a tick
        double date = 0; // the "ddd d MMM" row under it
        double big = 0; // the latest value, large
    };
    const Rows &rows() const
    {
        const QFont font = q->font();
        const QLocale locale = q->locale();
        if (rowsCache && rowsFont == font && rowsLocale == locale)
            return *rowsCache;
        auto lineHeight = [](const QFontMetricsF &fm, const QString &text) {
            return std::max(
                fm.height(),
                fm.boundingRect(QRectF(0, 0, 1e6, 1e6), int(Qt::AlignLeft | Qt::AlignTop), text)
                    .height());
        };
        const QFontMetricsF fm(font);
        const QFontMetricsF bigFm(bigFont());
        const QString digits = locale.toString(-1234567890.5, 'f', 1);
        Rows r;
        r.value = lineHeight(fm, digits);
        r.big = lineHeight(bigFm, digits + QStringLiteral(" lx"));
        r.time =
            lineHeight(fm, locale.toString(QTime(23, 59, 59, 999), QStringLiteral("HH:mm:ss.zzz")));
        // Every day name (the first week of 2026) and every month name.
        for (int day = 1; day <= 7; ++day) {
            const QString text = locale.toString(QDate(2026, 1, day), QStringLiteral("ddd d MMM"));
            r.date = std::max(r.date, lineHeight(fm, text));
        }
        for (int month = 1; month <= 12; ++month) {
            const QDate date(2026, month, 28);
            r.time =
                std::max(r.time, lineHeight(fm, locale.toString(date, QStringLiteral("d MMM"))));
            r.date = std::max(r.date,
                              lineHeight(fm, locale.toString(date, QStringLiteral("ddd d MMM"))));
        }
        r.value = std::max(r.value, r.time);
        rowsFont = font;
        rowsLocale = locale;
        rowsCache = r;
        return *rowsCache;
    }
    mutable QFont rowsFont;
    mutable QLocale rowsLocale;
    mutable std::optional<Rows> rowsCache;

    QColor seriesColor() const { return q->palette().color(QPalette::Highlight); }

    QPair<qint64, qint64> range() const
    {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        return view.range(now, store ? store->timeRange(device) : std::nullopt);
    }

    Layout layout(const QRectF &area, qreal dpr = 1) const
    {
        Layout l;
        l.area = area;
        const QFontMetricsF fm(q->font());
        const Rows &r = rows();
        const double pad = fm.averageCharWidth();
        const auto [t0, t1] = range();
        l.t0 = t0;
        l.t1 = std::max(t1, t0 + 1);

        const double top = area.top() + r.big + pad * 0.5;
        const double bottom = area.bottom() - fm.descent() - r.time - r.date - pad * 0.25;
        // The value range of the window, from one decimated column (cheap: block summaries).
        double lo = 0;
        double hi = 1;
        if (store) {
            const auto all = store->decimate(device, l.t0, l.t1, 1);
            if (!all.empty() && !all.front().empty) {
                lo = all.front().min;
                hi = all.front().max;
                l.hasData = true;
            }
            // Still being read from the history file: the series is drawn (shaded) anyway.
            if (!all.empty() && all.front().loading)
                l.hasData = true;
        }
        const int valueTickCount = std::max(2, int((bottom - top) / (r.value * 2.5)));
        const AxisTicks::ValueScale scale =
            AxisTicks::valueScale(lo, hi, l.hasData ? threshold : std::nullopt, valueTickCount);
        l.lo = scale.lo;
        l.hi = scale.hi;
        l.valueStep = scale.step;

        const int decimals = AxisTicks::decimalsFor(l.valueStep);
        const double labelWidth =
            std::max(fm.horizontalAdvance(q->locale().toString(l.lo, 'f', decimals)),
                     fm.horizontalAdvance(q->locale().toString(l.hi, 'f', decimals)));
        const double left = area.left() + labelWidth + pad * 1.5;
        const double right = area.right() - pad * 1.5;
        // On whole device pixels, so that the plot layer maps 1:1.
        auto snap = [dpr](double v) {
            return std::round(v * dpr) / dpr;
        };
        l.plot = QRectF(QPointF(snap(left), snap(top)),
                        QPointF(snap(std::max(left + 1, right)), snap(std::max(top + 1, bottom))));
        return l;
    }

    // Columns [c0, c0 + n) at colMs, reusing the cache where the data has not changed.
    const std::vector<TelemetryStore::Column> &columns(qint64 colMs, qint64 c0, qint64 n)
    {
        const quint64 generation = store->generation(device);
        const qsizetype size = store->size(device);
        const auto last = store->last(device);
        Cache &k = cache;
        qint64 dirtyFrom = std::numeric_limits<qint64>::min();
        if (k.store == store.data() && k.device == device && k.colMs == colMs &&
            k.generation == generation) {
            dirtyFrom = std::numeric_limits<qint64>::max();
            if (size != k.size)
                dirtyFrom =
                    k.lastT ? floorDiv(*k.lastT, colMs) : std::numeric_limits<qint64>::min();
        }
        std::vector<TelemetryStore::Column> cols(static_cast<size_t>(n));
        const qint64 r0 = std::max(c0, k.c0);
        const qint64 r1 = std::min({c0 + n, k.c0 + qint64(k.cols.size()), dirtyFrom});
        auto compute = [&](qint64 a, qint64 b) {
            if (b <= a)
                return;
            const auto part = store->decimate(device, a * colMs, b * colMs, int(b - a));
            std::copy(part.begin(), part.end(), cols.begin() + (a - c0));
        };
        if (r0 < r1) {
            std::copy(k.cols.begin() + (r0 - k.c0), k.cols.begin() + (r1 - k.c0),
                      cols.begin() + (r0 - c0));
            compute(c0, r0);
            compute(r1, c0 + n);
        } else {
            compute(c0, c0 + n);
        }
        k.store = store.data();
        k.device = device;
        k.colMs = colMs;
        k.generation = generation;
        k.size = size;
        k.lastT = last ? std::optional<qint64>(last->t) : std::nullopt;
        k.c0 = c0;
        k.cols = std::move(cols);
        return k.cols;
    }

    void paint(QPainter &p, const QRectF &area, qreal dpr);
    void paintSeries(const Layout &l, qreal dpr); // into the layer
    // One axis label: its text in `box` with `flags`; dates are drawn dimmer.
    struct Label
    {
        QString text;
        QRectF box;
        int flags = 0;
        bool date = false;
    };
    // The axis labels of layout l (numbers and times in the widget's locale, every box inside
    // l.area), and where the grid lines go (logical coordinates).
    std::vector<Label> valueLabels(const Layout &l, std::vector<double> *gridY) const;
    std::vector<Label> timeLabels(const Layout &l, std::vector<double> *gridX) const;
    void paintLabels(QPainter &p, const std::vector<Label> &labels) const;
    void paintHover(QPainter &p, const Layout &l);
    void paintLatest(QPainter &p, const Layout &l);

    void scheduleRepaint()
    {
        if (!repaintTimer.isActive())
            repaintTimer.start();
    }

    void updateHover()
    {
        std::optional<TelemetryStore::Sample> found;
        if (hoverPos && store && !dragging) {
            const Layout l = layout(q->rect(), q->devicePixelRatioF());
            if (l.plot.contains(*hoverPos)) {
                const auto s = store->nearest(device, qint64(std::llround(l.tOf(hoverPos->x()))));
                if (s && s->t >= l.t0 && s->t < l.t1)
                    found = s;
            }
        }
        if (found != hovered) {
            hovered = found;
            emit q->hoveredSampleChanged();
            q->update();
        }
    }

    void leaveLive(qint64 t0, qint64 t1)
    {
        const bool was = view.showRange(t0, t1);
        if (was)
            emit q->liveChanged(false);
        emit q->visibleRangeChanged(t0, t1);
        q->update();
    }
};

LightChart::LightChart(QWidget *parent) : QWidget(parent), d(std::make_unique<Private>())
{
    d->q = this;
    d->repaintTimer.setSingleShot(true);
    d->repaintTimer.setInterval(RepaintDelayMs);
    connect(&d->repaintTimer, &QTimer::timeout, this, [this] {
        update();
        if (d->hoverPos)
            d->updateHover();
    });
    d->liveTimer.setSingleShot(true);
    connect(&d->liveTimer, &QTimer::timeout, this, [this] { update(); });
    setMouseTracking(true);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setFocusPolicy(Qt::WheelFocus);
}

LightChart::~LightChart() = default;

void LightChart::setStore(TelemetryStore *store)
{
    if (d->store == store)
        return;
    if (d->store)
        disconnect(d->store, nullptr, this, nullptr);
    d->store = store;
    d->cache = Private::Cache();
    if (store) {
        auto changed = [this](const QString &id) {
            if (id == d->device)
                d->scheduleRepaint();
        };
        connect(store, &TelemetryStore::samplesAppended, this, changed);
        connect(store, &TelemetryStore::samplesRemoved, this, changed);
        connect(store, &TelemetryStore::historyLoaded, this, changed);
    }
    update();
}

TelemetryStore *LightChart::store() const
{
    return d->store.data();
}

void LightChart::setDevice(const QString &deviceId)
{
    if (d->device == deviceId)
        return;
    d->device = deviceId;
    d->hovered.reset();
    update();
}

QString LightChart::device() const
{
    return d->device;
}

void LightChart::setWindow(qint64 ms)
{
    d->view.setWindow(ms, d->range().second);
    const auto [t0, t1] = d->range();
    emit visibleRangeChanged(t0, t1);
    update();
}

qint64 LightChart::window() const
{
    return d->view.window();
}

QPair<qint64, qint64> LightChart::visibleRange() const
{
    return d->range();
}

std::vector<LightChart::AxisLabel> LightChart::axisLabels() const
{
    std::vector<AxisLabel> out;
    if (!d->store || !d->store->timeRange(d->device))
        return out;
    const auto l = d->layout(rect(), devicePixelRatioF());
    const QFontMetricsF fm(font());
    for (const auto &labels : {d->valueLabels(l, nullptr), d->timeLabels(l, nullptr)}) {
        for (const Private::Label &label : labels)
            out.push_back({label.text, fm.boundingRect(label.box, label.flags, label.text)});
    }
    return out;
}

QRectF LightChart::plotRect() const
{
    return d->layout(rect(), devicePixelRatioF()).plot;
}

void LightChart::setVisibleRange(qint64 t0Ms, qint64 t1Ms)
{
    if (t1Ms <= t0Ms)
        return;
    d->leaveLive(t0Ms, t1Ms);
}

bool LightChart::isLive() const
{
    return d->view.isLive();
}

void LightChart::setLive(bool live)
{
    if (!d->view.setLive(live, d->range().second))
        return;
    emit liveChanged(live);
    const auto [t0, t1] = d->range();
    emit visibleRangeChanged(t0, t1);
    update();
}

void LightChart::setThreshold(std::optional<double> threshold)
{
    d->threshold = threshold;
    update();
}

std::optional<double> LightChart::threshold() const
{
    return d->threshold;
}

void LightChart::setLedPeriods(const QList<QPair<qint64, qint64>> &periods)
{
    d->ledPeriods = periods;
    update();
}

QList<QPair<qint64, qint64>> LightChart::ledPeriods() const
{
    return d->ledPeriods;
}

void LightChart::setUnit(const QString &unit)
{
    d->unit = unit;
    update();
}

QString LightChart::unit() const
{
    return d->unit;
}

std::optional<TelemetryStore::Sample> LightChart::hoveredSample() const
{
    return d->hovered;
}

std::optional<TelemetryStore::Sample> LightChart::latestSample() const
{
    return d->store ? d->store->last(d->device) : std::nullopt;
}

QImage LightChart::renderToImage(QSize size)
{
    if (size.isEmpty())
        size = this->size();
    const qreal dpr = devicePixelRatioF();
    QImage image(size * dpr, QImage::Format_ARGB32_Premultiplied);
    image.setDevicePixelRatio(dpr);
    image.fill(palette().color(QPalette::Window));
    QPainter p(&image);
    d->paint(p, QRectF(QPointF(0, 0), QSizeF(size)), dpr);
    return image;
}

bool LightChart::lastFrameLoading() const
{
    return d->lastFrameLoading;
}

bool LightChart::lastFrameHadData() const
{
    return d->lastFrameHadData;
}

int LightChart::paintCount() const
{
    return d->paintCount;
}

QSize LightChart::sizeHint() const
{
    const QFontMetrics fm(font());
    return {fm.averageCharWidth() * 80, fm.height() * 20};
}

QSize LightChart::minimumSizeHint() const
{
    const QFontMetrics fm(font());
    return {fm.averageCharWidth() * 30, fm.height() * 8};
}

// --- ticks ---------------------------------------------------------------------------------

qint64 LightChart::timeStep(qint64 spanMs, int maxTicks)
{
    return AxisTicks::timeStep(spanMs, maxTicks);
}

std::vector<qint64> LightChart::timeTicks(qint64 t0Ms, qint64 t1Ms, int maxTicks)
{
    return AxisTicks::timeTicks(t0Ms, t1Ms, maxTicks);
}

double LightChart::valueStep(double span, int maxTicks)
{
    return AxisTicks::valueStep(span, maxTicks);
}

std::vector<double> LightChart::valueTicks(double lo, double hi, int maxTicks)
{
    return AxisTicks::valueTicks(lo, hi, maxTicks);
}

// --- painting ------------------------------------------------------------------------------

void LightChart::Private::paint(QPainter &p, const QRectF &area, qreal dpr)
{
    const QPalette &pal = q->palette();
    p.fillRect(area, pal.color(QPalette::Window));
    p.setFont(q->font());

    if (!store || !store->timeRange(device)) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        const QString text = device.isEmpty() ? LightChart::tr("No device selected")
                                              : LightChart::tr("No data yet for %1").arg(device);
        p.drawText(area, Qt::AlignCenter | Qt::TextWordWrap, text);
        return;
    }

    const Layout l = layout(area, dpr);

    // The plot area is drawn into an opaque layer in device pixels (background, LED periods,
    // grid, series) and copied in one go: the series is written as pixel spans, far cheaper
    // than a thousand QPainter lines.
    const QSize layerSize(std::max(1, int(std::lround(l.plot.width() * dpr))),
                          std::max(1, int(std::lround(l.plot.height() * dpr))));
    if (layer.size() != layerSize)
        layer = QImage(layerSize, QImage::Format_RGB32);
    layer.setDevicePixelRatio(1);
    const QColor base = pal.color(QPalette::Base);
    layer.fill(base);
    {
        // Everything in the plot area below the series is written as opaque pixel spans:
        // QPainter's translucent fills and cosmetic lines cost a millisecond or more here.
        const int w = layer.width();
        const int h = layer.height();
        uchar *bits = layer.bits();
        const qsizetype stride = layer.bytesPerLine();
        auto over = [](const QColor &below, const QColor &above, int alpha) {
            auto mix = [alpha](int a, int b) {
                return (a * (255 - alpha) + b * alpha) / 255;
            };
            return qRgb(mix(below.red(), above.red()), mix(below.green(), above.green()),
                        mix(below.blue(), above.blue()));
        };
        // LED-on periods: a warm band (filled spans), readable on light and dark bases.
        const QColor amber(0xf5, 0xb8, 0x00);
        const QRgb onBase = over(base, amber, 70);
        for (const auto &period : ledPeriods) {
            const qint64 end = period.second > period.first ? period.second : l.t1;
            if (end <= l.t0 || period.first >= l.t1)
                continue;
            const int x0 =
                std::max(0, int(std::lround((l.xOf(double(period.first)) - l.plot.left()) * dpr)));
            const int x1 =
                std::min(w, int(std::lround((l.xOf(double(end)) - l.plot.left()) * dpr)));
            for (int row = 0; row < h && x0 < x1; ++row) {
                auto *line = reinterpret_cast<QRgb *>(bits + row * stride);
                std::fill(line + x0, line + x1, onBase);
            }
        }
        // Grid lines over it, tinted where they cross an LED band.
        std::vector<double> gridX;
        std::vector<double> gridY;
        paintLabels(p, valueLabels(l, &gridY));
        paintLabels(p, timeLabels(l, &gridX));
        const QRgb gridRgb = over(base, pal.color(QPalette::Text), 28);
        const QRgb gridOnLed = over(QColor(gridRgb), amber, 70);
        auto gridPixel = [&](QRgb &px) {
            px = px == onBase || px == gridOnLed ? gridOnLed : gridRgb;
        };
        for (double y : gridY) {
            const int row = int(std::lround((y - l.plot.top()) * dpr));
            if (row < 0 || row >= h)
                continue;
            auto *line = reinterpret_cast<QRgb *>(bits + row * stride);
            std::for_each(line, line + w, gridPixel);
        }
        for (double x : gridX) {
            const int col = int(std::lround((x - l.plot.left()) * dpr));
            if (col < 0 || col >= w)
                continue;
            for (int row = 0; row < h; ++row)
                gridPixel(reinterpret_cast<QRgb *>(bits + row * stride)[col]);
        }
        if (l.hasData)
            paintSeries(l, dpr);
        // The threshold: a dashed line over the series (blended pixels; QPainter's dash stroker
        // alone cost about 0.1 ms a frame).
        if (threshold && *threshold >= l.lo && *threshold <= l.hi) {
            const QColor ink = pal.color(QPalette::Text);
            const int thickness = std::max(1, int(std::lround(dpr)));
            const int dash = 4 * thickness;
            const int gap = 2 * thickness;
            const int row0 = int(std::lround((l.yOf(*threshold) - l.plot.top()) * dpr));
            for (int row = std::max(0, row0); row < std::min(h, row0 + thickness); ++row) {
                auto *line = reinterpret_cast<QRgb *>(bits + row * stride);
                for (int x = 0; x < w; ++x) {
                    if (x % (dash + gap) < dash)
                        line[x] = over(QColor(line[x]), ink, 160);
                }
            }
        }
    }
    layer.setDevicePixelRatio(dpr);
    p.drawImage(l.plot.topLeft(), layer);

    if (!l.hasData) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(l.plot, Qt::AlignCenter, LightChart::tr("No samples in this window"));
    } else if (lastFrameLoading && !lastFrameHadData) {
        // Nothing of the window read from the history file yet (a moment; longer while the
        // summaries of a migrated file are built).
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(l.plot, Qt::AlignCenter, LightChart::tr("Reading the history…"));
    }

    p.setPen(pal.color(QPalette::Mid));
    p.setBrush(Qt::NoBrush);
    p.drawRect(l.plot);

    paintLatest(p, l);
    if (hovered)
        paintHover(p, l);
}

void LightChart::Private::paintSeries(const Layout &l, qreal dpr)
{
    // One column per logical pixel, on an absolute time grid (see Cache).
    const qint64 span = l.t1 - l.t0;
    const qint64 pixels = std::max<qint64>(1, qint64(l.plot.width()));
    const qint64 colMs = std::max<qint64>(1, ceilDiv(span, pixels));
    const qint64 c0 = floorDiv(l.t0, colMs);
    const qint64 c1 = ceilDiv(l.t1, colMs);
    const auto &cols = columns(colMs, c0, c1 - c0);

    // Join neighbouring columns unless the gap between them is far longer than the typical
    // sample spacing (a device that was off shows as a break, not a ramp).
    qint64 visible = 0;
    lastFrameLoading = false;
    for (const auto &c : cols) {
        visible += c.count;
        lastFrameLoading = lastFrameLoading || c.loading;
    }
    lastFrameHadData = visible > 0;
    const qint64 maxGap = std::max(3 * colMs, 5 * span / std::max<qsizetype>(1, visible));

    const int width = layer.width();
    const int height = layer.height();
    const int lineWidth = std::max(1, int(std::lround(dpr)));
    const double xScale = double(width) / double(span);
    const double yScale = double(height - 1) / (l.hi - l.lo);
    auto xOf = [&](qint64 col) {
        return int(std::floor((double(col * colMs - l.t0) + double(colMs) / 2) * xScale));
    };
    auto yOf = [&](double v) {
        return std::clamp(int(std::lround((l.hi - v) * yScale)), 0, height - 1);
    };
    const QRgb rgb = seriesColor().rgb() | 0xff000000u;
    uchar *bits = layer.bits();
    const qsizetype stride = layer.bytesPerLine();

    std::vector<QLineF> gaps;
    // Runs of columns still being read from the history file: [first, last] x in layer pixels.
    std::vector<std::pair<int, int>> loading;
    qint64 prevCol = 0;
    const TelemetryStore::Column *prev = nullptr;
    for (size_t i = 0; i < cols.size(); ++i) {
        const auto &c = cols[i];
        if (c.loading) {
            const int x = xOf(c0 + qint64(i));
            if (!loading.empty() && loading.back().second >= x - 1 - lineWidth)
                loading.back().second = x + lineWidth;
            else
                loading.emplace_back(x, x + lineWidth);
        }
        if (c.empty)
            continue;
        const qint64 col = c0 + qint64(i);
        const int x = xOf(col);
        int top = yOf(c.max);
        int bottom = yOf(c.min);
        if (prev && col - prevCol == 1) {
            // Adjacent columns: extend the span to the previous column's last value, which
            // draws the connecting segment as part of the vertical line.
            const int joint = yOf(prev->last);
            top = std::min(top, joint);
            bottom = std::max(bottom, joint);
        } else if (prev && (col - prevCol) * colMs <= maxGap) {
            const double px = (xOf(prevCol) + 0.5) / dpr + l.plot.left();
            gaps.emplace_back(px, l.yOf(prev->last), (x + 0.5) / dpr + l.plot.left(),
                              l.yOf(c.first));
        }
        const int x0 = std::max(0, x);
        const int x1 = std::min(width, x + lineWidth);
        for (int y = top; y <= bottom && x0 < x1; ++y) {
            auto *row = reinterpret_cast<QRgb *>(bits + y * stride);
            std::fill(row + x0, row + x1, rgb);
        }
        prev = &c;
        prevCol = col;
    }
    if (!loading.empty()) {
        // A light shade where the history is still being read (#11): a moment, not a stall.
        QPainter lp(&layer);
        QColor shade = q->palette().color(QPalette::Mid);
        shade.setAlpha(48);
        for (const auto &[x0, x1] : loading)
            lp.fillRect(QRect(std::max(0, x0), 0, std::min(width, x1) - std::max(0, x0), height),
                        shade);
    }
    if (!gaps.empty()) {
        // Sparse data: lines across empty columns (few, so QPainter is fine here).
        QPainter lp(&layer);
        lp.scale(dpr, dpr);
        lp.translate(-l.plot.topLeft());
        lp.setClipRect(l.plot);
        lp.setPen(QPen(seriesColor(), 1.0));
        lp.drawLines(gaps.data(), int(gaps.size()));
    }
}

std::vector<LightChart::Private::Label>
LightChart::Private::valueLabels(const Layout &l, std::vector<double> *gridY) const
{
    const QFontMetricsF fm(q->font());
    const double h = rows().value;
    const int decimals = AxisTicks::decimalsFor(l.valueStep);
    const QLocale locale = q->locale();
    std::vector<Label> labels;
    for (const double v : AxisTicks::scaleTicks({l.lo, l.hi, l.valueStep})) {
        const double y = l.yOf(v);
        if (gridY)
            gridY->push_back(y);
        const QRectF box(l.area.left(), y - h / 2,
                         l.plot.left() - l.area.left() - fm.averageCharWidth() * 0.5, h);
        labels.push_back({locale.toString(v, 'f', decimals), box,
                          int(Qt::AlignRight | Qt::AlignVCenter), false});
    }
    return labels;
}

std::vector<LightChart::Private::Label>
LightChart::Private::timeLabels(const Layout &l, std::vector<double> *gridX) const
{
    const QFontMetricsF fm(q->font());
    const QLocale locale = q->locale();
    // Room for the widest time label in this locale's digits.
    double timeWidth = 0;
    for (const QTime &t : {QTime(0, 0, 0), QTime(8, 48, 48), QTime(23, 59, 59)})
        timeWidth = std::max(timeWidth,
                             fm.horizontalAdvance(locale.toString(t, QStringLiteral("HH:mm:ss"))));
    const double labelWidth = timeWidth + fm.averageCharWidth() * 3;
    const int maxTicks = std::max(2, int(l.plot.width() / labelWidth));
    const qint64 step = AxisTicks::timeStep(l.t1 - l.t0, maxTicks);
    const auto ticks = AxisTicks::timeTicks(l.t0, l.t1, maxTicks);
    const QString format = AxisTicks::timeLabelFormat(step);
    // A box of the text's width (plus a little) centred on x, moved inside the area where it
    // would stick out: the first date label sits under a tick near the left edge, and the plot's
    // bottom is rounded to a whole pixel.
    const Rows &r = rows();
    auto centredBox = [&](const QString &text, double x, double top, double h) {
        const double w = fm.horizontalAdvance(text) + fm.averageCharWidth();
        const double left = std::max(l.area.left(), std::min(x - w / 2, l.area.right() - w));
        return QRectF(left, std::min(top, l.area.bottom() - h), w, h);
    };
    std::vector<Label> labels;
    QDate lastDate;
    for (qint64 t : ticks) {
        const double x = l.xOf(double(t));
        if (x < l.plot.left() - 0.5 || x > l.plot.right() + 0.5)
            continue;
        if (gridX)
            gridX->push_back(x);
        const QDateTime local = QDateTime::fromMSecsSinceEpoch(t);
        const QString text = format.isEmpty()
            ? locale.toString(local.date(), QStringLiteral("d MMM"))
            : locale.toString(local.time(), format);
        const QRectF box = centredBox(text, x, l.plot.bottom() + fm.descent(), r.time);
        labels.push_back({text, box, int(Qt::AlignHCenter | Qt::AlignTop), false});
        // A date row under the first tick and wherever the date changes.
        if (!format.isEmpty() && local.date() != lastDate) {
            const QString date = locale.toString(local.date(), QStringLiteral("ddd d MMM"));
            labels.push_back({date, centredBox(date, x, box.bottom(), r.date),
                              int(Qt::AlignHCenter | Qt::AlignTop), true});
        }
        lastDate = local.date();
    }
    return labels;
}

void LightChart::Private::paintLabels(QPainter &p, const std::vector<Label> &labels) const
{
    const QPalette &pal = q->palette();
    for (const Label &label : labels) {
        p.setPen(pal.color(label.date ? QPalette::PlaceholderText : QPalette::WindowText));
        p.drawText(label.box, label.flags, label.text);
    }
}

void LightChart::Private::paintHover(QPainter &p, const Layout &l)
{
    const QPalette &pal = q->palette();
    const QFontMetricsF fm(q->font());
    const double x = l.xOf(double(hovered->t));
    const double y = l.yOf(hovered->v);
    p.save();
    p.setRenderHint(QPainter::Antialiasing, true);
    p.setPen(QPen(withAlpha(pal.color(QPalette::Text), 90), 1, Qt::DotLine));
    p.drawLine(QPointF(x, l.plot.top()), QPointF(x, l.plot.bottom()));
    const double r = fm.height() / 4;
    p.setPen(QPen(pal.color(QPalette::Base), 1.5));
    p.setBrush(seriesColor());
    p.drawEllipse(QPointF(x, y), r, r);

    const QLocale locale = q->locale();
    const QDateTime local = QDateTime::fromMSecsSinceEpoch(hovered->t);
    const QString timeText = l.t1 - l.t0 > Day
        ? locale.toString(local, QStringLiteral("yyyy-MM-dd HH:mm:ss"))
        : locale.toString(local.time(), QStringLiteral("HH:mm:ss"));
    QString text = timeText + QStringLiteral("  ") + formatValue(locale, hovered->v);
    if (!unit.isEmpty())
        text += QLatin1Char(' ') + unit;
    const double pad = fm.averageCharWidth() * 0.6;
    QRectF box(0, 0, fm.horizontalAdvance(text) + 2 * pad, rows().value + pad);
    box.moveBottomLeft(QPointF(x + r * 2, y - r * 2));
    if (box.right() > l.plot.right())
        box.moveRight(x - r * 2);
    if (box.top() < l.plot.top())
        box.moveTop(y + r * 2);
    p.setPen(pal.color(QPalette::Mid));
    p.setBrush(withAlpha(pal.color(QPalette::ToolTipBase), 235));
    p.drawRoundedRect(box, pad, pad);
    p.setPen(pal.color(QPalette::ToolTipText));
    p.drawText(box, Qt::AlignCenter, text);
    p.restore();
}

void LightChart::Private::paintLatest(QPainter &p, const Layout &l)
{
    const auto latest = store->last(device);
    if (!latest)
        return;
    const QPalette &pal = q->palette();
    const QFontMetricsF fm(q->font());
    const QFont big = bigFont();
    const QFontMetricsF bigFm(big);
    const QLocale locale = q->locale();
    QString text = formatValue(locale, latest->v);
    if (!unit.isEmpty())
        text += QLatin1Char(' ') + unit;
    const QRectF strip(l.plot.left(), l.area.top(), l.plot.width(), rows().big);
    p.setFont(big);
    p.setPen(seriesColor());
    p.drawText(strip, Qt::AlignRight | Qt::AlignVCenter, text);
    const double textWidth = bigFm.horizontalAdvance(text);
    p.setFont(q->font());
    p.setPen(pal.color(QPalette::PlaceholderText));
    const QString when = locale.toString(QDateTime::fromMSecsSinceEpoch(latest->t).time(),
                                         QStringLiteral("HH:mm:ss"));
    QRectF whenBox = strip;
    whenBox.setRight(strip.right() - textWidth - fm.averageCharWidth());
    p.drawText(whenBox, Qt::AlignRight | Qt::AlignVCenter, when);
    p.setPen(pal.color(QPalette::WindowText));
    QFont bold = q->font();
    bold.setBold(true);
    p.setFont(bold);
    QString title = device;
    if (view.isLive())
        title += QStringLiteral("  ") + LightChart::tr("live");
    p.drawText(strip, Qt::AlignLeft | Qt::AlignVCenter, title);
    p.setFont(q->font());
}

// --- events --------------------------------------------------------------------------------

void LightChart::paintEvent(QPaintEvent *)
{
    ++d->paintCount;
    d->lastFrameLoading = false;
    d->lastFrameHadData = false;
    QPainter p(this);
    d->paint(p, QRectF(rect()), devicePixelRatioF());
    if (d->view.isLive() && d->store && d->store->timeRange(d->device)) {
        // Live: scroll with the clock about once per column, but not faster than 5 times a second.
        const auto [t0, t1] = d->range();
        d->liveTimer.start(ChartViewport::liveRepaintIntervalMs(t1 - t0, width()));
    }
}

void LightChart::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    update();
}

void LightChart::wheelEvent(QWheelEvent *event)
{
    const int delta = event->angleDelta().y();
    if (delta == 0 || !d->store) {
        event->ignore();
        return;
    }
    const auto l = d->layout(rect(), devicePixelRatioF());
    const auto [t0, t1] = ChartViewport::zoomed(l.t0, l.t1, l.tOf(event->position().x()), delta);
    d->leaveLive(t0, t1);
    d->updateHover();
    event->accept();
}

void LightChart::mousePressEvent(QMouseEvent *event)
{
    if (event->button() != Qt::LeftButton) {
        QWidget::mousePressEvent(event);
        return;
    }
    const auto [t0, t1] = d->range();
    Q_UNUSED(t0)
    d->dragging = true;
    d->dragStart = event->position();
    d->dragT1 = t1;
    setCursor(Qt::ClosedHandCursor);
    event->accept();
}

void LightChart::mouseMoveEvent(QMouseEvent *event)
{
    d->hoverPos = event->position();
    if (d->dragging) {
        const auto l = d->layout(rect(), devicePixelRatioF());
        const qint64 span = l.t1 - l.t0;
        const double dx = event->position().x() - d->dragStart.x();
        // A click (or the press of a double-click) is not a pan.
        if (d->view.isLive() && std::abs(dx) < 2) {
            event->accept();
            return;
        }
        const auto [t0, t1] = ChartViewport::panned(d->dragT1, span, dx, l.plot.width());
        d->leaveLive(t0, t1);
    } else {
        d->updateHover();
    }
    event->accept();
}

void LightChart::mouseReleaseEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton && d->dragging) {
        d->dragging = false;
        unsetCursor();
        d->updateHover();
        event->accept();
        return;
    }
    QWidget::mouseReleaseEvent(event);
}

void LightChart::mouseDoubleClickEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton) {
        d->dragging = false;
        unsetCursor();
        setLive(true);
        event->accept();
        return;
    }
    QWidget::mouseDoubleClickEvent(event);
}

void LightChart::leaveEvent(QEvent *event)
{
    d->hoverPos.reset();
    d->updateHover();
    QWidget::leaveEvent(event);
}

void LightChart::changeEvent(QEvent *event)
{
    switch (event->type()) {
    case QEvent::PaletteChange:
    case QEvent::FontChange:
    case QEvent::StyleChange:
    case QEvent::LocaleChange:
        update();
        break;
    default:
        break;
    }
    QWidget::changeEvent(event);
}

} // namespace nightlight
