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
    m_probeTimer = new QTimer(this);
    m_probeTimer->setSingleShot(true);
    connect(m_probeTimer, &QTimer::timeout, this, &DeviceHub::onProbeTimeout);
    connect(m_client, &MqttClient::connected, this, &DeviceHub::onConnected);
    m_unheardTimer = new QTimer(this);
    m_unheardTimer->setSingleShot(true);
    connect(m_unheardTimer, &QTimer::timeout, this, &DeviceHub::checkUnheard);
    m_refreshTimer = new QTimer(this);
    m_refreshTimer->setSingleShot(true);
    connect(m_refreshTimer, &QTimer::timeout, this, &DeviceHub::expireRefreshes);
    m_clock.start();
}

DeviceHub::~DeviceHub()
{
    // What the throttle left out is counted in the log before we go (#9).
    for (const QString &line : m_logThrottle.flush())
        qCWarning(lcHub).noquote() << line;
}

void DeviceHub::startDiscovery()
{
    m_discovering = true;
    // Exact topics watched before this are for the probe to decide (see onProbeTimeout()); if
    // the client has not connected yet, they were never sent.
    for (const QString &id : std::as_const(m_exact))
        unsubscribeDevice(id);
    m_exact.clear();
    // QoS 1 for all three: status and state changes while we are away are queued for our
    // persistent session, and so is what a device sends at QoS 1 after a reconnect (live
    // telemetry is QoS 0 and stays so: the lower of the two applies). With MQTT 5 the client
    // lifts mosquitto's in-flight limit (Receive Maximum), so a fleet's retained messages at
    // subscribe and its Last Wills at a mass exit are not dropped (docs/dashboard.md).
    m_client->subscribe(discoveryTopic(TopicKind::Status), 1);
    m_client->subscribe(discoveryTopic(TopicKind::State), 1);
    m_client->subscribe(discoveryTopic(TopicKind::Telemetry), 1);
    if (m_client->isConnected())
        onConnected();
}

void DeviceHub::onConnected()
{
    if (!m_discovering)
        return;
    m_sinceConnect.start();
    if (m_delivery == RetainedDelivery::ExactTopics)
        return; // stays so; a retained message through a wildcard still switches (below)
    // Another broker may be behind the same settings now: look again.
    m_delivery = RetainedDelivery::Probing;
    m_probeTimer->start(m_probeMs);
}

void DeviceHub::onProbeTimeout()
{
    if (m_delivery != RetainedDelivery::Probing)
        return;
    m_delivery = RetainedDelivery::ExactTopics;
    // No retained message through the wildcards: the broker may not send them there (RabbitMQ),
    // or it has none (a new broker, a fleet starting with us). Only the devices nothing was heard
    // of need their exact topics: the others' live status came through the wildcards, and
    // exact topics beside the wildcards bring every later message twice on mosquitto.
    int count = 0;
    for (const QString &id : std::as_const(m_watched)) {
        if (!heardOf(id)) {
            subscribeExact(id);
            ++count;
        }
    }
    qCInfo(lcHub).noquote()
        << QStringLiteral("no retained message came through the wildcard subscriptions in %1 ms: "
                          "subscribing the exact state and status topics of the %2 devices (of "
                          "%3) not heard of")
               .arg(m_probeMs)
               .arg(count)
               .arg(m_watched.size());
}

bool DeviceHub::heardOf(const QString &deviceId) const
{
    return m_states.contains(deviceId) || m_statuses.contains(deviceId);
}

void DeviceHub::checkUnheard()
{
    if (m_delivery != RetainedDelivery::ExactTopics) {
        m_unheard.clear();
        return;
    }
    for (const QString &id : std::as_const(m_unheard)) {
        if (m_watched.contains(id) && !heardOf(id))
            subscribeExact(id);
    }
    m_unheard.clear();
}

void DeviceHub::noteRetained(const QString &deviceId)
{
    // Retained messages come at subscribe time, so only just after a connect; one for an id
    // without exact subscriptions came through a wildcard.
    if (m_delivery == RetainedDelivery::Wildcards || m_exact.contains(deviceId) ||
        m_refreshing.contains(deviceId) || !m_sinceConnect.isValid() ||
        m_sinceConnect.elapsed() > m_probeMs)
        return;
    m_probeTimer->stop();
    if (m_delivery == RetainedDelivery::ExactTopics) {
        qCInfo(lcHub).noquote() << QStringLiteral(
                                       "retained messages come through the wildcard subscriptions: "
                                       "unsubscribing the exact topics of %1 devices")
                                       .arg(m_exact.size());
        for (const QString &id : std::as_const(m_exact))
            unsubscribeDevice(id);
        m_exact.clear();
    }
    m_delivery = RetainedDelivery::Wildcards;
}

// Its exact <id>/status and <id>/state, in this order: a refresh ends when the retained status
// comes, and by then the state's is on its way. Telemetry is not retained, so the +/telemetry
// wildcard sees all of it; its exact topic too would deliver every sample twice.
void DeviceHub::subscribeDevice(const QString &deviceId)
{
    m_client->subscribe(statusTopic(deviceId), 1);
    m_client->subscribe(stateTopic(deviceId), 1);
}

void DeviceHub::unsubscribeDevice(const QString &deviceId)
{
    m_client->unsubscribe(statusTopic(deviceId));
    m_client->unsubscribe(stateTopic(deviceId));
}

void DeviceHub::subscribeExact(const QString &deviceId)
{
    if (m_exact.contains(deviceId))
        return;
    m_exact.insert(deviceId);
    subscribeDevice(deviceId);
}

void DeviceHub::refreshRetained(const QString &deviceId)
{
    if (!m_known.contains(deviceId) || m_refreshing.contains(deviceId))
        return;
    if (m_refreshQueued.isEmpty())
        QMetaObject::invokeMethod(this, &DeviceHub::sendRefreshes, Qt::QueuedConnection);
    m_refreshQueued.insert(deviceId);
}

void DeviceHub::sendRefreshes()
{
    const qint64 now = m_clock.elapsed();
    for (const QString &id : std::as_const(m_refreshQueued)) {
        if (!m_known.contains(id))
            continue;
        // Subscribing again to an exact topic we hold (ExactTopics) sends its retained message
        // again too (MQTT-3.8.4-3).
        subscribeDevice(id);
        m_refreshing.insert(id, now);
    }
    m_refreshQueued.clear();
    if (!m_refreshTimer->isActive() && !m_refreshing.isEmpty())
        m_refreshTimer->start(RefreshTimeoutMs);
}

void DeviceHub::endRefresh(const QString &deviceId)
{
    if (!m_refreshing.remove(deviceId) || m_exact.contains(deviceId))
        return;
    // The wildcards bring what comes next; two subscriptions would bring it twice.
    unsubscribeDevice(deviceId);
}

void DeviceHub::expireRefreshes()
{
    // No retained status at all (a lesson device), or the reply was lost with the connection.
    const qint64 now = m_clock.elapsed();
    qint64 next = -1;
    const QStringList ids = m_refreshing.keys();
    for (const QString &id : ids) {
        const qint64 age = now - m_refreshing.value(id);
        if (age >= RefreshTimeoutMs)
            endRefresh(id);
        else
            next = std::max(next, RefreshTimeoutMs - age);
    }
    if (next >= 0)
        m_refreshTimer->start(int(next));
}

bool DeviceHub::watchDevice(const QString &deviceId)
{
    if (!isValidDeviceId(deviceId))
        return false;
    if (m_watched.contains(deviceId))
        return true;
    m_watched.insert(deviceId);
    // Without the wildcards (a hub for one device) only exact topics bring its state.
    if (!m_discovering) {
        subscribeExact(deviceId);
    } else if (m_delivery == RetainedDelivery::ExactTopics && !heardOf(deviceId)) {
        // Its status or state may come through the wildcards yet; look again in a while.
        m_unheard.insert(deviceId);
        if (!m_unheardTimer->isActive())
            m_unheardTimer->start(m_probeMs);
    }
    // After the subscriptions: a receiver of deviceAdmitted may call this again.
    admit(deviceId, false);
    return true;
}

void DeviceHub::forgetDevice(const QString &deviceId)
{
    dropCandidate(deviceId);
    if (!m_known.remove(deviceId))
        return;
    m_watched.remove(deviceId);
    m_unheard.remove(deviceId);
    m_refreshQueued.remove(deviceId);
    const bool refreshing = m_refreshing.remove(deviceId);
    const bool exact = m_exact.remove(deviceId);
    if (refreshing || exact)
        unsubscribeDevice(deviceId);
    m_states.remove(deviceId);
    m_statuses.remove(deviceId);
    m_heardTelemetry.remove(deviceId);
    // Messages received before the user said so are not "publishing again".
    const auto fromDevice = [&deviceId](const MqttMessage &m) {
        const auto parsed = parseTopic(m.topic);
        return parsed && parsed->deviceId == deviceId;
    };
    if (m_queueHead < m_queue.size()) {
        QList<MqttMessage> rest;
        rest.reserve(m_queue.size() - m_queueHead);
        for (qsizetype i = m_queueHead; i < m_queue.size(); ++i) {
            if (!fromDevice(m_queue.at(i)))
                rest.append(m_queue.at(i));
        }
        m_queue = std::move(rest);
        m_queueHead = 0;
    }
    emit deviceForgotten(deviceId);
}

void DeviceHub::setMaxDevices(int count)
{
    m_maxDevices = qMax(1, count);
}

void DeviceHub::setMaxCandidates(int count)
{
    m_maxCandidates = qMax(0, count);
    while (int(m_candidates.size()) > m_maxCandidates)
        dropCandidate(m_candidateOrder.front());
}

bool DeviceHub::admit(const QString &deviceId, bool fromNetwork)
{
    if (m_known.contains(deviceId))
        return true;
    if (fromNetwork && int(m_known.size()) >= m_maxDevices) {
        refuse(deviceId);
        return false;
    }
    m_known.insert(deviceId);
    std::optional<Availability> status;
    std::optional<DeviceState> state;
    if (const auto it = m_candidates.constFind(deviceId); it != m_candidates.constEnd()) {
        status = it->availability;
        state = it->state;
    }
    dropCandidate(deviceId);
    emit deviceAdmitted(deviceId);
    // What it sent before (retained, so the broker will not send it again) is known now.
    if (status && m_known.contains(deviceId)) {
        m_statuses.insert(deviceId, *status);
        emit statusReceived(deviceId, *status);
    }
    if (state && m_known.contains(deviceId) && !m_states.contains(deviceId)) {
        m_states.insert(deviceId, *state);
        emit stateReceived(deviceId, *state);
    }
    return m_known.contains(deviceId);
}

void DeviceHub::refuse(const QString &deviceId)
{
    ++m_refused;
    // Anyone can publish on new ids as fast as the broker forwards them: throttled (#9).
    warn(m_logThrottle.add(
        QStringLiteral("messages from new devices beyond the limit"),
        QStringLiteral("ignoring a message from new device %1: the dashboard already tracks %2 "
                       "devices, its limit (--max-devices)")
            .arg(deviceId)
            .arg(m_maxDevices),
        deviceId));
    if (m_refused == 1)
        emit deviceLimitReached(m_maxDevices);
}

void DeviceHub::noteCandidate(const QString &deviceId,
                              const std::optional<Availability> &availability,
                              const std::optional<DeviceState> &state)
{
    if (m_maxCandidates == 0)
        return;
    if (auto it = m_candidates.find(deviceId); it != m_candidates.end()) {
        if (availability)
            it->availability = availability;
        if (state)
            it->state = state;
        return;
    }
    while (int(m_candidates.size()) >= m_maxCandidates)
        dropCandidate(m_candidateOrder.front());
    m_candidateOrder.push_back(deviceId);
    m_candidates.insert(deviceId,
                        Candidate{availability, state, std::prev(m_candidateOrder.end())});
}

void DeviceHub::dropCandidate(const QString &deviceId)
{
    const auto it = m_candidates.find(deviceId);
    if (it == m_candidates.end())
        return;
    m_candidateOrder.erase(it->order);
    m_candidates.erase(it);
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
        if (!admit(id, true))
            return;
        Telemetry t = *decoded;
        clampFutureTs(message.topic, t.ts, now);
        m_heardTelemetry.insert(id);
        emit telemetryReceived(id, t, now);
        return;
    }
    case TopicKind::State: {
        if (message.retained)
            noteRetained(id);
        // MQTT-3.3.1-10: a retained message with an empty payload deletes the retained state.
        if (message.payload.isEmpty()) {
            if (auto it = m_candidates.find(id); it != m_candidates.end())
                it->state.reset();
            if (m_known.contains(id)) {
                m_states.remove(id);
                emit stateCleared(id);
            }
            return;
        }
        const auto decoded = decodeState(message.payload);
        if (!decoded) {
            reportMalformed(message.topic, decoded.errorString());
            return;
        }
        DeviceState s = *decoded;
        clampFutureTs(message.topic, s.ts, QDateTime::currentMSecsSinceEpoch());
        if (!m_known.contains(id)) {
            // A state never makes a device (a forgotten one's comes again at every connect):
            // at most a candidate, in memory.
            noteCandidate(id, std::nullopt, s);
            return;
        }
        m_states.insert(id, s);
        emit stateReceived(id, s);
        return;
    }
    case TopicKind::Status: {
        if (message.retained) {
            noteRetained(id);
            // The answer to refreshRetained() (its retained state, subscribed after it, is on
            // its way before the broker handles the UNSUBSCRIBE).
            if (m_refreshing.contains(id))
                endRefresh(id);
        }
        if (message.payload.isEmpty()) {
            m_statuses.remove(id); // retained status deleted
            if (auto it = m_candidates.find(id); it != m_candidates.end()) {
                it->availability.reset();
                if (!it->state)
                    dropCandidate(id);
            }
            return;
        }
        const auto a = decodeAvailability(message.payload);
        if (!a) {
            reportMalformed(message.topic, a.errorString());
            return;
        }
        if (!m_known.contains(id)) {
            // A topic alone makes no device (#9): at most a candidate, in memory.
            noteCandidate(id, *a, std::nullopt);
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
