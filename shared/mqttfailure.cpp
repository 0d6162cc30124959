#include "mqttfailure.h"

#include <cerrno>
#include <cstring>

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netdb.h>

namespace nightlight {

using Error = MqttClient::Error;

namespace {

// mosquitto_strerror(), mosquitto_connack_string(), mosquitto_reason_string() and
// gai_strerror() return pointers to constant strings: safe on any thread.
QString mosquittoText(int code)
{
    if (code == MOSQ_ERR_KEEPALIVE) // libmosquitto 2.0.11's mosquitto_strerror() lacks it
        return QStringLiteral("keepalive timeout");
    return QString::fromUtf8(mosquitto_strerror(code));
}

QString errnoOrCode(int code, int err)
{
    return code == MOSQ_ERR_ERRNO && err != 0 ? mqttErrnoText(err) : mosquittoText(code);
}

MqttFailure connectFailure(int code, int err, const MqttFailureContext &c)
{
    switch (code) {
    case MOSQ_ERR_EAI: {
        // libmosquitto leaves getaddrinfo()'s result code in errno.
        const QString why =
            err != 0 ? QString::fromLocal8Bit(gai_strerror(err)) : mosquittoText(code);
        return {Error::HostNotFound,
                QStringLiteral("cannot resolve broker host %1: %2").arg(c.host, why), false};
    }
    case MOSQ_ERR_ERRNO:
        return {err == ECONNREFUSED ? Error::ConnectionRefused : Error::NetworkError,
                QStringLiteral("cannot connect to %1: %2").arg(c.where, mqttErrnoText(err)), false};
    case MOSQ_ERR_TIMEOUT:
        return {Error::NetworkError,
                QStringLiteral("cannot connect to %1: no answer within %2 ms")
                    .arg(c.where)
                    .arg(c.timeoutMs),
                false};
    case MOSQ_ERR_TLS:
    case MOSQ_ERR_TLS_HANDSHAKE:
        return {Error::TlsHandshakeFailed,
                QStringLiteral("TLS handshake with %1 failed: %2")
                    .arg(c.where, c.tlsDetail.isEmpty() ? mosquittoText(code) : c.tlsDetail),
                true};
    case MOSQ_ERR_INVAL:
        return {Error::InvalidArgument,
                QStringLiteral("cannot connect to %1: invalid settings (keepalive %2 s)")
                    .arg(c.where)
                    .arg(c.keepAlive),
                true};
    default:
        return {Error::NetworkError,
                QStringLiteral("cannot connect to %1: %2").arg(c.where, mosquittoText(code)),
                false};
    }
}

MqttFailure linkFailure(bool wasUp, int code, int err, const MqttFailureContext &c)
{
    if (!wasUp && (code == MOSQ_ERR_TLS || code == MOSQ_ERR_TLS_HANDSHAKE))
        return connectFailure(MOSQ_ERR_TLS, err, c);
    QString why;
    if (code == MOSQ_ERR_KEEPALIVE) {
        why = (wasUp ? QStringLiteral("no answer within the keepalive of %1 s")
                     : QStringLiteral("no CONNACK within the keepalive of %1 s"))
                  .arg(c.keepAlive);
    } else if (code == MOSQ_ERR_TIMEOUT) {
        why = QStringLiteral("no CONNACK within %1 ms").arg(c.timeoutMs);
    } else {
        why = errnoOrCode(code, err);
    }
    QString message = (wasUp ? QStringLiteral("connection to %1 lost: %2")
                             : QStringLiteral("connection to %1 failed: %2"))
                          .arg(c.where, why);
    if (wasUp && c.quickCloses >= 2) {
        if (message.endsWith(u'.'))
            message.chop(1);
        message += QStringLiteral("; the broker closed the last %1 connections moments after "
                                  "accepting them: is another client with client id \"%2\" "
                                  "connected?")
                       .arg(c.quickCloses)
                       .arg(c.clientId);
    }
    return {Error::NetworkError, message, false};
}

MqttFailure connackFailure(int code, const MqttFailureContext &c)
{
    const QString reason = c.mqtt5 ? QString::fromUtf8(mosquitto_reason_string(code))
                                   : QString::fromUtf8(mosquitto_connack_string(code));
    Error error = Error::ProtocolError;
    bool permanent = true;
    if (!c.mqtt5) {
        switch (code) {
        case 3: // server unavailable
            error = Error::NetworkError;
            permanent = false;
            break;
        case 4:
            error = Error::BadCredentials;
            break;
        case 5:
            // mosquitto 2.0 answers 5 both to a wrong password and to an anonymous client.
            error = c.anonymous ? Error::NotAuthorized : Error::BadCredentials;
            break;
        default:
            break;
        }
    } else {
        switch (code) {
        case MQTT_RC_BAD_USERNAME_OR_PASSWORD:
        case MQTT_RC_BAD_AUTHENTICATION_METHOD:
            error = Error::BadCredentials;
            break;
        case MQTT_RC_NOT_AUTHORIZED:
        case MQTT_RC_BANNED:
            error = c.anonymous ? Error::NotAuthorized : Error::BadCredentials;
            break;
        case MQTT_RC_SERVER_UNAVAILABLE:
        case MQTT_RC_SERVER_BUSY:
        case MQTT_RC_CONNECTION_RATE_EXCEEDED:
        case MQTT_RC_QUOTA_EXCEEDED:
        case MQTT_RC_UNSPECIFIED:
            error = Error::NetworkError;
            permanent = false;
            break;
        default:
            break;
        }
    }
    QString message;
    if (error == Error::BadCredentials) {
        message =
            QStringLiteral("broker %1 refused the user name or password (%2)").arg(c.where, reason);
    } else if (error == Error::NotAuthorized) {
        message =
            QStringLiteral("broker %1 refused an anonymous connection (%2)").arg(c.where, reason);
    } else {
        message = QStringLiteral("broker %1 refused the connection: %2").arg(c.where, reason);
    }
    return {error, message, permanent};
}

MqttFailure brokerDisconnect(int code, const MqttFailureContext &c)
{
    if (code == MQTT_RC_SESSION_TAKEN_OVER) {
        return {Error::SessionTakenOver,
                QStringLiteral("broker %1 closed the connection: another client with client id "
                               "\"%2\" took over the session")
                    .arg(c.where, c.clientId),
                false};
    }
    return {Error::NetworkError,
            QStringLiteral("broker %1 closed the connection: %2")
                .arg(c.where, QString::fromUtf8(mosquitto_reason_string(code))),
            false};
}

} // namespace

QString mqttErrnoText(int err)
{
    char buffer[256] = {};
    // The GNU strerror_r returns a pointer (to buffer or to a constant string).
    const char *text = strerror_r(err, buffer, sizeof buffer);
    if (!text || !*text)
        return QStringLiteral("error %1").arg(err);
    return QString::fromLocal8Bit(text);
}

MqttFailure describeMqttFailure(MqttPhase phase, int code, int err,
                                const MqttFailureContext &context)
{
    switch (phase) {
    case MqttPhase::Setup: {
        Error error = Error::InvalidArgument;
        if (code == MOSQ_ERR_TLS)
            error = Error::TlsFileError;
        else if (code == MOSQ_ERR_NOMEM || code == MOSQ_ERR_ERRNO)
            error = Error::NetworkError;
        const QString action = context.action.isEmpty()
            ? QStringLiteral("cannot set up the MQTT client")
            : context.action;
        return {error,
                action + QStringLiteral(": ") +
                    (err != 0 ? mqttErrnoText(err) : mosquittoText(code)),
                true};
    }
    case MqttPhase::Connect:
    case MqttPhase::TcpConnect:
        return connectFailure(code, err, context);
    case MqttPhase::Handshake:
        return linkFailure(false, code, err, context);
    case MqttPhase::Session:
        return linkFailure(true, code, err, context);
    case MqttPhase::Connack:
        return connackFailure(code, context);
    case MqttPhase::BrokerDisconnect:
        return brokerDisconnect(code, context);
    }
    return {Error::NetworkError, mosquittoText(code), false};
}

} // namespace nightlight
