#pragma once

// DeviceHub: the dashboard's one reader of MQTT messages. It subscribes to the discovery
// wildcards and to the exact topics of the devices it is asked to watch, decodes every payload
// through protocol.h and hands typed values on. Malformed payloads are counted, logged and never
// reach a widget; the log is throttled per topic (LogThrottle: the first 5 in full, then a summary
// a minute, and one at destruction), since any client of the broker can send them. Lives on the
// thread of its MqttClient (the GUI thread).

#include "logthrottle.h"
#include "mqttclient.h"
#include "protocol.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QSet>
#include <QString>

#include <optional>

class QTimer;

namespace nightlight {

class MqttClient;

class DeviceHub : public QObject
{
    Q_OBJECT
    Q_PROPERTY(int malformedCount READ malformedCount NOTIFY malformedMessage)

public:
    // A `ts` further ahead of the receive time than this is not trusted (a wrong device clock
    // would pin the live chart in the future): the receive time is used and the message counts
    // as malformed.
    static constexpr qint64 MaxClockAheadMs = 60000;

    // `client` is not owned and must outlive the hub.
    explicit DeviceHub(MqttClient *client, QObject *parent = nullptr);
    ~DeviceHub() override;

    MqttClient *client() const { return m_client; }

    // Subscribes to +/status (QoS 1) and +/telemetry (QoS 0).
    void startDiscovery();
    // Subscribes to the exact <id>/state and <id>/status (PROTOCOL.md "Any standard broker":
    // some brokers deliver no retained messages to wildcard subscriptions). Idempotent.
    // Returns false for an invalid id.
    bool watchDevice(const QString &deviceId);
    bool isWatching(const QString &deviceId) const { return m_watched.contains(deviceId); }

    // What has been heard of a device so far, for a view that switches to it later: the state
    // and status messages are retained and the broker delivers them once per subscription, so
    // a second look at a device cannot wait for them again. Empty if nothing (valid) was heard;
    // an empty retained state clears lastState().
    std::optional<nightlight::DeviceState> lastState(const QString &deviceId) const;
    std::optional<nightlight::Availability> lastStatus(const QString &deviceId) const;
    bool hasTelemetry(const QString &deviceId) const { return m_heardTelemetry.contains(deviceId); }

    int malformedCount() const { return m_malformedCount; }
    // "<topic>: <reason>" of the last malformed message; empty if none.
    QString lastError() const { return m_lastError; }
    void resetMalformedCount();
    // How the malformed-message warnings are throttled (key "malformed messages on <topic>");
    // tests shorten the interval or set a clock.
    LogThrottle &logThrottle() { return m_logThrottle; }

    // Decodes one message and emits the matching signal, synchronously.
    void handleMessage(const nightlight::MqttMessage &message);
    // Queues a batch (from MqttClient::messagesReceived) and decodes it in slices of at most
    // sliceBudgetMs per event-loop turn, in order, so a burst never stalls the GUI.
    void enqueue(const QList<nightlight::MqttMessage> &messages);
    // Decodes everything still queued, now (on shutdown, before the store's last flush).
    void drainQueue();
    void setSliceBudget(int ms) { m_sliceBudgetMs = ms; }
    qsizetype queuedMessages() const { return m_queue.size() - m_queueHead; }

signals:
    // `receivedMs`: when the message arrived (ms since the epoch, UTC); `t.ts` may be absent.
    // A `ts` over MaxClockAheadMs ahead of `receivedMs` is replaced by `receivedMs` (so is a
    // state's).
    void telemetryReceived(const QString &deviceId, const nightlight::Telemetry &t,
                           qint64 receivedMs);
    void stateReceived(const QString &deviceId, const nightlight::DeviceState &state);
    // An empty retained <id>/state: the retained state was deleted.
    void stateCleared(const QString &deviceId);
    void statusReceived(const QString &deviceId, nightlight::Availability availability);
    // After the counter went up; `error` is "<topic>: <reason>".
    void malformedMessage(const QString &topic, const QString &error);

private:
    void reportMalformed(const QString &topic, const QString &reason);
    // Replaces a `ts` too far ahead of `nowMs` by `nowMs` and reports it.
    void clampFutureTs(const QString &topic, std::optional<qint64> &ts, qint64 nowMs);
    void drain();
    // Logs what the throttle returned and arms m_logTimer for the next summary.
    void warn(const QStringList &lines);

    MqttClient *m_client;
    QSet<QString> m_watched;
    QHash<QString, DeviceState> m_states;
    QHash<QString, Availability> m_statuses;
    QSet<QString> m_heardTelemetry;
    QList<MqttMessage> m_queue;
    qsizetype m_queueHead = 0;
    bool m_drainScheduled = false;
    int m_sliceBudgetMs = 8;
    int m_malformedCount = 0;
    QString m_lastError;
    LogThrottle m_logThrottle;
    QTimer *m_logTimer; // single shot: the next due summary
};

} // namespace nightlight
