#pragma once

// SimulatedLed: an LED that only logs "LED on" / "LED off" (category nightlight.device.led, info)
// when it changes, and remembers its state. Synchronous; never fails.

#include "led.h"

namespace nightlight {

class SimulatedLed : public Led
{
    Q_OBJECT
public:
    explicit SimulatedLed(QObject *parent = nullptr);
    ~SimulatedLed() override;

    QString backendName() const override;
    void setOn(bool on) override;
    bool isOn() const override { return m_on; }

private:
    bool m_on = false;
};

} // namespace nightlight
