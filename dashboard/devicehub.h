#pragma once

// DeviceHub: the dashboard's one reader of MQTT messages. It subscribes to the wildcards
// +/status, +/state and +/telemetry, and to the exact topics of the devices it is asked to watch
// only where the broker sends no retained messages to wildcards; it decodes every payload
// through protocol.h and hands typed values on. Malformed payloads are counted, logged and never
// reach a widget; the log is throttled per topic (LogThrottle: the first 5 in full, then a summary
// a minute, and one at destruction), since any client of the broker can send them. Lives on the
// thread of its MqttClient (the GUI thread).
//
// It also decides which ids are devices (#9 item 8: any client can publish on any number of
// ids). A device is "known" once it sent a valid reading, or once it is watched (the history, the
// user's choice, --id); only known devices' messages are handed on. A status from an unknown id
// or a state only makes a candidate: its last status and state are kept (at most maxCandidates(),
// the oldest dropped) so that the device shows them at once when its first reading comes (the
// broker sends retained messages once per subscription). At most maxDevices() devices become
// known from the network; readings from
// further new ids are ignored, counted and logged through the throttle. See docs/dashboard.md
// "Which ids are devices".

#include "logthrottle.h"
#include "mqttclient.h"
#include "protocol.h"

#include <QElapsedTimer>
#include <QHash>
#include <QList>
#include <QObject>
#include <QSet>
#include <QString>

#include <list>
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
    // Devices that may become known from the network: twice a 5,000-device fleet.
    static constexpr int DefaultMaxDevices = 10000;
    // Ids heard only through a status, remembered (id and status, about 100 bytes each).
    static constexpr int DefaultMaxCandidates = 1000;

    // `client` is not owned and must outlive the hub.
    explicit DeviceHub(MqttClient *client, QObject *parent = nullptr);
    ~DeviceHub() override;

    MqttClient *client() const { return m_client; }

    // How the hub subscribes (docs/fleet.md "How the dashboard stays right at 5,000 devices").
    enum class RetainedDelivery {
        Probing, // wildcards subscribed, no retained message seen through them yet
        Wildcards, // the broker delivers retained messages to wildcards: they are all we need
        ExactTopics, // none came (RabbitMQ, or no retained messages yet): exact <id>/state and
                     // <id>/status for the known devices nothing was heard of
    };
    Q_ENUM(RetainedDelivery)
    // Wait this long after a connect for a retained state or status through the wildcards,
    // before the hub subscribes exact topics.
    static constexpr int DefaultProbeMs = 5000;

    // Subscribes to +/status, +/state and +/telemetry (QoS 1) and, after each connect, watches
    // whether retained messages come through them (see RetainedDelivery).
    void startDiscovery();
    RetainedDelivery retainedDelivery() const { return m_delivery; }
    // Devices whose exact <id>/state and <id>/status are subscribed.
    int exactSubscriptionCount() const { return int(m_exact.size()); }
    void setProbeTime(int ms) { m_probeMs = ms; }
    // Marks a device as watched: its retained state and status are wanted. Where the broker
    // delivers retained messages to wildcards (mosquitto, aedes, EMQX, HiveMQ) that needs no
    // subscription of its own; where it may not, the exact <id>/state and <id>/status of a
    // device nothing was heard of within the probe time are subscribed (PROTOCOL.md "Any
    // standard broker"), and before startDiscovery() (a hub for one device) at once.
    // Idempotent.
    // A device not known yet becomes known (deviceAdmitted), whatever maxDevices(): watching is
    // asked for by the history, the user or --id, never by a message. Returns false for an
    // invalid id.
    bool watchDevice(const QString &deviceId);
    // Asks the broker again for a known device's retained status and state: its exact topics
    // are subscribed (again) at QoS 1, and unsubscribed once the status came or after
    // RefreshTimeoutMs (unless the broker needs them anyway). For a device gone stale: a live
    // status the broker dropped on its way to us (a stock mosquitto drops QoS 0 messages for a
    // client that is 1,000 packets behind, as at a mass exit of a 5,000-device fleet, whose
    // clean "offline" is QoS 0) is still retained there. Requests within one event-loop turn go
    // out together.
    void refreshRetained(const QString &deviceId);
    static constexpr int RefreshTimeoutMs = 10000;
    int refreshingCount() const { return int(m_refreshing.size()); }
    bool isWatching(const QString &deviceId) const { return m_watched.contains(deviceId); }
    bool isKnown(const QString &deviceId) const { return m_known.contains(deviceId); }
    int deviceCount() const { return int(m_known.size()); }
    // Makes the hub forget a device: it is no longer known or watched (its exact topics are
    // unsubscribed), what was heard of it and its messages still queued here are dropped, and
    // deviceForgotten fires. Its next reading makes it a new device; its status only a candidate.
    void forgetDevice(const QString &deviceId);

    // How many devices may become known through their messages (>= 1, default
    // DefaultMaxDevices). Lowering it forgets nobody: it only stops new ones.
    void setMaxDevices(int count);
    int maxDevices() const { return m_maxDevices; }
    // How many ids heard only through a status are remembered (>= 0, default
    // DefaultMaxCandidates); beyond it the oldest is dropped.
    void setMaxCandidates(int count);
    int maxCandidates() const { return m_maxCandidates; }
    int candidateCount() const { return int(m_candidates.size()); }
    bool isCandidate(const QString &deviceId) const { return m_candidates.contains(deviceId); }
    // Readings from new ids ignored because maxDevices() devices were known, since the hub was
    // made.
    qint64 refusedMessages() const { return m_refused; }

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
    // A device became known (its first reading, or watchDevice()), before any of its messages is
    // handed on. A status and a state it sent as a candidate follow at once (statusReceived,
    // stateReceived).
    void deviceAdmitted(const QString &deviceId);
    // forgetDevice() was called for a known device.
    void deviceForgotten(const QString &deviceId);
    // The first reading refused because maxDevices() devices are known; once per hub.
    void deviceLimitReached(int maxDevices);

private:
    // Known (true), admitted now (true, deviceAdmitted emitted) or refused (false).
    bool admit(const QString &deviceId, bool fromNetwork);
    void refuse(const QString &deviceId);
    void noteCandidate(const QString &deviceId, const std::optional<Availability> &availability,
                       const std::optional<DeviceState> &state);
    void subscribeExact(const QString &deviceId);
    void subscribeDevice(const QString &deviceId);
    void unsubscribeDevice(const QString &deviceId);
    void noteRetained(const QString &deviceId);
    bool heardOf(const QString &deviceId) const;
    void checkUnheard();
    void sendRefreshes();
    void endRefresh(const QString &deviceId);
    void expireRefreshes();
    void onConnected();
    void onProbeTimeout();
    void dropCandidate(const QString &deviceId);
    void reportMalformed(const QString &topic, const QString &reason);
    // Replaces a `ts` too far ahead of `nowMs` by `nowMs` and reports it.
    void clampFutureTs(const QString &topic, std::optional<qint64> &ts, qint64 nowMs);
    void drain();
    // Logs what the throttle returned and arms m_logTimer for the next summary.
    void warn(const QStringList &lines);

    MqttClient *m_client;
    QSet<QString> m_known;
    QSet<QString> m_watched; // a subset of m_known
    QSet<QString> m_exact; // watched devices whose exact topics are subscribed
    RetainedDelivery m_delivery = RetainedDelivery::Probing;
    int m_probeMs = DefaultProbeMs;
    QTimer *m_probeTimer = nullptr;
    // ExactTopics: devices watched since, to subscribe exactly if still not heard of.
    QSet<QString> m_unheard;
    QTimer *m_unheardTimer = nullptr;
    // refreshRetained(): not sent yet, and sent (with when).
    QSet<QString> m_refreshQueued;
    QHash<QString, qint64> m_refreshing;
    QTimer *m_refreshTimer = nullptr; // single shot: the oldest refresh times out
    QElapsedTimer m_clock; // since construction, for the refresh timeouts
    QElapsedTimer m_sinceConnect;
    bool m_discovering = false;
    // Candidates, oldest first, and their last status and state.
    std::list<QString> m_candidateOrder;
    struct Candidate
    {
        std::optional<Availability> availability;
        std::optional<DeviceState> state;
        std::list<QString>::iterator order;
    };
    QHash<QString, Candidate> m_candidates;
    int m_maxDevices = DefaultMaxDevices;
    int m_maxCandidates = DefaultMaxCandidates;
    qint64 m_refused = 0;
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
