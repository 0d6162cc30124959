#include "mqttpacketfilter.h"

#include <algorithm>

namespace nightlight {

namespace {

enum class HeaderResult { Complete, Incomplete, Malformed };

// A Variable Byte Integer: 1..4 bytes, 7 bits each, low bits first (MQTT-1.5.5).
HeaderResult parseVariableByteInteger(const char *data, qsizetype size, int *bytes, quint32 *value)
{
    quint32 v = 0;
    for (int i = 0; i < 4; ++i) {
        if (i >= size)
            return HeaderResult::Incomplete;
        const auto byte = quint8(data[i]);
        v |= quint32(byte & 127) << (7 * i);
        if (!(byte & 128)) {
            *bytes = 1 + i;
            *value = v;
            return HeaderResult::Complete;
        }
    }
    return HeaderResult::Malformed;
}

// The fixed header: packet type byte, then the Remaining Length (MQTT-2.2.3).
HeaderResult parseHeader(const char *data, qsizetype size, int *headerBytes, quint32 *remaining)
{
    if (size < 1)
        return HeaderResult::Incomplete;
    int bytes = 0;
    const HeaderResult r = parseVariableByteInteger(data + 1, size - 1, &bytes, remaining);
    if (r == HeaderResult::Complete)
        *headerBytes = 1 + bytes;
    return r;
}

constexpr quint8 Publish = 0x30;

int topicLength(const QByteArray &head)
{
    return head.size() >= 2 ? (quint8(head[0]) << 8) | quint8(head[1]) : -1;
}

} // namespace

bool MqttPacketFilter::header(const char *data, qsizetype size, int *headerBytes,
                              quint32 *remaining)
{
    return parseHeader(data, size, headerBytes, remaining) == HeaderResult::Complete;
}

bool MqttPacketFilter::variableByteInteger(const char *data, qsizetype size, int *bytes,
                                           quint32 *value)
{
    return parseVariableByteInteger(data, size, bytes, value) == HeaderResult::Complete;
}

void MqttPacketFilter::reset()
{
    m_partial.clear();
    m_partial.squeeze();
    m_discardLeft = 0;
    m_discardHead.clear();
    m_discardHead.squeeze();
}

QByteArray MqttPacketFilter::acknowledgement(const Dropped &dropped)
{
    return acknowledgement(dropped.qos, dropped.packetId);
}

QByteArray MqttPacketFilter::acknowledgement(int qos, int packetId)
{
    if (qos == 0 || packetId < 0)
        return QByteArray();
    const char bytes[4] = {char(qos == 1 ? 0x40 : 0x50), 0x02, char(packetId >> 8),
                           char(packetId & 0xFF)};
    return QByteArray(bytes, 4);
}

bool MqttPacketFilter::startPacket(quint8 command, int headerBytes, quint32 remaining)
{
    if ((command & 0xF0) != Publish)
        return false; // only a PUBLISH can be dropped and acknowledged
    m_discardTotal = qint64(headerBytes) + remaining;
    m_discardLeft = m_discardTotal;
    m_discardPos = 0;
    m_discardHeaderBytes = headerBytes;
    m_discardQos = (command >> 1) & 3;
    m_discardHead.clear();
    return true;
}

qsizetype MqttPacketFilter::discardBytes(const char *data, qsizetype size, QList<Dropped> *dropped)
{
    const qsizetype take = qsizetype(std::min<qint64>(size, m_discardLeft));
    // Keep the variable header: topic length (2), topic, packet id (2, QoS > 0).
    for (qsizetype i = 0; i < take; ++i) {
        const qint64 pos = m_discardPos + i;
        if (pos < m_discardHeaderBytes)
            continue;
        const int length = topicLength(m_discardHead);
        const qsizetype want = length < 0 ? 2 : 2 + length + (m_discardQos > 0 ? 2 : 0);
        if (m_discardHead.size() >= want)
            break;
        m_discardHead.append(data[i]);
    }
    m_discardPos += take;
    m_discardLeft -= take;
    if (m_discardLeft == 0) {
        Dropped d;
        d.bytes = m_discardTotal;
        d.qos = m_discardQos;
        const int length = topicLength(m_discardHead);
        if (length >= 0 && m_discardHead.size() >= 2 + length) {
            d.topic = QString::fromUtf8(m_discardHead.constData() + 2, length);
            if (m_discardQos > 0 && m_discardHead.size() >= 2 + length + 2) {
                d.packetId = (quint8(m_discardHead[2 + length]) << 8) |
                    quint8(m_discardHead[2 + length + 1]);
            }
        }
        dropped->append(d);
        m_discardHead.clear();
        m_discardHead.squeeze();
    }
    return take;
}

bool MqttPacketFilter::feed(const char *data, qsizetype size, QByteArray *forward,
                            QList<Dropped> *dropped)
{
    qsizetype pos = 0;
    while (pos < size) {
        if (m_discardLeft > 0) {
            pos += discardBytes(data + pos, size - pos, dropped);
            continue;
        }
        int headerBytes = 0;
        quint32 remaining = 0;
        if (m_partial.isEmpty()) {
            // Whole packets straight from the input, without copying them twice.
            const HeaderResult r = parseHeader(data + pos, size - pos, &headerBytes, &remaining);
            if (r == HeaderResult::Malformed)
                return false;
            if (r == HeaderResult::Complete) {
                const qint64 total = qint64(headerBytes) + remaining;
                if (m_limit > 0 && total > qint64(m_limit)) {
                    if (!startPacket(quint8(data[pos]), headerBytes, remaining))
                        return false;
                    continue;
                }
                if (total <= size - pos) {
                    forward->append(data + pos, qsizetype(total));
                    pos += qsizetype(total);
                    continue;
                }
            }
            // An incomplete header or packet: what is left is less than one packet (at most
            // the limit, or a header of up to 4 bytes).
            m_partial.append(data + pos, size - pos);
            return true;
        }
        const HeaderResult r =
            parseHeader(m_partial.constData(), m_partial.size(), &headerBytes, &remaining);
        if (r == HeaderResult::Malformed)
            return false;
        if (r == HeaderResult::Incomplete) {
            m_partial.append(data[pos++]); // the header grows one byte at a time
            continue;
        }
        const qint64 total = qint64(headerBytes) + remaining;
        if (m_limit > 0 && total > qint64(m_limit)) {
            if (!startPacket(quint8(m_partial[0]), headerBytes, remaining))
                return false;
            const QByteArray start = std::exchange(m_partial, QByteArray());
            discardBytes(start.constData(), start.size(), dropped);
            continue;
        }
        const qsizetype take = qsizetype(std::min<qint64>(total - m_partial.size(), size - pos));
        m_partial.append(data + pos, take);
        pos += take;
        if (m_partial.size() == total) {
            forward->append(m_partial);
            m_partial.clear();
        }
    }
    return true;
}

void MqttPacketBoundary::feed(const char *data, qsizetype size)
{
    qsizetype pos = 0;
    while (pos < size) {
        if (m_skip > 0) {
            const qsizetype take = qsizetype(std::min<qint64>(m_skip, size - pos));
            m_skip -= take;
            pos += take;
            continue;
        }
        const auto byte = quint8(data[pos++]);
        if (m_header == 0) { // the packet type
            m_header = 1;
            m_remaining = 0;
            continue;
        }
        m_remaining |= quint32(byte & 127) << (7 * (m_header - 1));
        ++m_header;
        if (!(byte & 128) || m_header > 4) {
            m_header = 0;
            m_skip = m_remaining;
        }
    }
}

} // namespace nightlight
