#pragma once

// Led: the nightlight's LED. Backends: simulated (a log line), GPIO line through libgpiod,
// CounterFit (HTTP). Lives on the main thread.

#include <QObject>
#include <QString>

namespace nightlight {

class Led : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    ~Led() override = default;

    virtual QString backendName() const = 0;
    // Switches the LED. Synchronous backends act before returning; asynchronous ones (CounterFit)
    // send the request and report a failure through failed(). Never blocks on the network.
    virtual void setOn(bool on) = 0;
    // The last state set (what the device believes the LED shows).
    virtual bool isOn() const = 0;

signals:
    void failed(const QString &message);
};

} // namespace nightlight
