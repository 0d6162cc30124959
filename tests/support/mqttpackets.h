#pragma once

// Splitting an MQTT byte stream into packets, for tests that play a broker or read what a client
// wrote.

#include "mqttpacketfilter.h"

#include <QByteArray>
#include <QList>

// Whole MQTT packets off the front of `buffer`; an incomplete or malformed rest stays in it.
inline QList<QByteArray> takePackets(QByteArray &buffer)
{
    QList<QByteArray> packets;
    int headerBytes = 0;
    quint32 remaining = 0;
    while (nightlight::MqttPacketFilter::header(buffer.constData(), buffer.size(), &headerBytes,
                                                &remaining) &&
           headerBytes + qint64(remaining) <= buffer.size()) {
        const qsizetype size = headerBytes + qsizetype(remaining);
        packets.append(buffer.left(size));
        buffer.remove(0, size);
    }
    return packets;
}
