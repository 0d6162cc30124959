#pragma once

// MqttClient: an MQTT client for Qt code, over libmosquitto. It speaks MQTT 5 where the broker
// does and falls back to 3.1.1 where it does not (PROTOCOL.md: nothing depends on v5).
//
// Threading: the object lives on the thread that created it (usually the GUI or main thread)
// and all of its methods are called there; every signal is delivered there. libmosquitto runs
// on a private worker QThread owned by the object (QSocketNotifier-driven), so DNS look-ups,
// TCP connects and TLS handshakes never block the owner's thread. The TCP connect and the TLS
// handshake do not block the worker either (only the DNS look-up does), so destroying the object
// or disconnectFromHost() is prompt even while a broker does not answer. See docs/mqtt-client.md.

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QString>

#include <memory>

namespace nightlight {

struct MqttMessage
{
    QString topic;
    QByteArray payload;
    int qos = 0;
    bool retained = false;
};

class MqttClient : public QObject
{
    Q_OBJECT
    Q_PROPERTY(State state READ state NOTIFY stateChanged)
    Q_PROPERTY(Error error READ error NOTIFY errorOccurred)
    Q_PROPERTY(bool gaveUp READ gaveUp NOTIFY stateChanged)

public:
    enum class State {
        Disconnected, // not connected and not trying (initial, after disconnectFromHost() or a
                      // permanent error)
        Connecting, // a connect attempt is under way or a reconnect is scheduled
        Connected, // CONNACK accepted; subscriptions are (re)sent
    };
    Q_ENUM(State)

    enum class Error {
        NoError,
        InvalidArgument, // bad host, port, topic, qos, client id (checked before connecting)
        HostNotFound, // DNS failure (retried)
        ConnectionRefused, // nothing listens there (retried)
        NetworkError, // other socket error, or the connection was lost (retried)
        TlsFileError, // the CA file is missing or unreadable (permanent)
        TlsHandshakeFailed, // certificate not trusted, wrong host name, not TLS (permanent)
        BadCredentials, // CONNACK 4: bad user name or password (permanent)
        NotAuthorized, // CONNACK 5: e.g. anonymous client on a broker that needs a login
                       // (permanent)
        ProtocolError, // CONNACK 1..3 or a malformed packet (permanent)
        SessionTakenOver, // MQTT 5: another client connected with our client id (retried with
                          // backoff)
    };
    Q_ENUM(Error)

    enum class ProtocolVersion {
        Auto, // MQTT 5, falling back to 3.1.1 when the broker refuses 5 (the default)
        Mqtt311,
        Mqtt5,
    };
    Q_ENUM(ProtocolVersion)

    // The largest packet (fixed header included) this client accepts: 64 KiB of payload (the
    // contract's limit) plus 1 KiB for the topic and headers.
    static constexpr quint32 DefaultMaximumPacketSize = 64 * 1024 + 1024;

    explicit MqttClient(QObject *parent = nullptr);
    ~MqttClient() override;

    // Settings take effect at the next connectToHost().
    void setHost(const QString &host); // default "localhost"
    QString host() const;
    void setPort(quint16 port); // default 1883
    quint16 port() const;
    void setClientId(const QString &id); // empty: the broker assigns one (needs clean session)
    QString clientId() const;
    void setCleanSession(bool clean); // default true; false keeps QoS 1 messages while away
    bool cleanSession() const;
    void setKeepAlive(int seconds); // default 30
    int keepAlive() const;
    void setUsername(const QString &username); // empty: anonymous
    void setPassword(const QString &password);
    void setTlsCaFile(const QString &path); // non-empty: TLS, verifying the broker against it
    QString tlsCaFile() const;
    // Last Will: published by the broker when the connection drops without DISCONNECT.
    void setWill(const QString &topic, const QByteArray &payload, int qos, bool retain);
    void clearWill();
    // Reconnect delay: starts at minMs, doubles after each failed attempt, capped at maxMs.
    void setReconnectDelay(int minMs, int maxMs); // default 500 ms .. 30 s
    // An attempt without CONNACK after this long is abandoned (NetworkError) and retried.
    // 0 (default): max(keepAlive, 10 s).
    void setConnectTimeout(int ms);
    int connectTimeout() const; // the effective value in ms
    void setProtocolVersion(ProtocolVersion version); // default Auto
    // The version of the current or last session: Mqtt5 or Mqtt311 (Auto before a CONNACK).
    ProtocolVersion protocolVersion() const;
    // Incoming packets larger than this are never held whole. On plain TCP the client reads
    // past them in small pieces, acknowledges QoS 1 ones and emits messageTooLarge(). Over TLS
    // an MQTT 5 broker is told (Maximum Packet Size) and drops them; a 3.1.1 one sends them, and
    // libmosquitto holds each once before the client drops it (docs/mqtt-client.md).
    void setMaximumPacketSize(quint32 bytes); // default DefaultMaximumPacketSize, 0: no limit
    quint32 maximumPacketSize() const;
    // MQTT 5 Session Expiry Interval for cleanSession(false); default 0xFFFFFFFF (never), as a
    // 3.1.1 persistent session.
    void setSessionExpiry(quint32 seconds);
    // While messages keep coming, read the socket at most every `ms` (the first read after a
    // quiet spell at once): a client taking in thousands of messages a second wakes a hundred
    // times a second instead of for nearly each one, for at most `ms` more latency. Plain TCP
    // only (over TLS libmosquitto reads the socket). Off for the rest of a connection when the
    // broker turns out to send only a small window of QoS 1 messages before it waits for their
    // acknowledgements (docs/mqtt-client.md). Default 0: read as soon as bytes arrive.
    void setReadPacing(int ms);
    // While messages keep coming, hand them to this object's thread at most every `ms` (the
    // first after a quiet spell at once): at 10,000 messages a second in ones and twos, one
    // queued call each cost both threads more than the messages did (#10, docs/fleet.md). For
    // at most `ms` more latency; default 0: every read's messages at once (a device answering
    // commands wants that, #12). Takes effect at the next connectToHost().
    void setDeliveryBatching(int ms);

    State state() const;
    bool isConnected() const { return state() == State::Connected; }
    // The last error; back to NoError at connectToHost(). Set before stateChanged is emitted.
    Error error() const;
    QString errorString() const; // readable, with context; empty when error() is NoError
    // True when a permanent error (bad credentials, TLS, invalid settings) stopped reconnecting:
    // the state is Disconnected and stays so until connectToHost().
    bool gaveUp() const;
    // How many oversized messages were dropped since the object was made.
    qint64 droppedTooLarge() const;

    // Starts connecting (asynchronously) and keeps the connection up, reconnecting with backoff
    // after retriable errors, until disconnectFromHost() or a permanent error.
    void connectToHost();
    // Sends DISCONNECT (so no Last Will) and stops reconnecting.
    void disconnectFromHost();

    // Queues a message. QoS 1 and 2 messages published while not connected are kept in order and
    // sent after the next connect; QoS 0 messages are dropped when not connected.
    // Returns false (and sets InvalidArgument) for an invalid topic or qos.
    bool publish(const QString &topic, const QByteArray &payload, int qos = 0, bool retain = false);
    // Remembered and re-sent after every (re)connect. Returns false for an invalid filter.
    bool subscribe(const QString &topicFilter, int qos = 0);
    void unsubscribe(const QString &topicFilter);

signals:
    void stateChanged(nightlight::MqttClient::State state);
    void connected(); // the state became Connected
    void disconnected(); // the state left Connected (connection lost or closed)
    void errorOccurred(nightlight::MqttClient::Error error, const QString &message);
    // One signal per message, in arrival order. The worker hands messages over in batches, at
    // most every 10 ms while they keep coming (the first after a quiet spell at once), and always
    // before a state change or error it reports after them; messagesReceived fires once per
    // batch, before the per-message signals.
    void messagesReceived(const QList<nightlight::MqttMessage> &messages);
    void messageReceived(const nightlight::MqttMessage &message);
    // A message over maximumPacketSize() was dropped unread (and acknowledged, at QoS 1).
    // `bytes` is the size of its packet; `topic` is empty if even the topic was too long.
    void messageTooLarge(const QString &topic, qint64 bytes);

private:
    class Private;
    std::unique_ptr<Private> const d;
};

// Short English name of an error ("bad credentials"), for logs.
QString mqttErrorName(MqttClient::Error error);

} // namespace nightlight

Q_DECLARE_METATYPE(nightlight::MqttMessage)
