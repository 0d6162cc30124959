// DeviceSortProxy (#10): natural order by id ("d2" before "d10", case aside), by status
// (problems first) and by the last reading (darkest first, re-sorted as readings change), and the
// text filter, over a DeviceListModel on a fixed clock.

#include "devicelistmodel.h"
#include "devicesortproxy.h"
#include "protocol.h"

#include <QSignalSpy>
#include <QTest>

using namespace nightlight;
using Status = DeviceListModel::Status;
using SortKey = DeviceSortProxy::SortKey;

class TestDeviceSortProxy : public QObject
{
    Q_OBJECT

private slots:
    void naturalOrder_data();
    void naturalOrder();
    void byStatus();
    void byLight();
    void filter();

private:
    static QStringList shown(const QAbstractItemModel &model)
    {
        QStringList ids;
        for (int row = 0; row < model.rowCount(); ++row)
            ids << model.index(row, 0).data(DeviceListModel::DeviceIdRole).toString();
        return ids;
    }
};

void TestDeviceSortProxy::naturalOrder_data()
{
    QTest::addColumn<QStringList>("ids"); // in the order they arrive
    QTest::addColumn<QStringList>("expected");
    QTest::newRow("numbers as numbers")
        << QStringList{QStringLiteral("d10"), QStringLiteral("d2"), QStringLiteral("d1"),
                       QStringLiteral("d100"), QStringLiteral("d20")}
        << QStringList{QStringLiteral("d1"), QStringLiteral("d2"), QStringLiteral("d10"),
                       QStringLiteral("d20"), QStringLiteral("d100")};
    QTest::newRow("case aside") << QStringList{QStringLiteral("zeta"), QStringLiteral("alpha"),
                                               QStringLiteral("Beta-2"), QStringLiteral("beta-1")}
                                << QStringList{QStringLiteral("alpha"), QStringLiteral("beta-1"),
                                               QStringLiteral("Beta-2"), QStringLiteral("zeta")};
    QTest::newRow("numbers inside the id")
        << QStringList{QStringLiteral("room10-lamp2"), QStringLiteral("room9-lamp10"),
                       QStringLiteral("room9-lamp9"), QStringLiteral("room10-lamp1")}
        << QStringList{QStringLiteral("room9-lamp9"), QStringLiteral("room9-lamp10"),
                       QStringLiteral("room10-lamp1"), QStringLiteral("room10-lamp2")};
    QTest::newRow("a prefix before its longer ids")
        << QStringList{QStringLiteral("desk2"), QStringLiteral("desk"), QStringLiteral("desk10")}
        << QStringList{QStringLiteral("desk"), QStringLiteral("desk2"), QStringLiteral("desk10")};
    QTest::newRow("zero-padded ids keep their order")
        << QStringList{QStringLiteral("fc0010"), QStringLiteral("fc0002"), QStringLiteral("fc0001")}
        << QStringList{QStringLiteral("fc0001"), QStringLiteral("fc0002"),
                       QStringLiteral("fc0010")};
    QTest::newRow("ids differing only in case: a total order")
        << QStringList{QStringLiteral("lamp"), QStringLiteral("LAMP"), QStringLiteral("Lamp")}
        << QStringList{QStringLiteral("LAMP"), QStringLiteral("Lamp"), QStringLiteral("lamp")};
}

void TestDeviceSortProxy::naturalOrder()
{
    QFETCH(QStringList, ids);
    QFETCH(QStringList, expected);
    DeviceListModel model;
    DeviceSortProxy proxy;
    proxy.setSourceModel(&model);
    for (const QString &id : ids)
        model.addDevice(id);
    QCOMPARE(shown(proxy), expected);
    // And in any arrival order.
    DeviceListModel reversed;
    DeviceSortProxy proxy2;
    proxy2.setSourceModel(&reversed);
    for (auto it = ids.crbegin(); it != ids.crend(); ++it)
        reversed.addDevice(*it);
    QCOMPARE(shown(proxy2), expected);
}

void TestDeviceSortProxy::byStatus()
{
    qint64 now = 1'000'000;
    DeviceListModel model;
    model.setClock([&now] { return now; });
    DeviceSortProxy proxy;
    proxy.setSourceModel(&model);
    proxy.setSortKey(SortKey::Status);
    const auto online = [&](const QString &id) {
        model.noteStatus(id, Availability::Online);
        model.noteTelemetry(id, Telemetry{100, std::nullopt}, now);
    };
    online(QStringLiteral("d10"));
    online(QStringLiteral("d2"));
    online(QStringLiteral("d3"));
    model.noteTelemetry(QStringLiteral("lesson"), Telemetry{5, std::nullopt}, now);
    model.addDevice(QStringLiteral("quiet"));
    model.noteStatus(QStringLiteral("d3"), Availability::Offline);
    QCOMPARE(shown(proxy),
             (QStringList{QStringLiteral("d3"), QStringLiteral("quiet"), QStringLiteral("lesson"),
                          QStringLiteral("d2"), QStringLiteral("d10")}));
    // A status change moves the row (dynamic sort): d10 goes stale, d3 comes back.
    now += 20000;
    model.noteTelemetry(QStringLiteral("d2"), Telemetry{100, std::nullopt}, now);
    model.noteTelemetry(QStringLiteral("lesson"), Telemetry{5, std::nullopt}, now);
    model.noteStatus(QStringLiteral("d3"), Availability::Online);
    model.noteTelemetry(QStringLiteral("d3"), Telemetry{100, std::nullopt}, now);
    model.refresh();
    QCOMPARE(model.status(QStringLiteral("d10")), Status::Stale);
    QCOMPARE(shown(proxy),
             (QStringList{QStringLiteral("d10"), QStringLiteral("quiet"), QStringLiteral("lesson"),
                          QStringLiteral("d2"), QStringLiteral("d3")}));
    proxy.setSortKey(SortKey::Id);
    QCOMPARE(shown(proxy),
             (QStringList{QStringLiteral("d2"), QStringLiteral("d3"), QStringLiteral("d10"),
                          QStringLiteral("lesson"), QStringLiteral("quiet")}));
}

void TestDeviceSortProxy::byLight()
{
    DeviceListModel model;
    DeviceSortProxy proxy;
    proxy.setSourceModel(&model);
    proxy.setLightResortInterval(20);
    proxy.setSortKey(SortKey::Light);
    model.noteTelemetry(QStringLiteral("bright"), Telemetry{900, std::nullopt}, 1000);
    model.noteTelemetry(QStringLiteral("dark"), Telemetry{10, std::nullopt}, 1000);
    model.noteTelemetry(QStringLiteral("dim"), Telemetry{200, std::nullopt}, 1000);
    model.addDevice(QStringLiteral("silent")); // no reading: last
    QCOMPARE(shown(proxy),
             (QStringList{QStringLiteral("dark"), QStringLiteral("dim"), QStringLiteral("bright"),
                          QStringLiteral("silent")}));
    // A reading changes no row of the model (no dataChanged per sample); the proxy sorts again
    // on its own.
    model.noteTelemetry(QStringLiteral("dark"), Telemetry{950, std::nullopt}, 2000);
    QTRY_COMPARE(shown(proxy),
                 (QStringList{QStringLiteral("dim"), QStringLiteral("bright"),
                              QStringLiteral("dark"), QStringLiteral("silent")}));
}

void TestDeviceSortProxy::filter()
{
    DeviceListModel model;
    DeviceSortProxy proxy;
    proxy.setSourceModel(&model);
    for (const QString &id : {QStringLiteral("Room1-a"), QStringLiteral("room10-b"),
                              QStringLiteral("room2-c"), QStringLiteral("hall")})
        model.addDevice(id);
    proxy.setFilterFixedString(QStringLiteral("ROOM1"));
    QCOMPARE(shown(proxy), (QStringList{QStringLiteral("Room1-a"), QStringLiteral("room10-b")}));
    // A new device that matches appears in its place; one that does not, not at all.
    model.addDevice(QStringLiteral("room1-z"));
    model.addDevice(QStringLiteral("porch"));
    QCOMPARE(shown(proxy),
             (QStringList{QStringLiteral("Room1-a"), QStringLiteral("room1-z"),
                          QStringLiteral("room10-b")}));
    proxy.setFilterFixedString(QString());
    QCOMPARE(proxy.rowCount(), 6);
}

QTEST_MAIN(TestDeviceSortProxy)
#include "tst_devicesortproxy.moc"
