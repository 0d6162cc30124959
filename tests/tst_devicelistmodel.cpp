// DeviceListModel: discovery from +/status and +/telemetry through a real broker, and the
// online / offline / stale / no-status transitions, with real time and with a fixed clock.

#include "devicehub.h"
#include "devicelistmodel.h"
#include "mqttclient.h"
#include "protocol.h"
#include "testbroker.h"

#include <QDateTime>
#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace nightlight;
using Status = DeviceListModel::Status;

class TestDeviceListModel : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void discovery_data();
    void discovery();
    void staleAndBack();
    void sharedIdIsShown();
    void transitions_data();
    void transitions();
    void intervalEstimate_data();
    void intervalEstimate();
    void malformedIsCountedNotListed();
    void statusAloneMakesACandidate();
    void retainedThroughWildcardsOrExactTopics();
    void staleDeviceAsksForItsRetainedStatus();
    void deviceLimit();
    void forgetDevice();
    void removeManyRows();
    void counts();

private:
    TestBroker m_broker;
};

void TestDeviceListModel::initTestCase()
{
    QVERIFY2(m_broker.start(), qPrintable(m_broker.errorString()));
}

void TestDeviceListModel::discovery_data()
{
    QTest::addColumn<QString>("id");
    QTest::addColumn<QString>("topicKind");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<bool>("retained");
    QTest::addColumn<Status>("expected");
    // A status alone makes no device (#9): the rows with a status send a reading too.
    QTest::newRow("retained online status, then a reading")
        << QStringLiteral("disc-online") << QStringLiteral("status") << QByteArray("online") << true
        << Status::Online;
    QTest::newRow("retained offline status, then a reading")
        << QStringLiteral("disc-offline") << QStringLiteral("status") << QByteArray("offline")
        << true << Status::Offline;
    QTest::newRow("telemetry only is a lesson device")
        << QStringLiteral("disc-lesson") << QStringLiteral("telemetry")
        << QByteArray(R"({"light": 250})") << false << Status::NoStatus;
    QTest::newRow("telemetry with ts")
        << QStringLiteral("disc-ts") << QStringLiteral("telemetry")
        << QByteArray(R"({"light": 1, "ts": 1795527578123})") << false << Status::NoStatus;
}

void TestDeviceListModel::discovery()
{
    QFETCH(QString, id);
    QFETCH(QString, topicKind);
    QFETCH(QByteArray, payload);
    QFETCH(bool, retained);
    QFETCH(Status, expected);

    auto device = m_broker.connectedClient();
    QVERIFY(device);
    const QString topic = id + QLatin1Char('/') + topicKind;
    // A retained message is there before the dashboard subscribes; telemetry is published after.
    if (retained)
        QVERIFY(device->publish(topic, payload, 1, true));

    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    DeviceListModel model;
    model.attach(&hub);
    QSignalSpy added(&model, &DeviceListModel::deviceAdded);
    hub.startDiscovery();
    if (retained) {
        QTRY_VERIFY_WITH_TIMEOUT(hub.isCandidate(id), 5000);
        QCOMPARE(model.rowOf(id), -1);
        QTRY_VERIFY_WITH_TIMEOUT(
            (device->publish(telemetryTopic(id), R"({"light": 1})", 0), model.rowOf(id) >= 0),
            5000);
        QVERIFY(!hub.isCandidate(id));
    } else {
        QTRY_VERIFY_WITH_TIMEOUT((device->publish(topic, payload, 0), model.rowOf(id) >= 0), 5000);
    }
    QCOMPARE(model.status(id), expected);
    const QModelIndex idx = model.index(model.rowOf(id));
    QCOMPARE(idx.data(DeviceListModel::DeviceIdRole).toString(), id);
    QCOMPARE(idx.data(DeviceListModel::StatusRole).toInt(), int(expected));
    QVERIFY(idx.data(Qt::DisplayRole).toString().contains(id));
    QVERIFY(idx.data(Qt::DisplayRole).toString().contains(DeviceListModel::statusText(expected)));
    QVERIFY(!idx.data(Qt::DecorationRole).value<QIcon>().isNull());
    QVERIFY(added.contains(QVariantList{id}));
    if (retained)
        QVERIFY(device->publish(topic, QByteArray(), 1, true)); // clear for later rows
}

void TestDeviceListModel::staleAndBack()
{
    const QString id = QStringLiteral("stale-dev");
    auto device = m_broker.connectedClient();
    QVERIFY(device);
    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    DeviceListModel model;
    model.setRefreshInterval(20);
    model.attach(&hub);
    hub.startDiscovery();

    QTRY_VERIFY_WITH_TIMEOUT((device->publish(statusTopic(id), "online", 1, true),
                              device->publish(telemetryTopic(id), R"({"light": 42})", 0),
                              model.status(id) == Status::Online),
                             5000);
    // Telemetry every ~100 ms (driven by a timer here, as a device would) sets the interval.
    QTimer tick;
    tick.setInterval(100);
    int sent = 0;
    connect(&tick, &QTimer::timeout, this, [&] {
        device->publish(telemetryTopic(id), QByteArray(R"({"light": 42})"), 0);
        ++sent;
    });
    tick.start();
    QTRY_VERIFY_WITH_TIMEOUT(sent >= 8 && model.interval(id) < 400, 5000);
    QVERIFY(model.interval(id) >= 50);
    QCOMPARE(model.status(id), Status::Online);

    QSignalSpy changes(&model, &DeviceListModel::statusChanged);
    tick.stop(); // silence: three intervals later the device is stale
    QTRY_COMPARE_WITH_TIMEOUT(model.status(id), Status::Stale, 3000);
    QVERIFY(!changes.isEmpty());
    QCOMPARE(changes.constLast().at(1).value<Status>(), Status::Stale);

    tick.start(); // it talks again
    QTRY_COMPARE_WITH_TIMEOUT(model.status(id), Status::Online, 3000);
    tick.stop();

    // Last Will (or a clean shutdown) says offline; that wins over staleness.
    QVERIFY(device->publish(statusTopic(id), "offline", 1, true));
    QTRY_COMPARE_WITH_TIMEOUT(model.status(id), Status::Offline, 3000);
    QVERIFY(device->publish(statusTopic(id), QByteArray(), 1, true));
}

void TestDeviceListModel::transitions_data()
{
    // Events on a fixed clock: 's:online', 's:offline', 't' (telemetry), '+N' (advance N ms).
    QTest::addColumn<QStringList>("events");
    QTest::addColumn<Status>("expected");
    QTest::newRow("nothing yet") << QStringList{} << Status::Unknown;
    QTest::newRow("online") << QStringList{QStringLiteral("s:online")} << Status::Online;
    QTest::newRow("online then offline")
        << QStringList{QStringLiteral("s:online"), QStringLiteral("s:offline")} << Status::Offline;
    QTest::newRow("offline then online again")
        << QStringList{QStringLiteral("s:offline"), QStringLiteral("s:online")} << Status::Online;
    QTest::newRow("telemetry without status")
        << QStringList{QStringLiteral("t")} << Status::NoStatus;
    QTest::newRow("default interval: fresh after 14 s")
        << QStringList{QStringLiteral("s:online"), QStringLiteral("t"), QStringLiteral("+14000")}
        << Status::Online;
    QTest::newRow("default interval: stale after 16 s")
        << QStringList{QStringLiteral("s:online"), QStringLiteral("t"), QStringLiteral("+16000")}
        << Status::Stale;
    QTest::newRow("1 s interval: stale after 3.5 s")
        << QStringList{QStringLiteral("s:online"), QStringLiteral("t"),     QStringLiteral("+1000"),
                       QStringLiteral("t"),        QStringLiteral("+1000"), QStringLiteral("t"),
                       QStringLiteral("+3500")}
        << Status::Stale;
    QTest::newRow("lesson device goes stale")
        << QStringList{QStringLiteral("t"), QStringLiteral("+1000"), QStringLiteral("t"),
                       QStringLiteral("+3500")}
        << Status::Stale;
    QTest::newRow("stale comes back with telemetry")
        << QStringList{QStringLiteral("s:online"), QStringLiteral("t"), QStringLiteral("+20000"),
                       QStringLiteral("t")}
        << Status::Online;
    QTest::newRow("offline wins over stale")
        << QStringList{QStringLiteral("t"), QStringLiteral("+20000"), QStringLiteral("s:offline")}
        << Status::Offline;
}

void TestDeviceListModel::transitions()
{
    QFETCH(QStringList, events);
    QFETCH(Status, expected);
    qint64 now = 1'000'000;
    DeviceListModel model;
    model.setClock([&now] { return now; });
    const QString id = QStringLiteral("dev");
    model.addDevice(id);
    for (const QString &e : events) {
        if (e == QLatin1String("s:online"))
            model.noteStatus(id, Availability::Online);
        else if (e == QLatin1String("s:offline"))
            model.noteStatus(id, Availability::Offline);
        else if (e == QLatin1String("t"))
            model.noteTelemetry(id, Telemetry{300, std::nullopt}, now);
        else if (e.startsWith(QLatin1Char('+')))
            now += e.mid(1).toLongLong();
        model.refresh();
    }
    QCOMPARE(model.status(id), expected);
    QCOMPARE(model.rowCount(), 1);
}

void TestDeviceListModel::intervalEstimate_data()
{
    QTest::addColumn<QList<qint64>>("gaps");
    QTest::addColumn<qint64>("expected");
    QTest::newRow("no samples: default 5 s") << QList<qint64>{} << qint64(5000);
    QTest::newRow("steady 2 s") << QList<qint64>{2000, 2000, 2000} << qint64(2000);
    QTest::newRow("one late sample is ignored")
        << QList<qint64>{1000, 1000, 9000, 1000, 1000} << qint64(1000);
    QTest::newRow("only the last eight gaps count")
        << QList<qint64>{9000, 9000, 9000, 9000, 500, 500, 500, 500, 500, 500, 500, 500}
        << qint64(500);
}

void TestDeviceListModel::intervalEstimate()
{
    QFETCH(QList<qint64>, gaps);
    QFETCH(qint64, expected);
    DeviceListModel model;
    const QString id = QStringLiteral("dev");
    qint64 t = 1'000'000;
    model.noteTelemetry(id, Telemetry{1, std::nullopt}, t);
    for (qint64 gap : gaps) {
        t += gap;
        model.noteTelemetry(id, Telemetry{1, std::nullopt}, t);
    }
    QCOMPARE(model.interval(id), expected);
    QCOMPARE(model.index(0).data(DeviceListModel::IntervalRole).toLongLong(), expected);
}

void TestDeviceListModel::malformedIsCountedNotListed()
{
    auto device = m_broker.connectedClient();
    QVERIFY(device);
    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    DeviceListModel model;
    model.attach(&hub);
    hub.startDiscovery();
    QSignalSpy malformed(&hub, &DeviceHub::malformedMessage);
    QTRY_VERIFY_WITH_TIMEOUT((device->publish(QStringLiteral("bad-dev/telemetry"),
                                              QByteArray(R"({"light": "bright"})"), 0),
                              !malformed.isEmpty()),
                             5000);
    QVERIFY(hub.malformedCount() >= 1);
    QVERIFY(hub.lastError().startsWith(QLatin1String("bad-dev/telemetry: ")));
    QCOMPARE(model.rowOf(QStringLiteral("bad-dev")), -1);
}

void TestDeviceListModel::statusAloneMakesACandidate()
{
    // #9: a status from an unknown id makes no row, only a candidate (its status kept in memory);
    // candidates are bounded, the oldest dropped first; a reading makes the device, with the
    // status its candidate had; a state from an id nobody watches changes nothing.
    auto device = m_broker.connectedClient();
    QVERIFY(device);
    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    hub.setMaxCandidates(3);
    DeviceListModel model;
    model.attach(&hub);
    QSignalSpy admitted(&hub, &DeviceHub::deviceAdmitted);
    QSignalSpy statuses(&hub, &DeviceHub::statusReceived);
    hub.startDiscovery();
    const QString probe = QStringLiteral("cand-probe");
    QTRY_VERIFY_WITH_TIMEOUT(
        (device->publish(telemetryTopic(probe), R"({"light": 0})", 1), model.rowOf(probe) >= 0),
        5000);
    QCOMPARE(admitted.size(), 1);
    // One publisher: once this reading is in, everything before it has been read.
    double marker = 0;
    const auto handshake = [&] {
        ++marker;
        QVERIFY(device->publish(telemetryTopic(probe),
                                QStringLiteral(R"({"light": %1})").arg(marker).toUtf8(), 1));
        QTRY_VERIFY_WITH_TIMEOUT(
            model.data(model.index(model.rowOf(probe)), DeviceListModel::LastLightRole)
                    .toDouble() == marker,
            5000);
    };

    for (int i = 0; i < 5; ++i)
        QVERIFY(device->publish(statusTopic(QStringLiteral("cand-%1").arg(i)),
                                i == 4 ? "offline" : "online", 1));
    DeviceState state;
    QVERIFY(device->publish(stateTopic(QStringLiteral("cand-1")), encodeState(state), 1));
    handshake();
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(hub.candidateCount(), 3);
    // A state makes a candidate too (it comes through the +/state wildcard); the oldest go.
    QVERIFY(!hub.isCandidate(QStringLiteral("cand-0")));
    QVERIFY(!hub.isCandidate(QStringLiteral("cand-2")));
    for (int i : {1, 3, 4})
        QVERIFY(hub.isCandidate(QStringLiteral("cand-%1").arg(i)));
    QCOMPARE(statuses.size(), 0);
    QVERIFY(!hub.lastStatus(QStringLiteral("cand-4")));
    QVERIFY(!hub.lastState(QStringLiteral("cand-1")));

    // A reading: a device, listed, with the status it sent as a candidate.
    QVERIFY(device->publish(telemetryTopic(QStringLiteral("cand-4")), R"({"light": 7})", 1));
    QTRY_VERIFY_WITH_TIMEOUT(model.rowOf(QStringLiteral("cand-4")) >= 0, 5000);
    QCOMPARE(model.status(QStringLiteral("cand-4")), Status::Offline);
    QCOMPARE(hub.lastStatus(QStringLiteral("cand-4")), Availability::Offline);
    QCOMPARE(hub.candidateCount(), 2);
    // A dropped candidate's reading still makes a device, of unknown status.
    QVERIFY(device->publish(telemetryTopic(QStringLiteral("cand-0")), R"({"light": 7})", 1));
    QTRY_VERIFY_WITH_TIMEOUT(model.rowOf(QStringLiteral("cand-0")) >= 0, 5000);
    QCOMPARE(model.status(QStringLiteral("cand-0")), Status::NoStatus);
    QCOMPARE(admitted.size(), 3);
    // A candidate's retained state comes only once: its reading shows it at once.
    QVERIFY(device->publish(telemetryTopic(QStringLiteral("cand-1")), R"({"light": 7})", 1));
    QTRY_VERIFY_WITH_TIMEOUT(model.rowOf(QStringLiteral("cand-1")) >= 0, 5000);
    QCOMPARE(hub.lastState(QStringLiteral("cand-1")), std::optional<DeviceState>(state));
}

void TestDeviceListModel::retainedThroughWildcardsOrExactTopics()
{
    // A broker of its own: the probe looks at every retained message there is.
    TestBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    auto client = broker.connectedClient();
    QVERIFY(client);
    auto other = broker.connectedClient();
    QVERIFY(other);
    DeviceHub hub(client.get());
    hub.setProbeTime(300);
    hub.startDiscovery();
    QCOMPARE(hub.retainedDelivery(), DeviceHub::RetainedDelivery::Probing);
    // Nothing retained comes through the wildcards (as on RabbitMQ, or a broker that has none
    // yet): exact topics for the devices watched later that nothing is heard of in the probe
    // time. One whose live status came through the wildcard needs none.
    QTRY_COMPARE_WITH_TIMEOUT(hub.retainedDelivery(), DeviceHub::RetainedDelivery::ExactTopics,
                              5000);
    const QString heard = QStringLiteral("exact-heard");
    QVERIFY(other->publish(statusTopic(heard), "online", 1));
    QTRY_VERIFY_WITH_TIMEOUT(hub.isCandidate(heard), 5000);
    const QString id = QStringLiteral("exact-1");
    QVERIFY(hub.watchDevice(id));
    QVERIFY(hub.watchDevice(heard));
    QCOMPARE(hub.exactSubscriptionCount(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(hub.exactSubscriptionCount(), 1, 5000); // exact-1 only
    DeviceState state;
    state.ledOn = true;
    QTRY_VERIFY_WITH_TIMEOUT((other->publish(stateTopic(id), encodeState(state), 1, true),
                              hub.lastState(id).has_value()),
                             5000);
    QVERIFY(other->publish(statusTopic(QStringLiteral("exact-2")), "online", 1, true));

    // At the next connect a retained status comes for an id without exact topics: it came
    // through the wildcard, so the exact subscriptions go.
    QSignalSpy connected(client.get(), &MqttClient::connected);
    client->disconnectFromHost();
    client->connectToHost();
    QVERIFY(connected.wait(5000));
    QTRY_COMPARE_WITH_TIMEOUT(hub.retainedDelivery(), DeviceHub::RetainedDelivery::Wildcards, 5000);
    QCOMPARE(hub.exactSubscriptionCount(), 0);
    QTRY_VERIFY_WITH_TIMEOUT(hub.isCandidate(QStringLiteral("exact-2")), 5000);
    QVERIFY(hub.isWatching(id));
}

void TestDeviceListModel::staleDeviceAsksForItsRetainedStatus()
{
    const QString id = QStringLiteral("refresh-1");
    // Its "offline" is retained on the broker, but this hub never heard it (no wildcards here,
    // as if the broker had dropped the live message on its way to us).
    QVERIFY(mosquittoPub(m_broker,
                         {QStringLiteral("-q"), QStringLiteral("1"), QStringLiteral("-r"),
                          QStringLiteral("-t"), statusTopic(id), QStringLiteral("-m"),
                          QStringLiteral("offline")}));
    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    DeviceListModel model;
    qint64 skew = 0;
    model.setClock([&skew] { return QDateTime::currentMSecsSinceEpoch() + skew; });
    model.attach(&hub);
    MqttMessage reading;
    reading.topic = telemetryTopic(id);
    reading.payload = R"({"light": 5})";
    hub.handleMessage(reading);
    QCOMPARE(model.status(id), Status::NoStatus);

    // No reading for a minute: stale, so the hub asks the broker, which answers "offline".
    skew = 60000;
    model.refresh();
    QCOMPARE(model.status(id), Status::Stale);
    QTRY_COMPARE_WITH_TIMEOUT(model.status(id), Status::Offline, 5000);
    QCOMPARE(hub.lastStatus(id), std::optional<Availability>(Availability::Offline));
    QCOMPARE(hub.refreshingCount(), 0); // answered: its exact topics are unsubscribed
}

void TestDeviceListModel::deviceLimit()
{
    // At maxDevices() known devices, readings from new ids are refused and counted; a watched
    // device (the user's choice) is admitted all the same, and forgetting one makes room.
    auto device = m_broker.connectedClient();
    QVERIFY(device);
    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    hub.setMaxDevices(2);
    DeviceListModel model;
    model.attach(&hub);
    QSignalSpy limit(&hub, &DeviceHub::deviceLimitReached);
    hub.startDiscovery();
    const QString first = QStringLiteral("cap-0");
    QTRY_VERIFY_WITH_TIMEOUT(
        (device->publish(telemetryTopic(first), R"({"light": 0})", 1), model.rowOf(first) >= 0),
        5000);
    for (int i = 1; i <= 4; ++i) {
        QVERIFY(
            device->publish(telemetryTopic(QStringLiteral("cap-%1").arg(i)), R"({"light": 1})", 1));
    }
    QVERIFY(device->publish(telemetryTopic(first), R"({"light": 99})", 1));
    QTRY_COMPARE_WITH_TIMEOUT(
        model.data(model.index(model.rowOf(first)), DeviceListModel::LastLightRole).toDouble(),
        99.0, 5000);
    QCOMPARE(model.deviceIds(), (QStringList{first, QStringLiteral("cap-1")}));
    QCOMPARE(hub.refusedMessages(), 3);
    QCOMPARE(limit.size(), 1);
    QCOMPARE(limit.constFirst().constFirst().toInt(), 2);

    QVERIFY(hub.watchDevice(QStringLiteral("cap-chosen")));
    QCOMPARE(hub.deviceCount(), 3);
    QVERIFY(model.rowOf(QStringLiteral("cap-chosen")) >= 0);

    hub.forgetDevice(QStringLiteral("cap-chosen"));
    hub.forgetDevice(QStringLiteral("cap-1"));
    QCOMPARE(model.deviceIds(), QStringList{first});
    QVERIFY(!hub.isWatching(QStringLiteral("cap-chosen")));
    QVERIFY(device->publish(telemetryTopic(QStringLiteral("cap-3")), R"({"light": 3})", 1));
    QTRY_VERIFY_WITH_TIMEOUT(model.rowOf(QStringLiteral("cap-3")) >= 0, 5000);
    QCOMPARE(hub.refusedMessages(), 3);
    QCOMPARE(limit.size(), 1);
}

void TestDeviceListModel::forgetDevice()
{
    // Forgetting drops what the hub heard and the messages it still has queued (received before
    // the user said so); the row goes with it.
    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    DeviceListModel model;
    model.attach(&hub);
    const QString id = QStringLiteral("forget-queued");
    QVERIFY(hub.watchDevice(id));
    QVERIFY(hub.isKnown(id));
    QCOMPARE(model.deviceIds(), QStringList{id});
    hub.setSliceBudget(0); // one message per event-loop turn: the rest stays queued
    QList<MqttMessage> batch;
    for (int i = 0; i < 10; ++i)
        batch.append(MqttMessage{telemetryTopic(i % 2 ? id : QStringLiteral("forget-other")),
                                 QStringLiteral(R"({"light": %1})").arg(i).toUtf8(), 0, false});
    QSignalSpy removed(&model, &DeviceListModel::deviceRemoved);
    hub.enqueue(batch);
    QCOMPARE(hub.queuedMessages(), 9);
    hub.forgetDevice(id);
    QCOMPARE(removed.size(), 1);
    QCOMPARE(model.rowOf(id), -1);
    QVERIFY(!hub.isKnown(id));
    QVERIFY(!hub.isWatching(id));
    QVERIFY(!hub.hasTelemetry(id));
    QCOMPARE(hub.queuedMessages(), 4); // forget-other's
    hub.drainQueue();
    QCOMPARE(model.rowOf(id), -1);
    QCOMPARE(model.deviceIds(), QStringList{QStringLiteral("forget-other")});
    QCOMPARE(model.data(model.index(0), DeviceListModel::LastLightRole).toDouble(), 8.0);
}

void TestDeviceListModel::removeManyRows()
{
    // Forget Device on a flood's devices: rows that are not neighbours, in any order; the model
    // reports each removal and finds the rows left where they are.
    DeviceListModel model;
    for (int i = 0; i < 8; ++i)
        model.addDevice(QStringLiteral("many-%1").arg(i));
    QSignalSpy removing(&model, &QAbstractItemModel::rowsAboutToBeRemoved);
    QSignalSpy removed(&model, &DeviceListModel::deviceRemoved);
    model.removeDevices({QStringLiteral("many-6"), QStringLiteral("many-1"),
                         QStringLiteral("many-2"), QStringLiteral("nobody"),
                         QStringLiteral("many-7"), QStringLiteral("many-4")});
    QCOMPARE(model.deviceIds(),
             (QStringList{QStringLiteral("many-0"), QStringLiteral("many-3"),
                          QStringLiteral("many-5")}));
    QCOMPARE(removing.size(), 3); // 6-7, 4, 1-2
    QCOMPARE(removed.size(), 5);
    for (int row = 0; row < model.rowCount(); ++row)
        QCOMPARE(model.rowOf(model.deviceIdAt(row)), row);
    QCOMPARE(model.rowOf(QStringLiteral("many-4")), -1);
}

// Issue #9: two devices with one id take the broker's session from each other; each publishes
// its state with the token it picked at start. A, B, A again is shown as a shared id; A then B
// (one device restarting) is not.
void TestDeviceListModel::sharedIdIsShown()
{
    auto device = m_broker.connectedClient();
    QVERIFY(device);
    auto client = m_broker.connectedClient();
    QVERIFY(client);
    DeviceHub hub(client.get());
    DeviceListModel model;
    model.setRefreshInterval(20);
    model.attach(&hub);
    hub.startDiscovery();

    const auto state = [](const char *instance) {
        DeviceState s;
        s.instance = QString::fromLatin1(instance);
        return encodeState(s);
    };
    const QString twin = QStringLiteral("twin-dev");
    const QString restarted = QStringLiteral("restarted-dev");
    for (const QString &id : {twin, restarted}) {
        QVERIFY(hub.watchDevice(id)); // exact subscriptions: states come only this way
        QTRY_VERIFY_WITH_TIMEOUT((device->publish(statusTopic(id), "online", 1, true),
                                  device->publish(telemetryTopic(id), R"({"light": 42})", 0),
                                  model.status(id) == Status::Online),
                                 5000);
    }
    QSignalSpy changes(&model, &DeviceListModel::statusChanged);
    // One state at a time, each seen before the next (the hub hands on only the newest state
    // of a burst; a take-over happens over seconds).
    const auto send = [&](const QString &id, const char *instance) {
        QVERIFY(device->publish(stateTopic(id), state(instance), 1, true));
        QTRY_VERIFY_WITH_TIMEOUT(hub.lastState(id) &&
                                     hub.lastState(id)->instance == QString::fromLatin1(instance),
                                 5000);
    };
    for (const char *instance : {"a1", "b2", "b2"})
        send(restarted, instance);
    for (const char *instance : {"a1", "b2", "a1"})
        send(twin, instance);
    QTRY_COMPARE_WITH_TIMEOUT(model.status(twin), Status::Shared, 5000);
    QCOMPARE(model.data(model.index(model.rowOf(twin)), Qt::DisplayRole).toString(),
             QStringLiteral("twin-dev — two devices share this id"));
    QVERIFY(model.data(model.index(model.rowOf(twin)), Qt::ToolTipRole)
                .toString()
                .contains(QStringLiteral("Give each device its own id")));
    QCOMPARE(model.data(model.index(model.rowOf(restarted)), DeviceListModel::HasStateRole),
             QVariant(true));
    QVERIFY(model.status(restarted) != Status::Shared); // (stale by now: it sends no telemetry)
    for (const QString &id : {twin, restarted}) {
        device->publish(stateTopic(id), QByteArray(), 1, true);
        device->publish(statusTopic(id), QByteArray(), 1, true);
    }
}

QTEST_MAIN(TestDeviceListModel)
void TestDeviceListModel::counts()
{
    // #10: the list's header counts devices per status ("998 online · 2 offline · 0 stale"),
    // kept as statuses change, rows come and go, and staleness sets in; lesson devices, shared
    // ids and unknown ones are named only when there are any.
    qint64 now = 1'000'000;
    DeviceListModel model;
    model.setClock([&now] { return now; });
    QSignalSpy changed(&model, &DeviceListModel::countsChanged);
    const QLocale en(QLocale::English);
    QCOMPARE(model.countsText(en), QStringLiteral("0 online · 0 offline · 0 stale"));

    for (int i = 1; i <= 5; ++i) {
        const QString id = QStringLiteral("d%1").arg(i);
        model.noteStatus(id, Availability::Online);
        model.noteTelemetry(id, Telemetry{100, std::nullopt}, now);
    }
    model.noteStatus(QStringLiteral("d5"), Availability::Offline);
    model.noteTelemetry(QStringLiteral("lesson"), Telemetry{1, std::nullopt}, now);
    model.addDevice(QStringLiteral("quiet"));
    QVERIFY(!changed.isEmpty());
    QCOMPARE(model.count(Status::Online), 4);
    QCOMPARE(model.count(Status::Offline), 1);
    QCOMPARE(model.count(Status::NoStatus), 1);
    QCOMPARE(model.count(Status::Unknown), 1);
    QCOMPARE(model.countsText(en),
             QStringLiteral("4 online · 1 offline · 0 stale · 1 lesson device · 1 unknown"));

    // Three intervals without telemetry: the online ones and the lesson device go stale at the
    // next refresh, counted once.
    now += 20000;
    model.noteTelemetry(QStringLiteral("d1"), Telemetry{100, std::nullopt}, now);
    changed.clear();
    model.refresh();
    QCOMPARE(changed.size(), 1);
    QCOMPARE(model.countsText(en), QStringLiteral("1 online · 1 offline · 4 stale · 1 unknown"));

    model.removeDevices({QStringLiteral("d2"), QStringLiteral("quiet"), QStringLiteral("d5")});
    QCOMPARE(model.countsText(en), QStringLiteral("1 online · 0 offline · 3 stale"));
    int total = 0;
    for (int s = 0; s <= int(Status::Shared); ++s)
        total += model.count(Status(s));
    QCOMPARE(total, model.rowCount());

    // Numbers in the locale's digits.
    const QString bn = model.countsText(QLocale(QLocale::Bengali, QLocale::Bangladesh));
    QVERIFY2(bn.contains(QChar(0x09E7)), qPrintable(bn)); // ১
    QVERIFY2(!bn.contains(QLatin1Char('1')), qPrintable(bn));
}

#include "tst_devicelistmodel.moc"
