#include "backends.h"

#include "counterfitled.h"
#include "counterfitlightsensor.h"
#include "gpioled.h"
#include "grovelightsensor.h"
#include "simulatedled.h"
#include "simulatedlightsensor.h"

namespace nightlight {

namespace {

QString unknownBackend(const char *what, const QString &name)
{
    return QStringLiteral("unknown %1 backend \"%2\" (expected simulated, grove or counterfit)")
        .arg(QLatin1String(what), name);
}

} // namespace

std::unique_ptr<LightSensor> createLightSensor(const BackendOptions &options, QString *error)
{
    const QString &name = options.sensor;
    if (name == QLatin1String("simulated")) {
        return std::make_unique<SimulatedLightSensor>(options.simulatedPeriodMs,
                                                      options.simulatedSeed);
    }
    if (name == QLatin1String("grove")) {
        QString why;
        auto sensor =
            GroveLightSensor::open(options.i2cBus, options.adcAddress, options.adcChannel, &why);
        if (!sensor && error)
            *error = QStringLiteral("grove light sensor: ") + why;
        return sensor;
    }
    if (name == QLatin1String("counterfit")) {
        return std::make_unique<CounterFitLightSensor>(options.counterfitUrl,
                                                       options.counterfitSensorPin);
    }
    if (error)
        *error = unknownBackend("sensor", name);
    return nullptr;
}

std::unique_ptr<Led> createLed(const BackendOptions &options, QString *error)
{
    const QString name = options.ledBackend();
    if (name == QLatin1String("simulated"))
        return std::make_unique<SimulatedLed>();
    if (name == QLatin1String("grove")) {
        QString why;
        auto led = GpioLed::open(options.gpioChip, options.ledLine, &why);
        if (!led && error)
            *error = QStringLiteral("grove LED: ") + why;
        return led;
    }
    if (name == QLatin1String("counterfit"))
        return std::make_unique<CounterFitLed>(options.counterfitUrl, options.counterfitLedPin);
    if (error)
        *error = unknownBackend("LED", name);
    return nullptr;
}

} // namespace nightlight
