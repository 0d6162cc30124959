#pragma once

// MainWindow: the dashboard. Composes the chart of the selected device (LightChart over the
// TelemetryStore), the LED control, the window presets and Live, the device list, the connection
// state and the malformed-message indicator; owns the MQTT client and wires it to all of them.
// GUI thread.

#include "connectionsettings.h"
#include "dashboardoptions.h"
#include "protocol.h"

#include <QList>
#include <QMainWindow>

#include <memory>

class QAction;
class QActionGroup;
class QComboBox;
class QLabel;
class QLineEdit;
class QListView;
class QSettings;
class QStackedWidget;
class QTimer;
class QToolButton;

namespace nightlight {

class ClassView;
class DeviceHub;
class DeviceListModel;
class DeviceSortProxy;
class LedControl;
class LedControlWidget;
class LightChart;
class MqttClient;
class PasswordStore;
class TelemetryStore;

class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    // Samples per hand-over to the store's writer thread (one SQLite transaction each). The
    // writes no longer run on the GUI thread; 500 is what bench_ingest measured (see
    // docs/dashboard.md).
    static constexpr int FlushBatchSize = 500;

    // Opens the history database (options.databasePath, else AppDataLocation/telemetry.sqlite)
    // and starts connecting to the broker (options override the saved settings).
    explicit MainWindow(const DashboardOptions &options, QWidget *parent = nullptr);
    ~MainWindow() override;

    MqttClient *client() const { return m_client; }
    DeviceHub *hub() const { return m_hub; }
    TelemetryStore *store() const { return m_store; }
    LightChart *chart() const { return m_chart; }
    DeviceListModel *deviceModel() const { return m_devices; }
    LedControl *ledControl() const { return m_led; }
    LedControlWidget *ledControlWidget() const { return m_ledWidget; }
    // The device list (through deviceProxy(): filtered, sorted by id in natural order, by status
    // or by light), the filter and the sort choice above it, and the counts line heading it
    // ("998 online · 2 offline · 0 stale").
    QListView *deviceView() const { return m_deviceView; }
    QLineEdit *deviceFilter() const { return m_deviceFilter; }
    QComboBox *deviceSort() const { return m_deviceSort; }
    QLabel *deviceCounts() const { return m_deviceCounts; }
    DeviceSortProxy *deviceProxy() const { return m_deviceProxy; }
    // The class view (issue #10): every device as a tile, over the same proxy; its own filter
    // and sort boxes mirror the list's.
    ClassView *classView() const { return m_classView; }
    QLineEdit *classFilter() const { return m_classFilter; }
    QComboBox *classSort() const { return m_classSort; }
    // View > Class (and the toolbar's toggle): checked while the class view is shown.
    QAction *classViewAction() const { return m_classAction; }
    bool isClassViewShown() const;
    // Shows the class view (true) or the detail view (chart and LED control) and remembers it.
    void setClassViewShown(bool shown);
    ConnectionSettings connectionSettings() const { return m_connection; }

    QString currentDevice() const { return m_currentDevice; }
    void selectDevice(const QString &deviceId);
    // Takes the device out of the list, the hub (its exact topics are unsubscribed) and the
    // store's list of devices; with `deleteHistory` its samples and LED changes too, in memory and
    // in the file. Another device is selected if it was the current one. It comes back if it
    // sends a reading again.
    void forgetDevice(const QString &deviceId, bool deleteHistory);
    void forgetDevices(const QStringList &deviceIds, bool deleteHistory);
    // The ids of the rows selected in the list, else the current device; sorted.
    QStringList selectedDevices() const;

    // The status bar's connection text and the malformed indicator's text.
    QString connectionText() const;
    QString malformedText() const;
    QString databasePath() const;

    // The View menu's window preset actions, in windowPresets() order.
    QList<QAction *> windowActions() const { return m_windowActions; }
    // Window presets in menu order (1 min, 10 min, 1 h, 24 h, All): ms or LightChart::WindowAll.
    static QList<qint64> windowPresets();

public slots:
    void reconnect();
    void showConnectionDialog();
    // Edit > Forget Device… (Delete in the device list, its context menu): asks whether to forget
    // the selected devices (else the current one) and whether their history goes too.
    void forgetDevicesInteractive();
    // The same for the given devices (the class view's context menu).
    void forgetDevicesInteractive(const QStringList &deviceIds);
    // Starts writing the current device's samples (the visible range or all) as CSV to
    // `fileName`; the export runs off the GUI thread (TelemetryStore::exportCsvLater) and ends
    // with csvExportFinished and a status-bar message. False when there is nothing to export.
    bool exportCsv(const QString &fileName, bool visibleRangeOnly);
    bool exportPng(const QString &fileName);

signals:
    // A CSV export ended: `error` is empty when `fileName` was written.
    void csvExportFinished(const QString &fileName, const QString &error);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createActions();
    void createMenus();
    void createWidgets();
    void applyConnectionSettings();
    // A history database problem found by open(): in the status bar and a non-modal warning.
    void showHistoryProblem(const QString &text);
    void onStateChanged();
    void onError(const QString &message);
    void onTelemetry(const QString &deviceId, const nightlight::Telemetry &t, qint64 receivedMs);
    void onDeviceState(const QString &deviceId, const nightlight::DeviceState &state);
    void onDeviceAdded(const QString &deviceId);
    // Gives the chart the current device's LED-on periods from the store (its whole history).
    void showLedPeriods();
    void onMalformed();
    void showMalformedDetails();
    // Makes the list's current row the current device's (none while the filter hides it).
    void syncDeviceView();
    void syncWindowPreset(); // checks the preset the chart's window matches, if any
    // One filter text and one sort order for the list and the class view, whichever box set it.
    void setFilterText(const QString &text);
    void setSortKey(int key);
    QWidget *createClassPage();
    void updateCounts();
    void exportCsvInteractive(bool visibleRangeOnly);
    void exportPngInteractive();
    void about();

    DashboardOptions m_options;
    std::unique_ptr<QSettings> m_settings;
    ConnectionSettings m_connection;
    MqttClient *m_client;
    DeviceHub *m_hub;
    TelemetryStore *m_store;
    DeviceListModel *m_devices;
    LedControl *m_led;
    PasswordStore *m_passwords;
    LightChart *m_chart = nullptr;
    LedControlWidget *m_ledWidget = nullptr;
    QListView *m_deviceView = nullptr;
    QLineEdit *m_deviceFilter = nullptr;
    DeviceSortProxy *m_deviceProxy = nullptr;
    QComboBox *m_deviceSort = nullptr;
    QLabel *m_deviceCounts = nullptr;
    QStackedWidget *m_views = nullptr;
    QWidget *m_detailPage = nullptr;
    ClassView *m_classView = nullptr;
    QLineEdit *m_classFilter = nullptr;
    QComboBox *m_classSort = nullptr;
    QLabel *m_classCounts = nullptr;
    QAction *m_classAction = nullptr;
    QTimer *m_countsTimer = nullptr;
    // Set while the filter or a removal, not the user, moves the view's current row.
    bool m_quietSelection = false;
    QLabel *m_connectionLabel = nullptr;
    QToolButton *m_malformedButton = nullptr;
    QActionGroup *m_windowGroup = nullptr;
    QList<QAction *> m_windowActions;
    QAction *m_liveAction = nullptr;
    QAction *m_exportVisibleAction = nullptr;
    QAction *m_exportAllAction = nullptr;
    QAction *m_exportPngAction = nullptr;
    QAction *m_quitAction = nullptr;
    QAction *m_settingsAction = nullptr;
    QAction *m_reconnectAction = nullptr;
    QAction *m_aboutAction = nullptr;
    QAction *m_forgetAction = nullptr;
    QString m_currentDevice;
    QString m_lastError;
    QString m_databasePath;
};

} // namespace nightlight
