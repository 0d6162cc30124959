#pragma once

// LedControl: the On / Off / Auto override as a state machine, without widgets.
//
// It always shows the device's real LED and mode, taken from the retained <id>/state. A request
// publishes the command (QoS 1) and is *pending* until a state reports it done (On/Off: mode
// manual and led_on matching; Auto: mode auto). No confirmation within timeout() (3 s) is a
// failure ("Device did not confirm within 3 s") and the control falls back to the real state.
// A device that has never published a state (a lesson device) gets nothing but
// {"led_on": b} (PROTOCOL.md "Talking to lesson devices"): Auto is refused and On/Off are sent
// without confirmation. GUI thread; the MqttClient and DeviceHub are not owned.

#include "protocol.h"

#include <QObject>
#include <QString>
#include <QTimer>

#include <optional>

namespace nightlight {

class DeviceHub;
class MqttClient;

class LedControl : public QObject
{
    Q_OBJECT
    Q_PROPERTY(Choice shownChoice READ shownChoice NOTIFY changed)
    Q_PROPERTY(Phase phase READ phase NOTIFY changed)

public:
    enum class Choice { None, On, Off, Auto };
    Q_ENUM(Choice)

    enum class Phase {
        Idle, // nothing requested (or the device changed)
        Pending, // command sent, waiting for the device's state
        Confirmed, // the device's state reported the request done
        Failed, // no confirmation within timeout(), or the publish failed
        Unconfirmed, // sent to a device that does not confirm (lesson device)
    };
    Q_ENUM(Phase)

    static constexpr int DefaultTimeoutMs = 3000;

    LedControl(MqttClient *client, DeviceHub *hub, QObject *parent = nullptr);
    ~LedControl() override;

    // Switches to another device: forgets the old one's state and any request, takes what the
    // hub already heard of the new one (state, status, telemetry) and asks the hub to watch it.
    void setDeviceId(const QString &deviceId);
    QString deviceId() const { return m_deviceId; }

    void setTimeout(int ms);
    int timeout() const { return m_timer.interval(); }

    // The device's last reported state, if it ever published one.
    std::optional<DeviceState> deviceState() const { return m_state; }
    bool hasState() const { return m_state.has_value(); }
    // Telemetry seen but never a state: a lesson-style device that cannot confirm.
    bool isLessonDevice() const { return !m_state && m_seenTelemetry; }
    bool isOnline() const { return m_online.value_or(false); }
    // The client is connected to the broker. Without that no choice is enabled: a QoS 1 command
    // would wait in the client's queue and reach the device long after "did not confirm".
    bool isConnected() const;

    // What the device really does, from its state; None without a state.
    Choice realChoice() const;
    // What to show as selected: the pending request while pending, else realChoice().
    Choice shownChoice() const;
    Choice requestedChoice() const { return m_requested; }
    Phase phase() const { return m_phase; }
    bool isEnabled(Choice choice) const;

    // One line for the user: not connected / pending / confirmed / failure / lesson device /
    // waiting.
    QString message() const;
    // The real LED and mode, e.g. "LED on · manual"; "LED state unknown" without a state.
    QString stateText() const;

    static QString choiceName(Choice choice);
    // The command a request sends to a device with or without a state.
    static Command commandFor(Choice choice);

public slots:
    // Publishes the command. Returns false (nothing sent) for None, for Auto on a device
    // without a state, without a device id, while not connected, or when publishing fails.
    bool request(nightlight::LedControl::Choice choice);

signals:
    // Anything shown changed (state, phase, message).
    void changed();
    void confirmed(nightlight::LedControl::Choice choice);
    void failed(nightlight::LedControl::Choice choice, const QString &message);

private:
    void onState(const QString &deviceId, const nightlight::DeviceState &state);
    void onStateCleared(const QString &deviceId);
    void onTelemetry(const QString &deviceId);
    void onStatus(const QString &deviceId, nightlight::Availability availability);
    void onTimeout();
    bool matches(Choice choice) const;

    MqttClient *m_client;
    DeviceHub *m_hub;
    QString m_deviceId;
    std::optional<DeviceState> m_state;
    std::optional<bool> m_online;
    bool m_seenTelemetry = false;
    Choice m_requested = Choice::None;
    Phase m_phase = Phase::Idle;
    QString m_failure;
    QTimer m_timer;
};

} // namespace nightlight
