#include "mqttoutbox.h"

#include <QLoggingCategory>

#include <algorithm>
#include <cerrno>

#include <sys/socket.h>

namespace nightlight {

namespace {

Q_LOGGING_CATEGORY(lcOutbox, "nightlight.mqtt", QtInfoMsg)

constexpr quint8 Publish = 0x30;
constexpr quint8 PubAck = 0x40;
constexpr quint8 PubRec = 0x50;
constexpr quint8 PubComp = 0x70;
constexpr quint8 SubAck = 0x90;
constexpr quint8 UnsubAck = 0xB0;

void appendLength(QByteArray *out, quint32 value)
{
    // MQTT-1.5.5: a Variable Byte Integer, 7 bits a byte, low first.
    do {
        auto byte = quint8(value & 127);
        value >>= 7;
        if (value > 0)
            byte |= 128;
        out->append(char(byte));
    } while (value > 0);
}

void appendU16(QByteArray *out, quint16 value)
{
    out->append(char(value >> 8));
    out->append(char(value & 0xFF));
}

QByteArray pubrel(quint16 id)
{
    // MQTT-3.6.1-1: flags 0010.
    const char bytes[4] = {char(0x62), 0x02, char(id >> 8), char(id & 0xFF)};
    return QByteArray(bytes, 4);
}

int lengthBytes(quint32 value)
{
    return value < 128 ? 1 : value < 16384 ? 2 : value < 2097152 ? 3 : 4;
}

} // namespace

void MqttOutbox::attach(int fd)
{
    const std::lock_guard lock(m_mutex);
    m_fd = fd;
    m_open = false;
    m_queued.clear();
    m_pendingOwn.clear();
    m_libmosquitto.reset();
}

void MqttOutbox::open(bool mqtt5, int window, quint32 serverMaximumPacketSize,
                      const QHash<QString, int> &subscriptions, const QList<MqttMessage> &first)
{
    const std::lock_guard lock(m_mutex);
    m_open = m_fd >= 0;
    m_mqtt5 = mqtt5;
    m_window = std::max(1, window);
    m_serverMaxPacket = serverMaximumPacketSize;
    if (!m_open)
        return;
    for (auto it = subscriptions.cbegin(); it != subscriptions.cend(); ++it)
        subscriptionLocked(true, it.key(), it.value());
    // What the last connection left unacknowledged goes first, as MQTT-4.4.0-1 asks of a kept
    // session and as libmosquitto did on every reconnect: each PUBLISH again with its packet id
    // and DUP set, or its PUBREL once the broker had answered PUBREC.
    for (const quint16 id : publishesInOrderLocked()) {
        const InFlight &f = m_inFlight[id];
        if (f.released) {
            appendOwnLocked(pubrel(id));
        } else {
            encodePublish(f.message, id, &m_scratch, true);
            appendOwnLocked(m_scratch);
        }
    }
    releaseWindowLocked();
    for (const MqttMessage &m : first)
        publishLocked(m, false);
}

int MqttOutbox::detach()
{
    const std::lock_guard lock(m_mutex);
    // Publishes in flight and those waiting for the window stay for the next session (open());
    // subscriptions are sent whole again then.
    for (auto it = m_inFlight.begin(); it != m_inFlight.end();) {
        if (it->subscription)
            it = m_inFlight.erase(it);
        else
            ++it;
    }
    m_fd = -1;
    m_open = false;
    m_queued.clear();
    m_queued.squeeze();
    m_pendingOwn.clear();
    m_scratch = QByteArray();
    m_libmosquitto.reset();
    return int(m_inFlight.size() + m_waiting.size());
}

QList<MqttMessage> MqttOutbox::takeUnsent()
{
    const std::lock_guard lock(m_mutex);
    QList<MqttMessage> unsent;
    for (const quint16 id : publishesInOrderLocked()) {
        // A QoS 2 message the broker has answered with PUBREC is delivered by it: sending it
        // again as a new message would deliver it twice.
        if (!m_inFlight[id].released)
            unsent.append(m_inFlight[id].message);
    }
    unsent.append(std::move(m_waiting));
    m_waiting.clear();
    m_inFlight.clear();
    m_publishesInFlight = 0;
    return unsent;
}

MqttOutbox::Result MqttOutbox::publishFromOwner(const MqttMessage &message)
{
    const std::lock_guard lock(m_mutex);
    if (!m_open || !m_ownerSends || m_posted > 0)
        return Result::NotOpen;
    return publishLocked(message, true);
}

void MqttOutbox::beginPosted()
{
    const std::lock_guard lock(m_mutex);
    ++m_posted;
}

void MqttOutbox::endPosted()
{
    const std::lock_guard lock(m_mutex);
    m_posted = std::max(0, m_posted - 1);
}

void MqttOutbox::setOwnerSends(bool on)
{
    const std::lock_guard lock(m_mutex);
    m_ownerSends = on;
}

MqttOutbox::Result MqttOutbox::publish(const MqttMessage &message)
{
    const std::lock_guard lock(m_mutex);
    if (!m_open)
        return Result::NotOpen;
    return publishLocked(message, false);
}

MqttOutbox::Result MqttOutbox::publishLocked(const MqttMessage &message, bool direct)
{
    const bool wasEmpty = m_queued.isEmpty();
    if (message.qos > 0) {
        // In order: behind those already waiting for the window.
        if (!m_waiting.isEmpty() || m_publishesInFlight >= m_window)
            m_waiting.append(message);
        else
            sendInFlightLocked(message, direct);
    } else {
        sendNowLocked(message, 0, direct);
    }
    return wasEmpty && !m_queued.isEmpty() && direct ? Result::WakeWorker : Result::Done;
}

void MqttOutbox::sendInFlightLocked(const MqttMessage &message, bool direct)
{
    const quint16 id = nextIdLocked();
    if (!sendNowLocked(message, id, direct))
        return;
    m_inFlight.insert(id, InFlight{++m_seq, message, false, false, {}});
    ++m_publishesInFlight;
}

void MqttOutbox::finishPublishLocked(QHash<quint16, InFlight>::iterator it)
{
    m_inFlight.erase(it);
    --m_publishesInFlight;
    releaseWindowLocked();
}

QList<quint16> MqttOutbox::publishesInOrderLocked() const
{
    QList<QPair<quint64, quint16>> publishes;
    for (auto it = m_inFlight.cbegin(); it != m_inFlight.cend(); ++it) {
        if (!it->subscription)
            publishes.append({it->seq, it.key()});
    }
    std::sort(publishes.begin(), publishes.end());
    QList<quint16> ids;
    ids.reserve(publishes.size());
    for (const auto &[seq, id] : std::as_const(publishes))
        ids.append(id);
    return ids;
}

bool MqttOutbox::sendNowLocked(const MqttMessage &message, quint16 id, bool direct)
{
    encodePublish(message, id, &m_scratch, false);
    if (m_serverMaxPacket > 0 && quint64(m_scratch.size()) > m_serverMaxPacket) {
        // The broker said it takes nothing larger (MQTT-3.1.2-25); libmosquitto refuses these
        // the same way.
        qCWarning(lcOutbox) << "cannot publish to" << message.topic << "a packet of"
                            << m_scratch.size() << "bytes: the broker takes at most"
                            << m_serverMaxPacket;
        return false;
    }
    if (direct && m_queued.isEmpty() && m_pendingOwn.isEmpty() && m_libmosquitto.atBoundary()) {
        const ssize_t w = ::send(m_fd, m_scratch.constData(), size_t(m_scratch.size()),
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
        ++m_directSends;
        if (w == m_scratch.size())
            return true;
        // The rest (or all of it, on EAGAIN or an error the worker will see) for the worker.
        m_queued.append(m_scratch.constData() + std::max<ssize_t>(0, w),
                        m_scratch.size() - std::max<ssize_t>(0, w));
        return true;
    }
    appendOwnLocked(m_scratch);
    return true;
}

quint16 MqttOutbox::nextIdLocked()
{
    // MQTT-2.2.1-3: a new packet uses an id not in use. If all 65,535 are (never seen), reuse
    // the next one, as libmosquitto would.
    for (int tries = 0; tries < 65535; ++tries) {
        if (++m_lastId == 0)
            m_lastId = 1;
        if (!m_inFlight.contains(m_lastId))
            break;
    }
    return m_lastId;
}

void MqttOutbox::appendOwnLocked(const QByteArray &packet)
{
    if (m_libmosquitto.atBoundary() && m_pendingOwn.isEmpty())
        m_queued += packet;
    else
        m_pendingOwn += packet;
}

void MqttOutbox::subscribe(const QString &filter, int qos)
{
    const std::lock_guard lock(m_mutex);
    if (m_open)
        subscriptionLocked(true, filter, qos);
}

void MqttOutbox::unsubscribe(const QString &filter)
{
    const std::lock_guard lock(m_mutex);
    if (m_open)
        subscriptionLocked(false, filter, 0);
}

void MqttOutbox::subscriptionLocked(bool subscribe, const QString &filter, int qos)
{
    const quint16 id = nextIdLocked();
    appendOwnLocked(encodeSubscription(subscribe, filter.toUtf8(), qos, id));
    m_inFlight.insert(id, InFlight{0, {}, false, true, filter});
}

void MqttOutbox::acknowledge(const QByteArray &ack)
{
    if (ack.isEmpty())
        return;
    const std::lock_guard lock(m_mutex);
    appendOwnLocked(ack);
}

bool MqttOutbox::takeAcknowledgement(const char *packet, qsizetype size, QList<Refused> *refused)
{
    const auto type = quint8(packet[0]) & 0xF0;
    if (type != PubAck && type != PubRec && type != PubComp && type != SubAck && type != UnsubAck)
        return false;
    int headerBytes = 0;
    quint32 remaining = 0;
    if (!MqttPacketFilter::header(packet, size, &headerBytes, &remaining) || remaining < 2)
        return false;
    const char *body = packet + headerBytes;
    const auto id = quint16((quint8(body[0]) << 8) | quint8(body[1]));
    const std::lock_guard lock(m_mutex);
    const auto it = m_inFlight.find(id);
    if (!m_open || it == m_inFlight.end())
        return false;
    if (type == SubAck || type == UnsubAck) {
        if (!it->subscription)
            return false;
        if (type == SubAck) {
            // Return codes (3.1.1) or reason codes (5) after the id and, in 5, the properties.
            qsizetype pos = 2;
            if (m_mqtt5) {
                int bytes = 0;
                quint32 length = 0;
                if (MqttPacketFilter::variableByteInteger(body + pos, qsizetype(remaining) - pos,
                                                          &bytes, &length))
                    pos += bytes + qsizetype(length);
            }
            for (; pos < qsizetype(remaining); ++pos) {
                if (quint8(body[pos]) >= 0x80)
                    refused->append(Refused{it->filter, quint8(body[pos])});
            }
        }
        m_inFlight.erase(it);
        return true;
    }
    if (it->subscription)
        return false;
    if (type == PubRec && it->message.qos == 2 && !it->released) {
        // MQTT 5: a reason code of 0x80 or more ends the exchange here (MQTT-4.3.3).
        if (m_mqtt5 && remaining >= 3 && quint8(body[2]) >= 0x80) {
            finishPublishLocked(it);
            return true;
        }
        it->released = true;
        appendOwnLocked(pubrel(id));
        return true;
    }
    const bool done = (type == PubAck && it->message.qos == 1) ||
        (type == PubComp && it->message.qos == 2 && it->released);
    if (!done)
        return false;
    finishPublishLocked(it);
    return true;
}

void MqttOutbox::releaseWindowLocked()
{
    while (!m_waiting.isEmpty() && m_publishesInFlight < m_window)
        sendInFlightLocked(m_waiting.takeFirst(), false);
}

void MqttOutbox::feedLibmosquitto(const char *data, qsizetype size)
{
    const std::lock_guard lock(m_mutex);
    m_queued.append(data, size);
    m_libmosquitto.feed(data, size);
    if (!m_pendingOwn.isEmpty() && m_libmosquitto.atBoundary()) {
        m_queued += m_pendingOwn;
        m_pendingOwn.clear();
    }
}

bool MqttOutbox::flush(int *err)
{
    const std::lock_guard lock(m_mutex);
    while (!m_queued.isEmpty() && m_fd >= 0) {
        const ssize_t w = ::send(m_fd, m_queued.constData(), size_t(m_queued.size()),
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            m_queued.remove(0, qsizetype(w));
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        *err = w < 0 ? errno : EPIPE;
        return false;
    }
    return true;
}

qsizetype MqttOutbox::queuedBytes() const
{
    const std::lock_guard lock(m_mutex);
    return m_queued.size();
}

bool MqttOutbox::isOpen() const
{
    const std::lock_guard lock(m_mutex);
    return m_open;
}

qint64 MqttOutbox::directSends() const
{
    const std::lock_guard lock(m_mutex);
    return m_directSends;
}

void MqttOutbox::encodePublish(const MqttMessage &message, quint16 id, QByteArray *out,
                               bool duplicate) const
{
    // MQTT-3.3: fixed header, topic, packet id (QoS > 0), properties (5: none), payload.
    const QByteArray topic = message.topic.toUtf8();
    const quint32 remaining = quint32(2 + topic.size() + (message.qos > 0 ? 2 : 0) +
                                      (m_mqtt5 ? 1 : 0) + message.payload.size());
    out->resize(0); // keeps the capacity (clear() would free it)
    out->reserve(1 + lengthBytes(remaining) + qsizetype(remaining));
    out->append(
        char(Publish | (duplicate ? 8 : 0) | (message.qos << 1) | (message.retained ? 1 : 0)));
    appendLength(out, remaining);
    appendU16(out, quint16(topic.size()));
    out->append(topic);
    if (message.qos > 0)
        appendU16(out, id);
    if (m_mqtt5)
        out->append(char(0)); // property length
    out->append(message.payload);
}

QByteArray MqttOutbox::encodeSubscription(bool subscribe, const QByteArray &filter, int qos,
                                          quint16 id) const
{
    // MQTT-3.8 / 3.10: packet id, properties (5: none), the filter and (SUBSCRIBE) its options;
    // the QoS in the low bits means the same in 3.1.1 and 5.
    const quint32 remaining =
        quint32(2 + (m_mqtt5 ? 1 : 0) + 2 + filter.size() + (subscribe ? 1 : 0));
    QByteArray out;
    out.reserve(1 + lengthBytes(remaining) + qsizetype(remaining));
    out.append(char(subscribe ? 0x82 : 0xA2));
    appendLength(&out, remaining);
    appendU16(&out, id);
    if (m_mqtt5)
        out.append(char(0));
    appendU16(&out, quint16(filter.size()));
    out.append(filter);
    if (subscribe)
        out.append(char(qos & 3));
    return out;
}

} // namespace nightlight
