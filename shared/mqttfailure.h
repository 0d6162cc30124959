#pragma once

// The one place that turns what libmosquitto and the socket report (a return code, an errno, a
// CONNACK or DISCONNECT reason code) into MqttClient's {Error, message, permanent}. Pure: no
// libmosquitto handle, no broker, no global state (no strerror: it runs on the worker thread),
// so every mapping is tested directly (tst_mqttfailure).

#include "mqttclient.h"

#include <QString>

namespace nightlight {

enum class MqttPhase {
    Setup, // creating the handle, setting options, Last Will, credentials, CA file
    Connect, // mosquitto_connect_async(): name look-up, the start of the TCP connect
    TcpConnect, // the asynchronous end of the TCP connect (SO_ERROR), or its timeout
    Handshake, // TCP is up, no CONNACK yet: TLS handshake, CONNECT sent, CONNACK awaited
    Connack, // the broker's CONNACK refused us: `code` is its return / reason code
    Session, // after an accepting CONNACK: the connection was lost
    BrokerDisconnect, // MQTT 5 only: the broker sent DISCONNECT with reason code `code`
};

struct MqttFailureContext
{
    QString action; // Setup: what failed ("invalid Last Will on topic \"x\"")
    QString host;
    QString where; // "host:port"
    QString clientId;
    int keepAlive = 30; // seconds
    int timeoutMs = 0; // for MOSQ_ERR_TIMEOUT: the connect timeout that expired
    bool anonymous = true; // no user name was set
    bool mqtt5 = false; // the protocol of this attempt (CONNACK / DISCONNECT codes differ)
    QString tlsDetail; // OpenSSL's reason, from libmosquitto's log, if any
    // Session: how many sessions in a row (this one included) the broker closed moments after
    // accepting them; from 2 on, the message names the likely cause.
    int quickCloses = 0;
};

struct MqttFailure
{
    MqttClient::Error error = MqttClient::Error::NoError;
    QString message;
    bool permanent = false; // true: do not reconnect, the user has to change a setting
};

// `code` is a MOSQ_ERR_* value in the phases Setup, Connect, TcpConnect, Handshake and Session
// (MOSQ_ERR_ERRNO with `err`, MOSQ_ERR_EAI with getaddrinfo's code in `err`, MOSQ_ERR_TIMEOUT for
// our own connect timeout), a CONNACK code in Connack (MQTT 3.1.1: 1..5; MQTT 5: 0x80..), and a
// DISCONNECT reason code in BrokerDisconnect.
MqttFailure describeMqttFailure(MqttPhase phase, int code, int err,
                                const MqttFailureContext &context);

// errno as text, thread-safe (strerror_r); "error 123" for unknown values.
QString mqttErrnoText(int err);

} // namespace nightlight
