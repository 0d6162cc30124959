// nightlight-device: reads a light sensor, switches an LED and talks MQTT (issue #4).
// Exit codes: 0 after SIGTERM/SIGINT or a confirmed --ha-discovery-remove, 2 bad options, 3 a
// backend cannot start, 4 a permanent MQTT error (bad credentials, not authorised, TLS, invalid
// settings: the client gave up) or a --ha-discovery-remove the broker did not confirm in time.

#include "backends.h"
#include "deviceoptions.h"
#include "hadiscovery.h"
#include "led.h"
#include "lightsensor.h"
#include "mqttclient.h"
#include "nightlight.h"
#include "protocol.h"
#include "signalwatcher.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QSet>
#include <QTimer>

#include <csignal>
#include <cstdio>

#include <unistd.h>

using namespace nightlight;

namespace {

constexpr int ExitBadOptions = 2;
constexpr int ExitBackend = 3;
constexpr int ExitMqtt = 4;
// SIGTERM must end the program within a second: wait this long for a clean DISCONNECT.
constexpr int ShutdownGraceMs = 500;

void printError(const QString &message)
{
    std::fprintf(stderr, "nightlight-device: %s\n", qUtf8Printable(message));
    std::fflush(stderr);
}

// A removal run waits this long for the broker to confirm every removal.
constexpr int HaRemoveTimeoutMs = 20000;

void configureConnection(MqttClient &client, const DeviceOptions &options)
{
    client.setHost(options.host);
    client.setPort(options.port);
    client.setUsername(options.username);
    client.setPassword(options.password);
    client.setTlsCaFile(options.tlsCaFile);
    client.setReconnectDelay(options.reconnectMinMs, options.reconnectMaxMs);
    client.setProtocolVersion(options.mqttVersion);
}

// --ha-discovery-remove: an empty retained payload on every config topic ("To remove the
// component, publish an empty string to the discovery topic",
// https://www.home-assistant.io/integrations/mqtt/#single-component-discovery-payload), then exit
// 0 once the broker has processed them all. The proof is the broker itself: we subscribe to the
// config topics first, and a zero-byte retained PUBLISH is "processed as normal by the Server and
// sent to Clients with a subscription matching the topic name" (MQTT-3.3.1-10), so seeing our own
// empty payload come back on a topic means its retained config is gone. Own client id and a clean
// session: the device's persistent session (and the commands queued in it) stay untouched, and
// there is no Last Will.
int removeHaDiscovery(const DeviceOptions &options)
{
    const QList<HaDiscoveryMessage> removals =
        HaDiscovery::removals(options.id, options.haDiscoveryPrefix);
    MqttClient client;
    configureConnection(client, options);
    client.setClientId(options.clientId + QStringLiteral("-ha-remove"));
    client.setCleanSession(true);
    QSet<QString> pending;
    for (const HaDiscoveryMessage &m : removals) {
        client.subscribe(m.topic, 1);
        pending.insert(m.topic);
    }
    bool done = false;
    QObject::connect(&client, &MqttClient::connected, &client, [&] {
        // Subscriptions go out before anything published after the CONNACK; after a reconnect
        // the removals are simply sent again.
        for (const HaDiscoveryMessage &m : removals)
            client.publish(m.topic, QByteArray(), 1, true);
    });
    QObject::connect(&client, &MqttClient::messageReceived, &client, [&](const MqttMessage &m) {
        // The retained configs come first (on subscribing); only an empty payload counts.
        if (done || !m.payload.isEmpty() || !pending.remove(m.topic))
            return;
        qCInfo(lcDevice, "removed %s", qUtf8Printable(m.topic));
        if (pending.isEmpty()) {
            done = true;
            client.disconnectFromHost(); // DISCONNECT is written before the worker ends
            QCoreApplication::exit(0);
        }
    });
    QObject::connect(&client, &MqttClient::errorOccurred, &client,
                     [&](MqttClient::Error, const QString &message) {
                         if (done || !client.gaveUp())
                             return;
                         done = true;
                         printError(QStringLiteral("cannot connect to %1:%2: %3")
                                        .arg(options.host)
                                        .arg(options.port)
                                        .arg(message));
                         QCoreApplication::exit(ExitMqtt);
                     });
    QTimer timeout;
    timeout.setSingleShot(true);
    QObject::connect(&timeout, &QTimer::timeout, &client, [&] {
        if (done)
            return;
        done = true;
        printError(QStringLiteral("the broker %1:%2 did not confirm the removal of %3 of %4 "
                                  "Home Assistant configs within %5 s")
                       .arg(options.host)
                       .arg(options.port)
                       .arg(pending.size())
                       .arg(removals.size())
                       .arg(HaRemoveTimeoutMs / 1000));
        client.disconnectFromHost();
        QCoreApplication::exit(ExitMqtt);
    });
    timeout.start(HaRemoveTimeoutMs);
    client.connectToHost();
    return QCoreApplication::exec();
}

} // namespace

int main(int argc, char *argv[])
{
    // A headless service needs nothing GLib's main loop adds, and Qt's own event dispatcher costs
    // less per wake-up: 252 against 279 us of CPU a tick at 20 Hz, four rounds each (#12,
    // docs/device.md "A lean tick"). QT_NO_GLIB set by the user, even to nothing, is kept.
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("nightlight-device"));
    QCoreApplication::setApplicationVersion(QLatin1String(NIGHTLIGHT_VERSION));
    qSetMessagePattern(QStringLiteral("%{if-category}%{category}: %{endif}%{message}"));

    const DeviceOptions::ParseResult parsed = DeviceOptions::parse(QCoreApplication::arguments());
    switch (parsed.action) {
    case DeviceOptions::Action::ShowHelp:
    case DeviceOptions::Action::ShowVersion:
        std::fputs(qUtf8Printable(parsed.text), stdout);
        return 0;
    case DeviceOptions::Action::Fail:
        printError(parsed.text);
        return ExitBadOptions;
    case DeviceOptions::Action::Run:
        break;
    }
    const DeviceOptions &options = parsed.options;
    // A CA file we cannot read is a bad option (exit 2), found before any hardware is touched,
    // not a TLS failure at the first connect (exit 4).
    if (!options.tlsCaFile.isEmpty()) {
        QFile ca(options.tlsCaFile);
        const bool isDir = QFileInfo(options.tlsCaFile).isDir();
        if (isDir || !ca.open(QIODevice::ReadOnly)) {
            printError(QStringLiteral("cannot read --tls-ca file %1: %2")
                           .arg(options.tlsCaFile,
                                isDir ? QStringLiteral("Is a directory") : ca.errorString()));
            return ExitBadOptions;
        }
    }
    if (options.verbose)
        QLoggingCategory::setFilterRules(QStringLiteral("nightlight.debug=true\n"
                                                        "nightlight.*.debug=true"));
    if (options.haDiscoveryRemove)
        return removeHaDiscovery(options); // touches no hardware

    // Installed before the backends start: a signal from now on waits for the event loop.
    SignalWatcher signalWatcher;
    if (!signalWatcher.watch({SIGTERM, SIGINT})) {
        printError(
            QStringLiteral("cannot install signal handlers: %1").arg(signalWatcher.errorString()));
        return 1;
    }

    QString error;
    std::unique_ptr<LightSensor> sensor = createLightSensor(options.backends, &error);
    if (!sensor) {
        printError(error);
        return ExitBackend;
    }
    std::unique_ptr<Led> led = createLed(options.backends, &error);
    if (!led) {
        printError(error);
        return ExitBackend;
    }
    QObject::connect(led.get(), &Led::failed, &app, [](const QString &message) {
        qCWarning(lcDevice, "LED: %s", qUtf8Printable(message));
    });

    const QString stateTopicName = stateTopic(options.id);
    const QString statusTopicName = statusTopic(options.id);
    const QString commandsTopicName = commandsTopic(options.id);
    const QString telemetryTopicName = telemetryTopic(options.id);

    MqttClient client;
    configureConnection(client, options);
    client.setClientId(options.clientId);
    // A persistent session: QoS 1 commands sent while we are away are delivered on reconnect.
    client.setCleanSession(false);
    client.setWill(statusTopicName, encodeAvailability(Availability::Offline), 1, true);
    client.subscribe(commandsTopicName, 1);

    // Home Assistant discovery (#12): the configs are retained, QoS 1, and sent on every connect
    // and whenever Home Assistant's birth message ("online" on <prefix>/status) arrives.
    const QList<HaDiscoveryMessage> haConfigs = options.haDiscovery
        ? HaDiscovery::configs(options.id, options.haDiscoveryPrefix,
                               QLatin1String(NIGHTLIGHT_VERSION))
        : QList<HaDiscoveryMessage>();
    const QString haStatusTopicName = HaDiscovery::statusTopic(options.haDiscoveryPrefix);
    if (options.haDiscovery)
        client.subscribe(haStatusTopicName, 1);
    const auto publishHaConfigs = [&] {
        for (const HaDiscoveryMessage &m : haConfigs)
            client.publish(m.topic, m.payload, 1, true);
    };

    auto nightlight = std::make_unique<Nightlight>(sensor.get(), led.get());
    nightlight->setInterval(options.intervalMs);
    nightlight->setThreshold(options.threshold);
    nightlight->setHysteresis(options.hysteresis);
    nightlight->setBufferSize(options.bufferSize);
    // New at every start: a dashboard that sees two alternate on one id knows that two devices
    // share it (#9).
    nightlight->setInstance(QString::number(QRandomGenerator::system()->generate64(), 16));

    // Telemetry is QoS 0 (the lesson's), except right after a (re)connect: the replayed buffer
    // and whatever is taken in the next TelemetryQos1WindowMs go at QoS 1, so a dashboard with a
    // persistent session that comes back later than us (both lost the broker) still gets them
    // from the broker's queue (#9, docs/device.md "No sample lost when both reconnect").
    QElapsedTimer sinceConnect;
    QObject::connect(
        nightlight.get(), &Nightlight::telemetryReady, &client, [&](const Telemetry &t) {
            const bool fresh =
                sinceConnect.isValid() && sinceConnect.elapsed() < options.telemetryQos1WindowMs;
            client.publish(telemetryTopicName, encodeTelemetry(t), fresh ? 1 : 0, false);
        });
    // While not connected the state is not queued: the current one is published on connect.
    QObject::connect(nightlight.get(), &Nightlight::stateChanged, &client,
                     [&](const DeviceState &s) {
                         if (client.isConnected())
                             client.publish(stateTopicName, encodeState(s), 1, true);
                     });
    QObject::connect(
        &client, &MqttClient::messageReceived, nightlight.get(), [&](const MqttMessage &m) {
            if (m.topic == commandsTopicName) {
                nightlight->handleCommand(m.payload);
            } else if (options.haDiscovery && m.topic == haStatusTopicName) {
                // Only the exact birth payload counts; "offline" (HA's will) and
                // anything else, empty or binary, is ignored.
                if (m.payload != "online") {
                    qCDebug(lcDevice, "ignored %lld bytes on %s", qint64(m.payload.size()),
                            qUtf8Printable(haStatusTopicName));
                    return;
                }
                qCInfo(lcDevice, "Home Assistant is online: sending discovery");
                publishHaConfigs();
                // "After the configs have been published, the state topics will
                // need an update" (HA docs, discovery and availability).
                client.publish(stateTopicName, encodeState(nightlight->state()), 1, true);
            }
        });
    QObject::connect(&client, &MqttClient::messageTooLarge, nightlight.get(),
                     [&](const QString &topic, qint64 bytes) {
                         if (topic == commandsTopicName)
                             nightlight->rejectOversizedCommand(bytes);
                     });
    QObject::connect(&client, &MqttClient::connected, nightlight.get(), [&] {
        qCInfo(lcDevice, "connected to %s:%d as %s", qUtf8Printable(options.host),
               int(options.port), qUtf8Printable(options.clientId));
        sinceConnect.start();
        client.publish(statusTopicName, encodeAvailability(Availability::Online), 1, true);
        publishHaConfigs(); // before the state: HA reads the state once it has the configs
        client.publish(stateTopicName, encodeState(nightlight->state()), 1, true);
        nightlight->setConnected(true); // drains the buffer, oldest first
    });
    QObject::connect(&client, &MqttClient::stateChanged, nightlight.get(),
                     [&](MqttClient::State state) {
                         if (state != MqttClient::State::Connected) {
                             if (nightlight->isConnected())
                                 qCInfo(lcDevice, "disconnected: buffering telemetry");
                             nightlight->setConnected(false);
                         }
                     });

    bool shuttingDown = false;
    QObject::connect(&client, &MqttClient::errorOccurred, &app,
                     [&](MqttClient::Error e, const QString &message) {
                         if (shuttingDown)
                             return;
                         // Permanent is what the client treats as permanent: it has given up,
                         // so we would run offline forever.
                         if (client.gaveUp()) {
                             printError(QStringLiteral("cannot connect to %1:%2: %3")
                                            .arg(options.host)
                                            .arg(options.port)
                                            .arg(message));
                             shuttingDown = true;
                             nightlight->stop();
                             QCoreApplication::exit(ExitMqtt);
                             return;
                         }
                         // Retriable: the client reconnects by itself; the rule keeps running.
                         // nightlight.mqtt has already logged the warning.
                         qCDebug(lcDevice, "MQTT: %s (%s)", qUtf8Printable(message),
                                 qUtf8Printable(mqttErrorName(e)));
                     });

    // SIGTERM / SIGINT: "offline", LED off, DISCONNECT, release the hardware, exit 0 -- within
    // ShutdownGraceMs whatever the network does.
    QTimer graceTimer;
    graceTimer.setSingleShot(true);
    graceTimer.setInterval(ShutdownGraceMs);
    bool finished = false;
    // Set when the shutdown did not see the client confirm the DISCONNECT: its worker thread
    // may be stuck in a blocking connect (DNS, TCP SYNs dropped by a firewall), and
    // ~MqttClient would wait for it for minutes.
    bool unconfirmed = false;
    const auto finish = [&] {
        if (finished)
            return;
        finished = true;
        graceTimer.stop();
        nightlight.reset();
        led.reset(); // GpioLed: line low and released
        sensor.reset();
        QCoreApplication::exit(0);
    };
    // An LED behind HTTP (CounterFit) sends "off" asynchronously: give it the grace period.
    const bool asyncLed = led->backendName() == QLatin1String("counterfit");
    bool confirmed = false;
    QObject::connect(&graceTimer, &QTimer::timeout, &app, [&] {
        if (!confirmed) {
            qCInfo(lcDevice, "no DISCONNECT confirmation within %d ms", ShutdownGraceMs);
            unconfirmed = true;
        }
        finish();
    });
    QObject::connect(&signalWatcher, &SignalWatcher::signalReceived, &app, [&](int signo) {
        if (shuttingDown)
            return;
        shuttingDown = true;
        qCInfo(lcDevice, "signal %d: shutting down", signo);
        nightlight->stop();
        led->setOn(false);
        graceTimer.start();
        if (client.isConnected()) {
            // The broker handles PUBLISH before DISCONNECT (one ordered stream); the Last Will
            // is not sent after a DISCONNECT, so "offline" must be published here. QoS 0 on
            // purpose: mosquitto before 2.0.22 fails to send the PUBACK of a QoS 1 message when
            // the client has already closed the socket, then drops the DISCONNECT and sends the
            // Last Will too ("disconnected due to out of memory", eclipse-mosquitto/mosquitto
            // #2627, #3253).
            client.publish(stateTopicName, encodeState(nightlight->state()), 0, true); // LED off
            client.publish(statusTopicName, encodeAvailability(Availability::Offline), 0, true);
            QObject::connect(&client, &MqttClient::disconnected, &app, [&] {
                confirmed = true;
                if (!asyncLed)
                    finish();
            });
            // Queued after the publishes; MqttClient sends DISCONNECT and waits for it to be
            // written before its worker thread ends (also when we exit right away).
            client.disconnectFromHost();
        } else {
            // Not connected: nothing to confirm, and the worker may be inside connect().
            unconfirmed = true;
            client.disconnectFromHost(); // stop reconnecting
            if (!asyncLed)
                finish();
        }
    });

    client.connectToHost();
    nightlight->start(); // the first reading now, not one interval later
    const int code = app.exec();
    if (unconfirmed) {
        // The LED is off and the backends are released (finish()); "offline" is covered by the
        // Last Will, and nothing else needs a destructor. Do not wait for the MQTT worker.
        std::fflush(nullptr);
        ::_exit(code);
    }
    return code;
}
