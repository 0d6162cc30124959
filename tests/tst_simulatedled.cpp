// SimulatedLed: keeps its state and logs "LED on" / "LED off" once per change.

#include "simulatedled.h"

#include <QTest>

using namespace nightlight;

namespace {

QStringList logged;

void capture(QtMsgType, const QMessageLogContext &context, const QString &message)
{
    if (qstrcmp(context.category, "nightlight.device.led") == 0)
        logged << message;
}

} // namespace

class TestSimulatedLed : public QObject
{
    Q_OBJECT

private slots:
    void switching_data();
    void switching();
};

void TestSimulatedLed::switching_data()
{
    QTest::addColumn<QList<bool>>("calls");
    QTest::addColumn<QStringList>("expected");
    QTest::newRow("on") << QList<bool>{true} << QStringList{QStringLiteral("LED on")};
    QTest::newRow("off while off logs nothing") << QList<bool>{false} << QStringList{};
    QTest::newRow("on twice logs once")
        << QList<bool>{true, true} << QStringList{QStringLiteral("LED on")};
    QTest::newRow("on off on") << QList<bool>{true, false, true}
                               << QStringList{QStringLiteral("LED on"), QStringLiteral("LED off"),
                                              QStringLiteral("LED on")};
}

void TestSimulatedLed::switching()
{
    QFETCH(QList<bool>, calls);
    QFETCH(QStringList, expected);
    SimulatedLed led;
    QCOMPARE(led.backendName(), QStringLiteral("simulated"));
    QVERIFY(!led.isOn());
    logged.clear();
    const QtMessageHandler previous = qInstallMessageHandler(capture);
    for (bool on : calls)
        led.setOn(on);
    qInstallMessageHandler(previous);
    QCOMPARE(logged, expected);
    QCOMPARE(led.isOn(), calls.last());
}

QTEST_GUILESS_MAIN(TestSimulatedLed)
#include "tst_simulatedled.moc"
