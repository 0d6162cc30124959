#pragma once

// GroveLightSensor: the Grove light sensor on an analog port (A0 = channel 0) of the Seeed Grove
// Base Hat, read through the hat's ADC microcontroller on i2c. A reading is the channel's input
// voltage over the supply voltage in per mille (0..1000; more light, higher value), as the
// lesson's grove.py `ADC.read(channel)` returns it.
//
// Lives on the main thread. requestReading() is synchronous: one i2c write and one 2-byte read
// (well under a millisecond), then readingReady or readingFailed before it returns.

#include "lightsensor.h"

#include <QString>

#include <memory>
#include <optional>

namespace nightlight {

class I2cTransport;

class GroveLightSensor : public LightSensor
{
    Q_OBJECT
public:
    // The hat answers at 0x04 (the original STM32 firmware) or at 0x08 (the later MM32 one).
    static constexpr int DefaultAddresses[] = {0x04, 0x08};
    static constexpr int ChannelCount = 8;
    // Register 0x00: product id; 0x30 + channel: input/supply voltage ratio in per mille.
    static constexpr quint8 ProductIdRegister = 0x00;
    static constexpr quint8 RatioRegisterBase = 0x30;

    // Opens /dev/i2c-<i2cBus> and finds the ADC (at `address`, or probing 0x04 then 0x08).
    // nullptr with *error set when the device node, the hat or the arguments are wrong.
    static std::unique_ptr<GroveLightSensor> open(int i2cBus, std::optional<int> address,
                                                  int channel, QString *error);
    // The same over any transport (tests give a fake bus): checks the channel, probes the
    // address by reading the product id register.
    static std::unique_ptr<GroveLightSensor> create(std::unique_ptr<I2cTransport> transport,
                                                    std::optional<int> address, int channel,
                                                    QString *error);

    // Uses `transport` as it is: the address must already answer (no probing, no checks).
    GroveLightSensor(std::unique_ptr<I2cTransport> transport, int address, int channel,
                     QObject *parent = nullptr);
    ~GroveLightSensor() override;

    QString backendName() const override { return QStringLiteral("grove"); }
    void requestReading() override;

    int address() const { return m_address; }
    int channel() const { return m_channel; }
    // 0x0004 or 0x0005 when found by create()/open(); 0 when constructed directly.
    quint16 productId() const { return m_productId; }

private:
    std::unique_ptr<I2cTransport> m_transport;
    int m_address;
    int m_channel;
    quint16 m_productId = 0;
};

} // namespace nightlight
