#pragma once

// Creating the sensor and LED backends chosen on the command line (--sensor, --led).

#include <QString>
#include <QUrl>

#include <memory>
#include <optional>

class QObject;

namespace nightlight {

class LightSensor;
class Led;

struct BackendOptions
{
    QString sensor = QStringLiteral("simulated"); // simulated | grove | counterfit
    QString led; // empty: same as sensor
    // simulated
    int simulatedPeriodMs = 120000; // one day/night cycle
    quint32 simulatedSeed = 1;
    // grove
    int i2cBus = 1;
    std::optional<int> adcAddress; // nullopt: probe 0x04 then 0x08
    int adcChannel = 0; // A0
    QString gpioChip; // name, path or label; empty: the chip with a line named GPIO5
    int ledLine = 5;
    // counterfit
    QUrl counterfitUrl = QUrl(QStringLiteral("http://127.0.0.1:5000"));
    int counterfitSensorPin = 0;
    int counterfitLedPin = 5;

    QString ledBackend() const { return led.isEmpty() ? sensor : led; }
};

// nullptr with *error set ("cannot open /dev/i2c-1: No such file or directory: enable I2C with
// raspi-config") when the backend cannot start: the program exits with code 3.
std::unique_ptr<LightSensor> createLightSensor(const BackendOptions &options, QString *error);
std::unique_ptr<Led> createLed(const BackendOptions &options, QString *error);

} // namespace nightlight
