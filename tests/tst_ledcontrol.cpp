// LedControl with a real broker and the real nightlight-device: pending -> confirmed, a killed
// device -> timeout -> failure and the real state, a state from another dashboard, and a
// lesson-style device (telemetry only) that gets nothing but {"led_on": b}.

#include "childprocess.h"
#include "devicehub.h"
#include "ledcontrol.h"
#include "ledcontrolwidget.h"
#include "mqttclient.h"
#include "protocol.h"
#include "testbroker.h"

#include <QAbstractButton>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace nightlight;

#ifndef NIGHTLIGHT_DEVICE_BINARY
#define NIGHTLIGHT_DEVICE_BINARY ""
#endif

class TestLedControl : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void commandFor_data();
    void commandFor();
    void confirmedByDevice_data();
    void confirmedByDevice();
    void killedDeviceTimesOut();
    void stateFromAnotherDashboard();
    void lessonDevice_data();
    void lessonDevice();
    void switchingBackKeepsWhatWasHeard();
    void disabledWhileNotConnected();

private:
    std::unique_ptr<QProcess> startDevice(const QString &id);

    TestBroker m_broker;
};

std::unique_ptr<QProcess> TestLedControl::startDevice(const QString &id)
{
    auto p = std::make_unique<QProcess>();
    p->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    dieWithTest(*p);
    p->start(QStringLiteral(NIGHTLIGHT_DEVICE_BINARY),
             {QStringLiteral("--id"), id, QStringLiteral("--host"), m_broker.host(),
              QStringLiteral("--port"), QString::number(m_broker.port()),
              QStringLiteral("--interval-ms"), QStringLiteral("200"), QStringLiteral("--sensor"),
              QStringLiteral("simulated")});
    if (!p->waitForStarted(5000))
        return nullptr;
    return p;
}

void TestLedControl::initTestCase()
{
    QVERIFY2(m_broker.start(), qPrintable(m_broker.errorString()));
}

void TestLedControl::commandFor_data()
{
    QTest::addColumn<LedControl::Choice>("choice");
    QTest::addColumn<QByteArray>("json");
    QTest::newRow("on is the lesson's led_on true")
        << LedControl::Choice::On << QByteArray(R"({"led_on":true})");
    QTest::newRow("off is the lesson's led_on false")
        << LedControl::Choice::Off << QByteArray(R"({"led_on":false})");
    QTest::newRow("auto is mode auto")
        << LedControl::Choice::Auto << QByteArray(R"({"mode":"auto"})");
}

void TestLedControl::commandFor()
{
    QFETCH(LedControl::Choice, choice);
    QFETCH(QByteArray, json);
    const auto decoded = decodeCommand(encodeCommand(LedControl::commandFor(choice)));
    QVERIFY(decoded);
    QCOMPARE(*decoded, *decodeCommand(json));
}

void TestLedControl::confirmedByDevice_data()
{
    QTest::addColumn<QList<LedControl::Choice>>("sequence");
    QTest::newRow("on then off") << QList<LedControl::Choice>{LedControl::Choice::On,
                                                              LedControl::Choice::Off};
    QTest::newRow("off then auto")
        << QList<LedControl::Choice>{LedControl::Choice::Off, LedControl::Choice::Auto};
    QTest::newRow("same choice twice")
        << QList<LedControl::Choice>{LedControl::Choice::On, LedControl::Choice::On};
}

void TestLedControl::confirmedByDevice()
{
    if (QLatin1String(NIGHTLIGHT_DEVICE_BINARY).isEmpty())
        QSKIP("nightlight-device is not built");
    QFETCH(QList<LedControl::Choice>, sequence);
    // One device per row: a fresh id, so no retained state of an earlier row is seen.
    static int row = 0;
    const QString id = QStringLiteral("confirm-%1").arg(++row);
    auto device = startDevice(id);
    QVERIFY(device);
    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    LedControl control(client.get(), &hub);
    control.setDeviceId(id);
    QVERIFY(hub.isWatching(id));
    // The retained state shows the real LED before anything is clicked.
    QTRY_VERIFY_WITH_TIMEOUT(control.hasState(), 10000);
    QVERIFY(control.realChoice() != LedControl::Choice::None);
    QVERIFY(control.isEnabled(LedControl::Choice::Auto));

    for (LedControl::Choice choice : sequence) {
        QSignalSpy confirmed(&control, &LedControl::confirmed);
        QSignalSpy failed(&control, &LedControl::failed);
        QVERIFY(control.request(choice));
        QCOMPARE(control.phase(), LedControl::Phase::Pending);
        QCOMPARE(control.shownChoice(), choice);
        QVERIFY(control.message().contains(QLatin1String("waiting")));
        QVERIFY(confirmed.wait(5000));
        QCOMPARE(confirmed.constFirst().constFirst().value<LedControl::Choice>(), choice);
        QCOMPARE(control.phase(), LedControl::Phase::Confirmed);
        QCOMPARE(control.realChoice(), choice);
        QCOMPARE(control.shownChoice(), choice);
        QVERIFY(control.message().contains(QLatin1String("confirmed")));
        QVERIFY(failed.isEmpty());
    }
    device->kill();
    device->waitForFinished();
}

void TestLedControl::killedDeviceTimesOut()
{
    if (QLatin1String(NIGHTLIGHT_DEVICE_BINARY).isEmpty())
        QSKIP("nightlight-device is not built");
    const QString id = QStringLiteral("killed");
    auto device = startDevice(id);
    QVERIFY(device);
    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    LedControl control(client.get(), &hub);
    QCOMPARE(control.timeout(), 3000); // the app's default
    control.setTimeout(500);
    control.setDeviceId(id);
    QTRY_VERIFY_WITH_TIMEOUT(control.hasState() && control.isOnline(), 10000);
    // Put the LED in a known manual state first (confirmed by the live device).
    QSignalSpy confirmed(&control, &LedControl::confirmed);
    QVERIFY(control.request(LedControl::Choice::Off));
    QVERIFY(confirmed.wait(5000));

    device->kill(); // SIGKILL: no clean disconnect, the broker publishes the Last Will
    device->waitForFinished();
    QTRY_VERIFY_WITH_TIMEOUT(!control.isOnline(), 10000);

    QSignalSpy failed(&control, &LedControl::failed);
    QElapsedTimer clock;
    clock.start();
    QVERIFY(control.request(LedControl::Choice::On));
    QCOMPARE(control.phase(), LedControl::Phase::Pending);
    QCOMPARE(control.shownChoice(), LedControl::Choice::On);
    QVERIFY(failed.wait(5000));
    QVERIFY2(clock.elapsed() >= 450, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(control.phase(), LedControl::Phase::Failed);
    QCOMPARE(control.message(), QStringLiteral("Device did not confirm within 0.5 s"));
    QCOMPARE(failed.constFirst().at(1).toString(), control.message());
    // Back to what the device really does: manual off.
    QCOMPARE(control.shownChoice(), LedControl::Choice::Off);
    QCOMPARE(control.realChoice(), LedControl::Choice::Off);

    // The default timeout's text says 3 s.
    control.setTimeout(LedControl::DefaultTimeoutMs);
    QVERIFY(control.request(LedControl::Choice::On));
    QVERIFY(failed.wait(6000));
    QCOMPARE(control.message(), QStringLiteral("Device did not confirm within 3 s"));
}

void TestLedControl::stateFromAnotherDashboard()
{
    // A retained state published by someone else (here: a second client standing in for the
    // device answering another dashboard) updates what the control shows.
    const QString id = QStringLiteral("shared");
    auto other = m_broker.connectedClient();
    QVERIFY(other);
    DeviceState s;
    s.ledOn = true;
    s.mode = Mode::Manual;
    QVERIFY(other->publish(stateTopic(id), encodeState(s), 1, true));

    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    LedControl control(client.get(), &hub);
    QSignalSpy changed(&control, &LedControl::changed);
    control.setDeviceId(id);
    QTRY_COMPARE_WITH_TIMEOUT(control.realChoice(), LedControl::Choice::On, 5000);
    QCOMPARE(control.stateText(), QStringLiteral("LED on · manual"));

    // The other dashboard's command, answered by a new state.
    QSignalSpy commands(other.get(), &MqttClient::messageReceived);
    QVERIFY(other->subscribe(commandsTopic(id), 1));
    QVERIFY(other->publish(commandsTopic(id),
                           encodeCommand(LedControl::commandFor(LedControl::Choice::Auto)), 1));
    QTRY_VERIFY_WITH_TIMEOUT(!commands.isEmpty(), 5000);
    s.mode = Mode::Auto;
    s.ledOn = false;
    QVERIFY(other->publish(stateTopic(id), encodeState(s), 1, true));
    QTRY_COMPARE_WITH_TIMEOUT(control.realChoice(), LedControl::Choice::Auto, 5000);
    QCOMPARE(control.shownChoice(), LedControl::Choice::Auto);
    QCOMPARE(control.phase(), LedControl::Phase::Idle);
    QVERIFY(changed.size() >= 2);
    // Clean up the retained message for other tests.
    QVERIFY(other->publish(stateTopic(id), QByteArray(), 1, true));
    QTRY_VERIFY_WITH_TIMEOUT(!control.hasState(), 5000);
}

void TestLedControl::lessonDevice_data()
{
    QTest::addColumn<LedControl::Choice>("choice");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("on sends only led_on true")
        << LedControl::Choice::On << QByteArray(R"({"led_on":true})");
    QTest::newRow("off sends only led_on false")
        << LedControl::Choice::Off << QByteArray(R"({"led_on":false})");
}

void TestLedControl::lessonDevice()
{
    QFETCH(LedControl::Choice, choice);
    QFETCH(QByteArray, expected);
    const QString id = QStringLiteral("lesson-") + QString::number(int(choice));

    // The lesson device: publishes telemetry only, listens to its commands.
    auto lesson = m_broker.connectedClient();
    QVERIFY(lesson);
    QSignalSpy commands(lesson.get(), &MqttClient::messageReceived);
    QVERIFY(lesson->subscribe(commandsTopic(id), 1));

    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    hub.startDiscovery();
    LedControl control(client.get(), &hub);
    control.setDeviceId(id);
    QVERIFY(control.message().contains(QLatin1String("Waiting")));

    // Telemetry until the control has seen some (the subscription may still be on its way).
    QTRY_VERIFY_WITH_TIMEOUT(
        (lesson->publish(telemetryTopic(id), QByteArray(R"({"light": 123})"), 0),
         control.isLessonDevice()),
        5000);
    QCOMPARE(control.message(),
             QStringLiteral("This device does not confirm commands (lesson device)"));
    QVERIFY(!control.isEnabled(LedControl::Choice::Auto));
    QVERIFY(!control.request(LedControl::Choice::Auto)); // refused: would silence the device
    QVERIFY(control.isEnabled(choice));

    QVERIFY(control.request(choice));
    QCOMPARE(control.phase(), LedControl::Phase::Unconfirmed);
    QVERIFY(control.message().contains(QLatin1String("does not confirm")));
    QTRY_COMPARE_WITH_TIMEOUT(commands.size(), 1, 5000);
    const auto message = commands.constFirst().constFirst().value<MqttMessage>();
    QCOMPARE(message.topic, commandsTopic(id));
    QCOMPARE(message.qos, 1);
    // Exactly the lesson's command: a dict with led_on and nothing else.
    const QJsonObject sent = QJsonDocument::fromJson(message.payload).object();
    QCOMPARE(sent, QJsonDocument::fromJson(expected).object());
    QCOMPARE(sent.keys(), QStringList{QStringLiteral("led_on")});
    // No confirmation ever comes, and no failure is claimed either.
    QCOMPARE(control.phase(), LedControl::Phase::Unconfirmed);
}

void TestLedControl::switchingBackKeepsWhatWasHeard()
{
    // The retained state and status arrive once, when the device is first watched. Coming back
    // to a device must show them at once (our device publishes a state only when it changes),
    // and a lesson device must still be known as one.
    if (QLatin1String(NIGHTLIGHT_DEVICE_BINARY).isEmpty())
        QSKIP("nightlight-device is not built");
    const QString id = QStringLiteral("back-and-forth");
    const QString lessonId = QStringLiteral("lesson-back");
    auto device = startDevice(id);
    QVERIFY(device);
    auto lesson = m_broker.connectedClient();
    QVERIFY(lesson);
    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    hub.startDiscovery();
    LedControl control(client.get(), &hub);
    control.setTimeout(2000);

    control.setDeviceId(id);
    QTRY_VERIFY_WITH_TIMEOUT(control.hasState() && control.isOnline(), 10000);
    const LedControl::Choice real = control.realChoice();
    QVERIFY(real != LedControl::Choice::None);

    control.setDeviceId(lessonId);
    QVERIFY(!control.hasState());
    QTRY_VERIFY_WITH_TIMEOUT(
        (lesson->publish(telemetryTopic(lessonId), QByteArray(R"({"light": 5})"), 0),
         control.isLessonDevice()),
        5000);

    // Back to the device: no new message is needed to know its state and status.
    control.setDeviceId(id);
    QVERIFY(control.hasState());
    QVERIFY(control.isOnline());
    QCOMPARE(control.realChoice(), real); // auto: the LED may switch, the mode does not
    QVERIFY(control.isEnabled(LedControl::Choice::Auto));
    QVERIFY(control.message().isEmpty());
    // And a click is a confirmed request, not a lesson device's unconfirmed one.
    QSignalSpy confirmed(&control, &LedControl::confirmed);
    const LedControl::Choice other =
        real == LedControl::Choice::On ? LedControl::Choice::Off : LedControl::Choice::On;
    QVERIFY(control.request(other));
    QCOMPARE(control.phase(), LedControl::Phase::Pending);
    QVERIFY(confirmed.wait(5000));

    // Back to the lesson device: still one, without waiting for its next reading.
    control.setDeviceId(lessonId);
    QVERIFY(control.isLessonDevice());
    QCOMPARE(control.message(),
             QStringLiteral("This device does not confirm commands (lesson device)"));

    device->terminate();
    QVERIFY(device->waitForFinished(5000));
}

void TestLedControl::disabledWhileNotConnected()
{
    // A click while the broker is down would queue a QoS 1 command that reaches the device
    // long after the control said "did not confirm": no choice is enabled while not connected.
    const QString id = QStringLiteral("offline-broker");
    auto other = m_broker.connectedClient();
    QVERIFY(other);
    DeviceState s;
    s.mode = Mode::Manual;
    QVERIFY(other->publish(stateTopic(id), encodeState(s), 1, true));

    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    LedControl control(client.get(), &hub);
    LedControlWidget widget(&control);
    control.setDeviceId(id);
    QTRY_VERIFY_WITH_TIMEOUT(control.hasState(), 5000);
    const QList<QAbstractButton *> buttons{widget.onButton(), widget.offButton(),
                                           widget.autoButton()};
    for (QAbstractButton *b : buttons) {
        QVERIFY(b->isEnabled());
        QVERIFY(b->toolTip() != QStringLiteral("Not connected to the broker"));
    }

    m_broker.stop();
    QTRY_VERIFY_WITH_TIMEOUT(!client->isConnected(), 10000);
    QVERIFY(!control.isConnected());
    for (LedControl::Choice c :
         {LedControl::Choice::On, LedControl::Choice::Off, LedControl::Choice::Auto})
        QVERIFY(!control.isEnabled(c));
    for (QAbstractButton *b : buttons) {
        QVERIFY(!b->isEnabled());
        QCOMPARE(b->toolTip(), QStringLiteral("Not connected to the broker"));
    }
    QCOMPARE(control.message(), QStringLiteral("Not connected to the broker"));
    QCOMPARE(widget.messageText(), control.message());
    QVERIFY(!control.request(LedControl::Choice::On)); // nothing queued for later
    QCOMPARE(control.phase(), LedControl::Phase::Idle);

    QVERIFY2(m_broker.start(), qPrintable(m_broker.errorString()));
    QTRY_VERIFY_WITH_TIMEOUT(client->isConnected(), 20000);
    for (QAbstractButton *b : buttons)
        QVERIFY(b->isEnabled());
    QCOMPARE(widget.autoButton()->toolTip(),
             QStringLiteral("Let the device switch the LED by its light threshold"));
    QVERIFY(control.message().isEmpty());

    // Clean up the retained message for other tests.
    QTRY_VERIFY_WITH_TIMEOUT(other->isConnected(), 20000);
    QVERIFY(other->publish(stateTopic(id), QByteArray(), 1, true));
    QTRY_VERIFY_WITH_TIMEOUT(!control.hasState(), 5000);
}

QTEST_MAIN(TestLedControl)
#include "tst_ledcontrol.moc"
