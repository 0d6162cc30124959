// mqttwillclient: a tiny MQTT client with a Last Will, for tst_mqttclient's Last Will test.
// Usage: mqttwillclient HOST PORT CLIENT_ID WILL_TOPIC
// Connects with the will payload "will:<CLIENT_ID>" (QoS 1, not retained), prints "connected" on
// stdout once the broker accepted it, then runs until it is killed.

#include "mqttclient.h"

#include <QCoreApplication>

#include <cstdio>

using nightlight::MqttClient;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() != 5) {
        std::fprintf(stderr, "usage: mqttwillclient HOST PORT CLIENT_ID WILL_TOPIC\n");
        return 2;
    }
    bool ok = false;
    const quint16 port = args.at(2).toUShort(&ok);
    if (!ok || port == 0) {
        std::fprintf(stderr, "mqttwillclient: invalid port %s\n", qPrintable(args.at(2)));
        return 2;
    }
    MqttClient client;
    client.setHost(args.at(1));
    client.setPort(port);
    client.setClientId(args.at(3));
    client.setWill(args.at(4), "will:" + args.at(3).toUtf8(), 1, false);
    QObject::connect(&client, &MqttClient::connected, [] {
        std::fputs("connected\n", stdout);
        std::fflush(stdout);
    });
    QObject::connect(&client, &MqttClient::errorOccurred,
                     [](MqttClient::Error, const QString &message) {
                         std::fprintf(stderr, "mqttwillclient: %s\n", qPrintable(message));
                     });
    client.connectToHost();
    return app.exec();
}
