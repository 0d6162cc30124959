#pragma once

// ClassView: every device at a glance, as a grid of tiles (issue #10): the id, a sparkline of
// the chosen window (the chart's presets), the latest reading large, the LED and its mode, and
// the status as a colour (online, offline, stale, lesson device, two devices on one id). One
// widget paints all tiles itself with QPainter (no child widget per tile); the grid reflows with
// the width and scrolls vertically.
//
// Cheap to paint: sparklines come from TelemetryStore::decimate() (its block summaries, one
// column per pixel), a timer repaints at most refreshInterval() (250 ms) apart and only when
// something changed (a reading, a status, an LED, a sparkline column's worth of time), and only
// the tiles inside the visible rectangle are drawn.
//
// Clicking a tile emits deviceActivated(); its context menu overrides the LED (On / Off / Auto)
// through a LedControl of its own, whose pending / confirmed / failed phase the tile shows for a
// few seconds. The rows and their order come from a model with DeviceListModel's roles (a
// DeviceSortProxy: filter and sort). GUI thread; the model, store, client and hub are not owned.

#include "ledcontrol.h"
#include "telemetrystore.h"

#include <QAbstractScrollArea>
#include <QHash>
#include <QPixmap>
#include <QStaticText>
#include <QTimer>

#include <functional>
#include <memory>
#include <vector>

class QAbstractItemModel;
class QMenu;

namespace nightlight {

class DeviceHub;
class MqttClient;

class ClassView : public QAbstractScrollArea
{
    Q_OBJECT

public:
    // How long a tile shows that an override was confirmed, failed or sent unconfirmed.
    static constexpr int FeedbackMs = 5000;
    static constexpr int DefaultRefreshMs = 250;

    explicit ClassView(QWidget *parent = nullptr);
    ~ClassView() override;

    // The rows to show, in this order: DeviceListModel's roles (DeviceIdRole, StatusRole, ...).
    void setModel(QAbstractItemModel *model);
    QAbstractItemModel *model() const { return m_model; }
    void setStore(TelemetryStore *store);
    // LED state and mode come from the hub's last state of each device; overrides are sent
    // through the client. Either may be null (then no LED and no context menu actions).
    void setDevices(MqttClient *client, DeviceHub *hub);
    // The sparklines' window in ms (a LightChart preset) or LightChart::WindowAll. It always ends
    // now (or at the device's newest sample when that is later).
    void setWindow(qint64 ms);
    qint64 window() const { return m_window; }
    // The device the detail view shows: its tile is outlined.
    void setCurrentDevice(const QString &deviceId);
    QString currentDevice() const { return m_current; }
    // The clock for the sparklines' "now" (ms since the epoch); tests and the benchmark fix it.
    void setClock(std::function<qint64()> clock);
    void setRefreshInterval(int ms);
    int refreshInterval() const { return m_refresh.interval(); }
    // The overrides' confirmation timeout (LedControl::setTimeout).
    void setLedTimeout(int ms);

    // Layout, in viewport coordinates.
    int columnCount() const;
    QSize tileSize() const;
    QRect tileRect(int row) const;
    int rowAt(const QPoint &pos) const; // -1 between tiles
    QString deviceAt(const QPoint &pos) const;
    // The model rows whose tiles intersect the viewport: [first, last], or (-1, -1).
    QPair<int, int> visibleRows() const;
    // The content height the grid needs at the viewport's width.
    int contentHeight() const;

    // What a tile says, for tests: id, value, LED line (or the override's feedback), status.
    struct TileText
    {
        QString id;
        QString value;
        QString led;
        QString status;
    };
    TileText tileText(int row) const;

    // Sends an override as the context menu does. False (nothing sent) as LedControl::request.
    bool requestOverride(const QString &deviceId, nightlight::LedControl::Choice choice);
    // The override of the device in progress or just finished; null when there is none.
    LedControl *overrideControl(const QString &deviceId) const;
    // The tile's context menu (On / Off / Auto, Open, Forget Device…), made for `deviceId`.
    QMenu *createContextMenu(const QString &deviceId, QWidget *parent);

    // Paint events of the viewport so far and tiles drawn by the last one (tests, benchmark).
    int paintCount() const { return m_paints; }
    int tilesPainted() const { return m_tilesPainted; }
    // Anything changed since the last paint (the next timer tick repaints).
    bool isDirty() const { return m_dirty; }

    // Short status words for the tiles ("online", "lesson device", "shared id", ...).
    static QString statusWord(int status);

signals:
    void deviceActivated(const QString &deviceId);
    void forgetRequested(const QString &deviceId);

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void contextMenuEvent(QContextMenuEvent *event) override;
    void changeEvent(QEvent *event) override;
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;
    bool viewportEvent(QEvent *event) override;

private:
    struct Metrics;
    // A line of text laid out once (QStaticText) and again only when its text or room changes:
    // a frame draws 400 of them, and laying each out anew was most of a frame.
    struct Label
    {
        QString source;
        int natural = 0; // width of the whole text
        int maxWidth = -1; // the room it was fitted to
        int width = 0; // width as drawn (elided)
        QStaticText text;
    };
    struct TileLabels
    {
        Label id;
        Label led;
        Label status;
    };
    // A tile's sparkline columns on the absolute grid (column c covers [c*colMs, (c+1)*colMs)):
    // the columns before the one holding the device's last sample cannot change by an append,
    // so a live frame asks the store only for the last column or two.
    struct Spark
    {
        qint64 colMs = 0;
        quint64 generation = 0;
        qint64 firstCol = 0; // grid index of cols[0]
        qint64 finalCol = 0; // columns before this one are final
        std::vector<TelemetryStore::Column> cols;
    };
    struct Override
    {
        LedControl *control = nullptr;
        qint64 doneMs = 0; // when it left Pending; 0 while pending
    };

    const Metrics &metrics() const;
    void relayout();
    void markDirty() { m_dirty = true; }
    void tick();
    void paintTile(QPainter &p, const QRect &r, int row, qint64 now);
    void paintSparkline(QPainter &p, const QRectF &r, const QString &id, qint64 now);
    QString ledLine(const QString &id, QColor *colour) const;
    QString valueText(int row) const;
    LedControl *ensureControl(const QString &deviceId);
    // Sets the label's text (measuring it when it changed), then fits it into maxWidth.
    static void setLabel(Label &label, const QString &text, const QFontMetrics &fm);
    static void fitLabel(Label &label, const QFont &font, const QFontMetrics &fm, int maxWidth,
                         Qt::TextElideMode mode);
    // Draws a number right-aligned at `right` from prepared glyphs of the large font; false when
    // it does not fit in maxWidth (the caller draws it elided).
    bool drawNumber(QPainter &p, const QString &text, int right, int top, int maxWidth);

    QAbstractItemModel *m_model = nullptr;
    TelemetryStore *m_store = nullptr;
    MqttClient *m_client = nullptr;
    DeviceHub *m_hub = nullptr;
    qint64 m_window = 60 * 1000;
    QString m_current;
    std::function<qint64()> m_clock;
    QTimer m_refresh;
    int m_ledTimeout = LedControl::DefaultTimeoutMs;
    QHash<QString, Override> m_overrides;
    mutable std::unique_ptr<Metrics> m_metrics;
    mutable QHash<QString, TileLabels> m_labels; // by device id
    // Large-font characters (digits, separators) and their advance.
    mutable QHash<QChar, QPair<QStaticText, int>> m_glyphs;
    QHash<QString, Spark> m_sparks; // by device id
    QPixmap m_lampOn;
    QPixmap m_lampOff;
    int m_columns = 1;
    int m_tileWidth = 0;
    bool m_dirty = true;
    qint64 m_paintedNow = 0; // "now" of the last paint, for the sparklines' scroll
    int m_paints = 0;
    int m_tilesPainted = 0;
    int m_pressedRow = -1;
};

} // namespace nightlight
