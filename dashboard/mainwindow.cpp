#include "mainwindow.h"

#include "connectiondialog.h"
#include "devicehub.h"
#include "devicelistmodel.h"
#include "ledcontrol.h"
#include "ledcontrolwidget.h"
#include "lightchart.h"
#include "mqttclient.h"
#include "passwordstore.h"
#include "telemetrystore.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QLoggingCategory>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSaveFile>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyle>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <limits>

namespace nightlight {

namespace {
Q_LOGGING_CATEGORY(lcWindow, "nightlight.dashboard", QtInfoMsg)

constexpr qint64 DayMs = qint64(24) * 3600 * 1000;
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
    m_store->setFlushBatchSize(FlushBatchSize);
    QString dbError;
    const bool historyOpen = m_store->open(m_databasePath, &dbError);
    if (!historyOpen)
        qCWarning(lcWindow).noquote() << "history not saved:" << dbError;

    m_devices->attach(m_hub);
    // PROTOCOL.md "Any standard broker": the exact <id>/state and <id>/status of every device
    // known (from the wildcards or the history), not only the selected one.
    connect(m_devices, &DeviceListModel::deviceAdded, m_hub, &DeviceHub::watchDevice);
    for (const QString &id : m_store->devices())
        m_devices->addDevice(id);

    createActions();
    createWidgets();
    createMenus();

    connect(m_hub, &DeviceHub::telemetryReceived, this, &MainWindow::onTelemetry);
    connect(m_hub, &DeviceHub::stateReceived, this, &MainWindow::onDeviceState);
    connect(m_hub, &DeviceHub::malformedMessage, this, &MainWindow::onMalformed);
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
        // First start: a size in text units, so it fits any DPI and font.
        const QFontMetrics fm = fontMetrics();
        const int em = fm.horizontalAdvance(QLatin1Char('M'));
        resize(em * 68, fm.height() * 36);
        resizeDocks({findChild<QDockWidget *>()}, {em * 16}, Qt::Horizontal);
    }
    restoreState(m_settings->value(QStringLiteral("window/state")).toByteArray());
    const int preset = m_settings->value(QStringLiteral("window/preset"), 0).toInt();
    if (preset >= 0 && preset < m_windowActions.size())
        m_windowActions.at(preset)->trigger();

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

    QMenu *connection = menuBar()->addMenu(tr("&Connection"));
    connection->addAction(m_settingsAction);
    connection->addAction(m_reconnectAction);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    view->addActions(m_windowActions);
    view->addSeparator();
    view->addAction(m_liveAction);
    view->addSeparator();
    view->addAction(findChild<QDockWidget *>()->toggleViewAction());

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

    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->addLayout(presetRow);
    layout->addWidget(m_chart, 1);
    layout->addWidget(m_ledWidget);
    setCentralWidget(central);

    // The device list, in a dock on the left.
    m_deviceView = new QListView(this);
    m_deviceView->setModel(m_devices);
    m_deviceView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_deviceView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_deviceView->setUniformItemSizes(true);
    connect(m_deviceView->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex &current) {
                if (current.isValid())
                    selectDevice(m_devices->deviceIdAt(current.row()));
            });
    auto *dock = new QDockWidget(tr("Devices"), this);
    dock->setObjectName(QStringLiteral("devicesDock"));
    dock->setWidget(m_deviceView);
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
    m_store->setRetention(qint64(m_connection.retentionDays) * DayMs);
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
    m_devices->addDevice(deviceId);
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
        m_settings->setValue(QStringLiteral("lastDevice"), deviceId);
        setWindowTitle(tr("%1 — Nightlight Dashboard").arg(deviceId));
    }
    const QModelIndex idx = m_devices->index(m_devices->rowOf(deviceId));
    if (m_deviceView->currentIndex() != idx)
        m_deviceView->setCurrentIndex(idx);
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
    QSaveFile file(fileName);
    QString error;
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text) ||
        !m_store->exportCsv(&file, m_currentDevice, t0, t1, &error) || !file.commit()) {
        statusBar()->showMessage(tr("Cannot write %1: %2")
                                     .arg(QDir::toNativeSeparators(fileName),
                                          error.isEmpty() ? file.errorString() : error),
                                 10000);
        return false;
    }
    statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(fileName)), 5000);
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
