#include "devicehub.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QTimer>

#include <limits>

namespace nightlight {

namespace {
Q_LOGGING_CATEGORY(lcHub, "nightlight.dashboard.hub", QtInfoMsg)
} // namespace

DeviceHub::DeviceHub(MqttClient *client, QObject *parent)
    : QObject(parent), m_client(client), m_logTimer(new QTimer(this))
{
    // Batches, not single messages: at high rates the client hands over thousands at once.
    connect(m_client, &MqttClient::messagesReceived, this, &DeviceHub::enqueue);
    // Beyond LogThrottle's 256 keys, topics share one (5,000 devices is a real case).
    m_logThrottle.setOverflowKey(QStringLiteral("malformed messages on other topics"));
    m_logTimer->setSingleShot(true);
    connect(m_logTimer, &QTimer::timeout, this, [this] { warn(m_logThrottle.takeDue()); });
}

DeviceHub::~DeviceHub()
{
    // What the throttle left out is counted in the log before we go (#9).
    for (const QString &line : m_logThrottle.flush())
        qCWarning(lcHub).noquote() << line;
}

void DeviceHub::startDiscovery()
{
    m_client->subscribe(discoveryTopic(TopicKind::Status), 1);
    m_client->subscribe(discoveryTopic(TopicKind::Telemetry), 0);
}

bool DeviceHub::watchDevice(const QString &deviceId)
{
    if (!isValidDeviceId(deviceId))
        return false;
    if (m_watched.contains(deviceId))
        return true;
    m_watched.insert(deviceId);
    // Telemetry is not retained, so the +/telemetry wildcard sees all of it; subscribing to the
    // exact telemetry topic too would deliver every sample twice (overlapping subscriptions).
    m_client->subscribe(stateTopic(deviceId), 1);
    m_client->subscribe(statusTopic(deviceId), 1);
    return true;
}

std::optional<DeviceState> DeviceHub::lastState(const QString &deviceId) const
{
    const auto it = m_states.constFind(deviceId);
    if (it == m_states.constEnd())
        return std::nullopt;
    return *it;
}

std::optional<Availability> DeviceHub::lastStatus(const QString &deviceId) const
{
    const auto it = m_statuses.constFind(deviceId);
    if (it == m_statuses.constEnd())
        return std::nullopt;
    return *it;
}

void DeviceHub::enqueue(const QList<MqttMessage> &messages)
{
    m_queue.append(messages);
    if (!m_drainScheduled)
        drain();
}

void DeviceHub::drain()
{
    m_drainScheduled = false;
    QElapsedTimer clock;
    clock.start();
    while (m_queueHead < m_queue.size()) {
        // Copy out first: a slot may re-enter the event loop (a dialog) and enqueue more.
        const MqttMessage message = m_queue.at(m_queueHead++);
        handleMessage(message);
        if (clock.elapsed() >= m_sliceBudgetMs && m_queueHead < m_queue.size()) {
            // Let paint and input events in, then go on with the rest.
            m_drainScheduled = true;
            QMetaObject::invokeMethod(this, &DeviceHub::drain, Qt::QueuedConnection);
            return;
        }
    }
    m_queue.clear();
    m_queueHead = 0;
}

void DeviceHub::drainQueue()
{
    while (m_queueHead < m_queue.size()) {
        const MqttMessage message = m_queue.at(m_queueHead++);
        handleMessage(message);
    }
    m_queue.clear();
    m_queueHead = 0;
}

void DeviceHub::resetMalformedCount()
{
    m_malformedCount = 0;
    m_lastError.clear();
    emit malformedMessage(QString(), QString());
}

void DeviceHub::reportMalformed(const QString &topic, const QString &reason)
{
    ++m_malformedCount;
    m_lastError = topic + QStringLiteral(": ") + reason;
    // Anyone who can publish to the broker can send these as fast as it forwards them (#9).
    warn(m_logThrottle.add(QStringLiteral("malformed messages on ") + topic,
                           QStringLiteral("ignoring malformed message on ") + m_lastError, reason));
    emit malformedMessage(topic, m_lastError);
}

void DeviceHub::warn(const QStringList &lines)
{
    for (const QString &line : lines)
        qCWarning(lcHub).noquote() << line;
    if (m_logTimer->isActive())
        return;
    if (const auto due = m_logThrottle.nextDueIn())
        m_logTimer->start(int(qMin<qint64>(*due, std::numeric_limits<int>::max())));
}

void DeviceHub::clampFutureTs(const QString &topic, std::optional<qint64> &ts, qint64 nowMs)
{
    if (!ts || *ts <= nowMs + MaxClockAheadMs)
        return;
    reportMalformed(topic,
                    QStringLiteral("ts is %1 s in the future; using the receive time")
                        .arg((*ts - nowMs) / 1000));
    ts = nowMs;
}

void DeviceHub::handleMessage(const MqttMessage &message)
{
    const auto parsed = parseTopic(message.topic);
    if (!parsed)
        return; // not ours (a wildcard can match other applications' topics)
    const QString &id = parsed->deviceId;
    switch (parsed->kind) {
    case TopicKind::Telemetry: {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        const auto decoded = decodeTelemetry(message.payload);
        if (!decoded) {
            reportMalformed(message.topic, decoded.errorString());
            return;
        }
        Telemetry t = *decoded;
        clampFutureTs(message.topic, t.ts, now);
        m_heardTelemetry.insert(id);
        emit telemetryReceived(id, t, now);
        return;
    }
    case TopicKind::State: {
        // MQTT-3.3.1-10: a retained message with an empty payload deletes the retained state.
        if (message.payload.isEmpty()) {
            m_states.remove(id);
            emit stateCleared(id);
            return;
        }
        const auto decoded = decodeState(message.payload);
        if (!decoded) {
            reportMalformed(message.topic, decoded.errorString());
            return;
        }
        DeviceState s = *decoded;
        clampFutureTs(message.topic, s.ts, QDateTime::currentMSecsSinceEpoch());
        m_states.insert(id, s);
        emit stateReceived(id, s);
        return;
    }
    case TopicKind::Status: {
        if (message.payload.isEmpty()) {
            m_statuses.remove(id); // retained status deleted
            return;
        }
        const auto a = decodeAvailability(message.payload);
        if (!a) {
            reportMalformed(message.topic, a.errorString());
            return;
        }
        m_statuses.insert(id, *a);
        emit statusReceived(id, *a);
        return;
    }
    case TopicKind::Commands:
        return; // commands are for devices; a dashboard only sends them
    }
}

} // namespace nightlight
