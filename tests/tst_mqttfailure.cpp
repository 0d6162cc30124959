// describeMqttFailure(): every phase's mapping of libmosquitto codes, errno values and CONNACK /
// DISCONNECT reason codes to {Error, message, permanent}, without a broker.

#include "mqttfailure.h"

#include <QTest>

#include <cerrno>

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netdb.h>

using nightlight::describeMqttFailure;
using nightlight::MqttClient;
using nightlight::MqttFailureContext;
using nightlight::MqttPhase;
using Error = MqttClient::Error;

Q_DECLARE_METATYPE(nightlight::MqttPhase)

class TestMqttFailure : public QObject
{
    Q_OBJECT

private slots:
    void mapping_data();
    void mapping();
    void errnoTextIsThreadSafeAndKnown();
};

void TestMqttFailure::mapping_data()
{
    QTest::addColumn<MqttPhase>("phase");
    QTest::addColumn<int>("code");
    QTest::addColumn<int>("err");
    QTest::addColumn<bool>("mqtt5");
    QTest::addColumn<bool>("anonymous");
    QTest::addColumn<Error>("error");
    QTest::addColumn<bool>("permanent");
    QTest::addColumn<QString>("message");

    // libmosquitto's own texts differ between versions (2.0.11: "Invalid function arguments
    // provided.", 2.0.21: "Invalid arguments provided."): they are taken from it, as the code
    // does, and only our part of each message is spelled out here.
    const auto row = [](const char *name, MqttPhase phase, int code, int err, bool mqtt5,
                        bool anonymous, Error error, bool permanent, const char *message) {
        QString lib = QString::fromUtf8(
            phase == MqttPhase::Connack
                ? (mqtt5 ? mosquitto_reason_string(code) : mosquitto_connack_string(code))
                : phase == MqttPhase::BrokerDisconnect ? mosquitto_reason_string(code)
                                                       : mosquitto_strerror(code));
        QString text = QString::fromUtf8(message);
        text.replace(QStringLiteral("{lib}"), lib);
        if (lib.endsWith(u'.'))
            lib.chop(1);
        text.replace(QStringLiteral("{lib-}"), lib);
        QTest::newRow(name) << phase << code << err << mqtt5 << anonymous << error << permanent
                            << text;
    };
    using P = MqttPhase;
    row("setup: bad will", P::Setup, MOSQ_ERR_INVAL, 0, false, true, Error::InvalidArgument, true,
        "do it: {lib}");
    row("setup: CA file errno", P::Setup, MOSQ_ERR_TLS, ENOENT, false, true, Error::TlsFileError,
        true, "do it: No such file or directory");
    row("connect: DNS", P::Connect, MOSQ_ERR_EAI, EAI_NONAME, false, true, Error::HostNotFound,
        false, "cannot resolve broker host broker.example: Name or service not known");
    row("connect: refused", P::Connect, MOSQ_ERR_ERRNO, ECONNREFUSED, false, true,
        Error::ConnectionRefused, false,
        "cannot connect to broker.example:1883: Connection refused");
    row("connect: unreachable", P::TcpConnect, MOSQ_ERR_ERRNO, EHOSTUNREACH, false, true,
        Error::NetworkError, false, "cannot connect to broker.example:1883: No route to host");
    row("connect: timeout", P::TcpConnect, MOSQ_ERR_TIMEOUT, 0, false, true, Error::NetworkError,
        false, "cannot connect to broker.example:1883: no answer within 1500 ms");
    row("connect: TLS", P::Connect, MOSQ_ERR_TLS, 0, false, true, Error::TlsHandshakeFailed, true,
        "TLS handshake with broker.example:1883 failed: certificate verify failed");
    row("connect: keepalive", P::Connect, MOSQ_ERR_INVAL, 0, false, true, Error::InvalidArgument,
        true, "cannot connect to broker.example:1883: invalid settings (keepalive 30 s)");
    row("handshake: TLS", P::Handshake, MOSQ_ERR_TLS, 0, false, true, Error::TlsHandshakeFailed,
        true, "TLS handshake with broker.example:1883 failed: certificate verify failed");
    row("handshake: no CONNACK", P::Handshake, MOSQ_ERR_TIMEOUT, 0, false, true,
        Error::NetworkError, false,
        "connection to broker.example:1883 failed: no CONNACK within 1500 ms");
    row("handshake: keepalive", P::Handshake, MOSQ_ERR_KEEPALIVE, 0, false, true,
        Error::NetworkError, false,
        "connection to broker.example:1883 failed: no CONNACK within the keepalive of 30 s");
    row("session: lost", P::Session, MOSQ_ERR_CONN_LOST, 0, false, true, Error::NetworkError, false,
        "connection to broker.example:1883 lost: {lib}");
    row("session: reset", P::Session, MOSQ_ERR_ERRNO, ECONNRESET, false, true, Error::NetworkError,
        false, "connection to broker.example:1883 lost: Connection reset by peer");
    row("session: keepalive", P::Session, MOSQ_ERR_KEEPALIVE, 0, false, true, Error::NetworkError,
        false, "connection to broker.example:1883 lost: no answer within the keepalive of 30 s");
    row("session: closed again and again", P::Session, MOSQ_ERR_CONN_LOST, 0, false, true,
        Error::NetworkError, false,
        "connection to broker.example:1883 lost: {lib-}; the broker closed the "
        "last 3 connections moments after accepting them: is another client with client id "
        "\"kitchen\" connected?");
    row("session: TLS is retried", P::Session, MOSQ_ERR_TLS, 0, false, true, Error::NetworkError,
        false, "connection to broker.example:1883 lost: {lib}");
    row("v3 CONNACK 4", P::Connack, 4, 0, false, false, Error::BadCredentials, true,
        "broker broker.example:1883 refused the user name or password ({lib})");
    row("v3 CONNACK 5 anonymous", P::Connack, 5, 0, false, true, Error::NotAuthorized, true,
        "broker broker.example:1883 refused an anonymous connection ({lib})");
    row("v3 CONNACK 5 with user", P::Connack, 5, 0, false, false, Error::BadCredentials, true,
        "broker broker.example:1883 refused the user name or password ({lib})");
    row("v3 CONNACK 2", P::Connack, 2, 0, false, true, Error::ProtocolError, true,
        "broker broker.example:1883 refused the connection: {lib}");
    row("v3 CONNACK 3 is retried", P::Connack, 3, 0, false, true, Error::NetworkError, false,
        "broker broker.example:1883 refused the connection: {lib}");
    row("v5 bad password", P::Connack, MQTT_RC_BAD_USERNAME_OR_PASSWORD, 0, true, false,
        Error::BadCredentials, true,
        "broker broker.example:1883 refused the user name or password ({lib})");
    row("v5 not authorized anonymous", P::Connack, MQTT_RC_NOT_AUTHORIZED, 0, true, true,
        Error::NotAuthorized, true,
        "broker broker.example:1883 refused an anonymous connection ({lib})");
    row("v5 busy is retried", P::Connack, MQTT_RC_SERVER_BUSY, 0, true, true, Error::NetworkError,
        false, "broker broker.example:1883 refused the connection: {lib}");
    row("v5 banned", P::Connack, MQTT_RC_BANNED, 0, true, false, Error::BadCredentials, true,
        "broker broker.example:1883 refused the user name or password ({lib})");
    row("v5 session taken over", P::BrokerDisconnect, MQTT_RC_SESSION_TAKEN_OVER, 0, true, true,
        Error::SessionTakenOver, false,
        "broker broker.example:1883 closed the connection: another client with client id "
        "\"kitchen\" took over the session");
    row("v5 shutting down", P::BrokerDisconnect, MQTT_RC_SERVER_SHUTTING_DOWN, 0, true, true,
        Error::NetworkError, false, "broker broker.example:1883 closed the connection: {lib}");
}

void TestMqttFailure::mapping()
{
    QFETCH(MqttPhase, phase);
    QFETCH(int, code);
    QFETCH(int, err);
    QFETCH(bool, mqtt5);
    QFETCH(bool, anonymous);
    QFETCH(Error, error);
    QFETCH(bool, permanent);
    QFETCH(QString, message);

    MqttFailureContext context;
    context.action = QStringLiteral("do it");
    context.host = QStringLiteral("broker.example");
    context.where = QStringLiteral("broker.example:1883");
    context.clientId = QStringLiteral("kitchen");
    context.keepAlive = 30;
    context.timeoutMs = 1500;
    context.anonymous = anonymous;
    context.mqtt5 = mqtt5;
    if (code == MOSQ_ERR_TLS && phase != MqttPhase::Session && phase != MqttPhase::Setup)
        context.tlsDetail = QStringLiteral("certificate verify failed");
    if (QByteArray(QTest::currentDataTag()) == "session: closed again and again")
        context.quickCloses = 3;

    const auto failure = describeMqttFailure(phase, code, err, context);
    QCOMPARE(failure.error, error);
    QCOMPARE(failure.permanent, permanent);
    QCOMPARE(failure.message, message);
}

void TestMqttFailure::errnoTextIsThreadSafeAndKnown()
{
    QCOMPARE(nightlight::mqttErrnoText(ECONNREFUSED), QStringLiteral("Connection refused"));
    QVERIFY(!nightlight::mqttErrnoText(9999).isEmpty());
}

QTEST_GUILESS_MAIN(TestMqttFailure)
#include "tst_mqttfailure.moc"
