#include "ledcontrol.h"

#include "devicehub.h"
#include "mqttclient.h"

#include <QLocale>
#include <QLoggingCategory>

namespace nightlight {

namespace {
Q_LOGGING_CATEGORY(lcLed, "nightlight.dashboard.led", QtInfoMsg)
} // namespace

LedControl::LedControl(MqttClient *client, DeviceHub *hub, QObject *parent)
    : QObject(parent), m_client(client), m_hub(hub)
{
    m_timer.setSingleShot(true);
    m_timer.setInterval(DefaultTimeoutMs);
    connect(&m_timer, &QTimer::timeout, this, &LedControl::onTimeout);
    connect(hub, &DeviceHub::stateReceived, this, &LedControl::onState);
    connect(hub, &DeviceHub::stateCleared, this, &LedControl::onStateCleared);
    connect(hub, &DeviceHub::statusReceived, this, &LedControl::onStatus);
    connect(hub, &DeviceHub::telemetryReceived, this,
            [this](const QString &id, const Telemetry &, qint64) { onTelemetry(id); });
    // Enabled only while connected: show the change at once.
    connect(client, &MqttClient::stateChanged, this, &LedControl::changed);
}

LedControl::~LedControl() = default;

void LedControl::setDeviceId(const QString &deviceId)
{
    if (deviceId == m_deviceId)
        return;
    m_timer.stop();
    m_deviceId = deviceId;
    // What the hub already heard of this device: its retained state and status are not sent
    // again when the control comes back to a device it showed before.
    m_state = m_hub->lastState(deviceId);
    m_online.reset();
    if (const auto status = m_hub->lastStatus(deviceId))
        m_online = *status == Availability::Online;
    m_seenTelemetry = m_hub->hasTelemetry(deviceId);
    m_requested = Choice::None;
    m_phase = Phase::Idle;
    m_failure.clear();
    if (!deviceId.isEmpty())
        m_hub->watchDevice(deviceId);
    emit changed();
}

void LedControl::setTimeout(int ms)
{
    m_timer.setInterval(ms);
}

LedControl::Choice LedControl::realChoice() const
{
    if (!m_state)
        return Choice::None;
    if (m_state->mode == Mode::Auto)
        return Choice::Auto;
    return m_state->ledOn ? Choice::On : Choice::Off;
}

LedControl::Choice LedControl::shownChoice() const
{
    return m_phase == Phase::Pending ? m_requested : realChoice();
}

bool LedControl::isConnected() const
{
    return m_client->isConnected();
}

bool LedControl::isEnabled(Choice choice) const
{
    if (m_deviceId.isEmpty() || choice == Choice::None || !isConnected())
        return false;
    return choice != Choice::Auto || m_state.has_value();
}

QString LedControl::choiceName(Choice choice)
{
    switch (choice) {
    case Choice::On:
        return tr("On");
    case Choice::Off:
        return tr("Off");
    case Choice::Auto:
        return tr("Auto");
    case Choice::None:
        break;
    }
    return QString();
}

Command LedControl::commandFor(Choice choice)
{
    Command c;
    if (choice == Choice::Auto)
        c.mode = Mode::Auto;
    else
        c.ledOn = choice == Choice::On; // exactly the lesson's {"led_on": b}, nothing more
    return c;
}

bool LedControl::matches(Choice choice) const
{
    return m_state && realChoice() == choice;
}

bool LedControl::request(Choice choice)
{
    if (!isEnabled(choice))
        return false;
    const QByteArray payload = encodeCommand(commandFor(choice));
    m_timer.stop();
    m_requested = choice;
    m_failure.clear();
    if (!m_client->publish(commandsTopic(m_deviceId), payload, 1, false)) {
        m_phase = Phase::Failed;
        m_failure = tr("Could not send the command: %1").arg(m_client->errorString());
        emit changed();
        emit failed(choice, m_failure);
        return false;
    }
    qCDebug(lcLed).noquote() << "sent" << payload << "to" << m_deviceId;
    if (!m_state) {
        m_phase = Phase::Unconfirmed;
    } else {
        m_phase = Phase::Pending;
        m_timer.start();
    }
    emit changed();
    return true;
}

void LedControl::onState(const QString &deviceId, const DeviceState &state)
{
    if (deviceId != m_deviceId)
        return;
    m_state = state;
    if (m_phase == Phase::Unconfirmed)
        m_phase = Phase::Idle; // it does publish a state after all
    if (m_phase == Phase::Pending && matches(m_requested)) {
        m_timer.stop();
        m_phase = Phase::Confirmed;
        emit changed();
        emit confirmed(m_requested);
        return;
    }
    // A state that does not match a pending request (an older one, or another dashboard's
    // command) is shown as the real state but the request keeps waiting for its own.
    emit changed();
}

void LedControl::onStateCleared(const QString &deviceId)
{
    if (deviceId != m_deviceId || !m_state)
        return;
    m_state.reset();
    emit changed();
}

void LedControl::onTelemetry(const QString &deviceId)
{
    if (deviceId != m_deviceId || m_seenTelemetry)
        return;
    m_seenTelemetry = true;
    emit changed();
}

void LedControl::onStatus(const QString &deviceId, Availability availability)
{
    if (deviceId != m_deviceId)
        return;
    const bool online = availability == Availability::Online;
    if (m_online == online)
        return;
    m_online = online;
    emit changed();
}

void LedControl::onTimeout()
{
    if (m_phase != Phase::Pending)
        return;
    m_phase = Phase::Failed;
    m_failure = tr("Device did not confirm within %1 s")
                    .arg(QLocale().toString(m_timer.interval() / 1000.0, 'g', 3));
    qCInfo(lcLed).noquote() << m_deviceId << ":" << m_failure;
    emit changed();
    emit failed(m_requested, m_failure);
}

QString LedControl::stateText() const
{
    if (!m_state)
        return tr("LED state unknown");
    const QString led = m_state->ledOn ? tr("LED on") : tr("LED off");
    const QString mode = m_state->mode == Mode::Auto ? tr("auto") : tr("manual");
    return tr("%1 · %2").arg(led, mode);
}

QString LedControl::message() const
{
    if (m_deviceId.isEmpty())
        return tr("No device selected");
    if (!isConnected())
        return tr("Not connected to the broker");
    switch (m_phase) {
    case Phase::Pending:
        return tr("Sent “%1”, waiting for the device to confirm…").arg(choiceName(m_requested));
    case Phase::Confirmed:
        return tr("“%1” confirmed by the device").arg(choiceName(m_requested));
    case Phase::Failed:
        return m_failure;
    case Phase::Unconfirmed:
        return tr("Sent “%1”. This device does not confirm commands (lesson device)")
            .arg(choiceName(m_requested));
    case Phase::Idle:
        break;
    }
    if (isLessonDevice())
        return tr("This device does not confirm commands (lesson device)");
    if (!m_state)
        return tr("Waiting for the device's state…");
    return QString();
}

} // namespace nightlight
