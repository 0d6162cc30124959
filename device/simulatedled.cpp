#include "simulatedled.h"

#include <QLoggingCategory>

namespace nightlight {

namespace {
Q_LOGGING_CATEGORY(lcLed, "nightlight.device.led", QtInfoMsg)
} // namespace

SimulatedLed::SimulatedLed(QObject *parent) : Led(parent) { }

SimulatedLed::~SimulatedLed() = default;

QString SimulatedLed::backendName() const
{
    return QStringLiteral("simulated");
}

void SimulatedLed::setOn(bool on)
{
    if (on != m_on)
        qCInfo(lcLed, on ? "LED on" : "LED off");
    m_on = on;
}

} // namespace nightlight
