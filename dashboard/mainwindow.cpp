// Over 600 lines: the window that ties the parts together (hub, store, chart, device list, class
// view, LED control): its actions and menus, docks, settings restored and saved, the connection
// dialog, forgetting devices, exports and the status bar. Each piece is a few small functions;
// the logic lives in the parts.

#include "mainwindow.h"

#include "classview.h"
#include "connectiondialog.h"
#include "devicehub.h"
#include "deviceitemdelegate.h"
#include "devicelistmodel.h"
#include "devicesortproxy.h"
#include "ledcontrol.h"
#include "ledcontrolwidget.h"
#include "lightchart.h"
#include "mqttclient.h"
#include "passwordstore.h"
#include "telemetrystore.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QLoggingCategory>
#include <QMenuBar>
#include <QMessageBox>
#include <QPointer>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollBar>
#include <QSettings>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyle>
#include <QSysInfo>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include <limits>

namespace nightlight {

namespace {
Q_LOGGING_CATEGORY(lcWindow, "nightlight.dashboard", QtInfoMsg)

constexpr qint64 DayMs = qint64(24) * 3600 * 1000;
// How long the broker keeps our session (MQTT 5) while the dashboard is closed: a week of the
// devices' QoS 1 messages, within the broker's per-client queue limit.
constexpr quint32 SessionExpirySeconds = 7 * 24 * 3600;
} // namespace

QList<qint64> MainWindow::windowPresets()
{
    return {LightChart::WindowOneMinute, LightChart::WindowTenMinutes, LightChart::WindowOneHour,
            LightChart::WindowOneDay, LightChart::WindowAll};
}

MainWindow::MainWindow(const DashboardOptions &options, QWidget *parent)
    : QMainWindow(parent),
      m_options(options),
      m_settings(options.settingsPath.isEmpty()
                     ? std::make_unique<QSettings>()
                     : std::make_unique<QSettings>(options.settingsPath, QSettings::IniFormat)),
      m_client(new MqttClient(this)),
      m_hub(new DeviceHub(m_client, this)),
      m_store(new TelemetryStore(this)),
      m_devices(new DeviceListModel(this)),
      m_led(new LedControl(m_client, m_hub, this)),
      m_passwords(new PasswordStore(this))
{
    setWindowTitle(tr("Nightlight Dashboard"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/nightlight.svg")));

    m_connection.load(*m_settings);
    if (options.host)
        m_connection.host = *options.host;
    if (options.port)
        m_connection.port = *options.port;
    if (options.tlsCaFile)
        m_connection.tlsCaFile = *options.tlsCaFile;
    if (options.username)
        m_connection.username = *options.username;

    // History: loaded before anything arrives so live samples append to it.
    m_databasePath = options.databasePath;
    if (m_databasePath.isEmpty()) {
        const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
        QDir().mkpath(dir);
        m_databasePath = dir + QStringLiteral("/telemetry.sqlite");
    }
    m_store->setRetention(qint64(m_connection.retentionDays) * DayMs);
    m_store->setTierRetention(qint64(m_connection.rawDays) * DayMs,
                              qint64(m_connection.minuteDays) * DayMs);
    m_store->setFlushBatchSize(FlushBatchSize);
    QString dbError;
    const bool historyOpen = m_store->open(m_databasePath, &dbError);
    if (!historyOpen)
        qCWarning(lcWindow).noquote() << "history not saved:" << dbError;

    // #9: how many devices the network may add (the command line, else the setting).
    int maxDevices =
        m_settings->value(QStringLiteral("devices/maxDevices"), DeviceHub::DefaultMaxDevices)
            .toInt();
    if (maxDevices < 1)
        maxDevices = DeviceHub::DefaultMaxDevices;
    m_hub->setMaxDevices(options.maxDevices.value_or(maxDevices));

    m_devices->attach(m_hub);
    // PROTOCOL.md "Any standard broker": the exact <id>/state and <id>/status of every device
    // known (from its readings or the history), not only the selected one.
    connect(m_devices, &DeviceListModel::deviceAdded, m_hub, &DeviceHub::watchDevice);
    // The devices the file lists: those that sent a reading or a state, and were not forgotten.
    for (const QString &id : m_store->knownDevices())
        m_hub->watchDevice(id);

    createActions();
    createWidgets();
    createMenus();

    connect(m_hub, &DeviceHub::telemetryReceived, this, &MainWindow::onTelemetry);
    connect(m_hub, &DeviceHub::stateReceived, this, &MainWindow::onDeviceState);
    connect(m_hub, &DeviceHub::malformedMessage, this, &MainWindow::onMalformed);
    connect(m_hub, &DeviceHub::deviceLimitReached, this, [this](int limit) {
        // Once per run; the log counts every refused reading (throttled).
        statusBar()->showMessage(tr("Device limit reached: the dashboard tracks %1 devices and "
                                    "ignores new ones (--max-devices)")
                                     .arg(locale().toString(limit)));
    });
    connect(m_devices, &DeviceListModel::deviceAdded, this, &MainWindow::onDeviceAdded);
    connect(m_client, &MqttClient::stateChanged, this, &MainWindow::onStateChanged);
    connect(m_client, &MqttClient::errorOccurred, this,
            [this](MqttClient::Error, const QString &message) { onError(message); });
    connect(m_store, &TelemetryStore::ledPeriodsChanged, this, [this](const QString &deviceId) {
        if (deviceId == m_currentDevice)
            showLedPeriods();
    });
    connect(m_store, &TelemetryStore::warningOccurred, this,
            [this](const QString &message) { statusBar()->showMessage(message, 10000); });
    // open() reports a corrupt file moved aside before anything could be connected to
    // warningOccurred: show it now.
    if (!historyOpen)
        showHistoryProblem(tr("History is not saved: %1").arg(dbError));
    else if (!m_store->lastWarning().isEmpty())
        showHistoryProblem(tr("History database: %1").arg(m_store->lastWarning()));

    if (!restoreGeometry(m_settings->value(QStringLiteral("window/geometry")).toByteArray())) {
        // First start: a size in text units, so it fits any DPI and font. The device list wide
        // enough for the lesson's id and the longest short status word of this language beside
        // it, and the window wide enough for that list and what the chart side needs (in Bengali
        // both are wider than in English: 16 em left "অনলাইন" elided).
        const QFontMetrics fm = fontMetrics();
        const int em = fm.horizontalAdvance(QLatin1Char('M'));
        const QFontMetrics list = m_deviceView->fontMetrics();
        int status = 0;
        for (const auto st : {DeviceListModel::Status::Online, DeviceListModel::Status::Offline,
                              DeviceListModel::Status::Stale, DeviceListModel::Status::Unknown})
            status = std::max(status, list.horizontalAdvance(DeviceListModel::statusText(st)));
        // The dot, the id, a gap, the status, and the row's, the list's and the dock's margins.
        const int dockWidth =
            std::max(em * 16,
                     m_deviceView->iconSize().width() +
                         list.horizontalAdvance(QStringLiteral("nightlight")) + status + em * 4);
        const int central = centralWidget() ? centralWidget()->minimumSizeHint().width() : 0;
        resize(std::max(em * 68, central + dockWidth + em * 2), fm.height() * 36);
        // Once the window is laid out: before, the dock keeps its minimum width.
        QTimer::singleShot(0, this, [this, dockWidth] {
            resizeDocks({findChild<QDockWidget *>()}, {dockWidth}, Qt::Horizontal);
        });
    }
    restoreState(m_settings->value(QStringLiteral("window/state")).toByteArray());
    const int preset = m_settings->value(QStringLiteral("window/preset"), 0).toInt();
    if (preset >= 0 && preset < m_windowActions.size())
        m_windowActions.at(preset)->trigger();
    setSortKey(m_settings->value(QStringLiteral("devices/sort"), 0).toInt());
    // The view: --view, else the one shown last.
    if (options.view.isEmpty())
        setClassViewShown(m_settings->value(QStringLiteral("window/classView"), false).toBool());
    else
        setClassViewShown(options.view == QLatin1String("class"));

    QString initial = options.deviceId;
    if (initial.isEmpty())
        initial = m_settings->value(QStringLiteral("lastDevice")).toString();
    if (isValidDeviceId(initial))
        selectDevice(initial);
    else if (m_devices->rowCount() > 0)
        selectDevice(m_devices->deviceIdAt(0));

    m_hub->startDiscovery();
    connect(m_passwords, &PasswordStore::passwordRead, this,
            [this](const QString &key, const QString &password) {
                if (key != m_connection.passwordKey() || password.isEmpty() ||
                    m_connection.username.isEmpty() || !m_connection.password.isEmpty())
                    return;
                m_connection.password = password;
                applyConnectionSettings();
            });
    // Also tells whether a keyring answers at all, for the settings dialog.
    if (PasswordStore::isBuiltIn())
        m_passwords->readPassword(m_connection.passwordKey());
    connect(m_passwords, &PasswordStore::passwordWritten, this,
            [this](const QString &, bool ok, const QString &error) {
                if (!ok)
                    statusBar()->showMessage(tr("Password not stored: %1").arg(error), 10000);
            });
    applyConnectionSettings();
}

MainWindow::~MainWindow()
{
    m_hub->drainQueue(); // messages received but not yet decoded belong in the file too
    m_store->flush();
}

void MainWindow::createActions()
{
    m_exportVisibleAction = new QAction(tr("Export &Visible Range as CSV…"), this);
    m_exportVisibleAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    connect(m_exportVisibleAction, &QAction::triggered, this,
            [this] { exportCsvInteractive(true); });
    m_exportAllAction = new QAction(tr("Export &All as CSV…"), this);
    m_exportAllAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    connect(m_exportAllAction, &QAction::triggered, this, [this] { exportCsvInteractive(false); });
    m_exportPngAction = new QAction(tr("Export Chart as &PNG…"), this);
    m_exportPngAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    connect(m_exportPngAction, &QAction::triggered, this, &MainWindow::exportPngInteractive);
    m_quitAction = new QAction(tr("&Quit"), this);
    m_quitAction->setShortcut(QKeySequence::Quit);
    m_quitAction->setMenuRole(QAction::QuitRole);
    connect(m_quitAction, &QAction::triggered, this, &QWidget::close);

    m_settingsAction = new QAction(tr("&Settings…"), this);
    m_settingsAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Comma));
    connect(m_settingsAction, &QAction::triggered, this, &MainWindow::showConnectionDialog);
    m_reconnectAction = new QAction(tr("&Reconnect"), this);
    m_reconnectAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    connect(m_reconnectAction, &QAction::triggered, this, &MainWindow::reconnect);

    m_windowGroup = new QActionGroup(this);
    // At most one: after a wheel zoom the window matches no preset, and none is checked.
    m_windowGroup->setExclusionPolicy(QActionGroup::ExclusionPolicy::ExclusiveOptional);
    const QStringList names = {tr("1 min"), tr("10 min"), tr("1 h"), tr("24 h"), tr("All")};
    const QList<qint64> presets = windowPresets();
    for (int i = 0; i < presets.size(); ++i) {
        auto *a = new QAction(names.at(i), this);
        a->setCheckable(true);
        a->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
        a->setToolTip(
            tr("Show %1 (%2)").arg(names.at(i), a->shortcut().toString(QKeySequence::NativeText)));
        m_windowGroup->addAction(a);
        const qint64 ms = presets.at(i);
        connect(a, &QAction::triggered, this, [this, ms, i] {
            m_chart->setWindow(ms);
            m_classView->setWindow(ms); // the tiles' sparklines show the same window
            m_settings->setValue(QStringLiteral("window/preset"), i);
        });
        m_windowActions << a;
    }
    m_liveAction = new QAction(tr("&Live"), this);
    m_liveAction->setIconText(tr("Live")); // the tool button's text, without the mnemonic
    m_liveAction->setCheckable(true);
    m_liveAction->setChecked(true);
    m_liveAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    m_liveAction->setToolTip(tr("Follow new data (%1)")
                                 .arg(m_liveAction->shortcut().toString(QKeySequence::NativeText)));
    connect(m_liveAction, &QAction::toggled, this, [this](bool on) {
        if (m_chart && m_chart->isLive() != on)
            m_chart->setLive(on);
    });

    m_forgetAction = new QAction(tr("&Forget Device…"), this);
    m_forgetAction->setObjectName(QStringLiteral("forgetDeviceAction"));
    // Delete only while the device list has the focus (the action is added to it below).
    m_forgetAction->setShortcut(QKeySequence::Delete);
    m_forgetAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_forgetAction->setEnabled(false);
    connect(m_forgetAction, &QAction::triggered, this,
            qOverload<>(&MainWindow::forgetDevicesInteractive));

    m_classAction = new QAction(tr("&Class"), this);
    m_classAction->setObjectName(QStringLiteral("classViewAction"));
    m_classAction->setIconText(tr("Class"));
    m_classAction->setCheckable(true);
    m_classAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    m_classAction->setToolTip(
        tr("Every device as a tile (%1)")
            .arg(m_classAction->shortcut().toString(QKeySequence::NativeText)));
    connect(m_classAction, &QAction::toggled, this, [this](bool on) { setClassViewShown(on); });

    m_aboutAction = new QAction(tr("&About Nightlight Dashboard"), this);
    m_aboutAction->setMenuRole(QAction::AboutRole);
    connect(m_aboutAction, &QAction::triggered, this, &MainWindow::about);
}

void MainWindow::createMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_exportVisibleAction);
    file->addAction(m_exportAllAction);
    file->addAction(m_exportPngAction);
    file->addSeparator();
    file->addAction(m_quitAction);

    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(m_forgetAction);

    QMenu *connection = menuBar()->addMenu(tr("&Connection"));
    connection->addAction(m_settingsAction);
    connection->addAction(m_reconnectAction);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    view->addAction(m_classAction);
    view->addSeparator();
    view->addActions(m_windowActions);
    view->addSeparator();
    view->addAction(m_liveAction);
    view->addSeparator();
    view->addAction(findChild<QDockWidget *>()->toggleViewAction());

    // The toolbar: the class view's toggle, where it is seen.
    QToolBar *toolbar = addToolBar(tr("View"));
    toolbar->setObjectName(QStringLiteral("viewToolBar"));
    toolbar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    toolbar->addAction(m_classAction);
    view->addAction(toolbar->toggleViewAction());

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(m_aboutAction);
}

void MainWindow::createWidgets()
{
    m_chart = new LightChart(this);
    m_chart->setStore(m_store);
    connect(m_chart, &LightChart::liveChanged, m_liveAction, &QAction::setChecked);
    connect(m_chart, &LightChart::visibleRangeChanged, this, &MainWindow::syncWindowPreset);

    // Window presets and Live, above the chart.
    auto *presetRow = new QHBoxLayout;
    presetRow->addWidget(new QLabel(tr("Show:"), this));
    // A checked button is also bold: some styles and dark palettes barely shade "checked".
    const auto makeButton = [this](QAction *a) {
        auto *b = new QToolButton(this);
        b->setDefaultAction(a);
        b->setToolButtonStyle(Qt::ToolButtonTextOnly);
        const auto embolden = [b](bool on) {
            QFont f = b->font();
            f.setBold(on);
            b->setFont(f);
        };
        connect(b, &QToolButton::toggled, b, embolden);
        embolden(b->isChecked());
        return b;
    };
    for (QAction *a : std::as_const(m_windowActions))
        presetRow->addWidget(makeButton(a));
    presetRow->addStretch(1);
    presetRow->addWidget(makeButton(m_liveAction));

    m_ledWidget = new LedControlWidget(m_led, this);

    m_detailPage = new QWidget(this);
    auto *layout = new QVBoxLayout(m_detailPage);
    layout->addLayout(presetRow);
    layout->addWidget(m_chart, 1);
    layout->addWidget(m_ledWidget);

    // The device list, in a dock on the left: natural order by id (or by status), with a filter
    // above it, so one device among thousands is a few keystrokes away. The class view shows the
    // same rows in the same order.
    m_deviceProxy = new DeviceSortProxy(this);
    m_deviceProxy->setSourceModel(m_devices);
    const auto makeSortBox = [this](const QString &name) {
        auto *box = new QComboBox(this);
        box->setObjectName(name);
        for (auto key : {DeviceSortProxy::SortKey::Id, DeviceSortProxy::SortKey::Status,
                         DeviceSortProxy::SortKey::Light})
            box->addItem(tr("Sort by %1").arg(DeviceSortProxy::sortKeyName(key)), int(key));
        box->setSizeAdjustPolicy(QComboBox::AdjustToContents);
        connect(box, &QComboBox::activated, this,
                [this, box](int index) { setSortKey(box->itemData(index).toInt()); });
        return box;
    };
    const auto makeFilter = [this](const QString &name) {
        auto *edit = new QLineEdit(this);
        edit->setObjectName(name);
        edit->setPlaceholderText(tr("Filter devices"));
        edit->setClearButtonEnabled(true);
        connect(edit, &QLineEdit::textChanged, this,
                [this](const QString &text) { setFilterText(text); });
        return edit;
    };
    m_deviceFilter = makeFilter(QStringLiteral("deviceFilter"));
    m_deviceSort = makeSortBox(QStringLiteral("deviceSort"));
    m_deviceCounts = new QLabel(this);
    m_deviceCounts->setObjectName(QStringLiteral("deviceCounts"));
    m_deviceCounts->setWordWrap(true);
    m_classFilter = makeFilter(QStringLiteral("classFilter"));
    m_classSort = makeSortBox(QStringLiteral("classSort"));
    m_classCounts = new QLabel(this);
    m_classCounts->setObjectName(QStringLiteral("classCounts"));
    // It may be cut short rather than widen the window (the list's header has it whole; the
    // tooltip too): the class page's minimum width is the detail page's.
    m_classCounts->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    // Counts follow status changes, at most a few times a second (a thousand devices going stale
    // at once is one update).
    m_countsTimer = new QTimer(this);
    m_countsTimer->setSingleShot(true);
    m_countsTimer->setInterval(200);
    connect(m_countsTimer, &QTimer::timeout, this, &MainWindow::updateCounts);
    connect(m_devices, &DeviceListModel::countsChanged, this, [this] {
        if (!m_countsTimer->isActive()) // not restarted: a steady stream of changes still shows
            m_countsTimer->start();
    });

    m_views = new QStackedWidget(this);
    m_views->setObjectName(QStringLiteral("views"));
    m_views->addWidget(m_detailPage);
    m_views->addWidget(createClassPage());
    setCentralWidget(m_views);

    m_deviceView = new QListView(this);
    m_deviceView->setModel(m_deviceProxy);
    // One line a device, never wider than the list: the id and its status are elided to fit
    // (whole in the tooltip), so no horizontal scroll bar however narrow the dock.
    m_deviceView->setItemDelegate(new DeviceItemDelegate(m_deviceView));
    m_deviceView->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    // Several at once for Forget Device (Ctrl+A after a filter); the current row is the chart's.
    m_deviceView->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_deviceView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_deviceView->setUniformItemSizes(true);
    // Right-click selects the row under the cursor; the menu acts on it.
    m_deviceView->setContextMenuPolicy(Qt::ActionsContextMenu);
    m_deviceView->addAction(m_forgetAction);
    connect(m_deviceView->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex &current) {
                if (current.isValid() && !m_quietSelection)
                    selectDevice(current.data(DeviceListModel::DeviceIdRole).toString());
            });
    auto *dock = new QDockWidget(tr("Devices"), this);
    dock->setObjectName(QStringLiteral("devicesDock"));
    auto *devicePane = new QWidget(this);
    auto *deviceLayout = new QVBoxLayout(devicePane);
    deviceLayout->setContentsMargins(0, 0, 0, 0);
    deviceLayout->addWidget(m_deviceCounts);
    deviceLayout->addWidget(m_deviceFilter);
    deviceLayout->addWidget(m_deviceSort);
    deviceLayout->addWidget(m_deviceView);
    dock->setWidget(devicePane);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetClosable);
    addDockWidget(Qt::LeftDockWidgetArea, dock);

    // Status bar: connection state, and the malformed-message counter.
    m_connectionLabel = new QLabel(this);
    statusBar()->addWidget(m_connectionLabel, 1);
    m_malformedButton = new QToolButton(this);
    m_malformedButton->setAutoRaise(true);
    m_malformedButton->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    connect(m_malformedButton, &QToolButton::clicked, this, &MainWindow::showMalformedDetails);
    statusBar()->addPermanentWidget(m_malformedButton);
    onMalformed();
    updateCounts();
}

QWidget *MainWindow::createClassPage()
{
    auto *page = new QWidget(this);
    auto *layout = new QVBoxLayout(page);
    auto *header = new QHBoxLayout;
    header->addWidget(new QLabel(tr("Show:"), page));
    // The same preset actions as above the chart: the sparklines show the chart's window.
    for (QAction *a : std::as_const(m_windowActions)) {
        auto *b = new QToolButton(page);
        b->setDefaultAction(a);
        b->setToolButtonStyle(Qt::ToolButtonTextOnly);
        b->setAutoRaise(true);
        header->addWidget(b);
    }
    header->addSpacing(fontMetrics().horizontalAdvance(QLatin1Char('M')));
    header->addWidget(m_classCounts, 1);
    m_classFilter->setMinimumWidth(fontMetrics().horizontalAdvance(QLatin1Char('M')) * 8);
    header->addWidget(m_classFilter);
    header->addWidget(m_classSort);
    layout->addLayout(header);

    m_classView = new ClassView(page);
    m_classView->setModel(m_deviceProxy);
    m_classView->setStore(m_store);
    m_classView->setDevices(m_client, m_hub);
    layout->addWidget(m_classView, 1);
    connect(m_classView, &ClassView::deviceActivated, this, [this](const QString &id) {
        selectDevice(id);
        setClassViewShown(false);
    });
    connect(m_classView, &ClassView::forgetRequested, this,
            [this](const QString &id) { forgetDevicesInteractive(QStringList{id}); });
    return page;
}

bool MainWindow::isClassViewShown() const
{
    return m_views->currentWidget() != m_detailPage;
}

void MainWindow::setClassViewShown(bool shown)
{
    m_views->setCurrentIndex(shown ? 1 : 0);
    if (m_classAction->isChecked() != shown)
        m_classAction->setChecked(shown);
    // The chart's actions act on the detail view only.
    m_exportPngAction->setEnabled(!shown);
    m_settings->setValue(QStringLiteral("window/classView"), shown);
}

void MainWindow::setFilterText(const QString &text)
{
    for (QLineEdit *edit : {m_deviceFilter, m_classFilter}) {
        if (edit->text() != text) {
            const QSignalBlocker block(edit);
            edit->setText(text);
        }
    }
    // Filtering moves the view's current row when it hides it; that is no choice of the
    // user's: the chart stays on its device, highlighted again when it is shown.
    m_quietSelection = true;
    m_deviceProxy->setFilterFixedString(text);
    m_quietSelection = false;
    syncDeviceView();
}

void MainWindow::setSortKey(int key)
{
    if (key < int(DeviceSortProxy::SortKey::Id) || key > int(DeviceSortProxy::SortKey::Light))
        key = int(DeviceSortProxy::SortKey::Id);
    for (QComboBox *box : {m_deviceSort, m_classSort}) {
        const QSignalBlocker block(box);
        box->setCurrentIndex(box->findData(key));
    }
    m_quietSelection = true;
    m_deviceProxy->setSortKey(DeviceSortProxy::SortKey(key));
    m_quietSelection = false;
    m_settings->setValue(QStringLiteral("devices/sort"), key);
    syncDeviceView();
}

void MainWindow::updateCounts()
{
    const QString text = m_devices->countsText(locale());
    m_deviceCounts->setText(text);
    m_classCounts->setText(text);
    m_classCounts->setToolTip(text);
}

void MainWindow::showHistoryProblem(const QString &text)
{
    statusBar()->showMessage(text, 30000);
    // Non-modal, so the window works (and shows the history it has) while it is open; shown
    // once the event loop runs, after the window itself.
    auto *box =
        new QMessageBox(QMessageBox::Warning, tr("History database"), text, QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("historyWarning"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setModal(false);
    QTimer::singleShot(0, box, &QWidget::show);
}

void MainWindow::applyConnectionSettings()
{
    m_client->disconnectFromHost();
    m_client->setHost(m_connection.host);
    m_client->setPort(m_connection.port);
    m_client->setTlsCaFile(m_connection.tlsCaFile);
    m_client->setUsername(m_connection.username);
    m_client->setPassword(m_connection.password);
    // A persistent session (#9): what devices send at QoS 1 while we are away (their replay and
    // the minute after their reconnect) is queued for us by the broker. The client id is this
    // dashboard's, stable across starts: host and history file.
    m_client->setClientId(
        QStringLiteral("nightlight-dashboard-") +
        QString::fromLatin1(QCryptographicHash::hash((QSysInfo::machineHostName() + u'\n' +
                                                      QFileInfo(m_databasePath).absoluteFilePath())
                                                         .toUtf8(),
                                                     QCryptographicHash::Sha1)
                                .toHex()
                                .left(12)));
    m_client->setCleanSession(false);
    m_client->setSessionExpiry(SessionExpirySeconds);
    // A fleet's thousands of messages a second are taken in every 10 ms, not one wake-up each;
    // the chart and the list show them no sooner anyway (docs/fleet.md).
    m_client->setReadPacing(10);
    m_client->setDeliveryBatching(10);
    m_store->setRetention(qint64(m_connection.retentionDays) * DayMs);
    m_store->setTierRetention(qint64(m_connection.rawDays) * DayMs,
                              qint64(m_connection.minuteDays) * DayMs);
    m_lastError.clear();
    m_client->connectToHost();
    onStateChanged();
}

void MainWindow::reconnect()
{
    applyConnectionSettings();
}

void MainWindow::showConnectionDialog()
{
    ConnectionDialog dialog(m_connection,
                            m_passwords->availability() != PasswordStore::Availability::Unavailable,
                            m_passwords->unavailableReason(), this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    const ConnectionSettings s = dialog.settings();
    s.save(*m_settings);
    if (m_passwords->isAvailable() ||
        m_passwords->availability() == PasswordStore::Availability::Unknown)
        m_passwords->writePassword(s.passwordKey(), s.password);
    m_connection = s;
    applyConnectionSettings();
}

QString MainWindow::connectionText() const
{
    return m_connectionLabel->text();
}

QString MainWindow::malformedText() const
{
    return m_malformedButton->text();
}

QString MainWindow::databasePath() const
{
    return m_databasePath;
}

void MainWindow::onStateChanged()
{
    const QString endpoint = m_connection.endpoint();
    QString text;
    switch (m_client->state()) {
    case MqttClient::State::Connected:
        text = tr("Connected to %1").arg(endpoint);
        m_lastError.clear();
        break;
    case MqttClient::State::Connecting:
        text = m_lastError.isEmpty()
            ? tr("Connecting to %1…").arg(endpoint)
            : tr("Connecting to %1… (last error: %2)").arg(endpoint, m_lastError);
        break;
    case MqttClient::State::Disconnected:
        text =
            m_lastError.isEmpty() ? tr("Disconnected") : tr("Not connected: %1").arg(m_lastError);
        break;
    }
    m_connectionLabel->setText(text);
}

void MainWindow::onError(const QString &message)
{
    m_lastError = message;
    onStateChanged();
}

void MainWindow::onTelemetry(const QString &deviceId, const Telemetry &t, qint64 receivedMs)
{
    // PROTOCOL.md: a sample's own ts places it (replayed outage data); lesson devices send none.
    m_store->append(deviceId, t.ts.value_or(receivedMs), t.light);
}

void MainWindow::onDeviceState(const QString &deviceId, const DeviceState &state)
{
    // Every device's LED changes go to the store (and its file), so switching back to a device,
    // or restarting, still shades its past. A repeat of the current value is ignored there; the
    // chart follows through ledPeriodsChanged.
    m_store->appendLedState(deviceId, state.ts.value_or(QDateTime::currentMSecsSinceEpoch()),
                            state.ledOn);
    if (deviceId != m_currentDevice)
        return;
    m_chart->setThreshold(state.threshold);
    m_chart->setUnit(state.unit);
}

void MainWindow::showLedPeriods()
{
    m_chart->setLedPeriods(m_store->ledPeriods(m_currentDevice, std::numeric_limits<qint64>::min(),
                                               std::numeric_limits<qint64>::max()));
}

void MainWindow::onDeviceAdded(const QString &deviceId)
{
    if (m_currentDevice.isEmpty())
        selectDevice(deviceId);
}

void MainWindow::selectDevice(const QString &deviceId)
{
    if (!isValidDeviceId(deviceId))
        return;
    // The user's (or --id's) choice: known and watched whatever the device limit; the row
    // follows from the hub's deviceAdmitted.
    m_hub->watchDevice(deviceId);
    m_forgetAction->setEnabled(true);
    if (deviceId != m_currentDevice) {
        m_currentDevice = deviceId;
        // The device's retained state came (once) when it was first watched: take what the
        // hub kept of it rather than waiting for a change that may never come.
        const auto state = m_hub->lastState(deviceId);
        showLedPeriods();
        m_chart->setThreshold(state ? std::optional<double>(state->threshold) : std::nullopt);
        m_chart->setUnit(state ? state->unit : QString());
        m_chart->setDevice(deviceId);
        m_led->setDeviceId(deviceId); // also watches <id>/state and <id>/status exactly
        m_classView->setCurrentDevice(deviceId);
        m_settings->setValue(QStringLiteral("lastDevice"), deviceId);
        setWindowTitle(tr("%1 — Nightlight Dashboard").arg(deviceId));
    }
    syncDeviceView();
}

QStringList MainWindow::selectedDevices() const
{
    QStringList ids;
    for (const QModelIndex &idx : m_deviceView->selectionModel()->selectedRows())
        ids << idx.data(DeviceListModel::DeviceIdRole).toString();
    if (ids.isEmpty() && !m_currentDevice.isEmpty())
        ids << m_currentDevice;
    ids.sort(Qt::CaseInsensitive);
    return ids;
}

void MainWindow::forgetDevicesInteractive()
{
    forgetDevicesInteractive(selectedDevices());
}

void MainWindow::forgetDevicesInteractive(const QStringList &ids)
{
    if (ids.isEmpty())
        return;
    qsizetype readings = 0;
    for (const QString &id : ids)
        readings += m_store->sampleCount(id);
    const bool one = ids.size() == 1;
    QMessageBox box(QMessageBox::Question, tr("Forget Device"),
                    one ? tr("Forget the device “%1”?").arg(ids.constFirst())
                        : tr("Forget %1 devices?").arg(locale().toString(ids.size())),
                    QMessageBox::NoButton, this);
    box.setInformativeText(one ? tr("It leaves the list and is no longer watched. If it sends a "
                                    "reading again, it comes back as a new device.")
                               : tr("They leave the list and are no longer watched. One that "
                                    "sends a reading again comes back as a new device."));
    // Not ticked by default: forgetting is undone by the device's next reading, a deleted
    // history is not.
    auto *history = new QCheckBox(
        one ? tr("Also delete its stored history (%1 readings)").arg(locale().toString(readings))
            : tr("Also delete their stored history (%1 readings)").arg(locale().toString(readings)),
        &box);
    box.setCheckBox(history);
    QPushButton *forget = box.addButton(tr("&Forget"), QMessageBox::DestructiveRole);
    forget->setObjectName(QStringLiteral("forgetButton"));
    box.addButton(QMessageBox::Cancel);
    box.setDefaultButton(QMessageBox::Cancel);
    box.exec();
    if (box.clickedButton() == forget)
        forgetDevices(ids, history->isChecked());
}

void MainWindow::forgetDevice(const QString &deviceId, bool deleteHistory)
{
    forgetDevices({deviceId}, deleteHistory);
}

void MainWindow::forgetDevices(const QStringList &deviceIds, bool deleteHistory)
{
    QStringList ids;
    for (const QString &id : deviceIds) {
        if (m_devices->rowOf(id) >= 0 || m_hub->isKnown(id))
            ids << id;
    }
    if (ids.isEmpty())
        return;
    const bool wasCurrent = ids.contains(m_currentDevice);
    // Rows go in runs; the view moves its current row off each, which is no choice of the
    // user's: the device to show is chosen once, below.
    m_quietSelection = true;
    m_devices->removeDevices(ids);
    for (const QString &id : std::as_const(ids)) {
        m_hub->forgetDevice(id); // its exact topics are unsubscribed
        m_store->forgetDevice(id, deleteHistory);
    }
    m_quietSelection = false;
    if (ids.contains(m_settings->value(QStringLiteral("lastDevice")).toString()))
        m_settings->remove(QStringLiteral("lastDevice"));
    if (!wasCurrent) {
        syncDeviceView();
    } else if (const QModelIndex next = m_deviceView->currentIndex(); next.isValid()) {
        // The row the view moved to: the neighbour of the forgotten one.
        selectDevice(next.data(DeviceListModel::DeviceIdRole).toString());
    } else if (m_devices->rowCount() > 0) {
        selectDevice(m_devices->deviceIdAt(0));
    } else {
        m_currentDevice.clear();
        m_chart->setDevice(QString());
        m_chart->setLedPeriods({});
        m_chart->setThreshold(std::nullopt);
        m_led->setDeviceId(QString());
        m_classView->setCurrentDevice(QString());
        m_forgetAction->setEnabled(false);
        setWindowTitle(tr("Nightlight Dashboard"));
    }
    const QString count = locale().toString(ids.size());
    if (ids.size() == 1) {
        statusBar()->showMessage(deleteHistory
                                     ? tr("Forgot %1 and deleted its history").arg(ids.constFirst())
                                     : tr("Forgot %1").arg(ids.constFirst()),
                                 5000);
    } else {
        statusBar()->showMessage(deleteHistory
                                     ? tr("Forgot %1 devices and deleted their history").arg(count)
                                     : tr("Forgot %1 devices").arg(count),
                                 5000);
    }
}

void MainWindow::syncDeviceView()
{
    // Invalid while the filter hides the device (or there is none): the chart still shows it.
    const QModelIndex idx =
        m_deviceProxy->mapFromSource(m_devices->index(m_devices->rowOf(m_currentDevice)));
    m_quietSelection = true;
    if (!idx.isValid())
        m_deviceView->selectionModel()->clear();
    else if (m_deviceView->currentIndex() != idx)
        m_deviceView->setCurrentIndex(idx);
    m_quietSelection = false;
}

void MainWindow::onMalformed()
{
    const int count = m_hub->malformedCount();
    m_malformedButton->setText(tr("Malformed: %1").arg(locale().toString(count)));
    m_malformedButton->setIcon(count > 0 ? style()->standardIcon(QStyle::SP_MessageBoxWarning)
                                         : QIcon());
    m_malformedButton->setToolTip(
        count > 0 ? tr("Messages ignored because they could not be read. Last: %1")
                        .arg(m_hub->lastError())
                  : tr("No malformed messages received"));
}

void MainWindow::showMalformedDetails()
{
    if (m_hub->malformedCount() == 0) {
        QMessageBox::information(this, tr("Malformed Messages"),
                                 tr("No malformed messages received."));
        return;
    }
    QMessageBox box(
        QMessageBox::Warning, tr("Malformed Messages"),
        tr("Messages that could not be read and were ignored: %1").arg(m_hub->malformedCount()),
        QMessageBox::Close, this);
    box.setInformativeText(tr("Last: %1").arg(m_hub->lastError()));
    QPushButton *reset = box.addButton(tr("Reset Counter"), QMessageBox::ResetRole);
    box.exec();
    if (box.clickedButton() == reset)
        m_hub->resetMalformedCount();
}

bool MainWindow::exportCsv(const QString &fileName, bool visibleRangeOnly)
{
    if (m_currentDevice.isEmpty())
        return false;
    qint64 t0 = 0;
    qint64 t1 = 0;
    if (visibleRangeOnly) {
        const auto range = m_chart->visibleRange();
        t0 = range.first;
        t1 = range.second - 1; // visibleRange is half-open
    } else {
        const auto range = m_store->timeRange(m_currentDevice);
        if (!range)
            return false;
        t0 = range->first;
        t1 = range->last;
    }
    // A month of one device is half a million lines: written off the GUI thread, one at a time.
    m_exportVisibleAction->setEnabled(false);
    m_exportAllAction->setEnabled(false);
    statusBar()->showMessage(tr("Exporting %1…").arg(QDir::toNativeSeparators(fileName)));
    m_store->exportCsvLater(
        fileName, m_currentDevice, t0, t1,
        [this, guard = QPointer<MainWindow>(this), fileName](const QString &error, qint64) {
            if (!guard)
                return;
            m_exportVisibleAction->setEnabled(true);
            m_exportAllAction->setEnabled(true);
            if (error.isEmpty()) {
                statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(fileName)),
                                         5000);
            } else {
                statusBar()->showMessage(
                    tr("Cannot write %1: %2").arg(QDir::toNativeSeparators(fileName), error),
                    10000);
            }
            emit csvExportFinished(fileName, error);
        });
    return true;
}

bool MainWindow::exportPng(const QString &fileName)
{
    const QImage image = m_chart->renderToImage();
    if (image.isNull() || !image.save(fileName, "PNG")) {
        statusBar()->showMessage(tr("Cannot write %1").arg(QDir::toNativeSeparators(fileName)),
                                 10000);
        return false;
    }
    statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(fileName)), 5000);
    return true;
}

void MainWindow::exportCsvInteractive(bool visibleRangeOnly)
{
    if (m_currentDevice.isEmpty())
        return;
    const QString suggested = QDir::home().filePath(m_currentDevice + QStringLiteral(".csv"));
    const QString fileName = QFileDialog::getSaveFileName(
        this, visibleRangeOnly ? tr("Export Visible Range") : tr("Export All"), suggested,
        tr("CSV files (*.csv)"));
    if (!fileName.isEmpty())
        exportCsv(fileName, visibleRangeOnly);
}

void MainWindow::exportPngInteractive()
{
    const QString suggested = QDir::home().filePath(m_currentDevice + QStringLiteral(".png"));
    const QString fileName =
        QFileDialog::getSaveFileName(this, tr("Export Chart"), suggested, tr("PNG images (*.png)"));
    if (!fileName.isEmpty())
        exportPng(fileName);
}

void MainWindow::about()
{
    QMessageBox::about(
        this, tr("About Nightlight Dashboard"),
        tr("<h3>Nightlight Dashboard %1</h3>"
           "<p>Shows a nightlight's light readings and switches its LED over MQTT.</p>"
           "<p>Built with Qt %2 and libmosquitto.</p>")
            .arg(QCoreApplication::applicationVersion(), QLatin1String(qVersion())));
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    m_settings->setValue(QStringLiteral("window/geometry"), saveGeometry());
    m_settings->setValue(QStringLiteral("window/state"), saveState());
    m_settings->sync();
    m_hub->drainQueue();
    m_store->flush();
    QMainWindow::closeEvent(event);
}

void MainWindow::syncWindowPreset()
{
    const QList<qint64> presets = windowPresets();
    const qsizetype match = presets.indexOf(m_chart->window());
    for (qsizetype i = 0; i < m_windowActions.size(); ++i)
        m_windowActions.at(i)->setChecked(i == match);
}

} // namespace nightlight
