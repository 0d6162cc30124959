// createLightSensor / createLed: every backend name, unknown names, and the Grove backend's
// error on a machine without /dev/i2c-1 (exit code 3 material).

#include "backends.h"
#include "led.h"
#include "lightsensor.h"

#include <QFile>
#include <QTest>

using namespace nightlight;

class TestBackends : public QObject
{
    Q_OBJECT

private slots:
    void create_data();
    void create();
    void groveWithoutHardware();
};

void TestBackends::create_data()
{
    QTest::addColumn<QString>("sensor");
    QTest::addColumn<QString>("led");
    QTest::addColumn<QString>("error"); // empty: both are created

    QTest::newRow("simulated") << QStringLiteral("simulated") << QString() << QString();
    QTest::newRow("counterfit") << QStringLiteral("counterfit") << QString() << QString();
    QTest::newRow("counterfit sensor, simulated led")
        << QStringLiteral("counterfit") << QStringLiteral("simulated") << QString();
    QTest::newRow("unknown sensor") << QStringLiteral("camera") << QStringLiteral("simulated")
                                    << QStringLiteral("unknown sensor backend \"camera\"");
    QTest::newRow("unknown led") << QStringLiteral("simulated") << QStringLiteral("lamp")
                                 << QStringLiteral("unknown LED backend \"lamp\"");
}

void TestBackends::create()
{
    QFETCH(QString, sensor);
    QFETCH(QString, led);
    QFETCH(QString, error);
    BackendOptions options;
    options.sensor = sensor;
    options.led = led;
    QString why;
    auto s = createLightSensor(options, &why);
    auto l = s ? createLed(options, &why) : nullptr;
    if (error.isEmpty()) {
        QVERIFY2(s && l, qPrintable(why));
        QCOMPARE(s->backendName(), sensor);
        QCOMPARE(l->backendName(), options.ledBackend());
        QVERIFY(!l->isOn());
    } else {
        QVERIFY(!s || !l);
        QVERIFY2(why.contains(error), qPrintable(why));
    }
}

void TestBackends::groveWithoutHardware()
{
    if (QFile::exists(QStringLiteral("/dev/i2c-1")))
        QSKIP("this machine has /dev/i2c-1");
    BackendOptions options;
    options.sensor = QStringLiteral("grove");
    QString why;
    QVERIFY(!createLightSensor(options, &why));
    QVERIFY2(why.startsWith(QLatin1String("grove light sensor: ")), qPrintable(why));
    QVERIFY2(why.contains(QLatin1String("/dev/i2c-1")), qPrintable(why));
}

QTEST_GUILESS_MAIN(TestBackends)
#include "tst_backends.moc"
