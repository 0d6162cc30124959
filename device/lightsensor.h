#pragma once

// LightSensor: where the nightlight's light level comes from. Backends: simulated, Grove Base
// Hat ADC (i2c-dev), CounterFit (HTTP). Lives on the main thread.

#include <QObject>
#include <QString>

namespace nightlight {

class LightSensor : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    ~LightSensor() override = default;

    // Backend name as given to --sensor: "simulated", "grove", "counterfit".
    virtual QString backendName() const = 0;
    // Unit of the readings for <id>/state; empty means the lesson's units (0..1000 / 0..1023).
    virtual QString unit() const { return {}; }
    // Starts one reading. Exactly one of readingReady / readingFailed follows, possibly before
    // this returns (synchronous backends). Must not block on the network.
    virtual void requestReading() = 0;
    // True while a requested reading has not been answered (the rule skips a tick then).
    virtual bool isBusy() const { return false; }

signals:
    void readingReady(double light);
    void readingFailed(const QString &message);
};

} // namespace nightlight
