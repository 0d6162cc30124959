#include "simulatedlightsensor.h"

#include <cmath>

namespace nightlight {

namespace {
constexpr double Pi = 3.14159265358979323846;
constexpr double NoiseAmplitude = 10;
} // namespace

SimulatedLightSensor::SimulatedLightSensor(int periodMs, quint32 seed, QObject *parent)
    : LightSensor(parent), m_periodMs(qMax(1, periodMs)), m_random(seed)
{
    m_clock.start();
}

SimulatedLightSensor::~SimulatedLightSensor() = default;

QString SimulatedLightSensor::backendName() const
{
    return QStringLiteral("simulated");
}

double SimulatedLightSensor::curveAt(qint64 elapsedMs) const
{
    const double phase = double(elapsedMs % m_periodMs) / m_periodMs;
    return 500 + 450 * std::sin(2 * Pi * phase);
}

void SimulatedLightSensor::requestReading()
{
    const double noise = (m_random.generateDouble() * 2 - 1) * NoiseAmplitude;
    const double light = qBound(0.0, std::round(curveAt(m_clock.elapsed()) + noise), 1000.0);
    emit readingReady(light);
}

} // namespace nightlight
