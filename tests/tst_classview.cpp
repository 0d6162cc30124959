// ClassView (#10): the grid reflows with the width, hit-testing finds the tile under a point, a
// click opens the device, only the visible tiles are painted and a burst of readings is one
// repaint; the tile's context menu overrides the LED through a real broker, with the pending,
// confirmed and failed phases on the tile, answered by a test client playing the device.

#include "classview.h"
#include "devicehub.h"
#include "devicelistmodel.h"
#include "devicesortproxy.h"
#include "ledcontrol.h"
#include "lightchart.h"
#include "mqttclient.h"
#include "protocol.h"
#include "telemetrystore.h"
#include "testbroker.h"

#include <QAction>
#include <QDateTime>
#include <QImage>
#include <QMenu>
#include <QScopeGuard>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace nightlight;
using Choice = LedControl::Choice;

class TestClassView : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void reflows_data();
    void reflows();
    void hitTestAndClick();
    void paintsOnlyWhatIsVisible();
    void burstIsOneRepaint();
    void tileShowsStateAndValue();
    void sparklineCacheMatchesAFreshView();
    void overrideFromContextMenu_data();
    void overrideFromContextMenu();

private:
    // n devices d1..dn with one reading each, in the proxy's natural order.
    struct Fleet
    {
        DeviceListModel model;
        DeviceSortProxy proxy;
        TelemetryStore store;
        ClassView view;
    };
    static std::unique_ptr<Fleet> fleet(int n, qint64 now);

    TestBroker m_broker;
};

void TestClassView::initTestCase()
{
    QVERIFY2(m_broker.start(), qPrintable(m_broker.errorString()));
}

std::unique_ptr<TestClassView::Fleet> TestClassView::fleet(int n, qint64 now)
{
    auto f = std::make_unique<Fleet>();
    f->model.setClock([now] { return now; });
    f->proxy.setSourceModel(&f->model);
    for (int i = 1; i <= n; ++i) {
        const QString id = QStringLiteral("d%1").arg(i);
        f->model.noteStatus(id, Availability::Online);
        f->model.noteTelemetry(id, Telemetry{double(i), std::nullopt}, now);
        for (int k = 0; k < 60; ++k)
            f->store.append(id, now - 60000 + k * 1000, 100 + (i * 37 + k * 11) % 800);
    }
    f->view.setClock([now] { return now; });
    f->view.setModel(&f->proxy);
    f->view.setStore(&f->store);
    f->view.setWindow(LightChart::WindowOneMinute);
    return f;
}

void TestClassView::reflows_data()
{
    QTest::addColumn<int>("width");
    QTest::newRow("narrow") << 300;
    QTest::newRow("laptop") << 1200;
    QTest::newRow("full HD") << 1900;
    QTest::newRow("wide") << 3000;
}

void TestClassView::reflows()
{
    QFETCH(int, width);
    auto f = fleet(100, 1'000'000'000);
    f->view.resize(width, 600);
    f->view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&f->view));
    const int columns = f->view.columnCount();
    QVERIFY(columns >= 1);
    const int viewportWidth = f->view.viewport()->width();
    // Every tile inside the viewport's width, in reading order, none overlapping.
    QRect previous;
    for (int row = 0; row < 100; ++row) {
        const QRect r = f->view.tileRect(row);
        QVERIFY2(r.left() >= 0 && r.right() < viewportWidth, qPrintable(QString::number(row)));
        QCOMPARE(r.size(), f->view.tileSize());
        if (row % columns != 0)
            QVERIFY(r.left() > previous.right() && r.top() == previous.top());
        else if (row > 0)
            QVERIFY(r.top() > previous.bottom());
        previous = r;
    }
    // A wider view has more columns, and the tiles fill the width (the spare is less than one
    // tile).
    QVERIFY(viewportWidth - (previous.right() + 1) < f->view.tileSize().width() ||
            100 % columns != 0);
    const int lines = (100 + columns - 1) / columns;
    QCOMPARE(f->view.verticalScrollBar()->maximum(),
             std::max(0, f->view.contentHeight() - f->view.viewport()->height()));
    QVERIFY(f->view.contentHeight() >= lines * f->view.tileSize().height());
    f->view.resize(width * 2, 600);
    QTRY_VERIFY(f->view.columnCount() >= columns * 2 - 1);
}

void TestClassView::hitTestAndClick()
{
    auto f = fleet(30, 1'000'000'000);
    f->view.resize(900, 500);
    f->view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&f->view));
    for (int row : {0, 1, f->view.columnCount(), 7}) {
        const QRect r = f->view.tileRect(row);
        QCOMPARE(f->view.rowAt(r.center()), row);
        QCOMPARE(f->view.rowAt(r.topLeft()), row);
        QCOMPARE(f->view.rowAt(r.bottomRight()), row);
        // Just right of the tile and just below it: the gap.
        QCOMPARE(f->view.rowAt(r.topRight() + QPoint(1, 0)), -1);
        QCOMPARE(f->view.rowAt(r.bottomLeft() + QPoint(0, 1)), -1);
    }
    // Natural order: the tenth tile is d10, after d9.
    QCOMPARE(f->view.deviceAt(f->view.tileRect(9).center()), QStringLiteral("d10"));
    QCOMPARE(f->view.deviceAt(f->view.tileRect(1).center()), QStringLiteral("d2"));

    QSignalSpy activated(&f->view, &ClassView::deviceActivated);
    QTest::mouseClick(f->view.viewport(), Qt::LeftButton, {}, f->view.tileRect(9).center());
    QCOMPARE(activated.size(), 1);
    QCOMPARE(activated.at(0).at(0).toString(), QStringLiteral("d10"));
    // Between tiles: nothing.
    QTest::mouseClick(f->view.viewport(), Qt::LeftButton, {},
                      f->view.tileRect(0).topRight() + QPoint(1, 2));
    QCOMPARE(activated.size(), 1);

    // Scrolled: the hit follows the content.
    f->view.verticalScrollBar()->setValue(f->view.verticalScrollBar()->maximum());
    const QRect last = f->view.tileRect(29);
    QVERIFY(f->view.viewport()->rect().contains(last));
    QCOMPARE(f->view.deviceAt(last.center()), QStringLiteral("d30"));

    // The filter: the tiles are the proxy's rows.
    f->proxy.setFilterFixedString(QStringLiteral("d2"));
    QTRY_COMPARE(f->view.deviceAt(f->view.tileRect(0).center()), QStringLiteral("d2"));
    QCOMPARE(f->view.deviceAt(f->view.tileRect(1).center()), QStringLiteral("d20"));
}

void TestClassView::paintsOnlyWhatIsVisible()
{
    auto f = fleet(1000, 1'000'000'000);
    f->view.resize(800, 400);
    f->view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&f->view));
    const auto [first, last] = f->view.visibleRows();
    QCOMPARE(first, 0);
    QVERIFY(last > 0 && last < 100);
    QImage image(f->view.viewport()->size(), QImage::Format_ARGB32_Premultiplied);
    f->view.viewport()->render(&image);
    QCOMPARE(f->view.tilesPainted(), last - first + 1);
    // Scrolled to the end: the last tiles, and no more.
    f->view.verticalScrollBar()->setValue(f->view.verticalScrollBar()->maximum());
    const auto [first2, last2] = f->view.visibleRows();
    QCOMPARE(last2, 999);
    f->view.viewport()->render(&image);
    QCOMPARE(f->view.tilesPainted(), last2 - first2 + 1);
    QVERIFY(f->view.tilesPainted() <= (last - first + 1) + f->view.columnCount());
}

void TestClassView::burstIsOneRepaint()
{
    // Readings only mark the view dirty; the timer repaints once for a whole burst, and nothing
    // is painted again while nothing changes.
    auto f = fleet(20, 1'000'000'000);
    f->view.setWindow(LightChart::WindowAll); // nothing moves with the clock
    f->view.setRefreshInterval(50);
    f->view.resize(800, 400);
    f->view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&f->view));
    QTRY_VERIFY(!f->view.isDirty());
    const int before = f->view.paintCount();
    for (int i = 0; i < 1000; ++i)
        f->store.append(QStringLiteral("d%1").arg(1 + i % 20), 1'000'000'000 + i, i % 500);
    QVERIFY(f->view.isDirty());
    QCOMPARE(f->view.paintCount(), before); // not painted per sample
    QTRY_COMPARE(f->view.paintCount(), before + 1);
    QVERIFY(!f->view.isDirty());
}

void TestClassView::tileShowsStateAndValue()
{
    // What a tile says: id, latest value in the locale, status word, LED and mode (none without
    // a state).
    auto f = fleet(3, 1'000'000'000);
    f->model.noteStatus(QStringLiteral("d2"), Availability::Offline);
    f->model.noteTelemetry(QStringLiteral("d3"), Telemetry{1234.5, std::nullopt}, 1'000'000'000);
    const ClassView::TileText t = f->view.tileText(0);
    QCOMPARE(t.id, QStringLiteral("d1"));
    QCOMPARE(t.value, QStringLiteral("1"));
    QCOMPARE(t.status, QStringLiteral("online"));
    QCOMPARE(t.led, QStringLiteral("LED unknown"));
    QCOMPARE(f->view.tileText(1).status, QStringLiteral("offline"));
    f->view.setLocale(QLocale(QLocale::English));
    QCOMPARE(f->view.tileText(2).value, QStringLiteral("1,234.5"));
    f->view.setLocale(QLocale(QLocale::Bengali, QLocale::Bangladesh));
    QVERIFY(!f->view.tileText(2).value.contains(QLatin1Char('1')));
}

void TestClassView::sparklineCacheMatchesAFreshView()
{
    // The sparklines keep their finished columns between frames; a view that has followed the
    // data frame by frame draws exactly what a fresh one draws.
    qint64 now = 1'000'000'000;
    auto f = fleet(12, now);
    f->view.setClock([&now] { return now; });
    f->view.resize(900, 400);
    f->view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&f->view));
    QImage followed(f->view.viewport()->size(), QImage::Format_ARGB32_Premultiplied);
    for (int frame = 0; frame < 40; ++frame) {
        now += 700;
        for (int d = 1; d <= 12; ++d) {
            if ((frame + d) % 3 != 0) // not every device every frame: sparse and dense columns
                f->store.append(QStringLiteral("d%1").arg(d), now - d * 13,
                                (frame * 53 + d * 29) % 900);
        }
        f->view.viewport()->render(&followed);
    }
    ClassView fresh;
    fresh.setClock([&now] { return now; });
    fresh.setModel(&f->proxy);
    fresh.setStore(&f->store);
    fresh.setWindow(LightChart::WindowOneMinute);
    fresh.resize(f->view.size());
    fresh.show();
    QVERIFY(QTest::qWaitForWindowExposed(&fresh));
    QImage expected(fresh.viewport()->size(), QImage::Format_ARGB32_Premultiplied);
    fresh.viewport()->render(&expected);
    QCOMPARE(followed, expected);
}

void TestClassView::overrideFromContextMenu_data()
{
    QTest::addColumn<bool>("deviceAnswers");
    QTest::newRow("confirmed by the device") << true;
    QTest::newRow("no answer: not confirmed") << false;
}

void TestClassView::overrideFromContextMenu()
{
    QFETCH(bool, deviceAnswers);
    const QString id = deviceAnswers ? QStringLiteral("cv-answers") : QStringLiteral("cv-silent");
    // A test client plays the device: its retained state (auto, LED off), and, when it answers,
    // a state that does what a command says.
    auto device = m_broker.connectedClient();
    QVERIFY(device);
    DeviceState state;
    state.ledOn = false;
    state.mode = Mode::Auto;
    if (deviceAnswers) {
        QVERIFY(device->subscribe(commandsTopic(id), 1));
        connect(device.get(), &MqttClient::messageReceived, this, [&](const MqttMessage &m) {
            const auto command = decodeCommand(m.payload);
            if (!command)
                return;
            if (command->mode)
                state.mode = *command->mode;
            if (command->ledOn) {
                state.ledOn = *command->ledOn;
                state.mode = Mode::Manual;
            }
            device->publish(stateTopic(id), encodeState(state), 1, true);
        });
    }
    QVERIFY(device->publish(stateTopic(id), encodeState(state), 1, true));
    auto cleanup = qScopeGuard([&] { device->publish(stateTopic(id), QByteArray(), 1, true); });

    MqttClient client;
    client.setHost(m_broker.host());
    client.setPort(m_broker.port());
    DeviceHub hub(&client);
    DeviceListModel model;
    model.attach(&hub);
    DeviceSortProxy proxy;
    proxy.setSourceModel(&model);
    qint64 now = QDateTime::currentMSecsSinceEpoch();
    ClassView view;
    view.setClock([&now] { return now; });
    view.setModel(&proxy);
    view.setDevices(&client, &hub);
    view.setLedTimeout(400);
    view.setRefreshInterval(20);
    view.resize(800, 400);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    client.connectToHost();
    hub.startDiscovery();
    hub.watchDevice(id);
    QTRY_VERIFY_WITH_TIMEOUT(hub.lastState(id).has_value() && client.isConnected(), 10000);
    QTRY_COMPARE(model.rowCount(), 1);
    QCOMPARE(view.tileText(0).led, QStringLiteral("LED off · auto"));

    // The menu: On / Off / Auto (Auto checked: the device's mode), Show, Forget.
    std::unique_ptr<QMenu> menu(view.createContextMenu(id, &view));
    QStringList texts;
    QAction *on = nullptr;
    for (QAction *a : menu->actions()) {
        if (a->isSeparator() || a->text().isEmpty())
            continue;
        texts << a->text();
        if (a->text() == LedControl::choiceName(Choice::On))
            on = a;
        if (a->text() == LedControl::choiceName(Choice::Auto))
            QVERIFY(a->isChecked());
    }
    QVERIFY2(on && on->isEnabled(), qPrintable(texts.join(u'|')));
    QVERIFY2(texts.contains(QStringLiteral("&Forget Device…")), qPrintable(texts.join(u'|')));
    on->trigger();
    QVERIFY(view.overrideControl(id));
    QCOMPARE(view.tileText(0).led, QStringLiteral("Sent “On”…"));
    if (deviceAnswers) {
        QTRY_COMPARE_WITH_TIMEOUT(view.tileText(0).led, QStringLiteral("“On” confirmed"), 10000);
        QCOMPARE(view.overrideControl(id)->phase(), LedControl::Phase::Confirmed);
    } else {
        QTRY_COMPARE_WITH_TIMEOUT(view.tileText(0).led, QStringLiteral("“On” not confirmed"),
                                  10000);
    }
    // The feedback stays FeedbackMs, then the tile shows the device's real LED again.
    now += ClassView::FeedbackMs;
    QTRY_VERIFY(!view.overrideControl(id));
    QCOMPARE(view.tileText(0).led,
             deviceAnswers ? QStringLiteral("LED on · manual") : QStringLiteral("LED off · auto"));
}

QTEST_MAIN(TestClassView)
#include "tst_classview.moc"
