#include "mqttclient.h"

#include <QDeadlineTimer>
#include <QFile>
#include <QLoggingCategory>
#include <QMetaObject>
#include <QPointer>
#include <QSocketNotifier>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

#include <mosquitto.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

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

namespace nightlight {

namespace {

Q_LOGGING_CATEGORY(lcMqtt, "nightlight.mqtt", QtInfoMsg)

using State = MqttClient::State;
using Error = MqttClient::Error;

// MQTT-2.2.3: the remaining length of a packet is at most 268,435,455 bytes.
constexpr qsizetype MaxPayload = 268435455 - 65535 - 4;
// Packets handled per read notification before the batch is handed over and the worker's event
// loop gets a turn (new publish() calls, timers).
constexpr int MaxPacketsPerWakeup = 2000;
constexpr int MiscIntervalMs = 1000;
constexpr int DisconnectFlushMs = 2000;

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
};

// Implemented by MqttClient::Private; called on the owner's thread only.
class ReportSink
{
public:
    virtual ~ReportSink() = default;
    virtual void reportState(quint64 epoch, State state) = 0;
    virtual void reportError(quint64 epoch, Error error, const QString &message) = 0;
    virtual void reportMessages(const QList<MqttMessage> &batch) = 0;
};

struct MosquittoDeleter
{
    void operator()(mosquitto *m) const { mosquitto_destroy(m); }
};
using MosquittoPtr = std::unique_ptr<mosquitto, MosquittoDeleter>;

void initLibrary()
{
    static std::once_flag once;
    std::call_once(once, [] {
        mosquitto_lib_init();
        qRegisterMetaType<MqttMessage>();
        qRegisterMetaType<QList<MqttMessage>>();
        qRegisterMetaType<MqttClient::State>();
        qRegisterMetaType<MqttClient::Error>();
    });
}

QString errnoText(int err)
{
    return QString::fromLocal8Bit(std::strerror(err));
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
    Worker(QObject *context, ReportSink *sink) : m_context(context), m_sink(sink)
    {
        m_miscTimer.setInterval(MiscIntervalMs);
        m_reconnectTimer.setSingleShot(true);
        m_connectTimer.setSingleShot(true);
        connect(&m_miscTimer, &QTimer::timeout, this, &Worker::onMisc);
        connect(&m_reconnectTimer, &QTimer::timeout, this, &Worker::attempt);
        connect(&m_connectTimer, &QTimer::timeout, this, &Worker::onConnectTimeout);
    }

    void start(const Settings &settings, quint64 epoch);
    void stop(quint64 epoch);
    void shutdown();
    void publish(const MqttMessage &message);
    void subscribe(const QString &filter, int qos);
    void unsubscribe(const QString &filter);

private:
    static void onConnectCb(mosquitto *, void *obj, int rc);
    static void onDisconnectCb(mosquitto *, void *obj, int rc);
    static void onMessageCb(mosquitto *, void *obj, const mosquitto_message *msg);
    static void onLogCb(mosquitto *, void *obj, int level, const char *text);

    bool createHandle();
    void attempt();
    void onConnack(int rc);
    void onReadable();
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
    void setState(State state);
    void fail(Error error, const QString &message, bool permanent);
    QString where() const { return m_settings.host + u':' + QString::number(m_settings.port); }
    QString tlsDetail(int rc) const;

    QObject *const m_context; // the MqttClient: context of every report
    ReportSink *const m_sink;
    Settings m_settings;
    quint64 m_epoch = 0;
    MosquittoPtr m_mosq;
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr;
    QTimer m_miscTimer{this};
    QTimer m_reconnectTimer{this};
    QTimer m_connectTimer{this}; // from mosquitto_connect_async() to CONNACK
    State m_state = State::Disconnected;
    bool m_wanted = false; // connectToHost() and no disconnectFromHost() or permanent error since
    bool m_socketUp = false; // mosquitto_connect_async() succeeded and the socket is being driven
    bool m_tcpPending = false; // the non-blocking TCP connect has not completed yet
    bool m_sessionUp = false; // CONNACK 0 received on this socket
    Error m_connackError = Error::NoError; // a refusing CONNACK on this socket
    QString m_connackMessage;
    int m_disconnectRc = 0;
    int m_delayMs = 500;
    QList<QPair<QString, int>> m_subscriptions;
    QList<MqttMessage> m_offlineQueue; // QoS > 0 messages published while not connected
    QList<MqttMessage> m_batch; // received, not yet handed to the owner
    QByteArray m_lastLogError;
};

void Worker::setState(State state)
{
    if (state == m_state)
        return;
    m_state = state;
    QMetaObject::invokeMethod(
        m_context, [sink = m_sink, epoch = m_epoch, state] { sink->reportState(epoch, state); },
        Qt::QueuedConnection);
}

void Worker::fail(Error error, const QString &message, bool permanent)
{
    if (permanent) {
        m_wanted = false;
        m_reconnectTimer.stop();
        setState(State::Disconnected);
    } else {
        setState(State::Connecting);
    }
    QMetaObject::invokeMethod(
        m_context,
        [sink = m_sink, epoch = m_epoch, error, message] {
            sink->reportError(epoch, error, message);
        },
        Qt::QueuedConnection);
}

void Worker::flushBatch()
{
    if (m_batch.isEmpty())
        return;
    QMetaObject::invokeMethod(
        m_context,
        [sink = m_sink, batch = std::exchange(m_batch, {})] { sink->reportMessages(batch); },
        Qt::QueuedConnection);
}

void Worker::onConnectCb(mosquitto *, void *obj, int rc)
{
    static_cast<Worker *>(obj)->onConnack(rc);
}

void Worker::onDisconnectCb(mosquitto *, void *obj, int rc)
{
    // Called from inside a libmosquitto call; the caller of that call handles the loss.
    static_cast<Worker *>(obj)->m_disconnectRc = rc;
}

void Worker::onMessageCb(mosquitto *, void *obj, const mosquitto_message *msg)
{
    MqttMessage m;
    m.topic = QString::fromUtf8(msg->topic);
    if (msg->payloadlen > 0)
        m.payload = QByteArray(static_cast<const char *>(msg->payload), msg->payloadlen);
    m.qos = msg->qos;
    m.retained = msg->retain;
    static_cast<Worker *>(obj)->m_batch.append(std::move(m));
}

void Worker::onLogCb(mosquitto *, void *obj, int level, const char *text)
{
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) {
        static_cast<Worker *>(obj)->m_lastLogError = QByteArray(text);
        qCDebug(lcMqtt) << "libmosquitto:" << text;
    }
}

bool Worker::createHandle()
{
    m_mosq.reset();
    const QByteArray id = m_settings.clientId.toUtf8();
    errno = 0;
    m_mosq.reset(
        mosquitto_new(id.isEmpty() ? nullptr : id.constData(), m_settings.cleanSession, this));
    if (!m_mosq) {
        if (errno == EINVAL) {
            fail(Error::InvalidArgument, QStringLiteral("an empty client id needs a clean session"),
                 true);
        } else {
            fail(Error::NetworkError,
                 QStringLiteral("cannot create an MQTT client: ") + errnoText(errno), true);
        }
        return false;
    }
    mosquitto *m = m_mosq.get();
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    // Small packets must not wait for Nagle's algorithm (ARCHITECTURE.md, "Latency").
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(m, &Worker::onConnectCb);
    mosquitto_disconnect_callback_set(m, &Worker::onDisconnectCb);
    mosquitto_message_callback_set(m, &Worker::onMessageCb);
    mosquitto_log_callback_set(m, &Worker::onLogCb);

    if (m_settings.hasWill) {
        const QByteArray topic = m_settings.willTopic.toUtf8();
        const int rc = mosquitto_will_set(m, topic.constData(), int(m_settings.willPayload.size()),
                                          m_settings.willPayload.constData(), m_settings.willQos,
                                          m_settings.willRetain);
        if (rc != MOSQ_ERR_SUCCESS) {
            fail(Error::InvalidArgument,
                 QStringLiteral("invalid Last Will on topic \"%1\": %2")
                     .arg(m_settings.willTopic, QString::fromUtf8(mosquitto_strerror(rc))),
                 true);
            return false;
        }
    }
    if (!m_settings.username.isEmpty()) {
        const QByteArray user = m_settings.username.toUtf8();
        const QByteArray password = m_settings.password.toUtf8();
        const int rc = mosquitto_username_pw_set(
            m, user.constData(), password.isEmpty() ? nullptr : password.constData());
        if (rc != MOSQ_ERR_SUCCESS) {
            fail(Error::InvalidArgument,
                 QStringLiteral("invalid user name: ") + QString::fromUtf8(mosquitto_strerror(rc)),
                 true);
            return false;
        }
    }
    if (!m_settings.caFile.isEmpty()) {
        // libmosquitto only says "invalid arguments" for a missing file: check it ourselves.
        QFile ca(m_settings.caFile);
        if (!ca.open(QIODevice::ReadOnly)) {
            fail(Error::TlsFileError,
                 QStringLiteral("cannot read CA file %1: %2")
                     .arg(m_settings.caFile, ca.errorString()),
                 true);
            return false;
        }
        ca.close();
        const QByteArray path = QFile::encodeName(m_settings.caFile);
        const int rc = mosquitto_tls_set(m, path.constData(), nullptr, nullptr, nullptr, nullptr);
        if (rc != MOSQ_ERR_SUCCESS) {
            fail(Error::TlsFileError,
                 QStringLiteral("cannot use CA file %1: %2")
                     .arg(m_settings.caFile, QString::fromUtf8(mosquitto_strerror(rc))),
                 true);
            return false;
        }
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
    m_delayMs = std::max(1, settings.minDelayMs);
    stopNotifiers();
    setState(State::Connecting);
    if (m_settings.host.isEmpty() || m_settings.port == 0) {
        fail(Error::InvalidArgument, QStringLiteral("invalid broker address \"%1\"").arg(where()),
             true);
        return;
    }
    if (!createHandle())
        return;
    attempt();
}

QString Worker::tlsDetail(int rc) const
{
    // libmosquitto logs OpenSSL's reason, e.g.
    // "OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed".
    QByteArray line = m_lastLogError.trimmed();
    const int colon = line.lastIndexOf(':');
    if (line.contains("OpenSSL") && colon >= 0)
        line = line.mid(colon + 1).trimmed();
    if (line.isEmpty())
        return QString::fromUtf8(mosquitto_strerror(rc));
    return QString::fromUtf8(line);
}

void Worker::attempt()
{
    if (!m_wanted || m_socketUp || !m_mosq)
        return;
    setState(State::Connecting);
    m_sessionUp = false;
    m_connackError = Error::NoError;
    m_disconnectRc = 0;
    m_lastLogError.clear();
    const QByteArray host = m_settings.host.toUtf8();
    qCDebug(lcMqtt) << "connecting to" << where();
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
    switch (rc) {
    case MOSQ_ERR_EAI: {
        // libmosquitto stores getaddrinfo()'s result code in errno.
        const QString why = err != 0 ? QString::fromLocal8Bit(gai_strerror(err))
                                     : QString::fromUtf8(mosquitto_strerror(rc));
        fail(Error::HostNotFound,
             QStringLiteral("cannot resolve broker host %1: %2").arg(m_settings.host, why), false);
        break;
    }
    case MOSQ_ERR_ERRNO:
        fail(err == ECONNREFUSED ? Error::ConnectionRefused : Error::NetworkError,
             QStringLiteral("cannot connect to %1: %2").arg(where(), errnoText(err)), false);
        break;
    case MOSQ_ERR_TLS:
        fail(Error::TlsHandshakeFailed,
             QStringLiteral("TLS handshake with %1 failed: %2").arg(where(), tlsDetail(rc)), true);
        return;
    case MOSQ_ERR_INVAL:
        fail(Error::InvalidArgument,
             QStringLiteral("cannot connect to %1: invalid settings (keepalive %2 s)")
                 .arg(where())
                 .arg(m_settings.keepAlive),
             true);
        return;
    default:
        fail(Error::NetworkError,
             QStringLiteral("cannot connect to %1: %2")
                 .arg(where(), QString::fromUtf8(mosquitto_strerror(rc))),
             false);
        break;
    }
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

void Worker::onConnack(int rc)
{
    // Called from inside mosquitto_loop_read(): packets queued here are written by flushWrites()
    // once the read returns.
    m_connectTimer.stop();
    if (rc != 0) {
        // MQTT-3.2.2-5: a refusing CONNACK is followed by the broker closing the connection;
        // mosquitto_loop_read() then returns MOSQ_ERR_CONN_REFUSED and linkLost() reports this.
        const QString reason = QString::fromUtf8(mosquitto_connack_string(rc));
        switch (rc) {
        case 4:
            m_connackError = Error::BadCredentials;
            break;
        case 5:
            // mosquitto 2.0 answers 5 both to a wrong password and to an anonymous client.
            m_connackError =
                m_settings.username.isEmpty() ? Error::NotAuthorized : Error::BadCredentials;
            break;
        default:
            m_connackError = Error::ProtocolError;
            break;
        }
        if (m_connackError == Error::BadCredentials) {
            m_connackMessage = QStringLiteral("broker %1 refused the user name or password (%2)")
                                   .arg(where(), reason);
        } else if (m_connackError == Error::NotAuthorized) {
            m_connackMessage = QStringLiteral("broker %1 refused an anonymous connection (%2)")
                                   .arg(where(), reason);
        } else {
            m_connackMessage =
                QStringLiteral("broker %1 refused the connection: %2").arg(where(), reason);
        }
        return;
    }
    m_sessionUp = true;
    m_delayMs = std::max(1, m_settings.minDelayMs);
    qCDebug(lcMqtt) << "connected to" << where();
    setState(State::Connected);
    sendSubscriptions();
    sendOfflineQueue();
}

void Worker::sendSubscriptions()
{
    for (const auto &[filter, qos] : std::as_const(m_subscriptions)) {
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
    const int rc =
        mosquitto_publish(m_mosq.get(), nullptr, topic.constData(), int(message.payload.size()),
                          message.payload.constData(), message.qos, message.retained);
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN && rc != MOSQ_ERR_CONN_LOST) {
        qCWarning(lcMqtt) << "cannot publish to" << message.topic << mosquitto_strerror(rc);
    }
}

void Worker::publish(const MqttMessage &message)
{
    if (m_sessionUp) {
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
    auto it = std::find_if(m_subscriptions.begin(), m_subscriptions.end(),
                           [&](const auto &s) { return s.first == filter; });
    if (it != m_subscriptions.end())
        it->second = qos;
    else
        m_subscriptions.append({filter, qos});
    if (m_sessionUp) {
        const QByteArray f = filter.toUtf8();
        mosquitto_subscribe(m_mosq.get(), nullptr, f.constData(), qos);
        flushWrites();
    }
}

void Worker::unsubscribe(const QString &filter)
{
    m_subscriptions.removeIf([&](const auto &s) { return s.first == filter; });
    if (m_sessionUp) {
        const QByteArray f = filter.toUtf8();
        mosquitto_unsubscribe(m_mosq.get(), nullptr, f.constData());
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
        if (!checkLink(rc, errno))
            return;
    }
    m_writeNotifier->setEnabled(mosquitto_want_write(m_mosq.get()));
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
        fail(err == ECONNREFUSED ? Error::ConnectionRefused : Error::NetworkError,
             QStringLiteral("cannot connect to %1: %2").arg(where(), errnoText(err)), false);
        scheduleReconnect();
        return;
    }
    qCDebug(lcMqtt) << "socket to" << where() << "open, waiting for CONNACK";
    m_tcpPending = false;
    m_readNotifier->setEnabled(true);
    // With TLS, the first read starts the handshake (ClientHello); without, it finds nothing.
    // Then the queued CONNECT packet is written.
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
    fail(Error::NetworkError,
         (tcp ? QStringLiteral("cannot connect to %1: no answer within %2 ms")
              : QStringLiteral("connection to %1 failed: no CONNACK within %2 ms"))
             .arg(where())
             .arg(m_connectTimer.interval()),
         false);
    scheduleReconnect();
}

void Worker::abortSocket()
{
    // libmosquitto has no call that just closes its socket: shut it down, so a pending connect
    // is abandoned at once; libmosquitto closes it at the next connect or when destroyed.
    const int fd = m_mosq ? mosquitto_socket(m_mosq.get()) : -1;
    if (fd >= 0)
        ::shutdown(fd, SHUT_RDWR);
}

void Worker::onMisc()
{
    if (!m_socketUp || m_tcpPending)
        return;
    errno = 0;
    const int rc = mosquitto_loop_misc(m_mosq.get()); // PINGREQ, keepalive timeout
    if (checkLink(rc, errno))
        flushWrites();
}

void Worker::linkLost(int rc, int err)
{
    const bool wasUp = m_sessionUp;
    stopNotifiers();
    m_sessionUp = false;
    if (!m_wanted) {
        setState(State::Disconnected);
        return;
    }
    if (m_connackError != Error::NoError) {
        fail(m_connackError, m_connackMessage, true);
        return;
    }
    if (rc == MOSQ_ERR_TLS && !wasUp) {
        fail(Error::TlsHandshakeFailed,
             QStringLiteral("TLS handshake with %1 failed: %2").arg(where(), tlsDetail(rc)), true);
        return;
    }
    QString why;
    if (rc == MOSQ_ERR_KEEPALIVE) {
        // libmosquitto 2.0.11's mosquitto_strerror() does not know this code.
        why = (wasUp ? QStringLiteral("no answer within the keepalive of %1 s")
                     : QStringLiteral("no CONNACK within the keepalive of %1 s"))
                  .arg(m_settings.keepAlive);
    } else if (rc == MOSQ_ERR_ERRNO && err != 0) {
        why = errnoText(err);
    } else {
        why = QString::fromUtf8(mosquitto_strerror(rc));
    }
    fail(Error::NetworkError,
         (wasUp ? QStringLiteral("connection to %1 lost: %2")
                : QStringLiteral("connection to %1 failed: %2"))
             .arg(where(), why),
         false);
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
    mosquitto_disconnect(m);
    const QDeadlineTimer deadline(DisconnectFlushMs);
    while (mosquitto_socket(m) >= 0 && mosquitto_want_write(m) && !deadline.hasExpired()) {
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
}

} // namespace

class MqttClient::Private : public ReportSink
{
public:
    explicit Private(MqttClient *client) : q(client)
    {
        initLibrary();
        worker = std::make_unique<Worker>(q, this);
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

    void setState(State s)
    {
        if (s == state)
            return;
        const State old = state;
        state = s;
        QPointer<MqttClient> guard(q);
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

    void reportState(quint64 e, State s) override
    {
        if (e == epoch)
            setState(s);
    }

    void reportError(quint64 e, Error err, const QString &message) override
    {
        if (e != epoch)
            return;
        error = err;
        errorString = message;
        qCWarning(lcMqtt).noquote() << message;
        emit q->errorOccurred(err, message);
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

    MqttClient *const q;
    Settings settings;
    State state = State::Disconnected;
    Error error = Error::NoError;
    QString errorString;
    quint64 epoch = 0; // bumped by connectToHost()/disconnectFromHost(): older reports are stale
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
    d->post([w = d->worker.get(), settings = d->settings, epoch] { w->start(settings, epoch); });
    d->setState(State::Connecting);
}

void MqttClient::disconnectFromHost()
{
    const quint64 epoch = ++d->epoch;
    d->post([w = d->worker.get(), epoch] { w->stop(epoch); });
    d->setState(State::Disconnected);
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
    d->post([w = d->worker.get(), topicFilter, qos] { w->subscribe(topicFilter, qos); });
    return true;
}

void MqttClient::unsubscribe(const QString &topicFilter)
{
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
    }
    return QStringLiteral("unknown error");
}

} // namespace nightlight
