// End to end: a real broker, the real nightlight-device (simulated sensor) and the MainWindow in
// this process with a temporary database: the chart fills, the device shows online, the LED
// control round-trips, a malformed payload bumps the counter, history survives a restart, and
// the window's screenshot is not blank. Also the dashboard binary's command-line errors.

#include "classview.h"
#include "connectiondialog.h"
#include "connectionsettings.h"
#include "dashboardoptions.h"
#include "devicehub.h"
#include "devicelistmodel.h"
#include "devicesortproxy.h"
#include "emojiid.h"
#include "ledcontrol.h"
#include "ledcontrolwidget.h"
#include "lightchart.h"
#include "mainwindow.h"
#include "mqttclient.h"
#include "passwordstore.h"
#include "procstatus.h"
#include "protocol.h"
#include "telemetrystore.h"
#include "testbroker.h"

#include <QAbstractButton>
#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMenuBar>
#include <QMessageBox>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QScrollBar>
#include <QSet>
#include <QSettings>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QToolBar>
#include <QTranslator>
#include <QXmlStreamReader>

#include <algorithm>
#include <csignal>
#include <limits>
#include <memory>

#include <sys/stat.h>

using namespace nightlight;

#ifndef NIGHTLIGHT_DEVICE_BINARY
#define NIGHTLIGHT_DEVICE_BINARY ""
#endif

class TestDashboard : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void commandLine_data();
    void commandLine();
    void binaryRejectsBadValues_data();
    void binaryRejectsBadValues();
    void binaryPrintsEmojiIdAsItIs_data();
    void binaryPrintsEmojiIdAsItIs();
    void binaryAnswersWithoutDisplay_data();
    void binaryAnswersWithoutDisplay();
    void endToEnd();
    void bengaliIsComplete();
    void connectionSettingsRoundTrip();
    void passwordWithoutKeyring();
    void bengaliWindow();
    void historyWarning_data();
    void historyWarning();
    void switchingDevicesKeepsState();
    void ledShadingSurvivesRestart();
    void caFileLabelHasBuddy();
    void presetFollowsTheChartWindow();
    void everyKnownDeviceIsWatched();
    void futureTimestamp_data();
    void futureTimestamp();
    void shutdownDrainsTheQueue();
    void malformedFloodIsThrottled();
    void binaryRefusesUnusableDatabase_data();
    void binaryRefusesUnusableDatabase();
    void signalClosesLikeQuit_data();
    void signalClosesLikeQuit();
    void noSampleLostWhenBothReconnect();
    void hugeMessagesAreDroppedUnread();
    void bareStatusMakesNoDevice();
    void stateAloneKeepsADevice();
    void deviceLimit();
    void forgetDevice_data();
    void forgetDevice();
    void deviceListSortsAndFilters();
    void deviceListForFleets();
    void classViewIsRemembered();
    void classViewFitsHundredDevices();
    void spamKeepsMemoryBounded_data();
    void spamKeepsMemoryBounded();

private:
    DashboardOptions optionsFor(const QString &id) const;

    TestBroker m_broker;
    QTemporaryDir m_dir;
};

void TestDashboard::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QVERIFY2(m_broker.start(), qPrintable(m_broker.errorString()));
}

DashboardOptions TestDashboard::optionsFor(const QString &id) const
{
    DashboardOptions o;
    o.host = m_broker.host();
    o.port = m_broker.port();
    o.deviceId = id;
    o.databasePath = m_dir.filePath(QStringLiteral("telemetry.sqlite"));
    o.settingsPath = m_dir.filePath(QStringLiteral("settings.ini"));
    return o;
}

void TestDashboard::commandLine_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<DashboardOptions::Outcome>("outcome");
    using O = DashboardOptions::Outcome;
    QTest::newRow("no options") << QStringList{} << O::Run;
    QTest::newRow("all good") << QStringList{QStringLiteral("--host"), QStringLiteral("pi.local"),
                                             QStringLiteral("--port"), QStringLiteral("8883"),
                                             QStringLiteral("--id"),   QStringLiteral("kitchen"),
                                             QStringLiteral("--lang"), QStringLiteral("bn")}
                              << O::Run;
    QTest::newRow("help") << QStringList{QStringLiteral("--help")} << O::Exit;
    QTest::newRow("version") << QStringList{QStringLiteral("--version")} << O::Exit;
    QTest::newRow("port zero") << QStringList{QStringLiteral("--port"), QStringLiteral("0")}
                               << O::Error;
    QTest::newRow("port not a number")
        << QStringList{QStringLiteral("--port"), QStringLiteral("mqtt")} << O::Error;
    QTest::newRow("port too big") << QStringList{QStringLiteral("--port"), QStringLiteral("70000")}
                                  << O::Error;
    QTest::newRow("id with a wildcard")
        << QStringList{QStringLiteral("--id"), QStringLiteral("a/+")} << O::Error;
    QTest::newRow("unknown language")
        << QStringList{QStringLiteral("--lang"), QStringLiteral("xx-nonsense")} << O::Error;
    QTest::newRow("missing CA file")
        << QStringList{QStringLiteral("--tls-ca"), QStringLiteral("/nonexistent/ca.crt")}
        << O::Error;
    QTest::newRow("database in a missing folder")
        << QStringList{QStringLiteral("--database"), QStringLiteral("/nonexistent/x.sqlite")}
        << O::Error;
    QTest::newRow("unknown option") << QStringList{QStringLiteral("--colour")} << O::Error;
    QTest::newRow("class view") << QStringList{QStringLiteral("--view"), QStringLiteral("class")}
                                << O::Run;
    QTest::newRow("detail view") << QStringList{QStringLiteral("--view"), QStringLiteral("detail")}
                                 << O::Run;
    QTest::newRow("unknown view") << QStringList{QStringLiteral("--view"), QStringLiteral("tiles")}
                                  << O::Error;
    QTest::newRow("device limit") << QStringList{QStringLiteral("--max-devices"),
                                                 QStringLiteral("20000")}
                                  << O::Run;
    QTest::newRow("device limit zero")
        << QStringList{QStringLiteral("--max-devices"), QStringLiteral("0")} << O::Error;
    QTest::newRow("device limit not a number")
        << QStringList{QStringLiteral("--max-devices"), QStringLiteral("many")} << O::Error;
}

void TestDashboard::commandLine()
{
    QFETCH(QStringList, args);
    QFETCH(DashboardOptions::Outcome, outcome);
    DashboardOptions o;
    args.prepend(QStringLiteral("nightlight-dashboard"));
    QCOMPARE(o.parse(args), outcome);
    QCOMPARE(o.message().isEmpty(), outcome == DashboardOptions::Outcome::Run);
}

void TestDashboard::binaryRejectsBadValues_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("expectedText");
    QTest::newRow("bad port") << QStringList{QStringLiteral("--port"), QStringLiteral("0")}
                              << QStringLiteral("--port");
    QTest::newRow("bad id") << QStringList{QStringLiteral("--id"), QStringLiteral("#")}
                            << QStringLiteral("--id");
}

namespace {

// No display of any kind: a QApplication made before the options are checked would abort.
QProcessEnvironment headlessEnvironment()
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char *name : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"})
        env.remove(QLatin1String(name));
    return env;
}

// The dashboard drawing offscreen: for the runs that must open a window without a display.
QProcessEnvironment offscreenEnvironment()
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    return env;
}

} // namespace

void TestDashboard::binaryRejectsBadValues()
{
    QFETCH(QStringList, args);
    QFETCH(QString, expectedText);
    QProcess p;
    p.setProcessEnvironment(headlessEnvironment());
    p.start(QStringLiteral(NIGHTLIGHT_DASHBOARD_BINARY), args);
    QVERIFY(p.waitForFinished(20000));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 2);
    QVERIFY(QString::fromLocal8Bit(p.readAllStandardError()).contains(expectedText));
}

void TestDashboard::binaryPrintsEmojiIdAsItIs_data()
{
    QTest::addColumn<QStringList>("environment"); // NAME=value, after every locale variable is gone

    QTest::newRow("LANG=C.UTF-8") << QStringList{QStringLiteral("LANG=C.UTF-8")};
    QTest::newRow("LANG=C, LC_ALL=C")
        << QStringList{QStringLiteral("LANG=C"), QStringLiteral("LC_ALL=C")};
    QTest::newRow("no locale variables") << QStringList{};
}

// An id with an emoji is refused before any display is needed, and the message shows the emoji
// whatever the locale (#9): stderr is UTF-8, and the offending character is the whole code point.
void TestDashboard::binaryPrintsEmojiIdAsItIs()
{
    QFETCH(QStringList, environment);
    verifyEmojiIdRefused(QStringLiteral(NIGHTLIGHT_DASHBOARD_BINARY), headlessEnvironment(),
                         environment, 20000);
}

void TestDashboard::binaryAnswersWithoutDisplay_data()
{
    QTest::addColumn<QString>("option");
    QTest::addColumn<QString>("expectedText");
    QTest::newRow("--version") << QStringLiteral("--version")
                               << QStringLiteral("nightlight-dashboard " NIGHTLIGHT_VERSION);
    QTest::newRow("--help") << QStringLiteral("--help") << QStringLiteral("--host <host>");
}

void TestDashboard::binaryAnswersWithoutDisplay()
{
    QFETCH(QString, option);
    QFETCH(QString, expectedText);
    QProcess p;
    p.setProcessEnvironment(headlessEnvironment());
    p.start(QStringLiteral(NIGHTLIGHT_DASHBOARD_BINARY), {option});
    QVERIFY(p.waitForFinished(20000));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 0);
    const QString out = QString::fromLocal8Bit(p.readAllStandardOutput());
    QVERIFY2(out.contains(expectedText), qPrintable(out));
}

void TestDashboard::endToEnd()
{
    if (QLatin1String(NIGHTLIGHT_DEVICE_BINARY).isEmpty())
        QSKIP("nightlight-device is not built");
    const QString id = QStringLiteral("e2e");
    QProcess device;
    device.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    device.start(QStringLiteral(NIGHTLIGHT_DEVICE_BINARY),
                 {QStringLiteral("--id"), id, QStringLiteral("--host"), m_broker.host(),
                  QStringLiteral("--port"), QString::number(m_broker.port()),
                  QStringLiteral("--interval-ms"), QStringLiteral("100"),
                  QStringLiteral("--sensor"), QStringLiteral("simulated")});
    QVERIFY(device.waitForStarted(5000));

    qsizetype stored = 0;
    {
        MainWindow window(optionsFor(id));
        window.resize(1000, 650);
        window.show();
        QCOMPARE(window.currentDevice(), id);
        QTRY_VERIFY_WITH_TIMEOUT(
            window.connectionText().startsWith(QStringLiteral("Connected to 127.0.0.1:")), 10000);

        // The chart's store fills with the device's points.
        QTRY_VERIFY_WITH_TIMEOUT(window.store()->size(id) >= 10, 10000);
        const qsizetype before = window.store()->size(id);
        QTRY_VERIFY_WITH_TIMEOUT(window.store()->size(id) > before, 5000);
        QVERIFY(window.chart()->latestSample().has_value());
        QCOMPARE(window.chart()->device(), id);

        // The device list shows it online.
        QTRY_COMPARE_WITH_TIMEOUT(window.deviceModel()->status(id), DeviceListModel::Status::Online,
                                  10000);

        // The LED control shows the real state, and a click round-trips through the device.
        QTRY_VERIFY_WITH_TIMEOUT(window.ledControl()->hasState(), 10000);
        QAbstractButton *on = window.ledControlWidget()->onButton();
        QVERIFY(on->isEnabled());
        QSignalSpy confirmed(window.ledControl(), &LedControl::confirmed);
        QTest::mouseClick(on, Qt::LeftButton);
        QVERIFY(confirmed.wait(5000));
        QVERIFY(on->isChecked());
        QCOMPARE(window.ledControlWidget()->stateText(), QStringLiteral("LED on · manual"));

        // A malformed payload on the device's telemetry topic bumps the counter, nothing else.
        QCOMPARE(window.hub()->malformedCount(), 0);
        QCOMPARE(window.malformedText(), QStringLiteral("Malformed: 0"));
        const auto other = m_broker.connectedClient();
        QVERIFY(other);
        QVERIFY(other->publish(telemetryTopic(id), QByteArray("{\"light\": \"dark\"}"), 1));
        QTRY_COMPARE_WITH_TIMEOUT(window.hub()->malformedCount(), 1, 5000);
        QCOMPARE(window.malformedText(), QStringLiteral("Malformed: 1"));
        QVERIFY(window.hub()->lastError().contains(QLatin1String("e2e/telemetry")));
        const qsizetype afterBad = window.store()->size(id);
        QTRY_VERIFY_WITH_TIMEOUT(window.store()->size(id) > afterBad, 5000);

        // CSV export of everything: ISO 8601 UTC times.
        const QString csv = m_dir.filePath(QStringLiteral("all.csv"));
        QSignalSpy exported(&window, &MainWindow::csvExportFinished);
        QVERIFY(window.exportCsv(csv, false));
        QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 1, 10000);
        QCOMPARE(exported.at(0).at(1).toString(), QString());
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = f.readAll().split('\n');
        QVERIFY(lines.size() > 10);
        QCOMPARE(lines.at(0), QByteArray("time_utc,device,light"));
        QVERIFY2(lines.at(1).contains("Z,e2e,"), lines.at(1).constData());
        QVERIFY(window.exportPng(m_dir.filePath(QStringLiteral("chart.png"))));
        QVERIFY(!QImage(m_dir.filePath(QStringLiteral("chart.png"))).isNull());

        // A screenshot of the main window that is not blank.
        const QImage shot = window.grab().toImage();
        const QString shotPath = QStringLiteral(NIGHTLIGHT_SCREENSHOT_DIR) +
            QStringLiteral("/tst_dashboard-mainwindow.png");
        QVERIFY(shot.save(shotPath));
        QSet<QRgb> colours;
        for (int y = 0; y < shot.height(); y += 2) {
            for (int x = 0; x < shot.width(); x += 2)
                colours.insert(shot.pixel(x, y));
        }
        QVERIFY2(colours.size() > 30, qPrintable(QString::number(colours.size())));

        stored = window.store()->size(id);
        window.close();
    }

    // History is in the database: a new window has the points before any message arrives.
    DashboardOptions offline = optionsFor(id);
    offline.port = 1; // nothing listens there: only the file can supply the points
    MainWindow again(offline);
    QVERIFY(again.store()->sampleCount(id) >= stored);
    QCOMPARE(again.currentDevice(), id);

    device.terminate();
    QVERIFY(device.waitForFinished(5000));
}

void TestDashboard::bengaliIsComplete()
{
    // Every message translated, none unfinished, and the same placeholders and mnemonics.
    QFile ts(QStringLiteral(NIGHTLIGHT_TS_FILE));
    QVERIFY(ts.open(QIODevice::ReadOnly));
    QXmlStreamReader xml(&ts);
    int messages = 0;
    QString source;
    QStringList translations;
    bool unfinished = false;
    const QRegularExpression placeholder(QStringLiteral("%[0-9n]"));
    const auto placeholders = [&](const QString &text) {
        QStringList found;
        for (auto it = placeholder.globalMatch(text); it.hasNext();)
            found << it.next().captured();
        found.removeDuplicates();
        found.sort();
        return found;
    };
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isStartElement() && xml.name() == QLatin1String("message")) {
            source.clear();
            translations.clear();
            unfinished = false;
        } else if (xml.isStartElement() && xml.name() == QLatin1String("source")) {
            source = xml.readElementText();
        } else if (xml.isStartElement() && xml.name() == QLatin1String("translation")) {
            unfinished =
                xml.attributes().value(QLatin1String("type")) == QLatin1String("unfinished");
            const QString text = xml.readElementText(QXmlStreamReader::IncludeChildElements);
            translations << text;
        } else if (xml.isEndElement() && xml.name() == QLatin1String("message")) {
            ++messages;
            QVERIFY2(!unfinished, qPrintable(source));
            QVERIFY2(!translations.isEmpty() && !translations.constFirst().trimmed().isEmpty(),
                     qPrintable(source));
            QCOMPARE(placeholders(translations.constFirst()), placeholders(source));
            QCOMPARE(translations.constFirst().contains(QLatin1Char('&')),
                     source.contains(QLatin1Char('&')));
        }
    }
    QVERIFY(!xml.hasError());
    QVERIFY(messages > 100);
}

void TestDashboard::bengaliWindow()
{
    QTranslator translator;
    QVERIFY(translator.load(QStringLiteral(NIGHTLIGHT_QM_FILE)));
    QVERIFY(QCoreApplication::installTranslator(&translator));
    // As main() does for --lang bn: numbers in Bengali digits too.
    const QLocale previousLocale;
    QLocale::setDefault(QLocale(QLocale::Bengali, QLocale::Bangladesh));
    const auto restoreLocale = qScopeGuard([&] { QLocale::setDefault(previousLocale); });
    DashboardOptions o = optionsFor(QStringLiteral("bn-test"));
    o.databasePath = m_dir.filePath(QStringLiteral("bn.sqlite"));
    o.settingsPath = m_dir.filePath(QStringLiteral("bn.ini"));
    {
        MainWindow window(o);
        QCOMPARE(window.windowTitle(), QStringLiteral("bn-test — নাইটলাইট ড্যাশবোর্ড"));
        QCOMPARE(window.ledControlWidget()->onButton()->text(), QStringLiteral("চালু (&N)"));
        QCOMPARE(window.malformedText(), QStringLiteral("ত্রুটিপূর্ণ বার্তা: ০"));
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionText().endsWith(QStringLiteral("-এ সংযুক্ত")),
                                 10000);
    }
    QCoreApplication::removeTranslator(&translator);
}

void TestDashboard::historyWarning_data()
{
    // What is at --database before the window opens it (null: no file), and whether the window
    // must say the file was moved aside.
    QTest::addColumn<QByteArray>("contents");
    QTest::addColumn<bool>("warns");
    QByteArray garbage(4096, '\0');
    QRandomGenerator rng(7);
    for (auto &c : garbage)
        c = char(rng.bounded(256));
    QTest::newRow("garbage file") << garbage << true;
    QTest::newRow("a text file") << QByteArray("not a database\n") << true;
    QTest::newRow("no file yet") << QByteArray() << false;
}

void TestDashboard::historyWarning()
{
    QFETCH(QByteArray, contents);
    QFETCH(bool, warns);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    DashboardOptions o = optionsFor(QStringLiteral("history"));
    o.databasePath = dir.filePath(QStringLiteral("history.sqlite"));
    if (!contents.isNull()) {
        QFile f(o.databasePath);
        QVERIFY(f.open(QIODevice::WriteOnly));
        QCOMPARE(f.write(contents), contents.size());
    }
    MainWindow window(o);
    window.show();
    QVERIFY(window.store()->isOpen());
    const QString message = window.statusBar()->currentMessage();
    if (!warns) {
        QVERIFY2(message.isEmpty(), qPrintable(message));
        QVERIFY(!window.findChild<QMessageBox *>(QStringLiteral("historyWarning")));
        return;
    }
    // In the status bar at once, and in a non-modal warning once the event loop runs.
    QVERIFY2(message.contains(QStringLiteral("not a readable telemetry database")),
             qPrintable(message));
    QVERIFY2(message.contains(o.databasePath + QStringLiteral(".corrupt-")), qPrintable(message));
    auto *box = window.findChild<QMessageBox *>(QStringLiteral("historyWarning"));
    QVERIFY(box);
    QTRY_VERIFY_WITH_TIMEOUT(box->isVisible(), 5000);
    QVERIFY(!box->isModal());
    QVERIFY2(box->text().contains(QStringLiteral(".corrupt-")), qPrintable(box->text()));
    QCOMPARE(QDir(dir.path()).entryList({QStringLiteral("history.sqlite.corrupt-*")}).size(), 1);
}

void TestDashboard::connectionSettingsRoundTrip()
{
    const QString ini = m_dir.filePath(QStringLiteral("roundtrip.ini"));
    ConnectionSettings s;
    s.host = QStringLiteral("broker.example");
    s.port = 8883;
    s.tlsCaFile = QStringLiteral("/etc/ssl/ca.crt");
    s.username = QStringLiteral("alice");
    s.password = QStringLiteral("s3cret-never-in-the-file");
    s.retentionDays = 7;
    {
        QSettings settings(ini, QSettings::IniFormat);
        s.save(settings);
    }
    ConnectionSettings loaded;
    loaded.load(QSettings(ini, QSettings::IniFormat));
    QVERIFY(loaded.password.isEmpty()); // the password never goes to QSettings
    loaded.password = s.password;
    QCOMPARE(loaded, s);
    QFile f(ini);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QVERIFY(!f.readAll().contains("s3cret"));
    QCOMPARE(s.passwordKey(), QStringLiteral("alice@broker.example:8883"));
}

void TestDashboard::passwordWithoutKeyring()
{
    // This machine has no Secret Service (no D-Bus session): the store must say so quickly,
    // and the dialog must tell the user the password is not stored.
    if (qEnvironmentVariableIsSet("DBUS_SESSION_BUS_ADDRESS"))
        QSKIP("a D-Bus session exists here; a keyring may answer");
    PasswordStore store;
    QSignalSpy read(&store, &PasswordStore::passwordRead);
    store.readPassword(QStringLiteral("nobody@127.0.0.1:1"));
    QTRY_COMPARE_WITH_TIMEOUT(read.size(), 1, 10000);
    QCOMPARE(read.constFirst().at(1).toString(), QString());
    QCOMPARE(store.availability(), PasswordStore::Availability::Unavailable);
    QVERIFY(!store.unavailableReason().isEmpty());

    ConnectionDialog dialog(ConnectionSettings{}, store.isAvailable(), store.unavailableReason());
    bool saysNotStored = false;
    for (const QLabel *label : dialog.findChildren<QLabel *>())
        saysNotStored |= label->text().contains(QLatin1String("not stored"));
    QVERIFY(saysNotStored);
}

void TestDashboard::switchingDevicesKeepsState()
{
    // Retained states are delivered once per subscription: switching back to a device shows its
    // threshold, LED-on shading and LED state at once, without waiting for a new state.
    const QString alpha = QStringLiteral("switch-alpha");
    const QString beta = QStringLiteral("switch-beta");
    const auto other = m_broker.connectedClient();
    QVERIFY(other);
    DeviceState a;
    a.ledOn = true;
    a.mode = Mode::Manual;
    a.threshold = 123;
    DeviceState b;
    b.threshold = 456;
    QVERIFY(other->publish(stateTopic(alpha), encodeState(a), 1, true));
    QVERIFY(other->publish(stateTopic(beta), encodeState(b), 1, true));

    DashboardOptions o = optionsFor(alpha);
    o.databasePath = m_dir.filePath(QStringLiteral("switch.sqlite"));
    o.settingsPath = m_dir.filePath(QStringLiteral("switch.ini"));
    {
        MainWindow window(o);
        QTRY_COMPARE_WITH_TIMEOUT(window.chart()->threshold(), std::optional<double>(123), 10000);
        QCOMPARE(window.chart()->ledPeriods().size(), 1);
        QVERIFY(window.ledControl()->hasState());

        window.selectDevice(beta);
        QTRY_COMPARE_WITH_TIMEOUT(window.chart()->threshold(), std::optional<double>(456), 10000);
        QVERIFY(window.chart()->ledPeriods().isEmpty());

        window.selectDevice(alpha);
        QCOMPARE(window.chart()->threshold(), std::optional<double>(123));
        QCOMPARE(window.chart()->ledPeriods().size(), 1);
        QVERIFY(window.ledControl()->hasState());
        QCOMPARE(window.ledControlWidget()->stateText(), QStringLiteral("LED on · manual"));
        QVERIFY(window.ledControlWidget()->onButton()->isChecked());
    }
    // Clean up the retained messages.
    QVERIFY(other->publish(stateTopic(alpha), QByteArray(), 1, true));
    QVERIFY(other->publish(stateTopic(beta), QByteArray(), 1, true));
}

void TestDashboard::ledShadingSurvivesRestart()
{
    // LED-on periods are history: a window started again on the same database shades them at
    // once, with no broker to send a state.
    const QString id = QStringLiteral("restart-led");
    const auto other = m_broker.connectedClient();
    QVERIFY(other);
    const qint64 ts = QDateTime::currentMSecsSinceEpoch() - 60000;
    DeviceState state;
    state.ledOn = true;
    state.ts = ts;
    QVERIFY(other->publish(stateTopic(id), encodeState(state), 1, true));
    auto cleanup = qScopeGuard([&] { other->publish(stateTopic(id), QByteArray(), 1, true); });

    using Periods = QList<QPair<qint64, qint64>>;
    const Periods expected{{ts, ts + 5000}, {ts + 10000, ts + 10000}};
    DashboardOptions o = optionsFor(id);
    o.databasePath = m_dir.filePath(QStringLiteral("restart-led.sqlite"));
    o.settingsPath = m_dir.filePath(QStringLiteral("restart-led.ini"));
    {
        MainWindow window(o);
        QTRY_COMPARE_WITH_TIMEOUT(window.chart()->ledPeriods(), (Periods{{ts, ts}}), 10000);
        // Later changes, not retained: the store closes the period and opens the next.
        state.ledOn = false;
        state.ts = ts + 5000;
        QVERIFY(other->publish(stateTopic(id), encodeState(state), 1));
        QTRY_COMPARE_WITH_TIMEOUT(window.chart()->ledPeriods(), (Periods{{ts, ts + 5000}}), 5000);
        state.ledOn = true;
        state.ts = ts + 10000;
        QVERIFY(other->publish(stateTopic(id), encodeState(state), 1));
        QTRY_COMPARE_WITH_TIMEOUT(window.chart()->ledPeriods(), expected, 5000);
        QCOMPARE(window.store()->ledPeriods(id, std::numeric_limits<qint64>::min(),
                                            std::numeric_limits<qint64>::max()),
                 expected);
    }

    DashboardOptions offline = o;
    offline.port = 1; // nothing listens there: only the file can supply the periods
    MainWindow again(offline);
    QCOMPARE(again.currentDevice(), id);
    QCOMPARE(again.chart()->ledPeriods(), expected);
}

void TestDashboard::caFileLabelHasBuddy()
{
    // Every field label of the connection dialog is tied to its field, so its mnemonic works
    // and no label shows a literal "&".
    ConnectionDialog dialog(ConnectionSettings{}, false, QStringLiteral("none here"));
    int labelled = 0;
    for (const QLabel *label : dialog.findChildren<QLabel *>()) {
        if (!label->text().contains(QLatin1Char('&')))
            continue;
        QVERIFY2(label->buddy(), qPrintable(label->text()));
        ++labelled;
    }
    QCOMPARE(labelled, 6); // host, port, CA file, user name, password, history
}

void TestDashboard::presetFollowsTheChartWindow()
{
    // A zoom or pan that leaves every preset's length unchecks the presets; choosing one again
    // checks it. The menu never claims a window the chart does not show.
    DashboardOptions o = optionsFor(QStringLiteral("presets"));
    o.databasePath = m_dir.filePath(QStringLiteral("presets.sqlite"));
    o.settingsPath = m_dir.filePath(QStringLiteral("presets.ini"));
    MainWindow window(o);
    const QList<QAction *> presets = window.windowActions();
    QCOMPARE(presets.size(), MainWindow::windowPresets().size());
    presets.at(1)->trigger();
    QVERIFY(presets.at(1)->isChecked());
    QCOMPARE(window.chart()->window(), MainWindow::windowPresets().at(1));

    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    window.chart()->setVisibleRange(now - 123456, now);
    for (const QAction *a : presets)
        QVERIFY2(!a->isChecked(), qPrintable(a->text()));

    presets.at(2)->trigger();
    QVERIFY(presets.at(2)->isChecked());
    QCOMPARE(
        std::count_if(presets.begin(), presets.end(), [](QAction *a) { return a->isChecked(); }),
        1);
}

void TestDashboard::everyKnownDeviceIsWatched()
{
    // PROTOCOL.md "Any standard broker": a device heard of only through +/telemetry, or only in
    // the history, gets its exact <id>/state subscribed without being selected, so its retained
    // state (and LED changes) are recorded. Discovery has no +/state wildcard, so nothing else
    // could deliver it.
    const QString selected = QStringLiteral("watch-selected");
    const QString other = QStringLiteral("watch-other");
    const auto publisher = m_broker.connectedClient();
    QVERIFY(publisher);
    const qint64 ts = QDateTime::currentMSecsSinceEpoch() - 30000;
    DeviceState state;
    state.ledOn = true;
    state.mode = Mode::Manual;
    state.ts = ts;
    QVERIFY(publisher->publish(stateTopic(other), encodeState(state), 1, true));
    auto cleanup =
        qScopeGuard([&] { publisher->publish(stateTopic(other), QByteArray(), 1, true); });

    using Periods = QList<QPair<qint64, qint64>>;
    DashboardOptions o = optionsFor(selected);
    o.databasePath = m_dir.filePath(QStringLiteral("watch.sqlite"));
    o.settingsPath = m_dir.filePath(QStringLiteral("watch.ini"));
    {
        MainWindow window(o);
        QVERIFY(!window.hub()->isWatching(other));
        // Telemetry only (until the window's wildcard subscription is in place).
        QTRY_VERIFY_WITH_TIMEOUT(
            (publisher->publish(telemetryTopic(other), QByteArray(R"({"light": 42})"), 0),
             window.deviceModel()->rowOf(other) >= 0),
            10000);
        QVERIFY(window.hub()->isWatching(other));
        QTRY_VERIFY_WITH_TIMEOUT(window.hub()->lastState(other).has_value(), 10000);
        QCOMPARE(*window.hub()->lastState(other), state);
        QCOMPARE(window.currentDevice(), selected);
        QCOMPARE(window.store()->ledPeriods(other, std::numeric_limits<qint64>::min(),
                                            std::numeric_limits<qint64>::max()),
                 (Periods{{ts, ts}}));
    }

    // Known from the history only: watched at start, its retained state arrives.
    MainWindow again(o);
    QVERIFY(again.store()->contains(other));
    QVERIFY(again.hub()->isWatching(other));
    QTRY_VERIFY_WITH_TIMEOUT(again.hub()->lastState(other).has_value(), 10000);
    QCOMPARE(*again.hub()->lastState(other), state);
    QCOMPARE(again.currentDevice(), selected);
}

void TestDashboard::futureTimestamp_data()
{
    QTest::addColumn<bool>("isState"); // <id>/state (retained), else <id>/telemetry
    QTest::addColumn<qint64>("ts");
    QTest::addColumn<bool>("relative"); // ts is ms after now
    QTest::addColumn<bool>("replaced");
    const qint64 far = Q_INT64_C(9007199254740992);
    QTest::newRow("telemetry far in the future") << false << far << false << true;
    QTest::newRow("telemetry 30 s ahead is kept") << false << qint64(30000) << true << false;
    QTest::newRow("telemetry in the past is kept") << false << qint64(-60000) << true << false;
    QTest::newRow("state far in the future") << true << far << false << true;
    QTest::newRow("state 30 s ahead is kept") << true << qint64(30000) << true << false;
}

void TestDashboard::futureTimestamp()
{
    // A ts more than 60 s ahead of the receive time (a wrong device clock) would be stored and
    // pin the live chart in the future: the receive time is used and the message is counted as
    // malformed, with a readable reason.
    QFETCH(bool, isState);
    QFETCH(qint64, ts);
    QFETCH(bool, relative);
    QFETCH(bool, replaced);
    static int row = 0;
    const QString id = QStringLiteral("future-%1").arg(++row);
    const QString topic = isState ? stateTopic(id) : telemetryTopic(id);

    const auto publisher = m_broker.connectedClient();
    QVERIFY(publisher);
    auto cleanup = qScopeGuard([&] {
        if (isState)
            publisher->publish(stateTopic(id), QByteArray(), 1, true);
    });

    DashboardOptions o = optionsFor(id);
    o.databasePath = m_dir.filePath(QStringLiteral("%1.sqlite").arg(id));
    o.settingsPath = m_dir.filePath(QStringLiteral("%1.ini").arg(id));
    MainWindow window(o);
    std::optional<qint64> heardTs;
    qint64 heardAt = 0;
    connect(window.hub(), &DeviceHub::telemetryReceived, this,
            [&](const QString &device, const Telemetry &t, qint64 receivedMs) {
                if (device == id && t.light == 1) {
                    heardTs = t.ts;
                    heardAt = receivedMs;
                }
            });
    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    const qint64 sentTs = relative ? before + ts : ts;
    if (isState) {
        DeviceState state;
        state.ledOn = true;
        state.ts = sentTs;
        QVERIFY(publisher->publish(stateTopic(id), encodeState(state), 1, true));
        QTRY_VERIFY_WITH_TIMEOUT(window.hub()->lastState(id).has_value(), 10000);
    } else {
        // Readings without ts until the window's wildcard subscription is in place.
        QTRY_VERIFY_WITH_TIMEOUT((publisher->publish(topic, QByteArray(R"({"light": 7})"), 0),
                                  window.store()->contains(id)),
                                 10000);
        QVERIFY(publisher->publish(
            topic, QStringLiteral(R"({"light":1,"ts":%1})").arg(sentTs).toUtf8(), 0));
        QTRY_VERIFY_WITH_TIMEOUT(heardTs.has_value(), 10000);
    }
    const qint64 after = QDateTime::currentMSecsSinceEpoch();

    using Periods = QList<QPair<qint64, qint64>>;
    const Periods periods = window.store()->ledPeriods(id, std::numeric_limits<qint64>::min(),
                                                       std::numeric_limits<qint64>::max());
    if (replaced) {
        QCOMPARE(window.hub()->malformedCount(), 1);
        QVERIFY2(window.hub()->lastError().startsWith(topic + QStringLiteral(": ts is ")),
                 qPrintable(window.hub()->lastError()));
        QVERIFY2(window.hub()->lastError().endsWith(
                     QStringLiteral(" s in the future; using the receive time")),
                 qPrintable(window.hub()->lastError()));
        QCOMPARE(window.malformedText(), QStringLiteral("Malformed: 1"));
        if (isState) {
            const qint64 stored = *window.hub()->lastState(id)->ts;
            QVERIFY(stored >= before && stored <= after);
            QCOMPARE(periods, (Periods{{stored, stored}}));
        } else {
            QCOMPARE(*heardTs, heardAt); // the receive time
            // Stored at the receive time (a probe may share the millisecond).
            bool stored = false;
            window.store()->forEachInRange(id, heardAt, heardAt,
                                           [&](qint64, double v) { stored = stored || v == 1; });
            QVERIFY(stored);
            // Nothing stored in the future: the live chart's end stays at now.
            QVERIFY(window.store()->timeRange(id)->last <= after);
            QVERIFY(window.chart()->latestSample()->t <= after);
        }
    } else {
        QCOMPARE(window.hub()->malformedCount(), 0);
        if (isState) {
            QCOMPARE(window.hub()->lastState(id)->ts, std::optional<qint64>(sentTs));
            QCOMPARE(periods, (Periods{{sentTs, sentTs}}));
        } else {
            QCOMPARE(heardTs, std::optional<qint64>(sentTs));
            QCOMPARE(window.store()->countInRange(id, sentTs, sentTs), 1);
        }
    }
}

void TestDashboard::shutdownDrainsTheQueue()
{
    // Messages received but still waiting in the hub's queue (decoded in slices per event-loop
    // turn) are stored when the window closes, not lost.
    const QString id = QStringLiteral("drain-on-exit");
    DashboardOptions o = optionsFor(id);
    o.databasePath = m_dir.filePath(QStringLiteral("drain.sqlite"));
    o.settingsPath = m_dir.filePath(QStringLiteral("drain.ini"));
    constexpr int Count = 100;
    const qint64 t0 = QDateTime::currentMSecsSinceEpoch() - 60000;
    {
        MainWindow window(o);
        window.hub()->setSliceBudget(0); // one message per event-loop turn
        QList<MqttMessage> batch;
        for (int i = 0; i < Count; ++i) {
            MqttMessage m;
            m.topic = telemetryTopic(id);
            m.payload = QStringLiteral(R"({"light":%1,"ts":%2})").arg(i).arg(t0 + i).toUtf8();
            batch << m;
        }
        // As the client hands over a burst.
        emit window.client()->messagesReceived(batch);
        QVERIFY(window.hub()->queuedMessages() > 0);
        QVERIFY(window.store()->size(id) < Count);
    }
    TelemetryStore store;
    QVERIFY(store.open(o.databasePath));
    QCOMPARE(store.sampleCount(id), qsizetype(Count));
    QCOMPARE(store.timeRange(id)->first, t0);
    QCOMPARE(store.timeRange(id)->last, t0 + Count - 1);
}

void TestDashboard::binaryRefusesUnusableDatabase_data()
{
    QTest::addColumn<QString>("what");
    QTest::addColumn<QString>("reason");
    QTest::newRow("a directory with a file in it")
        << QStringLiteral("directory") << QStringLiteral("is a directory");
    QTest::newRow("a FIFO") << QStringLiteral("fifo") << QStringLiteral("is a FIFO");
    QTest::newRow("a history file of a newer format")
        << QStringLiteral("newer")
        << QStringLiteral("it was written by a newer Nightlight dashboard (history format 99");
}

void TestDashboard::binaryRefusesUnusableDatabase()
{
    // A --database the user named that cannot be used: one line on stderr, exit 2, and the path
    // untouched (before, a directory was renamed to .corrupt-<time> with the user's files in it
    // and the dashboard ran on a new, empty history).
    QFETCH(QString, what);
    QFETCH(QString, reason);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("history"));
    const QString userFile = path + QStringLiteral("/notes.txt");
    QByteArray newer; // the newer file's bytes
    if (what == QLatin1String("directory")) {
        QVERIFY(QDir().mkpath(path));
        QFile f(userFile);
        QVERIFY(f.open(QIODevice::WriteOnly));
        QCOMPARE(f.write("the user's own file\n"), qint64(20));
    } else if (what == QLatin1String("newer")) {
        // A history file of today with SQLite's user_version (header offset 60, big-endian) 99.
        QFile f(QFINDTESTDATA("data/history-0a0dc75.db"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        newer = f.readAll();
        QVERIFY(newer.size() > 100);
        newer[60] = 0;
        newer[61] = 0;
        newer[62] = 0;
        newer[63] = 99;
        QFile out(path);
        QVERIFY(out.open(QIODevice::WriteOnly));
        QCOMPARE(out.write(newer), qint64(newer.size()));
    } else {
        QCOMPARE(::mkfifo(QFile::encodeName(path).constData(), 0644), 0);
    }
    QProcess p;
    p.setProcessEnvironment(offscreenEnvironment());
    p.start(QStringLiteral(NIGHTLIGHT_DASHBOARD_BINARY),
            {QStringLiteral("--host"), m_broker.host(), QStringLiteral("--port"),
             QString::number(m_broker.port()), QStringLiteral("--settings"),
             dir.filePath(QStringLiteral("settings.ini")), QStringLiteral("--database"), path});
    QVERIFY(p.waitForFinished(30000));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 2);
    const QString err = QString::fromLocal8Bit(p.readAllStandardError());
    QVERIFY2(
        err.contains(QStringLiteral("nightlight-dashboard: cannot open history database %1: %2")
                         .arg(path, reason)),
        qPrintable(err));
    QVERIFY(QDir(dir.path()).entryList({QStringLiteral("*.corrupt-*")}).isEmpty());
    if (what == QLatin1String("directory")) {
        QVERIFY(QFileInfo(path).isDir());
        QFile f(userFile);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), QByteArray("the user's own file\n"));
        QCOMPARE(QDir(path).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
                 QStringList{QStringLiteral("notes.txt")});
    } else if (what == QLatin1String("newer")) {
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), newer);
    } else {
        struct stat st = {};
        QCOMPARE(::lstat(QFile::encodeName(path).constData(), &st), 0);
        QVERIFY(S_ISFIFO(st.st_mode));
    }
}

void TestDashboard::signalClosesLikeQuit_data()
{
    QTest::addColumn<int>("signalNumber");
    QTest::newRow("SIGTERM") << int(SIGTERM);
    QTest::newRow("SIGINT") << int(SIGINT);
    QTest::newRow("SIGHUP") << int(SIGHUP);
}

void TestDashboard::signalClosesLikeQuit()
{
    // The real binary, a real broker: samples it has received when the signal comes are in the
    // file afterwards, the window's settings are saved and it exits 0 (before: killed by the
    // signal, the last second of samples lost, no settings).
    QFETCH(int, signalNumber);
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("signal.sqlite"));
    const QString ini = dir.filePath(QStringLiteral("signal.ini"));
    const QString id = QStringLiteral("signal-%1").arg(signalNumber);
    const QString topic = telemetryTopic(id);
    QProcess dashboard;
    dashboard.setProcessEnvironment(offscreenEnvironment());
    dashboard.start(QStringLiteral(NIGHTLIGHT_DASHBOARD_BINARY),
                    {QStringLiteral("--host"), m_broker.host(), QStringLiteral("--port"),
                     QString::number(m_broker.port()), QStringLiteral("--id"), id,
                     QStringLiteral("--database"), db, QStringLiteral("--settings"), ini});
    QVERIFY(dashboard.waitForStarted(10000));
    auto guard = qScopeGuard([&] {
        if (dashboard.state() != QProcess::NotRunning) {
            dashboard.kill();
            dashboard.waitForFinished(5000);
        }
    });
    const auto publisher = m_broker.connectedClient();
    QVERIFY(publisher);

    // The handshake: the dashboard logs the first malformed payloads of a topic in full
    // ("ignoring malformed message on <topic>: <reason>"), in order with the samples around them.
    // A probe that cannot be decoded, on a topic of its own, is published until one is logged:
    // from then on the dashboard is subscribed to +/telemetry.
    QString log;
    const auto logged = [&](const QString &onTopic, const QString &reason) {
        log += QString::fromLocal8Bit(dashboard.readAllStandardError());
        return log.contains(
            QStringLiteral("ignoring malformed message on %1: %2").arg(onTopic, reason));
    };
    const QString probeTopic = telemetryTopic(id + QStringLiteral("-probe"));
    const auto probed = [&] {
        publisher->publish(probeTopic, QByteArray(R"({"light": "probe"})"));
        return logged(probeTopic, QStringLiteral("light must be a number"));
    };
    QTRY_VERIFY_WITH_TIMEOUT(probed(), 20000);

    constexpr int Count = 300;
    const qint64 t0 = QDateTime::currentMSecsSinceEpoch() - 60000;
    for (int i = 0; i < Count; ++i) {
        QVERIFY(publisher->publish(
            topic, QStringLiteral(R"({"light": %1, "ts": %2})").arg(i).arg(t0 + i).toUtf8()));
    }
    // The first malformed payload on the samples' topic, so logged in full, and only once every
    // sample before it has been decoded and handed to the store (one topic: delivered in order).
    QVERIFY(publisher->publish(topic, QByteArray("end of the samples")));
    QTRY_VERIFY_WITH_TIMEOUT(logged(topic, QStringLiteral("payload is not JSON")), 20000);

    QCOMPARE(::kill(pid_t(dashboard.processId()), signalNumber), 0);
    QVERIFY(dashboard.waitForFinished(20000));
    log += QString::fromLocal8Bit(dashboard.readAllStandardError());
    QCOMPARE(dashboard.exitStatus(), QProcess::NormalExit);
    QVERIFY2(dashboard.exitCode() == 0, qPrintable(log));

    // Every sample, at its ts.
    const QString connection = QStringLiteral("tst_dashboard.signal.%1").arg(signalNumber);
    {
        QSqlDatabase check = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connection);
        check.setDatabaseName(db);
        check.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY"));
        QVERIFY(check.open());
        QSqlQuery q(check);
        q.prepare(QStringLiteral("SELECT t, v FROM samples WHERE device = ? ORDER BY t"));
        q.addBindValue(id);
        QVERIFY(q.exec());
        QList<qint64> times;
        while (q.next()) {
            QCOMPARE(q.value(1).toDouble(), double(q.value(0).toLongLong() - t0));
            times << q.value(0).toLongLong();
        }
        QCOMPARE(times.size(), Count);
        QCOMPARE(times.first(), t0);
        QCOMPARE(times.last(), t0 + Count - 1);
    }
    QSqlDatabase::removeDatabase(connection);

    // Saved by closeEvent, as File > Quit does.
    QSettings settings(ini, QSettings::IniFormat);
    QVERIFY(settings.contains(QStringLiteral("window/geometry")));
    QVERIFY(settings.contains(QStringLiteral("window/state")));
    QCOMPARE(settings.value(QStringLiteral("lastDevice")).toString(), id);
}

namespace {

// The lines of category nightlight.dashboard.hub while it is alive.
class HubLog
{
public:
    HubLog() : m_previous(qInstallMessageHandler(handler)) { s_current = this; }
    ~HubLog()
    {
        qInstallMessageHandler(m_previous);
        s_current = nullptr;
    }
    QStringList lines;

private:
    static void handler(QtMsgType, const QMessageLogContext &context, const QString &text)
    {
        if (s_current && qstrcmp(context.category, "nightlight.dashboard.hub") == 0)
            s_current->lines.append(text);
    }
    static inline HubLog *s_current = nullptr;
    QtMessageHandler m_previous;
};

} // namespace

void TestDashboard::malformedFloodIsThrottled()
{
    // Any client of the broker can send the dashboard malformed messages as fast as the broker
    // forwards them: the hub counts every one, logs the first 5 of a topic in full, then
    // summaries with the count, and the rest when it goes (#9).
    const QString id = QStringLiteral("flood-1");
    const QString topic = telemetryTopic(id);
    constexpr int Batches = 4;
    constexpr int PerBatch = 500; // below mosquitto's 1000 queued messages per client
    const auto publisher = m_broker.connectedClient();
    QVERIFY(publisher);
    HubLog log;
    QStringList duringFlood;
    {
        MqttClient client;
        client.setHost(m_broker.host());
        client.setPort(m_broker.port());
        DeviceHub hub(&client);
        QList<double> heard;
        connect(&hub, &DeviceHub::telemetryReceived, this,
                [&](const QString &device, const Telemetry &t, qint64) {
                    if (device == id)
                        heard.append(t.light);
                });
        hub.startDiscovery();
        client.connectToHost();
        // Good readings until the wildcard subscription is in place.
        QTRY_VERIFY_WITH_TIMEOUT(
            (publisher->publish(topic, QByteArray(R"({"light": 0})"), 1), !heard.isEmpty()), 10000);
        // Each batch is closed by a good reading: one publisher, one subscriber, delivered in
        // order, so once it is heard the batch has been decoded.
        for (int batch = 1; batch <= Batches; ++batch) {
            for (int i = 0; i < PerBatch; ++i)
                QVERIFY(publisher->publish(topic, QByteArray(R"({"light": "dark"})"), 1));
            QVERIFY(publisher->publish(topic,
                                       QStringLiteral(R"({"light": %1})").arg(batch).toUtf8(), 1));
            QTRY_VERIFY_WITH_TIMEOUT(heard.contains(batch), 20000);
        }
        QCOMPARE(hub.malformedCount(), Batches * PerBatch);
        duringFlood = log.lines;
    }
    // 5 full lines (and a summary a minute, if this took that long), then the one at
    // destruction: all 2,000 accounted for.
    const QString full =
        QStringLiteral("ignoring malformed message on %1: light must be a number").arg(topic);
    const QRegularExpression summary(
        QStringLiteral("^malformed messages on %1: (\\d+) more in the last [0-9.]+ s \\((\\d+) so "
                       "far\\); last: light must be a number$")
            .arg(QRegularExpression::escape(topic)));
    QVERIFY2(log.lines.size() > duringFlood.size(), "no summary at destruction");
    QVERIFY2(log.lines.size() <= 10, qPrintable(log.lines.join(u'\n')));
    int counted = 0;
    for (const QString &line : log.lines) {
        const auto m = summary.match(line);
        if (m.hasMatch())
            counted += m.captured(1).toInt();
        else if (line == full)
            ++counted;
        else
            QFAIL(qPrintable(QStringLiteral("unexpected line: ") + line));
    }
    QCOMPARE(counted, Batches * PerBatch);
    QCOMPARE(log.lines.mid(0, 5), QStringList(5, full));
    QCOMPARE(summary.match(log.lines.last()).captured(2), QString::number(Batches * PerBatch));
}

namespace {

// Rows of `table` for `device`, read through a connection of its own (not the store's).
qint64 rowsOf(const QString &path, const QString &table, const QString &device)
{
    const QString name = QStringLiteral("tst_dashboard.rows");
    qint64 count = -1;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        db.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY"));
        if (db.open()) {
            QSqlQuery q(db);
            q.prepare(QStringLiteral("SELECT COUNT(*) FROM %1 WHERE device = ?").arg(table));
            q.addBindValue(device);
            if (q.exec() && q.next())
                count = q.value(0).toLongLong();
        }
    }
    QSqlDatabase::removeDatabase(name);
    return count;
}

// Answers the next modal Forget Device box once the event loop runs inside its exec(): ticks
// "delete history" as asked and clicks Forget (or Cancel). Counts the boxes it saw in *boxes and
// keeps the last one's text and informative text in *text.
void answerForgetBox(QObject *context, bool confirm, bool deleteHistory, int *boxes, QString *text)
{
    QTimer::singleShot(0, context, [=] {
        auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget());
        if (!box || !box->checkBox())
            return;
        ++*boxes;
        *text = box->text() + QLatin1Char('\n') + box->informativeText() + QLatin1Char('\n') +
            box->checkBox()->text();
        box->checkBox()->setChecked(deleteHistory);
        for (QAbstractButton *b : box->buttons()) {
            if (confirm ? b->objectName() == QLatin1String("forgetButton")
                        : box->buttonRole(b) == QMessageBox::RejectRole) {
                b->click();
            }
        }
    });
}

QStringList sorted(QStringList list)
{
    list.sort();
    return list;
}

} // namespace

void TestDashboard::bareStatusMakesNoDevice()
{
    // Item 8 of #9: any client can publish `<id>/status` on as many ids as it likes. A status
    // alone (or a payload that cannot be read) makes no device: no row, no subscription, nothing
    // in the file. The first reading makes one, and its status is known at once.
    const QString real = QStringLiteral("bare-real");
    DashboardOptions o = optionsFor(real);
    o.databasePath = m_dir.filePath(QStringLiteral("bare.sqlite"));
    o.settingsPath = m_dir.filePath(QStringLiteral("bare.ini"));
    const auto publisher = m_broker.connectedClient();
    QVERIFY(publisher);
    QStringList bare;
    for (int i = 0; i < 50; ++i)
        bare << QStringLiteral("bare-%1").arg(i);
    const QString promoted = bare.at(7);
    {
        MainWindow window(o);
        // Readings until the window's wildcard subscriptions are in place.
        QTRY_VERIFY_WITH_TIMEOUT((publisher->publish(telemetryTopic(real), R"({"light": 1})", 1),
                                  window.store()->contains(real)),
                                 10000);
        for (const QString &id : std::as_const(bare)) {
            QVERIFY(publisher->publish(statusTopic(id), "online", 1));
            QVERIFY(publisher->publish(statusTopic(id + QStringLiteral("-bad")), "maybe", 1));
            QVERIFY(publisher->publish(telemetryTopic(id + QStringLiteral("-bad")),
                                       R"({"light": "dark"})", 1));
        }
        // One publisher, one subscriber: once this reading is stored, all of the above is read.
        QVERIFY(publisher->publish(telemetryTopic(real), R"({"light": 2})", 1));
        QTRY_COMPARE_WITH_TIMEOUT(window.store()->last(real)->v, 2.0, 10000);
        QCOMPARE(window.hub()->malformedCount(), 2 * int(bare.size()));
        QCOMPARE(window.deviceModel()->deviceIds(), QStringList{real});
        for (const QString &id : std::as_const(bare))
            QVERIFY2(!window.hub()->isWatching(id), qPrintable(id));

        QVERIFY(publisher->publish(telemetryTopic(promoted), R"({"light": 3})", 1));
        QTRY_VERIFY_WITH_TIMEOUT(window.deviceModel()->rowOf(promoted) >= 0, 10000);
        QCOMPARE(window.deviceModel()->status(promoted), DeviceListModel::Status::Online);
        QVERIFY(window.hub()->isWatching(promoted));
    }
    // The file keeps the devices that sent a reading, and no other.
    DashboardOptions offline = o;
    offline.port = 1;
    MainWindow again(offline);
    QCOMPARE(sorted(again.deviceModel()->deviceIds()), sorted({real, promoted}));
}

void TestDashboard::stateAloneKeepsADevice()
{
    // A device that has sent a valid state (here with the LED off, so no LED change is stored)
    // is a device: it is in the file and listed after a restart. A device only named with --id
    // that never said anything is not.
    const QString id = QStringLiteral("state-only");
    const QString silent = QStringLiteral("state-silent");
    const auto publisher = m_broker.connectedClient();
    QVERIFY(publisher);
    DeviceState state;
    state.ledOn = false;
    state.ts = QDateTime::currentMSecsSinceEpoch() - 1000;
    QVERIFY(publisher->publish(stateTopic(id), encodeState(state), 1, true));
    auto cleanup = qScopeGuard([&] { publisher->publish(stateTopic(id), QByteArray(), 1, true); });
    DashboardOptions o = optionsFor(silent);
    o.databasePath = m_dir.filePath(QStringLiteral("state-only.sqlite"));
    o.settingsPath = m_dir.filePath(QStringLiteral("state-only.ini"));
    {
        MainWindow window(o);
        window.selectDevice(id);
        QTRY_VERIFY_WITH_TIMEOUT(window.hub()->lastState(id).has_value(), 10000);
        QCOMPARE(sorted(window.deviceModel()->deviceIds()), sorted({id, silent}));
    }
    DashboardOptions offline = o;
    offline.port = 1;
    offline.deviceId = QStringLiteral("state-other");
    MainWindow again(offline);
    QCOMPARE(sorted(again.deviceModel()->deviceIds()), sorted({id, offline.deviceId}));
}

void TestDashboard::deviceLimit()
{
    // Beyond --max-devices, messages from new ids are ignored: counted, logged through the
    // throttle (5 lines, then a summary), said once in the status bar. Known devices go on.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    DashboardOptions o;
    QCOMPARE(o.parse({QStringLiteral("nightlight-dashboard"), QStringLiteral("--host"),
                      m_broker.host(), QStringLiteral("--port"), QString::number(m_broker.port()),
                      QStringLiteral("--max-devices"), QStringLiteral("5"),
                      QStringLiteral("--database"), dir.filePath(QStringLiteral("limit.sqlite")),
                      QStringLiteral("--settings"), dir.filePath(QStringLiteral("limit.ini"))}),
             DashboardOptions::Outcome::Run);
    const auto publisher = m_broker.connectedClient();
    QVERIFY(publisher);
    const QString first = QStringLiteral("limit-0");
    constexpr int New = 20;
    HubLog log;
    QStringList duringRun;
    {
        MainWindow window(o);
        QTRY_VERIFY_WITH_TIMEOUT((publisher->publish(telemetryTopic(first), R"({"light": 0})", 1),
                                  window.deviceModel()->rowOf(first) >= 0),
                                 10000);
        QVERIFY(window.statusBar()->currentMessage().isEmpty());
        for (int round = 0; round < 2; ++round) {
            for (int i = 1; i <= New; ++i) {
                QVERIFY(publisher->publish(telemetryTopic(QStringLiteral("limit-%1").arg(i)),
                                           QStringLiteral(R"({"light": %1})").arg(i).toUtf8(), 1));
            }
        }
        QVERIFY(publisher->publish(telemetryTopic(first), R"({"light": 1000})", 1));
        QTRY_COMPARE_WITH_TIMEOUT(window.store()->last(first)->v, 1000.0, 10000);

        QStringList expected{first};
        for (int i = 1; i < 5; ++i)
            expected << QStringLiteral("limit-%1").arg(i);
        QCOMPARE(sorted(window.deviceModel()->deviceIds()), sorted(expected));
        for (int i = 5; i <= New; ++i) {
            const QString id = QStringLiteral("limit-%1").arg(i);
            QVERIFY2(!window.store()->contains(id), qPrintable(id));
            QVERIFY2(!window.hub()->isWatching(id), qPrintable(id));
        }
        const QString message = window.statusBar()->currentMessage();
        QVERIFY2(message.contains(QLatin1String("--max-devices")) &&
                     message.contains(QLatin1String(" 5 ")),
                 qPrintable(message));
        duringRun = log.lines;
    }
    // 16 new ids twice: 32 messages, the first 5 logged in full, the rest in the summary the
    // hub writes when it goes.
    const QRegularExpression full(
        QStringLiteral("^ignoring a message from new device limit-\\d+: the dashboard already "
                       "tracks 5 devices, its limit \\(--max-devices\\)$"));
    const QRegularExpression summary(
        QStringLiteral("^messages from new devices beyond the limit: (\\d+) more in the last "
                       "[0-9.]+ s \\((\\d+) so far\\); last: limit-20$"));
    int fullLines = 0;
    int counted = 0;
    for (const QString &line : std::as_const(log.lines)) {
        if (full.match(line).hasMatch()) {
            ++fullLines;
            ++counted;
        } else if (const auto m = summary.match(line); m.hasMatch()) {
            counted += m.captured(1).toInt();
            QCOMPARE(m.captured(2), QStringLiteral("32"));
        } else {
            QFAIL(qPrintable(QStringLiteral("unexpected line: ") + line));
        }
    }
    QCOMPARE(fullLines, 5);
    QCOMPARE(counted, 2 * (New - 4));
    QVERIFY(log.lines.size() > duringRun.size());
}

void TestDashboard::forgetDevice_data()
{
    QTest::addColumn<bool>("deleteHistory");
    QTest::newRow("with its history") << true;
    QTest::newRow("keeping its history") << false;
}

void TestDashboard::forgetDevice()
{
    // Forget Device (Delete in the list): asks, then takes the device out of the list, the store
    // and (if asked to) the file, and unsubscribes its exact topics. Its retained status and state
    // do not bring it back, now or at the next start; a new reading does.
    QFETCH(bool, deleteHistory);
    const QString gone =
        deleteHistory ? QStringLiteral("forget-all") : QStringLiteral("forget-keep");
    const QString stays = gone + QStringLiteral("-stays");
    const auto publisher = m_broker.connectedClient();
    QVERIFY(publisher);
    const qint64 t0 = QDateTime::currentMSecsSinceEpoch() - 60000;
    DeviceState state;
    state.ledOn = true;
    state.ts = t0;
    QVERIFY(publisher->publish(stateTopic(gone), encodeState(state), 1, true));
    QVERIFY(publisher->publish(statusTopic(gone), "online", 1, true));
    auto cleanup = qScopeGuard([&] {
        publisher->publish(stateTopic(gone), QByteArray(), 1, true);
        publisher->publish(statusTopic(gone), QByteArray(), 1, true);
    });
    DashboardOptions o = optionsFor(gone);
    o.databasePath = m_dir.filePath(gone + QStringLiteral(".sqlite"));
    o.settingsPath = m_dir.filePath(gone + QStringLiteral(".ini"));
    constexpr int Count = 20;
    {
        MainWindow window(o);
        window.show();
        window.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&window));
        QTRY_VERIFY_WITH_TIMEOUT(window.hub()->lastState(gone).has_value(), 10000);
        QTRY_VERIFY_WITH_TIMEOUT((publisher->publish(telemetryTopic(stays), R"({"light": 1})", 1),
                                  window.deviceModel()->rowOf(stays) >= 0),
                                 10000);
        for (int i = 0; i < Count; ++i) {
            QVERIFY(publisher->publish(
                telemetryTopic(gone),
                QStringLiteral(R"({"light": %1, "ts": %2})").arg(i).arg(t0 + i).toUtf8(), 1));
        }
        QTRY_COMPARE_WITH_TIMEOUT(window.store()->size(gone), qsizetype(Count), 10000);
        QCOMPARE(window.currentDevice(), gone);

        // The Edit menu and the list's context menu offer it.
        auto *forget = window.findChild<QAction *>(QStringLiteral("forgetDeviceAction"));
        QVERIFY(forget);
        QCOMPARE(window.deviceView()->contextMenuPolicy(), Qt::ActionsContextMenu);
        QVERIFY(window.deviceView()->actions().contains(forget));
        bool inEditMenu = false;
        for (QAction *menu : window.menuBar()->actions()) {
            if (menu->menu() && menu->text() == QLatin1String("&Edit"))
                inEditMenu = menu->menu()->actions().contains(forget);
        }
        QVERIFY(inEditMenu);

        // Delete in the list asks first; Cancel changes nothing.
        QString boxText;
        int boxes = 0;
        const auto answer = [&](bool confirm) {
            answerForgetBox(this, confirm, deleteHistory, &boxes, &boxText);
        };
        window.deviceView()->setFocus();
        answer(false);
        QTest::keyClick(window.deviceView(), Qt::Key_Delete);
        QCOMPARE(boxes, 1);
        QVERIFY(window.deviceModel()->rowOf(gone) >= 0);
        // The offscreen platform does not give the activation back when the box closes.
        window.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&window));
        window.deviceView()->setFocus();
        answer(true);
        QTest::keyClick(window.deviceView(), Qt::Key_Delete);
        QCOMPARE(boxes, 2);
        QVERIFY2(boxText.contains(QStringLiteral("Forget the device “%1”?").arg(gone)),
                 qPrintable(boxText));
        QVERIFY2(boxText.contains(QStringLiteral("(%1 readings)").arg(Count)), qPrintable(boxText));

        QCOMPARE(window.deviceModel()->rowOf(gone), -1);
        QVERIFY(!window.hub()->isWatching(gone));
        QCOMPARE(window.currentDevice(), stays);
        QCOMPARE(window.store()->size(gone), deleteHistory ? 0 : qsizetype(Count));
        QVERIFY(window.store()->flush());
        QCOMPARE(rowsOf(o.databasePath, QStringLiteral("samples"), gone),
                 deleteHistory ? 0 : qint64(Count));
        QCOMPARE(rowsOf(o.databasePath, QStringLiteral("led"), gone), deleteHistory ? 0 : 1);
        QCOMPARE(rowsOf(o.databasePath, QStringLiteral("samples"), stays),
                 qint64(window.store()->size(stays)));

        // Its state and status, still heard through the wildcards, add no device.
        QSignalSpy raw(window.client(), &MqttClient::messagesReceived);
        state.ledOn = false;
        state.ts = t0 + 1000;
        QVERIFY(publisher->publish(stateTopic(gone), encodeState(state), 1));
        QVERIFY(publisher->publish(statusTopic(gone), "online", 1));
        QVERIFY(publisher->publish(telemetryTopic(stays), R"({"light": 2})", 1));
        QTRY_COMPARE_WITH_TIMEOUT(window.store()->last(stays)->v, 2.0, 10000);
        QStringList topics;
        for (const QList<QVariant> &args : std::as_const(raw)) {
            for (const MqttMessage &m : args.at(0).value<QList<MqttMessage>>())
                topics << m.topic;
        }
        QVERIFY2(topics.contains(stateTopic(gone)), qPrintable(topics.join(u' ')));
        QVERIFY2(topics.contains(statusTopic(gone)), qPrintable(topics.join(u' ')));
        QCOMPARE(window.deviceModel()->rowOf(gone), -1);
        QVERIFY(!window.hub()->lastState(gone));
    }

    // The next start: its retained status and state are still on the broker, the history maybe
    // in the file; neither brings it back.
    {
        DashboardOptions again = o;
        again.deviceId.clear();
        MainWindow window(again);
        QCOMPARE(window.deviceModel()->deviceIds(), QStringList{stays});
        QCOMPARE(window.currentDevice(), stays);
        QTRY_VERIFY_WITH_TIMEOUT((publisher->publish(telemetryTopic(stays), R"({"light": 3})", 1),
                                  window.store()->last(stays)->v == 3.0),
                                 10000);
        QCOMPARE(window.deviceModel()->deviceIds(), QStringList{stays});
        QVERIFY(!window.hub()->isWatching(gone));

        // A reading: it is back, as a device heard of just now, its status already known.
        QVERIFY(publisher->publish(telemetryTopic(gone), R"({"light": 99})", 1));
        QTRY_VERIFY_WITH_TIMEOUT(window.deviceModel()->rowOf(gone) >= 0, 10000);
        QCOMPARE(window.deviceModel()->status(gone), DeviceListModel::Status::Online);
        QVERIFY(window.hub()->isWatching(gone));
        QCOMPARE(window.store()->sampleCount(gone), deleteHistory ? 1 : qsizetype(Count + 1));
    }
}

void TestDashboard::deviceListSortsAndFilters()
{
    // With thousands of devices the list is sorted by id (case aside) and a filter above it
    // narrows it; a device the filter hides stays selected. Forget Device takes all the rows
    // selected (a flood's devices: filter, select all, Delete).
    const QString path = m_dir.filePath(QStringLiteral("sorted.sqlite"));
    const QStringList ids{QStringLiteral("zeta"), QStringLiteral("alpha"), QStringLiteral("Beta-2"),
                          QStringLiteral("beta-1")};
    {
        TelemetryStore store;
        QVERIFY(store.open(path));
        for (const QString &id : ids)
            store.append(id, QDateTime::currentMSecsSinceEpoch(), 1);
    }
    DashboardOptions o = optionsFor(QStringLiteral("zeta"));
    o.port = 1; // the file only
    o.databasePath = path;
    o.settingsPath = m_dir.filePath(QStringLiteral("sorted.ini"));
    MainWindow window(o);
    const auto shown = [&] {
        QStringList out;
        const QAbstractItemModel *model = window.deviceView()->model();
        for (int row = 0; row < model->rowCount(); ++row)
            out << model->index(row, 0).data(DeviceListModel::DeviceIdRole).toString();
        return out;
    };
    QCOMPARE(shown(),
             (QStringList{QStringLiteral("alpha"), QStringLiteral("beta-1"),
                          QStringLiteral("Beta-2"), QStringLiteral("zeta")}));
    QCOMPARE(window.deviceView()->currentIndex().data(DeviceListModel::DeviceIdRole).toString(),
             QStringLiteral("zeta"));
    auto *filter = window.findChild<QLineEdit *>(QStringLiteral("deviceFilter"));
    QVERIFY(filter);
    QTest::keyClicks(filter, QStringLiteral("BETA"));
    QCOMPARE(shown(), (QStringList{QStringLiteral("beta-1"), QStringLiteral("Beta-2")}));
    QCOMPARE(window.currentDevice(), QStringLiteral("zeta"));
    QCOMPARE(window.chart()->device(), QStringLiteral("zeta"));
    QVERIFY(!window.deviceView()->currentIndex().isValid());
    // Forget Device takes every selected row: here all that the filter shows.
    auto *forget = window.findChild<QAction *>(QStringLiteral("forgetDeviceAction"));
    QVERIFY(forget);
    window.deviceView()->selectAll();
    int boxes = 0;
    QString boxText;
    answerForgetBox(this, true, true, &boxes, &boxText);
    forget->trigger();
    QCOMPARE(boxes, 1);
    QVERIFY2(boxText.startsWith(QStringLiteral("Forget 2 devices?")), qPrintable(boxText));
    QVERIFY2(boxText.contains(QStringLiteral("(2 readings)")), qPrintable(boxText));
    QVERIFY(shown().isEmpty());
    filter->clear();
    QCOMPARE(shown(), (QStringList{QStringLiteral("alpha"), QStringLiteral("zeta")}));
    QCOMPARE(window.deviceView()->currentIndex().data(DeviceListModel::DeviceIdRole).toString(),
             QStringLiteral("zeta"));
    QCOMPARE(window.currentDevice(), QStringLiteral("zeta"));
    QCOMPARE(window.store()->sampleCount(QStringLiteral("beta-1")), 0);
    QCOMPARE(window.store()->sampleCount(QStringLiteral("Beta-2")), 0);
    QCOMPARE(window.store()->sampleCount(QStringLiteral("alpha")), 1);
}

void TestDashboard::deviceListForFleets()
{
    // #10 item 2: natural order by id (d2 before d10), or by status, the same for the list and
    // the class view; counts in the list's header; one line a device however narrow the dock (no
    // horizontal scroll bar); and Forget Device from the class view, with its history after
    // confirmation.
    const QString path = m_dir.filePath(QStringLiteral("fleet.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    QStringList ids;
    {
        TelemetryStore store;
        QVERIFY(store.open(path));
        for (int i : {10, 2, 1, 20, 3})
            ids << QStringLiteral("desk%1").arg(i);
        ids << QStringLiteral("a-very-long-device-id-for-the-narrow-list-0123456789");
        for (const QString &id : std::as_const(ids)) {
            for (int k = 0; k < 5; ++k)
                store.append(id, now - 5000 + k * 1000, 100 + k);
        }
    }
    DashboardOptions o = optionsFor(QStringLiteral("desk3"));
    o.port = 1; // the file only
    o.databasePath = path;
    o.settingsPath = m_dir.filePath(QStringLiteral("fleet.ini"));
    auto window = std::make_unique<MainWindow>(o);
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    const auto shown = [&](const QAbstractItemModel *model) {
        QStringList out;
        for (int row = 0; row < model->rowCount(); ++row)
            out << model->index(row, 0).data(DeviceListModel::DeviceIdRole).toString();
        return out;
    };
    const QStringList natural{
        QStringLiteral("a-very-long-device-id-for-the-narrow-list-0123456789"),
        QStringLiteral("desk1"),
        QStringLiteral("desk2"),
        QStringLiteral("desk3"),
        QStringLiteral("desk10"),
        QStringLiteral("desk20")};
    QCOMPARE(shown(window->deviceView()->model()), natural);
    QCOMPARE(window->classView()->model(), window->deviceView()->model());

    // Counts: nothing has a status yet (no broker): all unknown.
    QCOMPARE(window->deviceCounts()->text(),
             QStringLiteral("0 online · 0 offline · 0 stale · 6 unknown"));
    // Statuses arrive (as from the hub): the header follows within its 200 ms coalescing.
    DeviceListModel *model = window->deviceModel();
    for (const QString &id : std::as_const(ids))
        model->noteStatus(id, Availability::Online);
    model->noteStatus(QStringLiteral("desk2"), Availability::Offline);
    model->noteTelemetry(QStringLiteral("desk10"), Telemetry{5, std::nullopt}, now);
    QTRY_COMPARE(window->deviceCounts()->text(), QStringLiteral("5 online · 1 offline · 0 stale"));
    QCOMPARE(window->findChild<QLabel *>(QStringLiteral("classCounts"))->text(),
             window->deviceCounts()->text());

    // Sort by status in the list's box: the class view's box follows, and so does the order.
    QComboBox *sort = window->deviceSort();
    sort->setCurrentIndex(sort->findData(int(DeviceSortProxy::SortKey::Status)));
    emit sort->activated(sort->currentIndex());
    QCOMPARE(window->classSort()->currentData().toInt(), int(DeviceSortProxy::SortKey::Status));
    QCOMPARE(shown(window->deviceView()->model()).constFirst(), QStringLiteral("desk2"));
    QCOMPARE(window->classView()->tileText(0).id, QStringLiteral("desk2"));
    // Remembered.
    {
        QSettings settings(o.settingsPath, QSettings::IniFormat);
        QCOMPARE(settings.value(QStringLiteral("devices/sort")).toInt(),
                 int(DeviceSortProxy::SortKey::Status));
    }
    window->classSort()->setCurrentIndex(0);
    emit window->classSort()->activated(0);
    QCOMPARE(shown(window->deviceView()->model()), natural);

    // A filter typed in the class view's box filters the list too.
    QTest::keyClicks(window->classFilter(), QStringLiteral("desk1"));
    QCOMPARE(window->deviceFilter()->text(), QStringLiteral("desk1"));
    QCOMPARE(shown(window->deviceView()->model()),
             (QStringList{QStringLiteral("desk1"), QStringLiteral("desk10")}));
    window->classFilter()->clear();
    QCOMPARE(window->deviceView()->model()->rowCount(), 6);

    // Narrow dock, the longest id and status: every row fits the view's width.
    model->noteTelemetry(QStringLiteral("desk20"), Telemetry{5, std::nullopt}, now);
    auto *dock = window->findChild<QDockWidget *>(QStringLiteral("devicesDock"));
    QVERIFY(dock);
    for (int width : {120, 200, 320}) {
        window->resizeDocks({dock}, {width}, Qt::Horizontal);
        QCoreApplication::processEvents();
        QListView *view = window->deviceView();
        view->doItemsLayout();
        QVERIFY2(view->horizontalScrollBar()->maximum() == 0,
                 qPrintable(QStringLiteral("dock %1 px: scroll range %2")
                                .arg(width)
                                .arg(view->horizontalScrollBar()->maximum())));
        QVERIFY(!view->horizontalScrollBar()->isVisible());
        // No text reaches the row's right edge: the last three pixel columns of every row are
        // its background, as its first column is (Bengali "অনলাইন" once touched the dock's edge).
        const QImage shot = view->viewport()->grab().toImage();
        for (int row = 0; row < view->model()->rowCount(); ++row) {
            const QRect r = view->visualRect(view->model()->index(row, 0));
            QVERIFY(r.right() <= view->viewport()->width());
            for (int x = r.right() - 2; x <= r.right(); ++x) {
                for (int y = r.top(); y <= r.bottom(); ++y) {
                    QVERIFY2(shot.pixel(x, y) == shot.pixel(r.left(), y),
                             qPrintable(QStringLiteral("dock %1 px, row %2: ink at x %3 of %4")
                                            .arg(width)
                                            .arg(row)
                                            .arg(x)
                                            .arg(r.right())));
                }
            }
        }
    }

    // Forget from the class view's context menu: asks, and with the box ticked deletes the
    // history too.
    window->setClassViewShown(true);
    int boxes = 0;
    QString boxText;
    answerForgetBox(this, true, true, &boxes, &boxText);
    emit window->classView()->forgetRequested(QStringLiteral("desk10"));
    QCOMPARE(boxes, 1);
    QVERIFY2(boxText.contains(QStringLiteral("“desk10”")), qPrintable(boxText));
    QVERIFY2(boxText.contains(QStringLiteral("(5 readings)")), qPrintable(boxText));
    QCOMPARE(model->rowOf(QStringLiteral("desk10")), -1);
    QCOMPARE(window->store()->size(QStringLiteral("desk10")), 0);
    QVERIFY(window->store()->flush());
    QCOMPARE(rowsOf(path, QStringLiteral("samples"), QStringLiteral("desk10")), 0);
    QCOMPARE(rowsOf(path, QStringLiteral("samples"), QStringLiteral("desk1")), 5);
    QCOMPARE(window->classView()->model()->rowCount(), 5);
    QTRY_COMPARE(window->deviceCounts()->text(), QStringLiteral("4 online · 1 offline · 0 stale"));
}

void TestDashboard::classViewIsRemembered()
{
    // View > Class and the toolbar's toggle switch between the detail and the class view; the
    // choice is remembered, --view overrides it; a click on a tile opens that device in the
    // detail view.
    const QString path = m_dir.filePath(QStringLiteral("classview.sqlite"));
    {
        TelemetryStore store;
        QVERIFY(store.open(path));
        for (const QString &id :
             {QStringLiteral("k1"), QStringLiteral("k2"), QStringLiteral("k10")})
            store.append(id, QDateTime::currentMSecsSinceEpoch(), 1);
    }
    DashboardOptions o = optionsFor(QStringLiteral("k1"));
    o.port = 1;
    o.databasePath = path;
    o.settingsPath = m_dir.filePath(QStringLiteral("classview.ini"));
    {
        MainWindow window(o);
        QVERIFY(!window.isClassViewShown());
        QAction *action = window.classViewAction();
        QVERIFY(action->isCheckable());
        bool inViewMenu = false;
        for (QAction *menu : window.menuBar()->actions()) {
            if (menu->menu() && menu->text() == QLatin1String("&View"))
                inViewMenu = menu->menu()->actions().contains(action);
        }
        QVERIFY(inViewMenu);
        auto *toolbar = window.findChild<QToolBar *>(QStringLiteral("viewToolBar"));
        QVERIFY(toolbar && toolbar->actions().contains(action));
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        action->trigger();
        QVERIFY(window.isClassViewShown());
        auto *views = window.findChild<QStackedWidget *>(QStringLiteral("views"));
        QVERIFY(views);
        QCOMPARE(views->currentWidget()->findChild<ClassView *>(), window.classView());
        QTRY_VERIFY(window.classView()->isVisible());
        window.close();
    }
    {
        MainWindow window(o);
        QVERIFY(window.isClassViewShown());
        QVERIFY(window.classViewAction()->isChecked());
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        ClassView *view = window.classView();
        QTRY_COMPARE(view->tileText(2).id, QStringLiteral("k10"));
        QCOMPARE(view->currentDevice(), QStringLiteral("k1"));
        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, view->tileRect(2).center());
        QVERIFY(!window.isClassViewShown());
        QCOMPARE(window.currentDevice(), QStringLiteral("k10"));
        QCOMPARE(window.chart()->device(), QStringLiteral("k10"));
        QCOMPARE(view->currentDevice(), QStringLiteral("k10"));
    }
    for (const QString &view : {QStringLiteral("class"), QStringLiteral("detail")}) {
        DashboardOptions forced = o;
        forced.view = view;
        MainWindow window(forced);
        QCOMPARE(window.isClassViewShown(), view == QLatin1String("class"));
    }
}

void TestDashboard::classViewFitsHundredDevices()
{
    // Done-when of #10: 100 devices sending readings, a 1920x1080 window in the class view
    // shows all 100 tiles at once (no scrolling), and they follow new readings.
    const auto publisher = m_broker.connectedClient();
    QVERIFY(publisher);
    DashboardOptions o = optionsFor(QString());
    o.databasePath = m_dir.filePath(QStringLiteral("hundred.sqlite"));
    o.settingsPath = m_dir.filePath(QStringLiteral("hundred.ini"));
    o.view = QStringLiteral("class");
    MainWindow window(o);
    window.resize(1920, 1080);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QTRY_VERIFY_WITH_TIMEOUT(window.client()->isConnected(), 10000);
    const auto publishAll = [&](int round) {
        for (int i = 1; i <= 100; ++i) {
            publisher->publish(telemetryTopic(QStringLiteral("fleet%1").arg(i)),
                               QStringLiteral(R"({"light": %1})").arg(round * 1000 + i).toUtf8(),
                               1);
        }
    };
    // The wildcard subscription may not be in place at once: publish until all are listed.
    QTRY_VERIFY_WITH_TIMEOUT((publishAll(0), window.deviceModel()->rowCount() == 100), 10000);
    ClassView *view = window.classView();
    QCOMPARE(window.size(), QSize(1920, 1080));
    QTRY_COMPARE(view->visibleRows(), qMakePair(0, 99));
    QCOMPARE(view->verticalScrollBar()->maximum(), 0);
    for (int row = 0; row < 100; ++row)
        QVERIFY2(view->viewport()->rect().contains(view->tileRect(row)),
                 qPrintable(QString::number(row)));
    // Natural order: fleet2 second, fleet10 tenth.
    QCOMPARE(view->tileText(1).id, QStringLiteral("fleet2"));
    QCOMPARE(view->tileText(9).id, QStringLiteral("fleet10"));
    // Live: a new round of readings reaches the tiles, and one repaint draws all 100.
    publishAll(7);
    QTRY_COMPARE_WITH_TIMEOUT(view->tileText(99).value, QStringLiteral("7,100"), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(view->tileText(0).value, QStringLiteral("7,001"), 10000);
    const int paints = view->paintCount();
    QTRY_VERIFY(view->paintCount() > paints || !view->isDirty());
    QImage frame(view->viewport()->size(), QImage::Format_ARGB32_Premultiplied);
    view->viewport()->render(&frame);
    QCOMPARE(view->tilesPainted(), 100);
    frame.save(QStringLiteral(NIGHTLIGHT_SCREENSHOT_DIR "/tst_dashboard-classview.png"));
}

void TestDashboard::spamKeepsMemoryBounded_data()
{
    QTest::addColumn<QString>("kind"); // the topic the spam goes to
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<qint64>("maxGrowthKb");
    QTest::newRow("10,000 status topics")
        << QStringLiteral("status") << QStringList{} << qint64(3072);
    QTest::newRow("10,000 telemetry topics, --max-devices 1000")
        << QStringLiteral("telemetry")
        << QStringList{QStringLiteral("--max-devices"), QStringLiteral("1000")} << qint64(8192);
}

void TestDashboard::spamKeepsMemoryBounded()
{
    // The real binary on a broker of its own: its peak resident set (VmHWM) before and after
    // 10,000 ids publish once each. The numbers are in docs/dashboard.md ("Device limits").
    QFETCH(QString, kind);
    QFETCH(QStringList, options);
    QFETCH(qint64, maxGrowthKb);
    TestBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QProcess dashboard;
    dashboard.setProcessEnvironment(offscreenEnvironment());
    dashboard.start(QStringLiteral(NIGHTLIGHT_DASHBOARD_BINARY),
                    QStringList{QStringLiteral("--host"), broker.host(), QStringLiteral("--port"),
                                QString::number(broker.port()), QStringLiteral("--database"),
                                dir.filePath(QStringLiteral("spam.sqlite")),
                                QStringLiteral("--settings"),
                                dir.filePath(QStringLiteral("spam.ini"))} +
                        options);
    QVERIFY(dashboard.waitForStarted(10000));
    auto guard = qScopeGuard([&] {
        if (dashboard.state() != QProcess::NotRunning) {
            dashboard.kill();
            dashboard.waitForFinished(5000);
        }
    });
    const auto publisher = broker.connectedClient();
    QVERIFY(publisher);
    // The handshake of signalClosesLikeQuit: a malformed reading on a topic of its own is logged
    // in full, in order with what was published before it.
    QString log;
    const auto probed = [&](int n) {
        const QString topic = telemetryTopic(QStringLiteral("probe-%1").arg(n));
        log += QString::fromLocal8Bit(dashboard.readAllStandardError());
        return log.contains(
            QStringLiteral("ignoring malformed message on %1: light must be a number").arg(topic));
    };
    const auto probe = [&](int n) {
        return publisher->publish(telemetryTopic(QStringLiteral("probe-%1").arg(n)),
                                  R"({"light": "probe"})", 1);
    };
    QTRY_VERIFY_WITH_TIMEOUT((probe(0), probed(0)), 20000);
    const qint64 before = peakRssKb(dashboard.processId());
    QVERIFY(before > 0);
    constexpr int Batches = 20;
    constexpr int PerBatch = 500; // below mosquitto's 1000 queued messages per client
    for (int batch = 1; batch <= Batches; ++batch) {
        for (int i = 0; i < PerBatch; ++i) {
            const QString id =
                QStringLiteral("spam-%1").arg((batch - 1) * PerBatch + i, 5, 10, QLatin1Char('0'));
            QVERIFY(kind == QLatin1String("status")
                        ? publisher->publish(statusTopic(id), "online", 1)
                        : publisher->publish(telemetryTopic(id), R"({"light": 5})", 1));
        }
        QVERIFY(probe(batch));
        QTRY_VERIFY_WITH_TIMEOUT(probed(batch), 30000);
    }
    const qint64 after = peakRssKb(dashboard.processId());
    qInfo("%s: VmHWM %lld kB before, %lld kB after (+%lld kB)", QTest::currentDataTag(), before,
          after, after - before);
    QVERIFY2(after - before < maxGrowthKb,
             qPrintable(QStringLiteral("grew by %1 kB").arg(after - before)));
}

// Issue #9: the broker restarts three times under a device at 100 ms and the real dashboard;
// each time both reconnect, the device first. Every sample the device took (it logs each one
// with --verbose) is in the dashboard's database: the device sends what it replays and takes
// in the minute after a connect at QoS 1, the dashboard has a persistent session with a QoS 1
// subscription, so the broker queues them for it.
void TestDashboard::noSampleLostWhenBothReconnect()
{
    if (QLatin1String(NIGHTLIGHT_DEVICE_BINARY).isEmpty())
        QSKIP("nightlight-device is not built");
    TestBroker broker; // its own: it restarts
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("restarts.sqlite"));
    const QString id = QStringLiteral("restarts");

    QProcess dashboard;
    dashboard.setProcessEnvironment(offscreenEnvironment());
    dashboard.setProcessChannelMode(QProcess::ForwardedChannels);
    dashboard.start(QStringLiteral(NIGHTLIGHT_DASHBOARD_BINARY),
                    {QStringLiteral("--host"), broker.host(), QStringLiteral("--port"),
                     QString::number(broker.port()), QStringLiteral("--id"), id,
                     QStringLiteral("--database"), db, QStringLiteral("--settings"),
                     dir.filePath(QStringLiteral("restarts.ini"))});
    QVERIFY(dashboard.waitForStarted(10000));
    // The dashboard subscribes first (a sample published before a subscriber has ever been
    // there is not kept for it): a probe on another id, published until it is in the file.
    const QString connection = QStringLiteral("tst_dashboard.restarts");
    QSqlDatabase check = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connection);
    auto removeConnection = qScopeGuard([&] {
        check = QSqlDatabase();
        QSqlDatabase::removeDatabase(connection);
    });
    check.setDatabaseName(db);
    check.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY"));
    QSet<qint64> stored;
    const auto readStored = [&](const QString &device) {
        if (!check.isOpen() && !check.open())
            return false;
        QSqlQuery q(check);
        q.prepare(QStringLiteral("SELECT DISTINCT t FROM samples WHERE device = ?"));
        q.addBindValue(device);
        stored.clear();
        if (!q.exec())
            return false;
        while (q.next())
            stored.insert(q.value(0).toLongLong());
        return !stored.isEmpty();
    };
    {
        const auto probe = broker.connectedClient();
        QVERIFY(probe);
        const auto probed = [&] {
            probe->publish(telemetryTopic(QStringLiteral("restarts-probe")),
                           QByteArray(R"({"light": 1})"), 1);
            return readStored(QStringLiteral("restarts-probe"));
        };
        QTRY_VERIFY_WITH_TIMEOUT(probed(), 20000);
    }
    QProcess device;
    device.start(
        QStringLiteral(NIGHTLIGHT_DEVICE_BINARY),
        {QStringLiteral("--id"), id, QStringLiteral("--host"), broker.host(),
         QStringLiteral("--port"), QString::number(broker.port()), QStringLiteral("--interval-ms"),
         QStringLiteral("100"), QStringLiteral("--reconnect-min-ms"), QStringLiteral("50"),
         QStringLiteral("--reconnect-max-ms"), QStringLiteral("200"), QStringLiteral("--verbose")});
    QVERIFY(device.waitForStarted(5000));
    auto guard = qScopeGuard([&] {
        for (QProcess *p : {&device, &dashboard}) {
            if (p->state() != QProcess::NotRunning) {
                p->kill();
                p->waitForFinished(5000);
            }
        }
    });

    QByteArray deviceLog;
    QSet<qint64> taken;
    const QRegularExpression sampleLine(QStringLiteral("telemetry ts=(\\d+)"));
    const auto readDevice = [&] {
        deviceLog += device.readAllStandardError();
        taken.clear();
        for (auto it = sampleLine.globalMatch(QString::fromUtf8(deviceLog)); it.hasNext();)
            taken.insert(it.next().captured(1).toLongLong());
        return taken.size();
    };
    const auto bothConnected = [&] {
        const QString log = broker.log();
        return log.contains(QStringLiteral(" as nightlight-dashboard-")) &&
            log.contains(QStringLiteral(" as %1-nightlight-device").arg(id));
    };
    QTRY_VERIFY_WITH_TIMEOUT(bothConnected(), 20000);
    for (int restart = 0; restart < 3; ++restart) {
        const int before = readDevice();
        QTRY_VERIFY_WITH_TIMEOUT(readDevice() >= before + 10, 10000);
        broker.stop();
        QVERIFY2(broker.restart(), qPrintable(broker.errorString()));
        QTRY_VERIFY_WITH_TIMEOUT(bothConnected(), 20000);
    }
    const int before = readDevice();
    QTRY_VERIFY_WITH_TIMEOUT(readDevice() >= before + 10, 10000);
    device.terminate();
    QVERIFY(device.waitForFinished(10000));
    QCOMPARE(device.exitCode(), 0);
    readDevice();

    // Everything the device took reaches the file (the dashboard writes in batches).
    const auto all = [&] {
        return readStored(id) && stored.contains(taken);
    };
    if (!QTest::qWaitFor(all, 20000)) {
        QList<qint64> missing(taken.cbegin(), taken.cend());
        missing.erase(std::remove_if(missing.begin(), missing.end(),
                                     [&](qint64 t) { return stored.contains(t); }),
                      missing.end());
        std::sort(missing.begin(), missing.end());
        QStringList text;
        for (qint64 t : missing)
            text << QString::number(t);
        QFAIL(qPrintable(QStringLiteral("%1 of %2 samples missing: %3")
                             .arg(missing.size())
                             .arg(taken.size())
                             .arg(text.join(u' '))));
    }
    qInfo("%lld samples taken, all in the database", qint64(taken.size()));

    dashboard.terminate();
    QVERIFY(dashboard.waitForFinished(20000));
    QCOMPARE(dashboard.exitStatus(), QProcess::NormalExit);
    QCOMPARE(dashboard.exitCode(), 0);
}

// Issue #9: one 100 MB retained status and one 100 MB telemetry message took the dashboard from
// about 36 MB to 344 MB. Both are dropped unread now: by the MQTT 5 broker (Maximum Packet
// Size), or, on 3.1.1, by the client reading past them.
void TestDashboard::hugeMessagesAreDroppedUnread()
{
    TestBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    QTemporaryDir dir;
    const QString huge = dir.filePath(QStringLiteral("huge"));
    {
        QFile out(huge);
        QVERIFY(out.open(QIODevice::WriteOnly));
        const QByteArray chunk(1024 * 1024, 'x');
        for (int i = 0; i < 100; ++i)
            QVERIFY(out.write(chunk) == chunk.size());
    }
    const auto pub = [&](const QStringList &args) {
        return mosquittoPub(broker, args);
    };
    QVERIFY(
        pub({QStringLiteral("-r"), QStringLiteral("-q"), QStringLiteral("1"), QStringLiteral("-t"),
             QStringLiteral("huge1/status"), QStringLiteral("-f"), huge}));

    QProcess dashboard;
    dashboard.setProcessEnvironment(offscreenEnvironment());
    dashboard.setProcessChannelMode(QProcess::ForwardedChannels);
    dashboard.start(QStringLiteral(NIGHTLIGHT_DASHBOARD_BINARY),
                    {QStringLiteral("--host"), broker.host(), QStringLiteral("--port"),
                     QString::number(broker.port()), QStringLiteral("--database"),
                     dir.filePath(QStringLiteral("huge.sqlite")), QStringLiteral("--settings"),
                     dir.filePath(QStringLiteral("huge.ini"))});
    QVERIFY(dashboard.waitForStarted(10000));
    auto guard = qScopeGuard([&] {
        if (dashboard.state() != QProcess::NotRunning) {
            dashboard.kill();
            dashboard.waitForFinished(5000);
        }
    });
    // Handshake through the file: a small sample, published until it is stored, shows that
    // the dashboard is subscribed (and has been offered the retained huge status); a second
    // one, after the huge telemetry on one connection, that the huge one has been dealt with.
    const QString connection = QStringLiteral("tst_dashboard.huge");
    {
        QSqlDatabase check = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connection);
        check.setDatabaseName(dir.filePath(QStringLiteral("huge.sqlite")));
        check.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY"));
        const auto storedFrom = [&](const QString &device) {
            if (!check.isOpen() && !check.open())
                return false;
            QSqlQuery q(check);
            q.prepare(QStringLiteral("SELECT count(*) FROM samples WHERE device = ?"));
            q.addBindValue(device);
            return q.exec() && q.next() && q.value(0).toInt() > 0;
        };
        const auto probed = [&] {
            pub({QStringLiteral("-q"), QStringLiteral("1"), QStringLiteral("-t"),
                 QStringLiteral("small1/telemetry"), QStringLiteral("-m"),
                 QStringLiteral(R"({"light": 7})")});
            return storedFrom(QStringLiteral("small1"));
        };
        QTRY_VERIFY_WITH_TIMEOUT(probed(), 30000);
        QVERIFY(pub({QStringLiteral("-q"), QStringLiteral("1"), QStringLiteral("-t"),
                     QStringLiteral("huge2/telemetry"), QStringLiteral("-f"), huge}));
        QVERIFY(pub({QStringLiteral("-q"), QStringLiteral("1"), QStringLiteral("-t"),
                     QStringLiteral("small2/telemetry"), QStringLiteral("-m"),
                     QStringLiteral(R"({"light": 8})")}));
        QTRY_VERIFY_WITH_TIMEOUT(storedFrom(QStringLiteral("small2")), 30000);
        check.close();
    }
    QSqlDatabase::removeDatabase(connection);
    const qint64 peak = peakRssKb(dashboard.processId());
    qInfo("dashboard peak RSS %lld KiB after a 100 MB retained status and 100 MB telemetry", peak);
    // Its own peak is about 40 MB; holding either message once would be over 140 MB.
    QVERIFY2(peak > 0 && peak < 90 * 1024, qPrintable(QString::number(peak)));
    dashboard.terminate();
    QVERIFY(dashboard.waitForFinished(20000));
    QCOMPARE(dashboard.exitCode(), 0);
}

QTEST_MAIN(TestDashboard)
#include "tst_dashboard.moc"
