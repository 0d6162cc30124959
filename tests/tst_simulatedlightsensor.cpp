// SimulatedLightSensor: the day/night curve, seeded noise, synchronous answers.

#include "simulatedlightsensor.h"

#include <QSignalSpy>
#include <QTest>

#include <cmath>
#include <functional>

using namespace nightlight;

namespace {

QList<double> readings(SimulatedLightSensor &sensor, int n)
{
    QList<double> out;
    QSignalSpy spy(&sensor, &LightSensor::readingReady);
    for (int i = 0; i < n; ++i) {
        sensor.requestReading();
        // Synchronous: the answer is there before requestReading() returns.
        if (spy.size() != i + 1)
            return {};
        out << spy.at(i).at(0).toDouble();
    }
    return out;
}

} // namespace

class TestSimulatedLightSensor : public QObject
{
    Q_OBJECT

private slots:
    void curve_data();
    void curve();
    void readingsAreSynchronousAndInRange();
    void sameSeedSameNoise();
    void otherSeedOtherNoise();
};

void TestSimulatedLightSensor::curve_data()
{
    QTest::addColumn<qint64>("elapsedMs");
    QTest::addColumn<double>("expected");
    QTest::newRow("start of the cycle") << qint64(0) << 500.0;
    QTest::newRow("quarter: noon") << qint64(30000) << 950.0;
    QTest::newRow("half") << qint64(60000) << 500.0;
    QTest::newRow("three quarters: midnight") << qint64(90000) << 50.0;
    QTest::newRow("next cycle") << qint64(150000) << 950.0;
}

void TestSimulatedLightSensor::curve()
{
    QFETCH(qint64, elapsedMs);
    QFETCH(double, expected);
    SimulatedLightSensor sensor(120000, 1);
    QVERIFY(qAbs(sensor.curveAt(elapsedMs) - expected) < 1e-6);
    QCOMPARE(sensor.backendName(), QStringLiteral("simulated"));
    QCOMPARE(sensor.unit(), QString());
    QVERIFY(!sensor.isBusy());
}

void TestSimulatedLightSensor::readingsAreSynchronousAndInRange()
{
    SimulatedLightSensor sensor(120000, 7);
    const auto r = readings(sensor, 200);
    QCOMPARE(r.size(), 200);
    for (double v : r) {
        QVERIFY(v >= 0 && v <= 1000);
        QCOMPARE(v, std::round(v)); // whole numbers, like the lesson's sensor
        QVERIFY2(qAbs(v - 500) <= 12, qPrintable(QString::number(v))); // curve ~500 + noise <= 10
    }
}

void TestSimulatedLightSensor::sameSeedSameNoise()
{
    // A cycle of ~11 days: the curve stays at 500 during the test; only the noise varies.
    SimulatedLightSensor a(1000000000, 42);
    SimulatedLightSensor b(1000000000, 42);
    const auto ra = readings(a, 100);
    const auto rb = readings(b, 100);
    QCOMPARE(ra.size(), 100);
    int differing = 0;
    for (int i = 0; i < ra.size(); ++i)
        differing += qAbs(ra[i] - rb[i]) > 1; // at most a rounding step from the time passed
    QCOMPARE(differing, 0);
    QVERIFY(std::adjacent_find(ra.begin(), ra.end(), std::not_equal_to<>()) != ra.end());
}

void TestSimulatedLightSensor::otherSeedOtherNoise()
{
    SimulatedLightSensor a(1000000000, 1);
    SimulatedLightSensor b(1000000000, 2);
    QVERIFY(readings(a, 50) != readings(b, 50));
}

QTEST_GUILESS_MAIN(TestSimulatedLightSensor)
#include "tst_simulatedlightsensor.moc"
