#pragma once

// MqttPacketFilter: splits the byte stream from a broker into MQTT packets and passes on only
// those within a size limit, without ever holding more than one packet up to that limit. A
// larger PUBLISH is read past in pieces: only its topic and packet id are kept (at most 65,539
// bytes), so the caller can acknowledge it and say what was dropped. Pure: no sockets, no
// libmosquitto (tst_mqttpacketfilter feeds it byte by byte and in large chunks).
//
// MqttClient puts it between the TCP socket and libmosquitto on MQTT 3.1.1 connections, where
// the broker does not know our Maximum Packet Size (docs/mqtt-client.md, "Oversized messages").

#include <QByteArray>
#include <QList>
#include <QString>

namespace nightlight {

class MqttPacketFilter
{
public:
    struct Dropped
    {
        QString topic; // empty if the topic could not be read
        qint64 bytes = 0; // the whole packet, fixed header included
        int qos = 0;
        int packetId = -1; // -1 at QoS 0
    };

    explicit MqttPacketFilter(quint32 maxPacketSize) : m_limit(maxPacketSize) { }

    // Feeds bytes received from the broker. Appends every complete packet within the limit to
    // *forward and every dropped PUBLISH to *dropped. False on a malformed stream (a Remaining
    // Length over four bytes) or an oversized packet that is not a PUBLISH: the connection must
    // be closed.
    bool feed(const char *data, qsizetype size, QByteArray *forward, QList<Dropped> *dropped);
    // Bytes of an incomplete packet held until the rest arrives (at most the limit).
    qsizetype buffered() const { return m_partial.size(); }
    void reset();

    // The fixed header at data: true with its length (2..5 bytes) and the Remaining Length once
    // it is complete and well formed.
    static bool header(const char *data, qsizetype size, int *headerBytes, quint32 *remaining);
    // A Variable Byte Integer (MQTT-1.5.5: the Remaining Length, MQTT 5's property lengths) at
    // data: true with its length (1..4 bytes) and value once it is complete and well formed.
    static bool variableByteInteger(const char *data, qsizetype size, int *bytes, quint32 *value);

    // The bytes of an acknowledgement of a dropped message: PUBACK (QoS 1) or PUBREC (QoS 2),
    // valid in MQTT 3.1.1 and 5; empty for QoS 0.
    static QByteArray acknowledgement(const Dropped &dropped);
    static QByteArray acknowledgement(int qos, int packetId);

private:
    qsizetype discardBytes(const char *data, qsizetype size, QList<Dropped> *dropped);
    bool startPacket(quint8 command, int headerBytes, quint32 remaining);

    const quint32 m_limit;
    QByteArray m_partial; // the start of a packet within the limit
    // The oversized PUBLISH being read past.
    qint64 m_discardLeft = 0;
    qint64 m_discardPos = 0;
    qint64 m_discardTotal = 0;
    int m_discardHeaderBytes = 0;
    int m_discardQos = 0;
    QByteArray m_discardHead; // topic length, topic, packet id
};

// Follows the packet boundaries in an MQTT byte stream fed in pieces of any size (MqttClient's
// relay: where its own PUBACKs may go between libmosquitto's packets).
class MqttPacketBoundary
{
public:
    void feed(const char *data, qsizetype size);
    // Between two packets (or before the first).
    bool atBoundary() const { return m_header == 0 && m_skip == 0; }
    void reset() { *this = MqttPacketBoundary(); }

private:
    qint64 m_skip = 0; // bytes left of the current packet's body
    int m_header = 0; // bytes of its fixed header seen so far
    quint32 m_remaining = 0; // its Remaining Length so far
};

} // namespace nightlight
