#pragma once

// DeviceOptions: nightlight-device's settings, parsed from the command line, an optional INI file
// (--config; keys named like the long options, in the [General] section, i.e. at the top of the
// file) and the environment (NIGHTLIGHT_PASSWORD). The command line wins over the file, the
// password file over the environment. Parsing never exits the process, so it is testable.

#include "backends.h"
#include "mqttclient.h"

#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

namespace nightlight {

struct DeviceOptions
{
    QString id = QStringLiteral("nightlight");
    QString host = QStringLiteral("localhost");
    quint16 port = 1883;
    QString tlsCaFile; // non-empty: TLS, verifying the broker against this CA
    QString username;
    QString password; // from --password-file or NIGHTLIGHT_PASSWORD; never a command-line option
    QString clientId; // resolved: "<id>-nightlight-device" unless --client-id
    MqttClient::ProtocolVersion mqttVersion = MqttClient::ProtocolVersion::Auto;
    int intervalMs = 5000; // >= 50
    double threshold = 300;
    double hysteresis = 20;
    int bufferSize = 10000; // telemetry samples kept while offline
    int reconnectMinMs = 500; // advanced (hidden): MQTT reconnect backoff
    int reconnectMaxMs = 30000;
    int telemetryQos1WindowMs = 60000; // advanced (hidden): QoS 1 telemetry after each connect
    bool verbose = false; // nightlight.* debug logging
    // Home Assistant MQTT discovery (#12, device/hadiscovery.h): publish the configs under
    // haDiscoveryPrefix; or, with haDiscoveryRemove (command line only), remove them and exit.
    bool haDiscovery = false;
    QString haDiscoveryPrefix = QStringLiteral("homeassistant");
    bool haDiscoveryRemove = false;
    QString configFile; // as given with --config, empty if none
    BackendOptions backends;

    enum class Action {
        Run, // options are valid: run the device
        ShowHelp, // print text to stdout, exit 0
        ShowVersion, // print text to stdout, exit 0
        Fail, // print "nightlight-device: " + text to stderr, exit 2
    };
    struct ParseResult;

    // arguments[0] is the program name (as in QCoreApplication::arguments()).
    static ParseResult
    parse(const QStringList &arguments,
          const QProcessEnvironment &environment = QProcessEnvironment::systemEnvironment());
};

struct DeviceOptions::ParseResult
{
    Action action = Action::Fail;
    DeviceOptions options; // valid when action is Run
    QString text; // help text, version text or error message (without the program name)
};

} // namespace nightlight
