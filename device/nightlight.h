#pragma once

// Nightlight: the device's rule. Every interval it asks the LightSensor for a reading, publishes
// it as telemetry and, in auto mode, switches the Led: on while light < threshold, off once
// light >= threshold + hysteresis, unchanged in between. Commands ({"led_on": b}, {"mode": ...},
// {"threshold": n}) switch to a manual override and back.
//
// It knows nothing of MQTT: it emits typed values (telemetryReady, stateChanged) and accepts raw
// command payloads; main.cpp wires it to an MqttClient. While not connected (setConnected(false))
// telemetry goes to a bounded buffer that is emitted, oldest first with the original timestamps,
// when setConnected(true) follows. The rule never waits for the network.
//
// Lives on the main thread. The sensor and LED are not owned and must outlive the object.

#include "logthrottle.h"
#include "protocol.h"

#include <QLoggingCategory>
#include <QObject>
#include <QString>

#include <deque>
#include <functional>
#include <optional>

class QTimer;

namespace nightlight {

// "nightlight.device": the rule's lines and main.cpp's, one switch for both.
Q_DECLARE_LOGGING_CATEGORY(lcDevice)

class LightSensor;
class Led;

class Nightlight : public QObject
{
    Q_OBJECT
public:
    static constexpr int DefaultIntervalMs = 5000;
    static constexpr int MinIntervalMs = 50;
    static constexpr double DefaultThreshold = 300;
    static constexpr double DefaultHysteresis = 20;
    static constexpr int DefaultBufferSize = 10000;

    // Milliseconds since the Unix epoch; replaceable for tests.
    using Clock = std::function<qint64()>;

    Nightlight(LightSensor *sensor, Led *led, QObject *parent = nullptr);
    ~Nightlight() override;

    void setInterval(int ms); // clamped to >= MinIntervalMs; takes effect at once
    int interval() const;
    void setThreshold(double threshold); // 0..MaxLevel; re-evaluates the rule in auto mode
    double threshold() const { return m_threshold; }
    void setHysteresis(double hysteresis); // >= 0
    double hysteresis() const { return m_hysteresis; }
    void setBufferSize(int samples); // >= 1; drops the oldest buffered samples beyond it
    int bufferSize() const { return m_bufferSize; }
    void setClock(Clock clock);

    Mode mode() const { return m_mode; }
    bool isLedOn() const;
    std::optional<double> lastLight() const { return m_light; }
    // The state as published on <id>/state.
    DeviceState state() const;

    // Starts the timer; the first tick happens before start() returns (no wait of one interval).
    void start();
    void stop();
    bool isRunning() const;

    // Whether telemetry can be published now. false: buffer it; true: emit the buffer, then go on.
    void setConnected(bool connected);
    bool isConnected() const { return m_connected; }
    int bufferedCount() const { return int(m_buffer.size()); }

    int badCommandCount() const { return m_badCommands; }
    // Carried in every state (DeviceState::instance).
    void setInstance(const QString &token) { m_instance = token; }
    // How the bad-command warnings are throttled (LogThrottle's defaults: 5 lines, then one
    // summary a minute); tests shorten the interval or set a clock.
    LogThrottle &logThrottle() { return m_logThrottle; }
    // All failed readings. Logged: a warning for the first of a run of failures (a sensor that
    // stays away must not flood the journal every tick), an info line when readings work again.
    int readingFailureCount() const { return m_readingFailures; }
    int droppedSampleCount() const { return m_dropped; }
    int skippedTickCount() const { return m_skippedTicks; }

public slots:
    // One timer tick: requests a reading unless the sensor is still busy with the last one.
    void tick();
    // A raw <id>/commands payload: decoded strictly; a bad one changes nothing and is counted.
    // It is logged (category nightlight.device) through logThrottle() under the key
    // "bad commands": the first ones a line each, then a summary with the count at most once per
    // interval, and at destruction. Returns whether it was applied.
    bool handleCommand(const QByteArray &payload);
    // A command the MQTT client dropped unread because it was too large: counted and logged
    // as a bad command.
    void rejectOversizedCommand(qint64 bytes);
    // A decoded command, applied in this event-loop turn; stateChanged follows at once.
    void applyCommand(const nightlight::Command &command);

signals:
    // A sample to publish on <id>/telemetry (live, or replayed from the buffer, in order).
    void telemetryReady(const nightlight::Telemetry &telemetry);
    // The state to publish on <id>/state: after every reading, every valid command, every change.
    void stateChanged(const nightlight::DeviceState &state);
    // A command payload was rejected (already logged and counted).
    void commandRejected(nightlight::DecodeError error, const QString &message);

private:
    void onReadingReady(double light);
    void onReadingFailed(const QString &message);
    // Applies the auto rule to the last reading (nothing without one). True if the LED changed.
    bool applyRule();
    bool setLed(bool on);
    void emitTelemetry(const Telemetry &telemetry);
    // Logs what the throttle returned and arms m_logTimer for the next summary.
    void warn(const QStringList &lines);

    LightSensor *m_sensor;
    Led *m_led;
    QTimer *m_timer;
    Clock m_clock;
    Mode m_mode = Mode::Auto;
    double m_threshold = DefaultThreshold;
    double m_hysteresis = DefaultHysteresis;
    std::optional<double> m_light;
    std::optional<qint64> m_ts;
    bool m_connected = false;
    int m_bufferSize = DefaultBufferSize;
    std::deque<Telemetry> m_buffer;
    void rejectCommand(DecodeError error, const QString &detail);

    int m_badCommands = 0;
    QString m_instance;
    LogThrottle m_logThrottle;
    QTimer *m_logTimer; // single shot: the next due summary
    int m_readingFailures = 0;
    int m_failureStreak = 0; // failed readings since the last good one
    int m_dropped = 0;
    int m_skippedTicks = 0;
};

} // namespace nightlight
