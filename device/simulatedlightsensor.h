#pragma once

// SimulatedLightSensor: a deterministic day/night curve for running without hardware.
// light(t) = 500 + 450 * sin(2 pi t / period) plus seeded noise of at most +-10, rounded and
// clamped to 0..1000 (the Grove sensor's per-mille range); t is the time since construction.
// Answers synchronously: readingReady is emitted before requestReading() returns.

#include "lightsensor.h"

#include <QElapsedTimer>
#include <QRandomGenerator>

namespace nightlight {

class SimulatedLightSensor : public LightSensor
{
    Q_OBJECT
public:
    // periodMs: one full day/night cycle (>= 1). seed: the noise sequence.
    SimulatedLightSensor(int periodMs, quint32 seed, QObject *parent = nullptr);
    ~SimulatedLightSensor() override;

    QString backendName() const override;
    void requestReading() override;

    // The reading at `elapsedMs` into the cycle, without noise.
    double curveAt(qint64 elapsedMs) const;

private:
    int m_periodMs;
    QRandomGenerator m_random;
    QElapsedTimer m_clock;
};

} // namespace nightlight
