// DeviceListModel: discovery from +/status and +/telemetry through a real broker, and the
// online / offline / stale / no-status transitions, with real time and with a fixed clock.

#include "devicehub.h"
#include "devicelistmodel.h"
#include "mqttclient.h"
#include "protocol.h"
#include "testbroker.h"

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
    void transitions_data();
    void transitions();
    void intervalEstimate_data();
    void intervalEstimate();
    void malformedIsCountedNotListed();

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
    QTest::newRow("retained online status")
        << QStringLiteral("disc-online") << QStringLiteral("status") << QByteArray("online") << true
        << Status::Online;
    QTest::newRow("retained offline status")
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
        QTRY_VERIFY_WITH_TIMEOUT(model.rowOf(id) >= 0, 5000);
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

    QTRY_VERIFY_WITH_TIMEOUT(
        (device->publish(statusTopic(id), "online", 1, true), model.status(id) == Status::Online),
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

QTEST_MAIN(TestDeviceListModel)
#include "tst_devicelistmodel.moc"
