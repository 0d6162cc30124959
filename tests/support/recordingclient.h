#pragma once

// RecordingClient: an MqttClient on a TestBroker that subscribes to `filters` (QoS 1) and keeps
// every message it receives, with when it arrived. The suites that watch a real device
// (tst_nightlightdevice, tst_hadiscovery) build their observers on it.

#include "mqttclient.h"
#include "testbroker.h"

#include <QDateTime>
#include <QList>
#include <QStringList>

class RecordingClient
{
public:
    RecordingClient(const TestBroker &broker, const QStringList &filters)
    {
        m_client.setHost(broker.host());
        m_client.setPort(broker.port());
        m_client.setReconnectDelay(50, 100);
        for (const QString &f : filters)
            m_client.subscribe(f, 1);
        QObject::connect(&m_client, &nightlight::MqttClient::messageReceived,
                         [this](const nightlight::MqttMessage &m) {
                             messages.append(m);
                             receivedAt.append(QDateTime::currentMSecsSinceEpoch());
                         });
        m_client.connectToHost();
    }
    bool isConnected() const { return m_client.isConnected(); }
    nightlight::MqttClient &client() { return m_client; }
    // The messages received on `topic`, in arrival order.
    QList<nightlight::MqttMessage> on(const QString &topic) const
    {
        QList<nightlight::MqttMessage> out;
        for (const nightlight::MqttMessage &m : messages) {
            if (m.topic == topic)
                out.append(m);
        }
        return out;
    }

    QList<nightlight::MqttMessage> messages;
    QList<qint64> receivedAt; // ms since the epoch, per message

private:
    nightlight::MqttClient m_client;
};
