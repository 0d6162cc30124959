#pragma once

// MqttOutbox: the bytes MqttClient sends to the broker on a relayed connection (plain TCP), and
// the packets it writes itself there: PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PUBREL and the
// acknowledgements of what it receives. libmosquitto keeps CONNECT, PINGREQ and DISCONNECT.
//
// Why (#12): every publish used to cross to the worker thread (a queued call and a wake-up),
// into libmosquitto, through the socketpair and back out to the TCP socket, and every PUBACK
// the same road in: 2.1-2.7x the CPU of a one-thread C device per tick. Now the owner's thread
// encodes a PUBLISH and sends it with one non-blocking send() when nothing is queued before it,
// and the worker takes the PUBACK off the stream itself. Nothing here blocks: DNS, the TCP
// connect and TLS stay on the worker (TLS connections never use the outbox).
//
// Thread-safe: every method locks. The worker owns the socket's life (attach/detach); the owner
// only ever calls publishFromOwner() and the posted counters.
//
// Packet ids: on a relayed connection libmosquitto sends nothing with a packet id, so the
// outbox owns the id space and never hands out an id still in flight.

#include "mqttclient.h"

#include "mqttpacketfilter.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QString>

#include <mutex>

namespace nightlight {

class MqttOutbox
{
public:
    // libmosquitto's default send window (msgs_out.inflight_maximum), kept where the broker
    // names none (MQTT 3.1.1, or no Receive Maximum in an MQTT 5 CONNACK).
    static constexpr int DefaultWindow = 20;

    struct Refused
    {
        QString filter;
        int reason = 0x80;
    };

    enum class Result {
        Done, // sent, queued, or waiting for the window; nothing else to do
        WakeWorker, // bytes are queued that only the worker's write notifier will send
        NotOpen, // no session on a relayed connection: hand the message to the worker
    };

    // The relay has a TCP socket (the worker, before CONNECT): libmosquitto's bytes go to it.
    void attach(int fd);
    // The broker accepted the session (the worker, at CONNACK): `subscriptions` are sent, then
    // what the last connection left unacknowledged, then `first` (QoS > 0 messages published
    // while away), before anything published later.
    // serverMaximumPacketSize 0: no limit.
    void open(bool mqtt5, int window, quint32 serverMaximumPacketSize,
              const QHash<QString, int> &subscriptions, const QList<MqttMessage> &first);
    // The connection is gone (the worker): no more writes. QoS > 0 messages the broker has not
    // acknowledged, and those still waiting for the window, stay, and open() sends them first in
    // the next session (with their packet ids and DUP, MQTT-4.4.0-1). Returns how many stay.
    int detach();
    // Between connections: the messages detach() kept, in publish order, for a connection that
    // will not use the outbox (TLS); forgets them.
    QList<MqttMessage> takeUnsent();

    // Owner's thread: sends `message` at once if a session is up and nothing handed to the
    // worker is still to run (so the order of publish()/subscribe() calls holds); NotOpen
    // otherwise, and then the caller must call beginPosted() and hand it to the worker.
    Result publishFromOwner(const MqttMessage &message);
    // A call to the worker that writes to the stream (publish, subscribe, unsubscribe) was
    // posted (owner) / has started to run (worker). While any is outstanding the owner does
    // not send directly.
    void beginPosted();
    void endPosted();
    // Owner's thread: disconnectFromHost() turns direct sends off (a publish after it goes to
    // the worker, which queues or drops it as before); connectToHost() turns them on.
    void setOwnerSends(bool on);

    // The worker, with a session open.
    Result publish(const MqttMessage &message);
    void subscribe(const QString &filter, int qos);
    void unsubscribe(const QString &filter);
    // An acknowledgement of a message from the broker (PUBACK, PUBREC), between libmosquitto's
    // packets.
    void acknowledge(const QByteArray &ack);
    // A packet from the broker. True if it acknowledged one of ours (PUBACK, PUBREC, PUBCOMP,
    // SUBACK, UNSUBACK) and was handled here; refused subscriptions are appended to *refused.
    bool takeAcknowledgement(const char *packet, qsizetype size, QList<Refused> *refused);
    // Bytes libmosquitto wrote into the socketpair, in order.
    void feedLibmosquitto(const char *data, qsizetype size);
    // Sends what is queued; false with *err on a socket error.
    bool flush(int *err);
    qsizetype queuedBytes() const;
    bool isOpen() const;
    // Packets sent by publishFromOwner(), for tests and benchmarks.
    qint64 directSends() const;

private:
    struct InFlight
    {
        quint64 seq = 0; // publish order
        MqttMessage message; // a PUBLISH
        bool released = false; // QoS 2: PUBREC received, PUBREL sent
        bool subscription = false; // a SUBSCRIBE or UNSUBSCRIBE
        QString filter;
    };

    Result publishLocked(const MqttMessage &message, bool direct);
    // A QoS > 0 message under a new packet id, in flight until the broker acknowledges it.
    void sendInFlightLocked(const MqttMessage &message, bool direct);
    // The broker has it: out of flight, and the window takes the next waiting one.
    void finishPublishLocked(QHash<quint16, InFlight>::iterator it);
    // The ids of the PUBLISHes in flight, in the order they were published.
    QList<quint16> publishesInOrderLocked() const;
    void subscriptionLocked(bool subscribe, const QString &filter, int qos);
    bool sendNowLocked(const MqttMessage &message, quint16 id, bool direct);
    quint16 nextIdLocked();
    void appendOwnLocked(const QByteArray &packet);
    void releaseWindowLocked();
    void encodePublish(const MqttMessage &message, quint16 id, QByteArray *out,
                       bool duplicate) const;
    QByteArray encodeSubscription(bool subscribe, const QByteArray &filter, int qos,
                                  quint16 id) const;

    mutable std::mutex m_mutex;
    int m_fd = -1;
    bool m_open = false;
    bool m_mqtt5 = false;
    bool m_ownerSends = false;
    int m_posted = 0;
    int m_window = DefaultWindow;
    int m_publishesInFlight = 0; // QoS > 0 PUBLISHes in m_inFlight
    quint32 m_serverMaxPacket = 0;
    QByteArray m_queued; // for the broker, not sent yet
    MqttPacketBoundary m_libmosquitto; // where libmosquitto's stream in m_queued is
    QByteArray m_pendingOwn; // our packets waiting for a boundary of libmosquitto's stream
    QByteArray m_scratch; // the PUBLISH being encoded, kept for its capacity
    QHash<quint16, InFlight> m_inFlight;
    QList<MqttMessage> m_waiting; // QoS > 0 messages beyond the window
    quint16 m_lastId = 0;
    quint64 m_seq = 0;
    qint64 m_directSends = 0;
};

} // namespace nightlight
