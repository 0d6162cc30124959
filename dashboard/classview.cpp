// Over 600 lines: one widget that lays out up to hundreds of tiles itself (grid arithmetic, hit
// testing, the visible rows), paints them (status, value, LED line, a sparkline from the store's
// decimation, labels fitted to the tile) with per-tile caches that keep a frame cheap at 100
// tiles, and gives each its LED override through a context menu (docs/dashboard.md, "Class
// view"). Its parts share the tile geometry.

#include "classview.h"

#include "devicehub.h"
#include "devicelistmodel.h"
#include "lightchart.h"
#include "telemetrystore.h"

#include <QAbstractProxyModel>
#include <QContextMenuEvent>
#include <QDateTime>
#include <QHelpEvent>
#include <QMenu>
#include <QMouseEvent>
#include <QPaintEvent>
#include <QPainter>
#include <QScrollBar>
#include <QToolTip>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

namespace nightlight {

namespace {

// The LED drawn on: the chart's LED-on shading colour, full strength.
const QColor LedOnColour(0xf2, 0xb2, 0x1b);

QString formatValue(double v, const QLocale &locale)
{
    if (std::abs(v) < 1e15 && v == std::floor(v))
        return locale.toString(qint64(v));
    return locale.toString(v, 'f', std::abs(v) < 10 ? 2 : 1);
}

} // namespace

// Sizes from the font, measured once per font and locale. Rows of text are as tall as the tallest
// laid-out line of what they can show: Bengali comes from a fallback font whose lines are taller
// than the widget font's height() (issue #8).
struct ClassView::Metrics
{
    QFont font;
    QFont bold;
    QFont big;
    QLocale locale;
    int line = 0; // one row of text
    int bigLine = 0; // the latest value
    int pad = 0; // inside a tile
    int gap = 0; // between tiles
    int tileHeight = 0;
    int minTileWidth = 0;
    int valueWidth = 0; // room for the value, "1,023"
    std::optional<QFontMetrics> fm;
    std::optional<QFontMetrics> boldFm;
    std::optional<QFontMetrics> bigFm;
};

ClassView::ClassView(QWidget *parent)
    : QAbstractScrollArea(parent), m_clock([] { return QDateTime::currentMSecsSinceEpoch(); })
{
    setObjectName(QStringLiteral("classView"));
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setVerticalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    setFrameShape(QFrame::NoFrame);
    viewport()->setBackgroundRole(QPalette::Window);
    viewport()->setMouseTracking(false);
    setFocusPolicy(Qt::StrongFocus);
    m_refresh.setInterval(DefaultRefreshMs);
    connect(&m_refresh, &QTimer::timeout, this, &ClassView::tick);
}

ClassView::~ClassView() = default;

void ClassView::setModel(QAbstractItemModel *model)
{
    if (m_model)
        disconnect(m_model, nullptr, this, nullptr);
    m_model = model;
    if (model) {
        const auto rows = [this] {
            relayout();
            markDirty();
        };
        connect(model, &QAbstractItemModel::rowsInserted, this, rows);
        connect(model, &QAbstractItemModel::rowsRemoved, this, rows);
        connect(model, &QAbstractItemModel::modelReset, this, rows);
        connect(model, &QAbstractItemModel::layoutChanged, this, rows);
        connect(model, &QAbstractItemModel::rowsMoved, this, rows);
        connect(model, &QAbstractItemModel::dataChanged, this, [this] { markDirty(); });
    }
    relayout();
    markDirty();
}

void ClassView::setStore(TelemetryStore *store)
{
    if (m_store)
        disconnect(m_store, nullptr, this, nullptr);
    m_store = store;
    if (store) {
        // Per sample (synchronous): only a flag; the timer repaints.
        connect(store, &TelemetryStore::samplesAppended, this, [this] { markDirty(); });
        connect(store, &TelemetryStore::samplesRemoved, this, [this] { markDirty(); });
        connect(store, &TelemetryStore::historyLoaded, this, [this] { markDirty(); });
    }
    markDirty();
}

void ClassView::setDevices(MqttClient *client, DeviceHub *hub)
{
    if (m_hub)
        disconnect(m_hub, nullptr, this, nullptr);
    m_client = client;
    m_hub = hub;
    if (hub) {
        connect(hub, &DeviceHub::stateReceived, this, [this] { markDirty(); });
        connect(hub, &DeviceHub::stateCleared, this, [this] { markDirty(); });
    }
    markDirty();
}

void ClassView::setWindow(qint64 ms)
{
    if (ms == m_window)
        return;
    m_window = std::max<qint64>(0, ms);
    markDirty();
    viewport()->update();
}

void ClassView::setCurrentDevice(const QString &deviceId)
{
    if (deviceId == m_current)
        return;
    m_current = deviceId;
    markDirty();
}

void ClassView::setClock(std::function<qint64()> clock)
{
    m_clock = std::move(clock);
    markDirty();
}

void ClassView::setRefreshInterval(int ms)
{
    m_refresh.setInterval(std::max(1, ms));
}

void ClassView::setLedTimeout(int ms)
{
    m_ledTimeout = ms;
    for (const Override &o : std::as_const(m_overrides))
        o.control->setTimeout(ms);
}

QString ClassView::statusWord(int status)
{
    using S = DeviceListModel::Status;
    switch (S(status)) {
    case S::Online:
        return tr("online");
    case S::Offline:
        return tr("offline");
    case S::Stale:
        return tr("stale");
    case S::NoStatus:
        return tr("lesson device");
    case S::Shared:
        return tr("shared id");
    case S::Unknown:
        break;
    }
    return tr("unknown");
}

const ClassView::Metrics &ClassView::metrics() const
{
    const QFont f = font();
    const QLocale loc = locale();
    if (m_metrics && m_metrics->font == f && m_metrics->locale == loc)
        return *m_metrics;
    auto m = std::make_unique<Metrics>();
    m->font = f;
    m->locale = loc;
    m->bold = f;
    m->bold.setBold(true);
    m->big = f;
    if (f.pixelSize() > 0)
        m->big.setPixelSize(f.pixelSize() * 2);
    else
        m->big.setPointSizeF(f.pointSizeF() * 2);
    m->big.setBold(true);
    const auto lineHeight = [](const QFont &font, const QStringList &texts) {
        const QFontMetricsF fm(font);
        qreal h = fm.height();
        for (const QString &t : texts) {
            h = std::max(
                h,
                fm.boundingRect(QRectF(0, 0, 1e6, 1e6), int(Qt::AlignLeft | Qt::AlignTop), t)
                    .height());
        }
        return int(std::ceil(h));
    };
    const QString digits = loc.toString(-1234567890.5, 'f', 1);
    QStringList texts{digits,       tr("LED on"),  tr("LED off"),       tr("auto"),
                      tr("manual"), tr("No data"), QStringLiteral("Ag")};
    for (int s = 0; s <= int(DeviceListModel::Status::Shared); ++s)
        texts << statusWord(s);
    for (auto c : {LedControl::Choice::On, LedControl::Choice::Off, LedControl::Choice::Auto})
        texts << tr("Sent “%1”…").arg(LedControl::choiceName(c));
    m->line = std::max(lineHeight(f, texts), lineHeight(m->bold, texts));
    m->bigLine = lineHeight(m->big, {digits});
    m->pad = std::max(3, m->line / 4);
    m->gap = std::max(4, m->line / 3);
    m->tileHeight = m->pad + m->line + m->pad / 2 + m->bigLine + m->pad / 2 + m->line + m->pad;
    const QFontMetrics fm(f);
    // Wide enough for "8,888" large beside a sparkline, and "LED off · manual" beside
    // "lesson device"; 100 tiles still fit a 1920x1080 window in 8 or 9 columns.
    m->minTileWidth = fm.horizontalAdvance(QLatin1Char('M')) * 20;
    m->valueWidth = QFontMetrics(m->big).horizontalAdvance(loc.toString(8888)) + m->pad;
    m->fm.emplace(m->font);
    m->boldFm.emplace(m->bold);
    m->bigFm.emplace(m->big);
    // Texts laid out with the old font are laid out again.
    m_labels.clear();
    m_glyphs.clear();
    m_metrics = std::move(m);
    return *m_metrics;
}

int ClassView::columnCount() const
{
    return m_columns;
}

QSize ClassView::tileSize() const
{
    return {m_tileWidth, metrics().tileHeight};
}

int ClassView::contentHeight() const
{
    const Metrics &m = metrics();
    const int n = m_model ? m_model->rowCount() : 0;
    const int lines = (n + m_columns - 1) / m_columns;
    return m.gap + lines * (m.tileHeight + m.gap);
}

void ClassView::relayout()
{
    const Metrics &m = metrics();
    const int width = viewport()->width();
    if (m_labels.size() > 4 * std::max(1, m_model ? m_model->rowCount() : 0) + 64) {
        m_labels.clear(); // forgotten devices
        m_sparks.clear();
    }
    m_columns = std::max(1, (width - m.gap) / (m.minTileWidth + m.gap));
    m_tileWidth = std::max(1, (width - m.gap) / m_columns - m.gap);
    const int page = viewport()->height();
    verticalScrollBar()->setPageStep(page);
    verticalScrollBar()->setSingleStep(m.tileHeight + m.gap);
    verticalScrollBar()->setRange(0, std::max(0, contentHeight() - page));
    viewport()->update();
}

QRect ClassView::tileRect(int row) const
{
    const Metrics &m = metrics();
    const int col = row % m_columns;
    const int line = row / m_columns;
    return {m.gap + col * (m_tileWidth + m.gap),
            m.gap + line * (m.tileHeight + m.gap) - verticalScrollBar()->value(), m_tileWidth,
            m.tileHeight};
}

int ClassView::rowAt(const QPoint &pos) const
{
    if (!m_model)
        return -1;
    const Metrics &m = metrics();
    const int x = pos.x() - m.gap;
    const int y = pos.y() + verticalScrollBar()->value() - m.gap;
    if (x < 0 || y < 0)
        return -1;
    const int col = x / (m_tileWidth + m.gap);
    const int line = y / (m.tileHeight + m.gap);
    if (col >= m_columns || x % (m_tileWidth + m.gap) >= m_tileWidth ||
        y % (m.tileHeight + m.gap) >= m.tileHeight)
        return -1;
    const int row = line * m_columns + col;
    return row < m_model->rowCount() ? row : -1;
}

QString ClassView::deviceAt(const QPoint &pos) const
{
    const int row = rowAt(pos);
    return row < 0 ? QString()
                   : m_model->index(row, 0).data(DeviceListModel::DeviceIdRole).toString();
}

QPair<int, int> ClassView::visibleRows() const
{
    const int n = m_model ? m_model->rowCount() : 0;
    if (n == 0)
        return {-1, -1};
    const Metrics &m = metrics();
    const int stride = m.tileHeight + m.gap;
    const int top = verticalScrollBar()->value();
    const int firstLine = std::max(0, (top - m.gap) / stride);
    const int lastLine = std::max(0, (top + viewport()->height() - 1 - m.gap) / stride);
    const int first = firstLine * m_columns;
    const int last = std::min(n - 1, lastLine * m_columns + m_columns - 1);
    if (first > last)
        return {-1, -1};
    return {first, last};
}

LedControl *ClassView::overrideControl(const QString &deviceId) const
{
    const auto it = m_overrides.constFind(deviceId);
    return it == m_overrides.cend() ? nullptr : it->control;
}

LedControl *ClassView::ensureControl(const QString &deviceId)
{
    if (!m_client || !m_hub)
        return nullptr;
    auto it = m_overrides.find(deviceId);
    if (it != m_overrides.end())
        return it->control;
    auto *control = new LedControl(m_client, m_hub, this);
    control->setTimeout(m_ledTimeout);
    control->setDeviceId(deviceId);
    connect(control, &LedControl::changed, this, [this, deviceId, control] {
        auto found = m_overrides.find(deviceId);
        if (found == m_overrides.end() || found->control != control)
            return;
        found->doneMs = control->phase() == LedControl::Phase::Pending ? 0 : m_clock();
        markDirty();
    });
    m_overrides.insert(deviceId, {control, m_clock()});
    return control;
}

bool ClassView::requestOverride(const QString &deviceId, LedControl::Choice choice)
{
    LedControl *control = ensureControl(deviceId);
    if (!control)
        return false;
    const bool sent = control->request(choice);
    if (control->phase() != LedControl::Phase::Pending)
        m_overrides[deviceId].doneMs = m_clock();
    markDirty();
    viewport()->update();
    return sent;
}

QMenu *ClassView::createContextMenu(const QString &deviceId, QWidget *parent)
{
    auto *menu = new QMenu(parent);
    menu->setObjectName(QStringLiteral("classViewMenu"));
    menu->addSection(deviceId);
    LedControl *control = ensureControl(deviceId);
    for (auto choice :
         {LedControl::Choice::On, LedControl::Choice::Off, LedControl::Choice::Auto}) {
        QAction *a = menu->addAction(LedControl::choiceName(choice));
        a->setCheckable(true);
        a->setChecked(control && control->shownChoice() == choice);
        a->setEnabled(control && control->isEnabled(choice));
        if (control && !control->isConnected())
            a->setToolTip(tr("Not connected to the broker"));
        connect(a, &QAction::triggered, this,
                [this, deviceId, choice] { requestOverride(deviceId, choice); });
    }
    menu->addSeparator();
    connect(menu->addAction(tr("Show in &Detail View")), &QAction::triggered, this,
            [this, deviceId] { emit deviceActivated(deviceId); });
    connect(menu->addAction(tr("&Forget Device…")), &QAction::triggered, this,
            [this, deviceId] { emit forgetRequested(deviceId); });
    return menu;
}

void ClassView::tick()
{
    const qint64 now = m_clock();
    // Overrides shown long enough go (their controls hold hub connections).
    for (auto it = m_overrides.begin(); it != m_overrides.end();) {
        const LedControl::Phase phase = it->control->phase();
        const bool pending = phase == LedControl::Phase::Pending;
        if (!pending && now - it->doneMs >= FeedbackMs) {
            it->control->deleteLater();
            it = m_overrides.erase(it);
            markDirty();
        } else {
            ++it;
        }
    }
    // Live sparklines move one column every window / width ms.
    const qint64 colMs = std::max<qint64>(1, m_window / std::max(1, m_tileWidth / 2));
    if (m_window > 0 && now / colMs != m_paintedNow / colMs)
        markDirty();
    if (m_dirty)
        viewport()->update();
}

void ClassView::showEvent(QShowEvent *event)
{
    QAbstractScrollArea::showEvent(event);
    relayout();
    markDirty();
    m_refresh.start();
}

void ClassView::hideEvent(QHideEvent *event)
{
    QAbstractScrollArea::hideEvent(event);
    m_refresh.stop();
}

void ClassView::resizeEvent(QResizeEvent *event)
{
    QAbstractScrollArea::resizeEvent(event);
    relayout();
}

void ClassView::changeEvent(QEvent *event)
{
    QAbstractScrollArea::changeEvent(event);
    if (event->type() == QEvent::FontChange || event->type() == QEvent::LocaleChange ||
        event->type() == QEvent::LanguageChange || event->type() == QEvent::PaletteChange) {
        m_metrics.reset();
        m_lampOn = QPixmap();
        m_lampOff = QPixmap();
        relayout();
        markDirty();
    }
}

void ClassView::mousePressEvent(QMouseEvent *event)
{
    m_pressedRow = event->button() == Qt::LeftButton ? rowAt(event->position().toPoint()) : -1;
    QAbstractScrollArea::mousePressEvent(event);
}

void ClassView::mouseReleaseEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton && m_pressedRow >= 0 &&
        rowAt(event->position().toPoint()) == m_pressedRow) {
        const QString id = deviceAt(event->position().toPoint());
        m_pressedRow = -1;
        if (!id.isEmpty())
            emit deviceActivated(id);
        return;
    }
    m_pressedRow = -1;
    QAbstractScrollArea::mouseReleaseEvent(event);
}

void ClassView::contextMenuEvent(QContextMenuEvent *event)
{
    const QPoint pos = viewport()->mapFrom(this, event->pos());
    const QString id = deviceAt(pos);
    if (id.isEmpty())
        return;
    QMenu *menu = createContextMenu(id, this);
    menu->setAttribute(Qt::WA_DeleteOnClose);
    menu->popup(event->globalPos());
}

bool ClassView::viewportEvent(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        const int row = rowAt(help->pos());
        if (row < 0) {
            QToolTip::hideText();
            return true;
        }
        const QModelIndex idx = m_model->index(row, 0);
        QString tip = idx.data(Qt::ToolTipRole).toString();
        QColor unused;
        tip += QLatin1Char('\n') +
            ledLine(idx.data(DeviceListModel::DeviceIdRole).toString(), &unused);
        QToolTip::showText(help->globalPos(), tip, viewport(), tileRect(row));
        return true;
    }
    return QAbstractScrollArea::viewportEvent(event);
}

QString ClassView::valueText(int row) const
{
    const QVariant v = m_model->index(row, 0).data(DeviceListModel::LastLightRole);
    if (v.isValid())
        return formatValue(v.toDouble(), locale());
    // After a restart the list has no reading yet; the store has the history.
    const QString id = m_model->index(row, 0).data(DeviceListModel::DeviceIdRole).toString();
    if (m_store) {
        if (const auto last = m_store->last(id))
            return formatValue(last->v, locale());
    }
    return QStringLiteral("–");
}

QString ClassView::ledLine(const QString &id, QColor *colour) const
{
    const QPalette &pal = palette();
    *colour = pal.color(QPalette::Text);
    if (const LedControl *control = overrideControl(id)) {
        const QString name = LedControl::choiceName(control->requestedChoice());
        switch (control->phase()) {
        case LedControl::Phase::Pending:
            *colour = pal.color(QPalette::Highlight);
            return tr("Sent “%1”…").arg(name);
        case LedControl::Phase::Confirmed:
            *colour = DeviceListModel::statusColor(DeviceListModel::Status::Online);
            return tr("“%1” confirmed").arg(name);
        case LedControl::Phase::Failed:
            *colour = DeviceListModel::statusColor(DeviceListModel::Status::Offline);
            return tr("“%1” not confirmed").arg(name);
        case LedControl::Phase::Unconfirmed:
            return tr("Sent “%1” (no confirmation)").arg(name);
        case LedControl::Phase::Idle:
            break;
        }
    }
    const auto state = m_hub ? m_hub->lastState(id) : std::nullopt;
    if (!state) {
        *colour = pal.color(QPalette::PlaceholderText);
        return tr("LED unknown");
    }
    return tr("%1 · %2").arg(state->ledOn ? tr("LED on") : tr("LED off"),
                             state->mode == Mode::Auto ? tr("auto") : tr("manual"));
}

ClassView::TileText ClassView::tileText(int row) const
{
    TileText t;
    if (!m_model || row < 0 || row >= m_model->rowCount())
        return t;
    const QModelIndex idx = m_model->index(row, 0);
    t.id = idx.data(DeviceListModel::DeviceIdRole).toString();
    t.value = valueText(row);
    QColor unused;
    t.led = ledLine(t.id, &unused);
    t.status = statusWord(idx.data(DeviceListModel::StatusRole).toInt());
    return t;
}

void ClassView::paintEvent(QPaintEvent *event)
{
    ++m_paints;
    m_tilesPainted = 0;
    m_dirty = false;
    const qint64 now = m_clock();
    m_paintedNow = now;
    QPainter p(viewport());
    p.fillRect(event->rect(), palette().color(QPalette::Window));
    const auto [first, last] = visibleRows();
    if (first < 0) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        const auto *proxy = qobject_cast<const QAbstractProxyModel *>(m_model);
        const bool filtered = proxy && proxy->sourceModel() && proxy->sourceModel()->rowCount() > 0;
        p.drawText(viewport()->rect(), Qt::AlignCenter,
                   filtered ? tr("No device matches the filter") : tr("No devices yet"));
        return;
    }
    for (int row = first; row <= last; ++row) {
        const QRect r = tileRect(row);
        if (!r.intersects(event->rect()))
            continue;
        paintTile(p, r, row, now);
        ++m_tilesPainted;
    }
}

void ClassView::paintTile(QPainter &p, const QRect &r, int row, qint64 now)
{
    const Metrics &m = metrics();
    const QPalette &pal = palette();
    const QModelIndex idx = m_model->index(row, 0);
    const QString id = idx.data(DeviceListModel::DeviceIdRole).toString();
    const int status = idx.data(DeviceListModel::StatusRole).toInt();
    const QColor statusColour = DeviceListModel::statusColor(DeviceListModel::Status(status));
    const bool current = id == m_current;

    // Card, the status as a strip down its left edge, the current device outlined.
    p.fillRect(r, pal.color(QPalette::Base));
    const int strip = std::max(3, m.pad);
    p.fillRect(QRect(r.left(), r.top(), strip, r.height()), statusColour);
    p.setPen(current ? QPen(pal.color(QPalette::Highlight), 2) : QPen(pal.color(QPalette::Mid), 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(QRectF(r).adjusted(0.5, 0.5, -0.5, -0.5));

    const int left = r.left() + strip + m.pad;
    const int right = r.right() - m.pad;
    const int width = right - left + 1;
    int y = r.top() + m.pad;

    // Row 1: id (bold, elided in the middle), the LED as a lamp on the right.
    const int lamp = std::max(6, m.line * 2 / 3);
    const auto state = m_hub ? m_hub->lastState(id) : std::nullopt;
    TileLabels &labels = m_labels[id];
    p.setFont(m.bold);
    p.setPen(pal.color(QPalette::Text));
    setLabel(labels.id, id, *m.boldFm);
    fitLabel(labels.id, m.bold, *m.boldFm, width - lamp - m.pad, Qt::ElideMiddle);
    p.drawStaticText(QPointF(left, y + (m.line - m.boldFm->height()) / 2.0), labels.id.text);
    if (state) {
        // Drawn once per size and palette: an antialiased ellipse per tile is a path each.
        const qreal dpr = p.device()->devicePixelRatioF();
        if (m_lampOn.isNull() || m_lampOn.deviceIndependentSize().toSize() != QSize(lamp, lamp) ||
            m_lampOn.devicePixelRatio() != dpr) {
            for (bool on : {true, false}) {
                QPixmap pm(QSize(lamp, lamp) * dpr);
                pm.setDevicePixelRatio(dpr);
                pm.fill(Qt::transparent);
                QPainter lp(&pm);
                lp.setRenderHint(QPainter::Antialiasing, true);
                lp.setPen(
                    QPen(on ? LedOnColour.darker(140) : pal.color(QPalette::PlaceholderText), 1.2));
                lp.setBrush(on ? QBrush(LedOnColour) : QBrush(Qt::NoBrush));
                lp.drawEllipse(QRectF(0.6, 0.6, lamp - 1.2, lamp - 1.2));
                lp.end();
                (on ? m_lampOn : m_lampOff) = pm;
            }
        }
        p.drawPixmap(right - lamp + 1, y + (m.line - lamp) / 2,
                     state->ledOn ? m_lampOn : m_lampOff);
    }
    y += m.line + m.pad / 2;

    // Row 2: the sparkline, the latest value large on the right.
    const bool old = status == int(DeviceListModel::Status::Offline) ||
        status == int(DeviceListModel::Status::Stale);
    const QString value = valueText(row);
    int valueNatural = 0;
    for (const QChar c : value)
        valueNatural += m.bigFm->horizontalAdvance(c);
    const int valueWidth = std::min(width * 3 / 5, std::max(m.valueWidth, valueNatural));
    const QRectF spark(left, y + 1, width - valueWidth - m.pad, m.bigLine - 2);
    paintSparkline(p, spark, id, now);
    p.setFont(m.big);
    p.setPen(pal.color(old ? QPalette::PlaceholderText : QPalette::Text));
    if (!drawNumber(p, value, right + 1, y + (m.bigLine - m.bigFm->height()) / 2, valueWidth)) {
        const QRect valueRect(right - valueWidth + 1, y, valueWidth, m.bigLine);
        p.drawText(valueRect, int(Qt::AlignRight | Qt::AlignVCenter),
                   m.bigFm->elidedText(value, Qt::ElideRight, valueWidth));
    }
    y += m.bigLine + m.pad / 2;

    // Row 3: the LED and mode (or the override's progress), the status word on the right.
    p.setFont(m.font);
    const QFontMetrics &fm = *m.fm;
    QColor ledColour;
    setLabel(labels.status, statusWord(status), fm);
    setLabel(labels.led, ledLine(id, &ledColour), fm);
    // Both whole when they fit; else the status keeps at least two fifths.
    int wordWidth = labels.status.natural;
    int ledWidth = labels.led.natural;
    if (ledWidth + m.pad + wordWidth > width) {
        wordWidth = std::min(wordWidth, std::max(width - ledWidth - m.pad, width * 2 / 5));
        ledWidth = width - wordWidth - m.pad;
    }
    fitLabel(labels.status, m.font, fm, wordWidth, Qt::ElideRight);
    fitLabel(labels.led, m.font, fm, ledWidth, Qt::ElideRight);
    const double textTop = y + (m.line - fm.height()) / 2.0;
    p.setPen(status == int(DeviceListModel::Status::Unknown) ? pal.color(QPalette::PlaceholderText)
                                                             : statusColour);
    p.drawStaticText(QPointF(right + 1 - labels.status.width, textTop), labels.status.text);
    p.setPen(ledColour);
    p.drawStaticText(QPointF(left, textTop), labels.led.text);
}

void ClassView::setLabel(Label &label, const QString &text, const QFontMetrics &fm)
{
    if (label.source == text)
        return;
    label.source = text;
    label.natural = fm.horizontalAdvance(text);
    label.maxWidth = -1;
}

void ClassView::fitLabel(Label &label, const QFont &font, const QFontMetrics &fm, int maxWidth,
                         Qt::TextElideMode mode)
{
    if (label.maxWidth == maxWidth)
        return;
    label.maxWidth = maxWidth;
    const bool fits = label.natural <= maxWidth;
    const QString shown = fits ? label.source : fm.elidedText(label.source, mode, maxWidth);
    label.width = fits ? label.natural : fm.horizontalAdvance(shown);
    label.text.setTextFormat(Qt::PlainText);
    label.text.setPerformanceHint(QStaticText::AggressiveCaching);
    label.text.setText(shown);
    label.text.prepare(QTransform(), font);
}

bool ClassView::drawNumber(QPainter &p, const QString &text, int right, int top, int maxWidth)
{
    // Digits, separators and signs, one prepared glyph each: the value changes with every
    // reading, and laying it out as a string each frame costs more than the rest of the tile.
    const Metrics &m = metrics();
    int width = 0;
    for (const QChar c : text) {
        auto it = m_glyphs.find(c);
        if (it == m_glyphs.end()) {
            QStaticText glyph{QString(c)};
            glyph.setTextFormat(Qt::PlainText);
            glyph.setPerformanceHint(QStaticText::AggressiveCaching);
            glyph.prepare(QTransform(), m.big);
            it = m_glyphs.insert(c, {glyph, m.bigFm->horizontalAdvance(c)});
        }
        width += it->second;
    }
    if (width > maxWidth)
        return false;
    int x = right - width;
    for (const QChar c : text) {
        const auto &glyph = *m_glyphs.constFind(c);
        p.drawStaticText(QPointF(x, top), glyph.first);
        x += glyph.second;
    }
    return true;
}

void ClassView::paintSparkline(QPainter &p, const QRectF &r, const QString &id, qint64 now)
{
    if (!m_store || r.width() < 4 || r.height() < 4)
        return;
    const int columns = int(r.width());
    std::vector<TelemetryStore::Column> all;
    const std::vector<TelemetryStore::Column> *colsPtr = &all;
    if (m_window > 0) {
        // The columns on an absolute grid, so a sparkline moves a whole column at a time and
        // keeps the columns it has.
        const auto last = m_store->last(id);
        const qint64 end = std::max(now, last ? last->t : now);
        const qint64 colMs = std::max<qint64>(1, (m_window + columns - 1) / columns);
        const qint64 endCol = end / colMs;
        const qint64 startCol = endCol - columns + 1;
        const quint64 generation = m_store->generation(id);
        Spark &spark = m_sparks[id];
        qint64 from = startCol; // first column to ask the store for
        std::vector<TelemetryStore::Column> kept;
        if (spark.colMs == colMs && spark.generation == generation &&
            int(spark.cols.size()) == columns) {
            const qint64 keepFrom = std::max(startCol, spark.firstCol);
            const qint64 keepTo = std::min(endCol + 1, spark.finalCol); // exclusive
            if (keepFrom == startCol && keepTo > keepFrom) {
                kept.assign(spark.cols.begin() + (keepFrom - spark.firstCol),
                            spark.cols.begin() + (keepTo - spark.firstCol));
                from = keepTo;
            }
        }
        if (from <= endCol) {
            const std::vector<TelemetryStore::Column> fresh =
                m_store->decimate(id, from * colMs, (endCol + 1) * colMs, int(endCol - from + 1));
            kept.insert(kept.end(), fresh.begin(), fresh.end());
        }
        spark.colMs = colMs;
        spark.generation = generation;
        spark.firstCol = startCol;
        spark.finalCol = last ? last->t / colMs : startCol;
        spark.cols = std::move(kept);
        colsPtr = &spark.cols;
    } else {
        const auto range = m_store->timeRange(id);
        if (!range)
            return;
        const qint64 t0 = range->first;
        const qint64 t1 = std::max(range->last + 1, range->first + columns);
        all = m_store->decimate(id, t0, t1, columns);
    }
    const std::vector<TelemetryStore::Column> &cols = *colsPtr;
    double lo = std::numeric_limits<double>::infinity();
    double hi = -lo;
    for (const auto &c : cols) {
        if (!c.empty) {
            lo = std::min(lo, c.min);
            hi = std::max(hi, c.max);
        }
    }
    if (!(lo <= hi)) {
        p.setPen(QPen(palette().color(QPalette::Mid), 1, Qt::DotLine));
        p.drawLine(QPointF(r.left(), r.bottom()), QPointF(r.right(), r.bottom()));
        return;
    }
    if (hi - lo < 1e-9) {
        lo -= 1;
        hi += 1;
    }
    const double scale = (r.height() - 1) / (hi - lo);
    const auto yOf = [&](double v) {
        return r.bottom() - (v - lo) * scale;
    };
    // One vertical min-max span per column, joined to the previous column's last value: never
    // more lines than pixel columns, one drawLines() call.
    std::vector<QLineF> lines;
    lines.reserve(cols.size() * 2);
    int previous = -1;
    for (int i = 0; i < int(cols.size()); ++i) {
        const auto &c = cols[size_t(i)];
        if (c.empty)
            continue;
        const double x = r.left() + i + 0.5;
        if (previous >= 0 && i - previous <= 8) {
            const double px = r.left() + previous + 0.5;
            lines.emplace_back(px, yOf(cols[size_t(previous)].last), x, yOf(c.first));
        }
        lines.emplace_back(x, yOf(c.min), x, yOf(c.max) - (c.min == c.max ? 0.01 : 0));
        previous = i;
    }
    p.setPen(QPen(palette().color(QPalette::Highlight), 1));
    p.drawLines(lines.data(), int(lines.size()));
}

} // namespace nightlight
