#include "mqttclient.h"

#include "mqttfailure.h"
#include "mqttoutbox.h"
#include "mqttpacketfilter.h"

#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QFile>
#include <QHash>
#include <QLoggingCategory>
#include <QMetaObject>
#include <QPointer>
#include <QScopeGuard>
#include <QSocketNotifier>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <optional>
#include <utility>

#include <fcntl.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

// How it works (docs/mqtt-client.md has the why):
// - MqttClient and its Private live on the owner's thread. They never call libmosquitto, except
//   for the pure topic checks in publish()/subscribe().
// - Worker lives on a private QThread and is the only code that touches the mosquitto handle.
//   The owner forwards calls to it with queued invocations (arguments copied); it reports state,
//   errors and message batches back with queued invocations whose context object is the
//   MqttClient, so reports still queued when the client is destroyed are dropped by Qt.
// - The worker connects with mosquitto_connect_async(): the name look-up is synchronous, the TCP
//   connect is not. The write notifier reports the end of the TCP connect (SO_ERROR), then the
//   read/write notifiers drive the TLS handshake and the MQTT packets, and a 1 s timer runs
//   mosquitto_loop_misc() (keepalive). A connect timer abandons an attempt without CONNACK.
// - Oversized packets (#9): on plain TCP libmosquitto's socket is one end of a socketpair and the
//   worker relays the broker's bytes through an MqttPacketFilter, which reads past packets over
//   the limit and acknowledges them. Over TLS, MQTT 5 brokers are told our Maximum Packet Size.
// - On that relayed connection the client writes PUBLISH, SUBSCRIBE and UNSUBSCRIBE itself and
//   takes their acknowledgements off the stream (MqttOutbox, #12): publish() sends from the
//   owner's thread with one non-blocking send() while a session is up, without waking the
//   worker. libmosquitto keeps CONNECT, PINGREQ and DISCONNECT there, and everything over TLS.

namespace nightlight {

namespace {

Q_LOGGING_CATEGORY(lcMqtt, "nightlight.mqtt", QtInfoMsg)

using State = MqttClient::State;
using Error = MqttClient::Error;
using ProtocolVersion = MqttClient::ProtocolVersion;

// MQTT-2.2.3: the remaining length of a packet is at most 268,435,455 bytes.
constexpr qsizetype MaxPayload = 268435455 - 65535 - 4;
// Packets handled per read notification before the batch is handed over and the worker's event
// loop gets a turn (new publish() calls, timers).
constexpr int MaxPacketsPerWakeup = 2000;
// Read pacing's guard (Worker::paceRelayReads): this many paced reads in a row, each with the
// same number (at least PaceWindowMin) of QoS 1 messages, mean the broker sends a window's worth
// and waits for our acknowledgements; pacing is then off for the connection.
constexpr int PacePlateauReads = 6;
constexpr int PaceWindowMin = 8;
constexpr int MiscIntervalMs = 1000;
constexpr int DisconnectFlushMs = 2000;
// A session that lasted less than this does not reset the reconnect delay: a broker that
// accepts and then drops us (another client with our id, a message we cannot take) is retried
// with a growing delay instead of every minDelay.
constexpr qint64 StableSessionMs = 10000;
// Closes before CONNACK in a row that make Auto fall back to 3.1.1 on a broker that accepted
// MQTT 5 before (one is enough on a broker that never did).
constexpr int AmbiguousClosesBeforeFallBack = 3;
// The relay: bytes read from the broker at once, and how much of libmosquitto's output it holds
// while the broker does not take it (beyond that, libmosquitto's writes into the pair wait, as
// they would on the TCP socket).
constexpr qsizetype RelayChunk = 64 * 1024;
constexpr qsizetype RelayMaxPending = 256 * 1024;

struct Settings
{
    QString host = QStringLiteral("localhost");
    quint16 port = 1883;
    QString clientId;
    bool cleanSession = true;
    int keepAlive = 30;
    QString username;
    QString password;
    QString caFile;
    bool hasWill = false;
    QString willTopic;
    QByteArray willPayload;
    int willQos = 0;
    bool willRetain = false;
    int minDelayMs = 500;
    int maxDelayMs = 30000;
    int connectTimeoutMs = 0; // 0: max(keepAlive, 10 s)
    ProtocolVersion protocol = ProtocolVersion::Auto;
    quint32 maxPacketSize = MqttClient::DefaultMaximumPacketSize;
    quint32 sessionExpiry = 0xFFFFFFFF;
    int readPaceMs = 0;
    // setDeliveryBatching(): received messages go to the owner's thread at most this often while
    // they keep coming (the first after a quiet spell at once); 0: each read's at once.
    int deliveryBatchMs = 0;
};

// Implemented by MqttClient::Private; called on the owner's thread only.
class ReportSink
{
public:
    virtual ~ReportSink() = default;
    virtual void reportState(quint64 epoch, State state, ProtocolVersion version) = 0;
    virtual void reportFailure(quint64 epoch, State state, const MqttFailure &failure) = 0;
    virtual void reportMessages(const QList<MqttMessage> &batch) = 0;
    virtual void reportTooLarge(const QString &topic, qint64 bytes) = 0;
};

struct MosquittoDeleter
{
    void operator()(mosquitto *m) const { mosquitto_destroy(m); }
};
using MosquittoPtr = std::unique_ptr<mosquitto, MosquittoDeleter>;

struct PropertyDeleter
{
    void operator()(mosquitto_property *p) const { mosquitto_property_free_all(&p); }
};
using PropertyPtr = std::unique_ptr<mosquitto_property, PropertyDeleter>;

void initLibrary()
{
    static std::once_flag once;
    std::call_once(once, [] {
        const int rc = mosquitto_lib_init();
        if (rc != MOSQ_ERR_SUCCESS)
            qCCritical(lcMqtt) << "libmosquitto failed to initialise:" << mosquitto_strerror(rc);
        qRegisterMetaType<MqttMessage>();
        qRegisterMetaType<QList<MqttMessage>>();
        qRegisterMetaType<MqttClient::State>();
        qRegisterMetaType<MqttClient::Error>();
    });
}

bool socketReadable(int fd)
{
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

// Everything that calls libmosquitto. Lives on the worker thread; every method below runs there.
class Worker : public QObject
{
public:
    Worker(QObject *context, ReportSink *sink, MqttOutbox *outbox)
        : m_context(context), m_sink(sink), m_outbox(outbox)
    {
        m_miscTimer.setInterval(MiscIntervalMs);
        m_reconnectTimer.setSingleShot(true);
        m_connectTimer.setSingleShot(true);
        connect(&m_miscTimer, &QTimer::timeout, this, &Worker::onMisc);
        connect(&m_reconnectTimer, &QTimer::timeout, this, &Worker::attempt);
        connect(&m_connectTimer, &QTimer::timeout, this, &Worker::onConnectTimeout);
        m_batchTimer.setSingleShot(true);
        connect(&m_batchTimer, &QTimer::timeout, this, &Worker::flushBatchNow);
        m_paceTimer.setSingleShot(true);
        connect(&m_paceTimer, &QTimer::timeout, this, &Worker::resumeRelayReads);
    }

    void start(const Settings &settings, quint64 epoch);
    void stop(quint64 epoch);
    void shutdown();
    void publish(const MqttMessage &message);
    void subscribe(const QString &filter, int qos);
    void unsubscribe(const QString &filter);
    // The owner left bytes in the outbox that the socket did not take.
    void pump() { relayPump(); }

private:
    static void onConnectCb(mosquitto *, void *obj, int rc, int flags,
                            const mosquitto_property *properties);
    static void onDisconnectCb(mosquitto *, void *obj, int rc);
    static void onMessageCb(mosquitto *, void *obj, const mosquitto_message *msg);
    static void onPublishCb(mosquitto *, void *obj, int mid);
    static void onLogCb(mosquitto *, void *obj, int level, const char *text);

    bool createHandle(bool mqtt5);
    bool setConnectProperties();
    void attempt();
    void onConnack(int rc, const mosquitto_property *properties);
    void onReadable();
    bool startRelay();
    void stopRelay();
    void onRelayReadable();
    void paceRelayReads(bool gotData);
    void resumeRelayReads();
    bool relayDeliver();
    void drainPair();
    bool relayPackets(const QByteArray &packets);
    bool takePublish(const char *packet, int headerBytes, qsizetype size);
    void relayPump();
    void onWritable();
    void onTcpConnected();
    void onConnectTimeout();
    void abortSocket();
    void onMisc();
    void flushWrites();
    bool checkLink(int rc, int err);
    void linkLost(int rc, int err);
    void startNotifiers();
    void stopNotifiers();
    void scheduleReconnect();
    void closeCleanly();
    void sendSubscriptions();
    void sendOfflineQueue();
    void sendPublish(const MqttMessage &message);
    void flushBatch();
    void flushBatchNow();
    void setState(State state);
    void fail(MqttPhase phase, int code, int err, const QString &action = QString());
    void fail(const MqttFailure &failure);
    MqttFailureContext failureContext() const;
    QString where() const { return m_settings.host + u':' + QString::number(m_settings.port); }
    QString tlsDetail() const;
    // Plain TCP, either protocol: the relay filters what the broker sends (see startRelay() and
    // setConnectProperties() for why not MQTT 5's Maximum Packet Size).
    bool wantsRelay() const { return m_settings.caFile.isEmpty() && m_settings.maxPacketSize > 0; }

    QObject *const m_context; // the MqttClient: context of every report
    ReportSink *const m_sink;
    MqttOutbox *const m_outbox; // the relay's stream to the broker, shared with the owner
    Settings m_settings;
    quint64 m_epoch = 0;
    MosquittoPtr m_mosq;
    bool m_mqtt5 = false; // the protocol of the handle (and of the current attempt)
    bool m_fellBack = false; // Auto: the broker refused MQTT 5, 3.1.1 from now on
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr;
    QTimer m_miscTimer{this};
    QTimer m_reconnectTimer{this};
    QTimer m_connectTimer{this}; // from mosquitto_connect_async() to CONNACK
    QTimer m_batchTimer{this}; // the next hand-over of m_batch (BatchIntervalMs)
    QElapsedTimer m_sinceHandOver; // since m_batch was last handed over
    // Read pacing (Settings::readPaceMs, the relay only): the TCP socket's notifier is off until
    // m_paceTimer, while messages keep coming.
    QTimer m_paceTimer{this};
    QElapsedTimer m_sinceRelayRead; // since the last relay read that found bytes
    bool m_paceResumed = false; // this read is m_paceTimer's
    bool m_paceOff = false; // the guard tripped on this connection
    int m_qos1InRead = 0; // QoS 1 messages taken in by this read
    int m_lastPacedQos1 = 0; // ... by the last paced read
    int m_samePacedReads = 0; // paced reads in a row with m_lastPacedQos1 of them
    QElapsedTimer m_sessionTimer; // since the last accepting CONNACK
    State m_state = State::Disconnected;
    bool m_wanted = false; // connectToHost() and no disconnectFromHost() or permanent error since
    bool m_socketUp = false; // mosquitto_connect_async() succeeded and the socket is being driven
    bool m_tcpPending = false; // the non-blocking TCP connect has not completed yet
    bool m_sessionUp = false; // CONNACK 0 received on this socket
    int m_connackCode = 0; // a refusing CONNACK on this socket
    bool m_gotConnack = false;
    int m_disconnectRc = 0;
    int m_delayMs = 500;
    // Filter -> QoS. A hash: a dashboard watching 10,000 devices holds 20,000 exact filters, and
    // a list made each subscribe() a scan of them (#9).
    QHash<QString, int> m_subscriptions;
    QList<MqttMessage> m_offlineQueue; // QoS > 0 messages published while not connected
    // QoS > 0 messages handed to libmosquitto and not acknowledged yet, by message id, with the
    // order they were published in. libmosquitto sends them again after a reconnect on the same
    // handle; a new handle (the fall-back to 3.1.1) starts empty, so they go back to the front of
    // m_offlineQueue then (createHandle()).
    struct Unacked
    {
        quint64 seq = 0;
        MqttMessage message;
    };
    QHash<int, Unacked> m_unacked;
    quint64 m_publishSeq = 0;
    QList<MqttMessage> m_batch; // received, not yet handed to the owner
    QByteArray m_lastLogError;
    // The relay (MQTT 3.1.1 on plain TCP, #9): libmosquitto's socket is one end of a
    // socketpair; the worker moves bytes between its other end and the TCP socket, and lets
    // through only packets within the limit.
    bool m_relayed = false;
    int m_tcpFd = -1; // the TCP socket (a duplicate of the one libmosquitto opened)
    int m_pairFd = -1; // our end of the socketpair
    QSocketNotifier *m_tcpReadNotifier = nullptr;
    QSocketNotifier *m_tcpWriteNotifier = nullptr;
    QSocketNotifier *m_pairNotifier = nullptr;
    int m_refusedSubscriptions = 0; // on this connection (SUBACK failure codes)
    bool m_pairDirty = false; // libmosquitto may have written into the pair since it was drained
    QByteArray m_packets; // whole packets from the filter, not yet handled
    QByteArray m_toClient; // checked packets not yet written to the socketpair
    QByteArray m_readBuffer; // RelayChunk bytes, allocated once
    std::unique_ptr<MqttPacketFilter> m_filter;
    int m_quickCloses = 0; // sessions in a row the broker closed within StableSessionMs
    // An MQTT 5 session was accepted since start(): a close before CONNACK is then most likely a
    // broker shutting down or starting (it accepts TCP before it serves MQTT), not a 3.1.1
    // broker; fall back only after AmbiguousClosesBeforeFallBack of them in a row.
    bool m_hadV5Session = false;
    int m_ambiguousCloses = 0;
};

MqttFailureContext Worker::failureContext() const
{
    MqttFailureContext c;
    c.host = m_settings.host;
    c.where = where();
    c.clientId = m_settings.clientId;
    c.keepAlive = m_settings.keepAlive;
    c.timeoutMs = m_connectTimer.interval();
    c.anonymous = m_settings.username.isEmpty();
    c.mqtt5 = m_mqtt5;
    c.tlsDetail = tlsDetail();
    c.quickCloses = m_quickCloses;
    return c;
}

void Worker::setState(State state)
{
    if (state == m_state)
        return;
    m_state = state;
    const ProtocolVersion version = m_mqtt5 ? ProtocolVersion::Mqtt5 : ProtocolVersion::Mqtt311;
    flushBatchNow();
    QMetaObject::invokeMethod(
        m_context,
        [sink = m_sink, epoch = m_epoch, state, version] {
            sink->reportState(epoch, state, version);
        },
        Qt::QueuedConnection);
}

void Worker::fail(MqttPhase phase, int code, int err, const QString &action)
{
    // A broker that was away (a failed attempt) explains the quick closes before: a restart,
    // not another client with our id.
    if (phase == MqttPhase::Connect || phase == MqttPhase::TcpConnect ||
        phase == MqttPhase::Handshake)
        m_quickCloses = 0;
    MqttFailureContext context = failureContext();
    context.action = action;
    fail(describeMqttFailure(phase, code, err, context));
}

void Worker::fail(const MqttFailure &failure)
{
    if (failure.permanent) {
        m_wanted = false;
        m_reconnectTimer.stop();
        m_state = State::Disconnected;
    } else {
        m_state = State::Connecting;
    }
    // State and error in one report: the owner sets both before it emits anything.
    flushBatchNow();
    QMetaObject::invokeMethod(
        m_context,
        [sink = m_sink, epoch = m_epoch, state = m_state, failure] {
            sink->reportFailure(epoch, state, failure);
        },
        Qt::QueuedConnection);
}

// Hands the received messages over now, or within Settings::deliveryBatchMs of the last
// hand-over.
void Worker::flushBatch()
{
    if (m_batch.isEmpty() || m_batchTimer.isActive())
        return;
    const int interval = m_settings.deliveryBatchMs;
    const qint64 since = m_sinceHandOver.isValid() ? m_sinceHandOver.elapsed() : interval;
    if (since >= interval)
        flushBatchNow();
    else
        m_batchTimer.start(int(interval - since));
}

// Also before every other report, so the owner sees everything in the order it happened.
void Worker::flushBatchNow()
{
    m_batchTimer.stop();
    if (m_batch.isEmpty())
        return;
    m_sinceHandOver.start();
    QMetaObject::invokeMethod(
        m_context,
        [sink = m_sink, batch = std::exchange(m_batch, {})] { sink->reportMessages(batch); },
        Qt::QueuedConnection);
}

void Worker::onConnectCb(mosquitto *, void *obj, int rc, int, const mosquitto_property *properties)
{
    static_cast<Worker *>(obj)->onConnack(rc, properties);
}

void Worker::onDisconnectCb(mosquitto *, void *obj, int rc)
{
    // Called from inside a libmosquitto call; the caller of that call handles the loss. With
    // MQTT 5, a DISCONNECT from the broker arrives here with its reason code (>= 0x80).
    static_cast<Worker *>(obj)->m_disconnectRc = rc;
}

void Worker::onMessageCb(mosquitto *, void *obj, const mosquitto_message *msg)
{
    auto *w = static_cast<Worker *>(obj);
    const quint32 limit = w->m_settings.maxPacketSize;
    if (limit > 0 && msg->payloadlen > 0 && quint32(msg->payloadlen) > limit) {
        // Only over TLS (the guard cannot look into the stream): libmosquitto has read it whole,
        // we do not copy it. libmosquitto acknowledges it when we return.
        const QString topic = QString::fromUtf8(msg->topic);
        const qint64 bytes = msg->payloadlen;
        w->flushBatchNow();
        QMetaObject::invokeMethod(
            w->m_context, [sink = w->m_sink, topic, bytes] { sink->reportTooLarge(topic, bytes); },
            Qt::QueuedConnection);
        return;
    }
    MqttMessage m;
    m.topic = QString::fromUtf8(msg->topic);
    if (msg->payloadlen > 0)
        m.payload = QByteArray(static_cast<const char *>(msg->payload), msg->payloadlen);
    m.qos = msg->qos;
    m.retained = msg->retain;
    w->m_batch.append(std::move(m));
}

void Worker::onPublishCb(mosquitto *, void *obj, int mid)
{
    // PUBACK (QoS 1) or PUBCOMP (QoS 2); for QoS 0 the packet was written, and its id was never
    // recorded.
    static_cast<Worker *>(obj)->m_unacked.remove(mid);
}

void Worker::onLogCb(mosquitto *, void *obj, int level, const char *text)
{
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) {
        static_cast<Worker *>(obj)->m_lastLogError = QByteArray(text);
        qCDebug(lcMqtt) << "libmosquitto:" << text;
    }
}

bool Worker::createHandle(bool mqtt5)
{
    if (!m_unacked.isEmpty()) {
        // The old handle dies with the messages it was still to deliver: ours to send again,
        // before anything published after them.
        QList<Unacked> pending = m_unacked.values();
        std::sort(pending.begin(), pending.end(),
                  [](const Unacked &a, const Unacked &b) { return a.seq < b.seq; });
        QList<MqttMessage> queue;
        queue.reserve(pending.size() + m_offlineQueue.size());
        for (Unacked &u : pending)
            queue.append(std::move(u.message));
        queue.append(m_offlineQueue);
        m_offlineQueue = std::move(queue);
        m_unacked.clear();
        qCDebug(lcMqtt) << pending.size() << "unacknowledged messages to send again";
    }
    m_mosq.reset();
    m_mqtt5 = mqtt5;
    const QByteArray id = m_settings.clientId.toUtf8();
    errno = 0;
    m_mosq.reset(
        mosquitto_new(id.isEmpty() ? nullptr : id.constData(), m_settings.cleanSession, this));
    if (!m_mosq) {
        const int err = errno;
        if (err == EINVAL) {
            fail(MqttFailure{Error::InvalidArgument,
                             QStringLiteral("an empty client id needs a clean session"), true});
        } else {
            fail(MqttPhase::Setup, MOSQ_ERR_ERRNO, err,
                 QStringLiteral("cannot create an MQTT client"));
        }
        return false;
    }
    mosquitto *m = m_mosq.get();
    int rc = mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION,
                                  mqtt5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    // Small packets must not wait for Nagle's algorithm (ARCHITECTURE.md, "Latency").
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
        fail(MqttPhase::Setup, rc, 0, QStringLiteral("cannot set the MQTT options"));
        return false;
    }
    mosquitto_connect_v5_callback_set(m, &Worker::onConnectCb);
    mosquitto_disconnect_callback_set(m, &Worker::onDisconnectCb);
    mosquitto_message_callback_set(m, &Worker::onMessageCb);
    mosquitto_publish_callback_set(m, &Worker::onPublishCb);
    mosquitto_log_callback_set(m, &Worker::onLogCb);

    if (m_settings.hasWill) {
        const QByteArray topic = m_settings.willTopic.toUtf8();
        rc = mosquitto_will_set(m, topic.constData(), int(m_settings.willPayload.size()),
                                m_settings.willPayload.constData(), m_settings.willQos,
                                m_settings.willRetain);
        if (rc != MOSQ_ERR_SUCCESS) {
            fail(MqttPhase::Setup, MOSQ_ERR_INVAL, 0,
                 QStringLiteral("invalid Last Will on topic \"%1\"").arg(m_settings.willTopic));
            return false;
        }
    }
    if (!m_settings.username.isEmpty()) {
        const QByteArray user = m_settings.username.toUtf8();
        const QByteArray password = m_settings.password.toUtf8();
        rc = mosquitto_username_pw_set(m, user.constData(),
                                       password.isEmpty() ? nullptr : password.constData());
        if (rc != MOSQ_ERR_SUCCESS) {
            fail(MqttPhase::Setup, MOSQ_ERR_INVAL, 0, QStringLiteral("invalid user name"));
            return false;
        }
    }
    if (!m_settings.caFile.isEmpty()) {
        // libmosquitto only says "invalid arguments" for a missing file: check it ourselves.
        const QByteArray path = QFile::encodeName(m_settings.caFile);
        if (::access(path.constData(), R_OK) != 0) {
            fail(MqttPhase::Setup, MOSQ_ERR_TLS, errno,
                 QStringLiteral("cannot read CA file %1").arg(m_settings.caFile));
            return false;
        }
        rc = mosquitto_tls_set(m, path.constData(), nullptr, nullptr, nullptr, nullptr);
        if (rc != MOSQ_ERR_SUCCESS) {
            fail(MqttPhase::Setup, MOSQ_ERR_TLS, 0,
                 QStringLiteral("cannot use CA file %1").arg(m_settings.caFile));
            return false;
        }
    }
    return !mqtt5 || setConnectProperties();
}

bool Worker::setConnectProperties()
{
    // MQTT 5 CONNECT properties:
    // - Receive Maximum 65,535, always: without it mosquitto keeps at most max_inflight_messages
    //   (20) QoS 1 messages in flight to us, queues max_queued_messages (1,000) more and drops the
    //   rest ("Outgoing messages are being dropped"): the retained states of a 5,000-device fleet
    //   at subscribe, or its Last Wills at a mass exit (#10). libmosquitto acknowledges each QoS 1
    //   message as it reads it, so nothing piles up here.
    // - Session Expiry Interval for a persistent session (without it an MQTT 5 session ends with
    //   the connection).
    // - Maximum Packet Size over TLS only, where the relay cannot look into the stream (the
    //   broker must not send us anything larger; MQTT-3.1.2-24). Not on plain TCP: mosquitto
    //   (2.0.11 and 2.0.21 alike) does not give back the Receive Maximum quota of a QoS 1 message
    //   it drops for being too large, so after Receive Maximum such messages from anyone it
    //   delivers no QoS 1 message to us at all (shown with mosquitto_sub -V 5 -D connect
    //   maximum-packet-size 1000; docs/mqtt-client.md). There the relay drops them and
    //   acknowledges them, which gives the quota back; over TLS it takes 65,535 of them per
    //   connection.
    const bool tls = !m_settings.caFile.isEmpty();
    mosquitto_property *list = nullptr;
    int rc = mosquitto_property_add_int16(&list, MQTT_PROP_RECEIVE_MAXIMUM, 65535);
    if (rc == MOSQ_ERR_SUCCESS && tls && m_settings.maxPacketSize > 0)
        rc = mosquitto_property_add_int32(&list, MQTT_PROP_MAXIMUM_PACKET_SIZE,
                                          m_settings.maxPacketSize);
    if (rc == MOSQ_ERR_SUCCESS && !m_settings.cleanSession)
        rc = mosquitto_property_add_int32(&list, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                          m_settings.sessionExpiry);
    const PropertyPtr properties(list);
    if (rc != MOSQ_ERR_SUCCESS) {
        fail(MqttPhase::Setup, rc, 0, QStringLiteral("cannot set the MQTT 5 properties"));
        return false;
    }
    if (!list)
        return true;
    // libmosquitto 2.0 has no asynchronous connect that takes properties, but it keeps the ones
    // given to mosquitto_connect_bind_v5() for every later (re)connect, including
    // mosquitto_connect_async(). With keepalive 1 (below its minimum of 5) that call stores and
    // checks the properties, then returns MOSQ_ERR_INVAL before it resolves or connects anything.
    const QByteArray host = m_settings.host.toUtf8();
    rc = mosquitto_connect_bind_v5(m_mosq.get(), host.constData(), m_settings.port, 1, nullptr,
                                   properties.get());
    if (rc != MOSQ_ERR_INVAL) {
        fail(MqttPhase::Setup, rc == MOSQ_ERR_SUCCESS ? int(MOSQ_ERR_UNKNOWN) : rc, 0,
             QStringLiteral("cannot set the MQTT 5 properties"));
        return false;
    }
    return true;
}

void Worker::start(const Settings &settings, quint64 epoch)
{
    if (m_wanted)
        return; // already connecting or connected
    m_epoch = epoch;
    m_settings = settings;
    m_wanted = true;
    m_fellBack = false;
    m_quickCloses = 0;
    m_hadV5Session = false;
    m_ambiguousCloses = 0;
    m_delayMs = std::max(1, settings.minDelayMs);
    stopNotifiers();
    setState(State::Connecting);
    if (m_settings.host.isEmpty() || m_settings.port == 0) {
        fail(MqttFailure{Error::InvalidArgument,
                         QStringLiteral("invalid broker address \"%1\"").arg(where()), true});
        return;
    }
    if (!wantsRelay()) {
        // Kept by the outbox from an earlier plain-TCP session: libmosquitto sends them now.
        QList<MqttMessage> unsent = m_outbox->takeUnsent();
        unsent.append(m_offlineQueue);
        m_offlineQueue = std::move(unsent);
    }
    if (!createHandle(m_settings.protocol != ProtocolVersion::Mqtt311))
        return;
    attempt();
}

QString Worker::tlsDetail() const
{
    // libmosquitto logs OpenSSL's reason, e.g.
    // "OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed".
    QByteArray line = m_lastLogError.trimmed();
    const int colon = line.lastIndexOf(':');
    if (!line.contains("OpenSSL"))
        return QString();
    if (colon >= 0)
        line = line.mid(colon + 1).trimmed();
    return QString::fromUtf8(line);
}

void Worker::attempt()
{
    if (!m_wanted || m_socketUp || !m_mosq)
        return;
    setState(State::Connecting);
    m_sessionUp = false;
    m_gotConnack = false;
    m_connackCode = 0;
    m_disconnectRc = 0;
    m_lastLogError.clear();
    const QByteArray host = m_settings.host.toUtf8();
    qCDebug(lcMqtt) << "connecting to" << where() << (m_mqtt5 ? "with MQTT 5" : "with MQTT 3.1.1");
    errno = 0;
    // Resolves the name (blocking) and starts a non-blocking TCP connect; the CONNECT packet is
    // queued. The write notifier tells when the TCP connect has completed or failed.
    const int rc = mosquitto_connect_async(m_mosq.get(), host.constData(), m_settings.port,
                                           m_settings.keepAlive);
    const int err = errno;
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(m_mosq.get()) >= 0) {
        startNotifiers();
        m_tcpPending = true;
        m_readNotifier->setEnabled(false);
        m_writeNotifier->setEnabled(true);
        const int timeoutMs = m_settings.connectTimeoutMs > 0
            ? m_settings.connectTimeoutMs
            : std::max(m_settings.keepAlive, 10) * 1000;
        m_connectTimer.start(timeoutMs);
        return;
    }
    fail(MqttPhase::Connect, rc == MOSQ_ERR_SUCCESS ? int(MOSQ_ERR_NO_CONN) : rc, err);
    scheduleReconnect();
}

void Worker::scheduleReconnect()
{
    if (!m_wanted)
        return;
    qCDebug(lcMqtt) << "reconnecting to" << where() << "in" << m_delayMs << "ms";
    m_reconnectTimer.start(m_delayMs);
    m_delayMs = std::min(std::max(1, m_settings.maxDelayMs), m_delayMs * 2);
}

void Worker::onConnack(int rc, const mosquitto_property *properties)
{
    // Called from inside mosquitto_loop_read(): packets queued here are written by flushWrites()
    // once the read returns.
    m_connectTimer.stop();
    m_gotConnack = true;
    if (rc != 0) {
        // MQTT-3.2.2-5: a refusing CONNACK is followed by the broker closing the connection;
        // mosquitto_loop_read() then returns MOSQ_ERR_CONN_REFUSED and linkLost() reports this.
        m_connackCode = rc;
        return;
    }
    m_sessionUp = true;
    m_sessionTimer.start();
    m_ambiguousCloses = 0;
    m_hadV5Session = m_hadV5Session || m_mqtt5;
    qCDebug(lcMqtt) << "connected to" << where() << (m_mqtt5 ? "(MQTT 5)" : "(MQTT 3.1.1)");
    setState(State::Connected);
    if (m_relayed) {
        // The window and the largest packet the broker takes, as libmosquitto keeps them: its
        // default of 20 unless an MQTT 5 broker names its Receive Maximum.
        quint16 window = MqttOutbox::DefaultWindow;
        quint32 maxPacket = 0;
        mosquitto_property_read_int16(properties, MQTT_PROP_RECEIVE_MAXIMUM, &window, false);
        mosquitto_property_read_int32(properties, MQTT_PROP_MAXIMUM_PACKET_SIZE, &maxPacket, false);
        m_refusedSubscriptions = 0;
        m_outbox->open(m_mqtt5, window, maxPacket, m_subscriptions,
                       std::exchange(m_offlineQueue, {}));
        return; // the relay sends them once the read returns
    }
    sendSubscriptions();
    sendOfflineQueue();
}

void Worker::sendSubscriptions()
{
    for (auto it = m_subscriptions.cbegin(); it != m_subscriptions.cend(); ++it) {
        const QString &filter = it.key();
        const int qos = it.value();
        const QByteArray f = filter.toUtf8();
        const int rc = mosquitto_subscribe(m_mosq.get(), nullptr, f.constData(), qos);
        if (rc != MOSQ_ERR_SUCCESS)
            qCWarning(lcMqtt) << "cannot subscribe to" << filter << mosquitto_strerror(rc);
    }
}

void Worker::sendOfflineQueue()
{
    const QList<MqttMessage> queue = std::exchange(m_offlineQueue, {});
    for (const MqttMessage &m : queue)
        sendPublish(m);
}

void Worker::sendPublish(const MqttMessage &message)
{
    const QByteArray topic = message.topic.toUtf8();
    int mid = 0;
    const int rc =
        mosquitto_publish(m_mosq.get(), &mid, topic.constData(), int(message.payload.size()),
                          message.payload.constData(), message.qos, message.retained);
    // With these codes libmosquitto has queued a QoS > 0 message (it fails later, at the send).
    if (message.qos > 0 &&
        (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST ||
         rc == MOSQ_ERR_ERRNO))
        m_unacked.insert(mid, Unacked{++m_publishSeq, message});
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN && rc != MOSQ_ERR_CONN_LOST) {
        qCWarning(lcMqtt) << "cannot publish to" << message.topic << mosquitto_strerror(rc);
    }
}

void Worker::publish(const MqttMessage &message)
{
    // Counted down once the message is queued, not before: the owner may send directly as soon
    // as the count is 0, and its message must come after this one.
    const auto posted = qScopeGuard([this] { m_outbox->endPosted(); });
    if (m_sessionUp && m_relayed && m_outbox->publish(message) != MqttOutbox::Result::NotOpen) {
        relayPump();
    } else if (m_sessionUp && !m_relayed) {
        sendPublish(message);
        flushWrites();
    } else if (message.qos > 0) {
        m_offlineQueue.append(message);
    } else {
        qCDebug(lcMqtt) << "not connected: dropping QoS 0 message to" << message.topic;
    }
}

void Worker::subscribe(const QString &filter, int qos)
{
    const auto posted = qScopeGuard([this] { m_outbox->endPosted(); });
    m_subscriptions.insert(filter, qos);
    if (m_sessionUp && m_relayed) {
        m_outbox->subscribe(filter, qos);
        relayPump();
    } else if (m_sessionUp) {
        const QByteArray f = filter.toUtf8();
        const int rc = mosquitto_subscribe(m_mosq.get(), nullptr, f.constData(), qos);
        if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
            qCWarning(lcMqtt) << "cannot subscribe to" << filter << mosquitto_strerror(rc);
        flushWrites();
    }
}

void Worker::unsubscribe(const QString &filter)
{
    const auto posted = qScopeGuard([this] { m_outbox->endPosted(); });
    m_subscriptions.remove(filter);
    if (m_sessionUp && m_relayed) {
        m_outbox->unsubscribe(filter);
        relayPump();
    } else if (m_sessionUp) {
        const QByteArray f = filter.toUtf8();
        const int rc = mosquitto_unsubscribe(m_mosq.get(), nullptr, f.constData());
        if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
            qCWarning(lcMqtt) << "cannot unsubscribe from" << filter << mosquitto_strerror(rc);
        flushWrites();
    }
}

void Worker::startNotifiers()
{
    const int fd = mosquitto_socket(m_mosq.get());
    m_socketUp = true;
    m_readNotifier = new QSocketNotifier(fd, QSocketNotifier::Read, this);
    connect(m_readNotifier, &QSocketNotifier::activated, this, &Worker::onReadable);
    m_writeNotifier = new QSocketNotifier(fd, QSocketNotifier::Write, this);
    m_writeNotifier->setEnabled(false);
    connect(m_writeNotifier, &QSocketNotifier::activated, this, &Worker::onWritable);
    m_miscTimer.start();
}

void Worker::stopNotifiers()
{
    m_socketUp = false;
    m_tcpPending = false;
    stopRelay();
    m_miscTimer.stop();
    m_connectTimer.stop();
    // We may be inside one of their activated() signals: delete them later.
    for (QSocketNotifier **n : {&m_readNotifier, &m_writeNotifier}) {
        if (*n) {
            (*n)->setEnabled(false);
            (*n)->deleteLater();
            *n = nullptr;
        }
    }
}

bool Worker::checkLink(int rc, int err)
{
    if (!m_socketUp)
        return false;
    if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(m_mosq.get()) < 0) {
        if (rc == MOSQ_ERR_SUCCESS)
            rc = m_disconnectRc != 0 ? m_disconnectRc : int(MOSQ_ERR_CONN_LOST);
        linkLost(rc, err);
        return false;
    }
    return true;
}

void Worker::flushWrites()
{
    if (!m_socketUp || m_tcpPending)
        return;
    if (mosquitto_want_write(m_mosq.get())) {
        errno = 0;
        const int rc = mosquitto_loop_write(m_mosq.get(), 1);
        m_pairDirty = true;
        if (!checkLink(rc, errno))
            return;
    }
    if (m_relayed) {
        relayPump();
        return;
    }
    m_writeNotifier->setEnabled(mosquitto_want_write(m_mosq.get()));
}

bool Worker::startRelay()
{
    // libmosquitto 2.0 has no hook between its socket and its packet reader, and reads a packet
    // whole into one malloc() of its Remaining Length (packet_mosq.c: "FIXME - client case for
    // incoming message received from broker too large"). So its socket becomes one end of a
    // socketpair: dup3() puts the pair's end on the descriptor number libmosquitto holds, and
    // the TCP connection lives on in a duplicate that only the worker reads and writes.
    const int fd = mosquitto_socket(m_mosq.get());
    int pair[2] = {-1, -1};
    const int tcp = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (tcp < 0 ||
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0 ||
        ::dup3(pair[0], fd, O_CLOEXEC) < 0) {
        const int err = errno;
        for (int f : {tcp, pair[0], pair[1]}) {
            if (f >= 0)
                ::close(f);
        }
        linkLost(MOSQ_ERR_ERRNO, err);
        return false;
    }
    ::close(pair[0]);
    m_tcpFd = tcp;
    m_pairFd = pair[1];
    m_relayed = true;
    m_outbox->attach(m_tcpFd);
    if (!m_filter)
        m_filter = std::make_unique<MqttPacketFilter>(m_settings.maxPacketSize);
    m_filter->reset();
    // The notifiers on libmosquitto's descriptor number now watch the socketpair: replace them.
    for (QSocketNotifier **n : {&m_readNotifier, &m_writeNotifier}) {
        (*n)->setEnabled(false);
        (*n)->deleteLater();
        *n = nullptr;
    }
    m_tcpReadNotifier = new QSocketNotifier(m_tcpFd, QSocketNotifier::Read, this);
    connect(m_tcpReadNotifier, &QSocketNotifier::activated, this, &Worker::onRelayReadable);
    m_tcpWriteNotifier = new QSocketNotifier(m_tcpFd, QSocketNotifier::Write, this);
    m_tcpWriteNotifier->setEnabled(false);
    connect(m_tcpWriteNotifier, &QSocketNotifier::activated, this, &Worker::relayPump);
    m_pairNotifier = new QSocketNotifier(m_pairFd, QSocketNotifier::Read, this);
    connect(m_pairNotifier, &QSocketNotifier::activated, this, [this] {
        m_pairDirty = true;
        relayPump();
    });
    m_pairDirty = true;
    return true;
}

void Worker::stopRelay()
{
    if (!m_relayed)
        return;
    m_relayed = false;
    m_paceTimer.stop();
    m_paceResumed = false;
    m_paceOff = false;
    m_lastPacedQos1 = m_samePacedReads = 0;
    m_sinceRelayRead.invalidate();
    for (QSocketNotifier **n : {&m_tcpReadNotifier, &m_tcpWriteNotifier, &m_pairNotifier}) {
        if (*n) {
            (*n)->setEnabled(false);
            (*n)->deleteLater();
            *n = nullptr;
        }
    }
    // The outbox keeps our messages the broker has not acknowledged for the next session, and
    // lets go of the socket before it is closed: the owner's thread may be about to send on it.
    if (const int kept = m_outbox->detach())
        qCDebug(lcMqtt) << kept << "unacknowledged messages to send again";
    // libmosquitto still holds the other end of the pair; it closes it at the next connect.
    ::close(m_tcpFd);
    ::close(m_pairFd);
    m_tcpFd = m_pairFd = -1;
    m_toClient.clear();
    m_toClient.squeeze();
    m_packets = QByteArray();
    m_readBuffer = QByteArray();
    if (m_filter)
        m_filter->reset();
}

// Bytes from the broker: through the filter, then to libmosquitto.
void Worker::onRelayReadable()
{
    if (!m_relayed)
        return;
    if (m_readBuffer.size() != RelayChunk)
        m_readBuffer.resize(RelayChunk);
    bool gotData = false;
    m_qos1InRead = 0;
    for (int round = 0; round < 16; ++round) {
        const ssize_t n =
            ::recv(m_tcpFd, m_readBuffer.data(), size_t(m_readBuffer.size()), MSG_DONTWAIT);
        if (n > 0)
            gotData = true;
        if (n == 0) {
            linkLost(MOSQ_ERR_CONN_LOST, 0);
            return;
        }
        if (n < 0) {
            const int err = errno;
            if (err == EINTR)
                continue;
            if (err == EAGAIN || err == EWOULDBLOCK)
                break;
            linkLost(MOSQ_ERR_ERRNO, err);
            return;
        }
        QList<MqttPacketFilter::Dropped> dropped;
        m_packets.clear(); // keeps its capacity
        if (!m_filter->feed(m_readBuffer.constData(), n, &m_packets, &dropped)) {
            linkLost(MOSQ_ERR_PROTOCOL, 0);
            return;
        }
        for (const MqttPacketFilter::Dropped &d : std::as_const(dropped)) {
            qCDebug(lcMqtt) << "dropped an oversized message of" << d.bytes << "bytes on"
                            << d.topic;
            // Acknowledged, so the broker does not send it again at every reconnect.
            m_outbox->acknowledge(MqttPacketFilter::acknowledgement(d));
            flushBatchNow();
            QMetaObject::invokeMethod(
                m_context,
                [sink = m_sink, topic = d.topic, bytes = d.bytes] {
                    sink->reportTooLarge(topic, bytes);
                },
                Qt::QueuedConnection);
        }
        if (!relayPackets(m_packets))
            return;
        if (n < m_readBuffer.size())
            break;
    }
    // A paced read comes at most every readPaceMs: its messages go over at once.
    if (m_paceResumed)
        flushBatchNow();
    else
        flushBatch();
    relayPump();
    if (m_relayed)
        paceRelayReads(gotData);
}

// With Settings::readPaceMs, a read that finds bytes less than readPaceMs after the last one
// (or that was itself paced) turns the socket's notifier off for readPaceMs: while messages keep
// coming, one wake-up of this thread takes in all that arrived in that time, where it would
// otherwise wake for nearly every message (docs/fleet.md, "Where the dashboard's CPU goes"). The
// first read after a quiet spell is never delayed.
// A broker sends at most its in-flight window of QoS 1 messages before it waits for their
// PUBACKs; paced, that would be a window per readPaceMs. On MQTT 5 we ask for 65,535
// (setConnectProperties()) and mosquitto honours it, but a broker may keep a smaller one of its
// own, and on 3.1.1 the client cannot ask (RabbitMQ keeps its prefetch of 10; mosquitto 2.0.11
// sent 3.1.1 clients far more than its 20 here, docs/mqtt-client.md). Such a broker shows as
// paced reads that each bring exactly its window: after PacePlateauReads of them pacing is off
// until the next connection. With a large window the count varies from read to read.
void Worker::paceRelayReads(bool gotData)
{
    const bool resumed = std::exchange(m_paceResumed, false);
    if (m_settings.readPaceMs <= 0 || m_paceOff || !gotData)
        return;
    if (resumed) {
        if (m_qos1InRead >= PaceWindowMin && m_qos1InRead == m_lastPacedQos1)
            ++m_samePacedReads;
        else
            m_samePacedReads = 1;
        m_lastPacedQos1 = m_qos1InRead;
        if (m_samePacedReads >= PacePlateauReads) {
            qCDebug(lcMqtt) << "the broker waits for acknowledgements every" << m_qos1InRead
                            << "QoS 1 messages: reading without pacing on this connection";
            m_paceOff = true;
            return;
        }
    }
    const bool busy = resumed ||
        (m_sinceRelayRead.isValid() && m_sinceRelayRead.elapsed() < m_settings.readPaceMs);
    m_sinceRelayRead.start();
    if (!busy)
        return;
    m_tcpReadNotifier->setEnabled(false);
    m_paceTimer.start(m_settings.readPaceMs);
}

void Worker::resumeRelayReads()
{
    if (!m_relayed)
        return;
    m_tcpReadNotifier->setEnabled(true);
    m_paceResumed = true;
    onRelayReadable();
}

// The filter's whole packets, in order. A PUBLISH at QoS 0 or 1 in an accepted session is
// decoded here and acknowledged in our stream to the broker: through libmosquitto each one cost a
// write into the socketpair, three or four reads and a poll() there, and its PUBACK the same road
// back (docs/fleet.md, "Where the dashboard's CPU goes"). The rest (CONNACK, SUBACK, PINGRESP,
// QoS 2, anything we cannot read) goes to libmosquitto, which keeps its state and its errors.
bool Worker::relayPackets(const QByteArray &packets)
{
    const char *data = packets.constData();
    qsizetype pos = 0;
    while (pos < packets.size()) {
        int headerBytes = 0;
        quint32 remaining = 0;
        if (!MqttPacketFilter::header(data + pos, packets.size() - pos, &headerBytes, &remaining) ||
            qint64(headerBytes) + remaining > packets.size() - pos) {
            m_toClient.append(data + pos, packets.size() - pos); // not expected: libmosquitto's
            break;
        }
        const qsizetype total = qsizetype(headerBytes + qint64(remaining));
        const auto command = quint8(data[pos]);
        QList<MqttOutbox::Refused> refused;
        if (m_sessionUp && m_outbox->takeAcknowledgement(data + pos, total, &refused)) {
            for (const MqttOutbox::Refused &r : std::as_const(refused)) {
                // An ACL can refuse thousands of a dashboard's filters: a few lines a connection.
                if (++m_refusedSubscriptions <= 3) {
                    qCWarning(lcMqtt).noquote()
                        << "the broker refused the subscription to" << r.filter
                        << QStringLiteral("(reason 0x%1)").arg(r.reason, 2, 16, QLatin1Char('0'))
                        << (m_refusedSubscriptions == 3 ? "; further refusals are not logged" : "");
                }
            }
            pos += total;
            continue;
        }
        if ((command & 0xF0) == 0x30 && ((command >> 1) & 3) < 2) {
            // What libmosquitto has before it comes first (a CONNACK opens the session).
            if (!m_toClient.isEmpty() && !relayDeliver())
                return false;
            if (m_sessionUp && takePublish(data + pos, headerBytes, total)) {
                pos += total;
                continue;
            }
        }
        m_toClient.append(data + pos, total);
        pos += total;
    }
    return m_toClient.isEmpty() || relayDeliver();
}

// A PUBLISH (QoS 0 or 1) into the batch, as libmosquitto would hand it over; false if it cannot
// be read, for libmosquitto to deal with.
bool Worker::takePublish(const char *packet, int headerBytes, qsizetype size)
{
    const auto command = quint8(packet[0]);
    const int qos = (command >> 1) & 3;
    qsizetype pos = headerBytes;
    if (size - pos < 2)
        return false;
    const int topicLength = (quint8(packet[pos]) << 8) | quint8(packet[pos + 1]);
    pos += 2;
    if (topicLength == 0 || size - pos < topicLength)
        return false; // no topic: a topic alias, which we never allow
    const char *topic = packet + pos;
    pos += topicLength;
    int packetId = 0;
    if (qos == 1) {
        if (size - pos < 2)
            return false;
        packetId = (quint8(packet[pos]) << 8) | quint8(packet[pos + 1]);
        pos += 2;
        if (packetId == 0)
            return false;
    }
    if (m_mqtt5) {
        // Properties: their length, then skipped.
        int bytes = 0;
        quint32 length = 0;
        if (!MqttPacketFilter::variableByteInteger(packet + pos, size - pos, &bytes, &length) ||
            qint64(length) > size - pos - bytes)
            return false;
        pos += bytes + qsizetype(length);
    }
    if (mosquitto_validate_utf8(topic, topicLength) != MOSQ_ERR_SUCCESS)
        return false;
    MqttMessage m;
    m.topic = QString::fromUtf8(topic, topicLength);
    m.payload = QByteArray(packet + pos, size - pos);
    m.qos = qos;
    m.retained = command & 1;
    m_batch.append(std::move(m));
    if (qos == 1)
        ++m_qos1InRead;
    m_outbox->acknowledge(MqttPacketFilter::acknowledgement(qos, packetId)); // PUBACK at QoS 1
    return true;
}

// Writes the checked packets into the socketpair and lets libmosquitto read them.
bool Worker::relayDeliver()
{
    const int fd = mosquitto_socket(m_mosq.get());
    while (!m_toClient.isEmpty()) {
        const ssize_t w = ::send(m_pairFd, m_toClient.constData(), size_t(m_toClient.size()),
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            m_toClient.remove(0, qsizetype(w));
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            linkLost(MOSQ_ERR_ERRNO, errno);
            return false;
        }
        for (int i = 0; i < MaxPacketsPerWakeup && socketReadable(fd); ++i) {
            errno = 0;
            const int rc = mosquitto_loop_read(m_mosq.get(), 1);
            const int err = errno;
            m_pairDirty = true;
            if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(m_mosq.get()) != fd) {
                flushBatch();
                checkLink(rc, err);
                return false;
            }
        }
    }
    return true;
}

// What libmosquitto wrote into the socketpair, up to RelayMaxPending waiting for the broker.
void Worker::drainPair()
{
    // Only after libmosquitto ran (a PUBACK taken off the stream wakes nothing there): one
    // recv() that finds nothing saved per message (#12). The pair's notifier marks it too.
    if (!m_pairDirty)
        return;
    char buffer[16384];
    while (m_outbox->queuedBytes() < RelayMaxPending) {
        const ssize_t n = ::recv(m_pairFd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            m_pairDirty = false;
            break;
        }
        m_outbox->feedLibmosquitto(buffer, qsizetype(n));
    }
}

// libmosquitto's packets from the socketpair to the broker.
void Worker::relayPump()
{
    if (!m_relayed)
        return;
    for (;;) {
        drainPair();
        int err = 0;
        if (!m_outbox->flush(&err)) {
            linkLost(MOSQ_ERR_ERRNO, err);
            return;
        }
        // libmosquitto's own queue, if the pair was full when it wrote.
        if (!mosquitto_want_write(m_mosq.get()) || m_outbox->queuedBytes() >= RelayMaxPending)
            break;
        errno = 0;
        const int rc = mosquitto_loop_write(m_mosq.get(), 1);
        m_pairDirty = true;
        if (!checkLink(rc, errno))
            return;
    }
    const qsizetype queued = m_outbox->queuedBytes();
    m_tcpWriteNotifier->setEnabled(queued > 0);
    m_pairNotifier->setEnabled(queued < RelayMaxPending);
}

void Worker::onReadable()
{
    if (!m_socketUp || m_tcpPending)
        return;
    const int fd = mosquitto_socket(m_mosq.get());
    // One notification may carry many packets: read them all (up to a bound), then hand the
    // messages over in one queued call.
    for (int i = 0; i < MaxPacketsPerWakeup; ++i) {
        errno = 0;
        const int rc = mosquitto_loop_read(m_mosq.get(), 1);
        const int err = errno;
        if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(m_mosq.get()) != fd) {
            flushBatch();
            checkLink(rc, err);
            return;
        }
        if (!socketReadable(fd))
            break;
    }
    flushBatch();
    flushWrites(); // PUBACKs, SUBSCRIBEs queued by callbacks
}

void Worker::onWritable()
{
    if (m_tcpPending)
        onTcpConnected();
    else
        flushWrites();
}

void Worker::onTcpConnected()
{
    const int fd = mosquitto_socket(m_mosq.get());
    int err = 0;
    socklen_t len = sizeof err;
    if (fd < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno != 0 ? errno : ENOTCONN;
    if (err != 0) {
        // The asynchronous result of connect(): mapped as mosquitto_connect()'s MOSQ_ERR_ERRNO.
        abortSocket();
        stopNotifiers();
        fail(MqttPhase::TcpConnect, MOSQ_ERR_ERRNO, err);
        scheduleReconnect();
        return;
    }
    qCDebug(lcMqtt) << "socket to" << where() << "open, waiting for CONNACK";
    m_tcpPending = false;
    m_readNotifier->setEnabled(true);
    // With TLS, the first read starts the handshake (ClientHello); without, it finds nothing.
    // Then the queued CONNECT packet is written.
    if (wantsRelay()) {
        if (startRelay())
            flushWrites();
        return;
    }
    onReadable();
}

void Worker::onConnectTimeout()
{
    if (!m_socketUp || m_sessionUp)
        return;
    const bool tcp = m_tcpPending;
    abortSocket();
    stopNotifiers();
    m_sessionUp = false;
    fail(tcp ? MqttPhase::TcpConnect : MqttPhase::Handshake, MOSQ_ERR_TIMEOUT, 0);
    scheduleReconnect();
}

void Worker::abortSocket()
{
    // libmosquitto has no call that just closes its socket: shut it down, so a pending connect
    // is abandoned at once; libmosquitto closes it at the next connect or when destroyed.
    const int fd = m_mosq ? mosquitto_socket(m_mosq.get()) : -1;
    if (fd >= 0)
        ::shutdown(fd, SHUT_RDWR);
    if (m_relayed)
        ::shutdown(m_tcpFd, SHUT_RDWR);
}

void Worker::onMisc()
{
    if (!m_socketUp || m_tcpPending)
        return;
    errno = 0;
    const int rc = mosquitto_loop_misc(m_mosq.get()); // PINGREQ, keepalive timeout
    m_pairDirty = true;
    if (checkLink(rc, errno))
        flushWrites();
}

void Worker::linkLost(int rc, int err)
{
    const bool wasUp = m_sessionUp;
    abortSocket(); // the relay may find the end before libmosquitto does
    stopNotifiers();
    m_sessionUp = false;
    if (!m_wanted) {
        setState(State::Disconnected);
        return;
    }
    // A session that held for a while earns a quick first retry; one that broke at once (a
    // broker that drops us right after CONNACK) keeps the growing delay.
    if (wasUp) {
        const bool stable = m_sessionTimer.elapsed() >= StableSessionMs;
        if (stable)
            m_delayMs = std::max(1, m_settings.minDelayMs);
        // Closed by the broker moments after it accepted us, again and again: mosquitto before
        // 2.0.15 and 3.1.1 brokers say nothing when another client takes over our client id.
        m_quickCloses = !stable && rc == MOSQ_ERR_CONN_LOST ? m_quickCloses + 1 : 0;
    }
    // Whatever ends a v5 attempt before its CONNACK, other than TLS or a timeout, may be a
    // 3.1.1 broker: libmosquitto 2.0.11 reports its CONNACK 0x01 as 0x84, 2.0.21 as a malformed
    // packet (it reads properties a 3.1.1 CONNACK does not have), other brokers just close.
    // A broker that accepted MQTT 5 before is given AmbiguousClosesBeforeFallBack such closes:
    // at a restart it accepts TCP and closes it while it saves its database (#9).
    const bool autoV5 = m_mqtt5 && m_settings.protocol == ProtocolVersion::Auto && !wasUp;
    const bool ambiguous = autoV5 && !m_gotConnack && rc != MOSQ_ERR_TLS &&
        rc != MOSQ_ERR_TLS_HANDSHAKE && rc != MOSQ_ERR_KEEPALIVE;
    if (ambiguous)
        ++m_ambiguousCloses;
    const bool refusedV5 = autoV5 &&
        ((m_gotConnack &&
          (m_connackCode == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION || m_connackCode == 1)) ||
         (ambiguous && (!m_hadV5Session || m_ambiguousCloses >= AmbiguousClosesBeforeFallBack)));
    if (refusedV5) {
        // A 3.1.1 broker answers a v5 CONNECT with "unacceptable protocol version" (0x01, which
        // libmosquitto reports as 0x84) or just closes the connection: try 3.1.1 at once.
        qCInfo(lcMqtt).noquote() << "broker" << where()
                                 << "does not speak MQTT 5: using MQTT 3.1.1";
        m_fellBack = true;
        if (createHandle(false))
            attempt();
        return;
    }
    if (m_gotConnack && m_connackCode != 0) {
        fail(MqttPhase::Connack, m_connackCode, 0);
    } else if (m_mqtt5 && rc >= 0x80) {
        fail(MqttPhase::BrokerDisconnect, rc, 0);
    } else {
        fail(wasUp ? MqttPhase::Session : MqttPhase::Handshake, rc, err);
    }
    if (m_state != State::Disconnected)
        scheduleReconnect();
}

void Worker::closeCleanly()
{
    if (!m_socketUp)
        return;
    if (m_tcpPending) {
        // No CONNECT has left yet, so there is no session to close: never wait for the socket.
        abortSocket();
        stopNotifiers();
        return;
    }
    // DISCONNECT: the broker discards the Last Will (MQTT-3.14.4-3).
    mosquitto *m = m_mosq.get();
    const int rc = mosquitto_disconnect(m);
    m_pairDirty = true;
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
        qCDebug(lcMqtt) << "DISCONNECT not sent:" << mosquitto_strerror(rc);
    const QDeadlineTimer deadline(DisconnectFlushMs);
    while (m_relayed && !deadline.hasExpired()) {
        // libmosquitto wrote DISCONNECT into the pair: carry it (and what is before it) over.
        drainPair();
        int err = 0;
        if (!m_outbox->flush(&err) || (m_outbox->queuedBytes() == 0 && !mosquitto_want_write(m)))
            break;
        m_pairDirty = true;
        if (mosquitto_want_write(m) && mosquitto_loop_write(m, 1) != MOSQ_ERR_SUCCESS)
            break;
        pollfd p{m_tcpFd, POLLOUT, 0};
        ::poll(&p, 1, int(std::max<qint64>(1, std::min<qint64>(50, deadline.remainingTime()))));
    }
    while (!m_relayed && mosquitto_socket(m) >= 0 && mosquitto_want_write(m) &&
           !deadline.hasExpired()) {
        pollfd p{mosquitto_socket(m), POLLOUT, 0};
        ::poll(&p, 1, int(std::max<qint64>(1, deadline.remainingTime())));
        if (mosquitto_loop_write(m, 1) != MOSQ_ERR_SUCCESS)
            break;
    }
    stopNotifiers();
    m_sessionUp = false;
}

void Worker::stop(quint64 epoch)
{
    m_epoch = epoch;
    m_wanted = false;
    m_reconnectTimer.stop();
    closeCleanly();
    setState(State::Disconnected);
}

void Worker::shutdown()
{
    m_wanted = false;
    m_reconnectTimer.stop();
    closeCleanly();
    m_mosq.reset();
    m_miscTimer.stop();
    m_batchTimer.stop(); // the owner is going away
}

} // namespace

class MqttClient::Private : public ReportSink
{
public:
    explicit Private(MqttClient *client) : q(client)
    {
        initLibrary();
        worker = std::make_unique<Worker>(q, this, &outbox);
        worker->moveToThread(&thread);
        thread.setObjectName(QStringLiteral("nightlight-mqtt"));
        thread.start();
    }

    ~Private() override
    {
        QMetaObject::invokeMethod(
            worker.get(),
            [w = worker.get()] {
                w->shutdown();
                QThread::currentThread()->quit();
            },
            Qt::QueuedConnection);
        thread.wait();
        // The thread has finished: nothing runs on the worker any more, and every report it
        // posted to q is discarded when q is destroyed.
        worker.reset();
    }

    template<typename F>
    void post(F &&function)
    {
        QMetaObject::invokeMethod(worker.get(), std::forward<F>(function), Qt::QueuedConnection);
    }

    // As QMqttClientPrivate::setStateAndError(): both values are set before any signal, so a
    // slot connected to any of them sees the new state and the new error.
    void setStateAndError(State s, std::optional<MqttFailure> failure = std::nullopt)
    {
        const State old = state;
        state = s;
        if (failure) {
            error = failure->error;
            errorString = failure->message;
            gaveUp = failure->permanent && s == State::Disconnected;
        }
        QPointer<MqttClient> guard(q);
        if (failure && failure->error != Error::NoError) {
            qCWarning(lcMqtt).noquote() << failure->message;
            emit q->errorOccurred(failure->error, failure->message);
            if (!guard)
                return;
        }
        if (s == old)
            return;
        emit q->stateChanged(s);
        if (!guard)
            return;
        if (s == State::Connected)
            emit q->connected();
        else if (old == State::Connected)
            emit q->disconnected();
    }

    void invalid(const QString &message)
    {
        error = Error::InvalidArgument;
        errorString = message;
        qCWarning(lcMqtt).noquote() << message;
    }

    void reportState(quint64 e, State s, ProtocolVersion version) override
    {
        if (e != epoch)
            return;
        if (s == State::Connected)
            negotiated = version;
        setStateAndError(s);
    }

    void reportFailure(quint64 e, State s, const MqttFailure &failure) override
    {
        if (e == epoch)
            setStateAndError(s, failure);
    }

    void reportMessages(const QList<MqttMessage> &batch) override
    {
        QPointer<MqttClient> guard(q);
        emit q->messagesReceived(batch);
        for (const MqttMessage &m : batch) {
            if (!guard)
                return;
            emit q->messageReceived(m);
        }
    }

    void reportTooLarge(const QString &topic, qint64 bytes) override
    {
        ++droppedTooLarge;
        emit q->messageTooLarge(topic, bytes);
    }

    MqttClient *const q;
    Settings settings;
    State state = State::Disconnected;
    Error error = Error::NoError;
    QString errorString;
    bool gaveUp = false;
    ProtocolVersion negotiated = ProtocolVersion::Auto;
    qint64 droppedTooLarge = 0;
    quint64 epoch = 0; // bumped by connectToHost()/disconnectFromHost(): older reports are stale
    MqttOutbox outbox; // before the worker, which uses it until it is destroyed
    QThread thread;
    std::unique_ptr<Worker> worker;
};

MqttClient::MqttClient(QObject *parent) : QObject(parent), d(std::make_unique<Private>(this)) { }

MqttClient::~MqttClient() = default;

void MqttClient::setHost(const QString &host)
{
    d->settings.host = host;
}

QString MqttClient::host() const
{
    return d->settings.host;
}

void MqttClient::setPort(quint16 port)
{
    d->settings.port = port;
}

quint16 MqttClient::port() const
{
    return d->settings.port;
}

void MqttClient::setClientId(const QString &id)
{
    d->settings.clientId = id;
}

QString MqttClient::clientId() const
{
    return d->settings.clientId;
}

void MqttClient::setCleanSession(bool clean)
{
    d->settings.cleanSession = clean;
}

bool MqttClient::cleanSession() const
{
    return d->settings.cleanSession;
}

void MqttClient::setKeepAlive(int seconds)
{
    d->settings.keepAlive = seconds;
}

int MqttClient::keepAlive() const
{
    return d->settings.keepAlive;
}

void MqttClient::setUsername(const QString &username)
{
    d->settings.username = username;
}

void MqttClient::setPassword(const QString &password)
{
    d->settings.password = password;
}

void MqttClient::setTlsCaFile(const QString &path)
{
    d->settings.caFile = path;
}

QString MqttClient::tlsCaFile() const
{
    return d->settings.caFile;
}

void MqttClient::setWill(const QString &topic, const QByteArray &payload, int qos, bool retain)
{
    d->settings.hasWill = true;
    d->settings.willTopic = topic;
    d->settings.willPayload = payload;
    d->settings.willQos = qos;
    d->settings.willRetain = retain;
}

void MqttClient::clearWill()
{
    d->settings.hasWill = false;
    d->settings.willTopic.clear();
    d->settings.willPayload.clear();
}

void MqttClient::setConnectTimeout(int ms)
{
    d->settings.connectTimeoutMs = std::max(0, ms);
}

int MqttClient::connectTimeout() const
{
    return d->settings.connectTimeoutMs > 0 ? d->settings.connectTimeoutMs
                                            : std::max(d->settings.keepAlive, 10) * 1000;
}

void MqttClient::setReconnectDelay(int minMs, int maxMs)
{
    d->settings.minDelayMs = std::max(1, minMs);
    d->settings.maxDelayMs = std::max(d->settings.minDelayMs, maxMs);
}

MqttClient::State MqttClient::state() const
{
    return d->state;
}

MqttClient::Error MqttClient::error() const
{
    return d->error;
}

QString MqttClient::errorString() const
{
    return d->error == Error::NoError ? QString() : d->errorString;
}

void MqttClient::connectToHost()
{
    if (d->state != State::Disconnected)
        return;
    const quint64 epoch = ++d->epoch;
    d->outbox.setOwnerSends(true);
    d->post([w = d->worker.get(), settings = d->settings, epoch] { w->start(settings, epoch); });
    // A new attempt starts without the last one's error (QMqttClient does the same).
    d->error = Error::NoError;
    d->errorString.clear();
    d->gaveUp = false;
    d->setStateAndError(State::Connecting);
}

void MqttClient::disconnectFromHost()
{
    const quint64 epoch = ++d->epoch;
    d->outbox.setOwnerSends(false);
    d->post([w = d->worker.get(), epoch] { w->stop(epoch); });
    d->setStateAndError(State::Disconnected);
}

bool MqttClient::gaveUp() const
{
    return d->gaveUp;
}

qint64 MqttClient::droppedTooLarge() const
{
    return d->droppedTooLarge;
}

void MqttClient::setProtocolVersion(ProtocolVersion version)
{
    d->settings.protocol = version;
}

MqttClient::ProtocolVersion MqttClient::protocolVersion() const
{
    return d->negotiated;
}

void MqttClient::setMaximumPacketSize(quint32 bytes)
{
    d->settings.maxPacketSize = bytes;
}

quint32 MqttClient::maximumPacketSize() const
{
    return d->settings.maxPacketSize;
}

void MqttClient::setSessionExpiry(quint32 seconds)
{
    d->settings.sessionExpiry = seconds;
}

void MqttClient::setReadPacing(int ms)
{
    d->settings.readPaceMs = std::max(0, ms);
}

void MqttClient::setDeliveryBatching(int ms)
{
    d->settings.deliveryBatchMs = std::max(0, ms);
}

bool MqttClient::publish(const QString &topic, const QByteArray &payload, int qos, bool retain)
{
    const QByteArray t = topic.toUtf8();
    if (qos < 0 || qos > 2) {
        d->invalid(QStringLiteral("cannot publish to \"%1\": QoS %2 is not 0, 1 or 2")
                       .arg(topic)
                       .arg(qos));
        return false;
    }
    if (t.isEmpty() ||
        mosquitto_pub_topic_check2(t.constData(), size_t(t.size())) != MOSQ_ERR_SUCCESS ||
        mosquitto_validate_utf8(t.constData(), int(t.size())) != MOSQ_ERR_SUCCESS) {
        d->invalid(QStringLiteral("cannot publish to \"%1\": not a valid topic name").arg(topic));
        return false;
    }
    if (payload.size() > MaxPayload) {
        d->invalid(QStringLiteral("cannot publish to \"%1\": payload of %2 bytes is too large")
                       .arg(topic)
                       .arg(payload.size()));
        return false;
    }
    MqttMessage m;
    m.topic = topic;
    m.payload = payload;
    m.qos = qos;
    m.retained = retain;
    // Straight to the socket while a session is up (MqttOutbox); to the worker otherwise.
    const MqttOutbox::Result sent = d->outbox.publishFromOwner(m);
    if (sent == MqttOutbox::Result::WakeWorker)
        d->post([w = d->worker.get()] { w->pump(); });
    if (sent != MqttOutbox::Result::NotOpen)
        return true;
    d->outbox.beginPosted();
    d->post([w = d->worker.get(), m = std::move(m)] { w->publish(m); });
    return true;
}

bool MqttClient::subscribe(const QString &topicFilter, int qos)
{
    const QByteArray t = topicFilter.toUtf8();
    if (qos < 0 || qos > 2) {
        d->invalid(QStringLiteral("cannot subscribe to \"%1\": QoS %2 is not 0, 1 or 2")
                       .arg(topicFilter)
                       .arg(qos));
        return false;
    }
    if (t.isEmpty() ||
        mosquitto_sub_topic_check2(t.constData(), size_t(t.size())) != MOSQ_ERR_SUCCESS ||
        mosquitto_validate_utf8(t.constData(), int(t.size())) != MOSQ_ERR_SUCCESS) {
        d->invalid(QStringLiteral("cannot subscribe to \"%1\": not a valid topic filter")
                       .arg(topicFilter));
        return false;
    }
    d->outbox.beginPosted();
    d->post([w = d->worker.get(), topicFilter, qos] { w->subscribe(topicFilter, qos); });
    return true;
}

void MqttClient::unsubscribe(const QString &topicFilter)
{
    d->outbox.beginPosted();
    d->post([w = d->worker.get(), topicFilter] { w->unsubscribe(topicFilter); });
}

QString mqttErrorName(MqttClient::Error error)
{
    switch (error) {
    case MqttClient::Error::NoError:
        return QStringLiteral("no error");
    case MqttClient::Error::InvalidArgument:
        return QStringLiteral("invalid argument");
    case MqttClient::Error::HostNotFound:
        return QStringLiteral("host not found");
    case MqttClient::Error::ConnectionRefused:
        return QStringLiteral("connection refused");
    case MqttClient::Error::NetworkError:
        return QStringLiteral("network error");
    case MqttClient::Error::TlsFileError:
        return QStringLiteral("TLS file error");
    case MqttClient::Error::TlsHandshakeFailed:
        return QStringLiteral("TLS handshake failed");
    case MqttClient::Error::BadCredentials:
        return QStringLiteral("bad credentials");
    case MqttClient::Error::NotAuthorized:
        return QStringLiteral("not authorized");
    case MqttClient::Error::ProtocolError:
        return QStringLiteral("protocol error");
    case MqttClient::Error::SessionTakenOver:
        return QStringLiteral("session taken over");
    }
    return QStringLiteral("unknown error");
}

} // namespace nightlight
