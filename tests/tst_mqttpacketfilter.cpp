// MqttPacketFilter: whole packets within the limit pass unchanged and in order, however the
// stream is cut; larger PUBLISH packets are read past, reported with topic and packet id, and
// never held; malformed streams are refused.

#include "mqttpacketfilter.h"

#include <QTest>

using nightlight::MqttPacketBoundary;
using nightlight::MqttPacketFilter;

namespace {

QByteArray remainingLength(quint32 n)
{
    QByteArray out;
    do {
        quint8 byte = n % 128;
        n /= 128;
        if (n > 0)
            byte |= 128;
        out.append(char(byte));
    } while (n > 0);
    return out;
}

// A PUBLISH packet as a broker sends it (MQTT 3.1.1).
QByteArray publish(const QByteArray &topic, const QByteArray &payload, int qos = 0,
                   int packetId = 0)
{
    QByteArray body;
    body.append(char(topic.size() >> 8)).append(char(topic.size() & 0xFF)).append(topic);
    if (qos > 0)
        body.append(char(packetId >> 8)).append(char(packetId & 0xFF));
    body.append(payload);
    return QByteArray(1, char(0x30 | (qos << 1))) + remainingLength(quint32(body.size())) + body;
}

struct Result
{
    bool ok = true;
    QByteArray forwarded;
    QList<MqttPacketFilter::Dropped> dropped;
    qsizetype maxBuffered = 0;
};

Result feedInPieces(MqttPacketFilter &filter, const QByteArray &stream, qsizetype piece)
{
    Result r;
    for (qsizetype pos = 0; pos < stream.size() && r.ok; pos += piece) {
        const QByteArray part = stream.mid(pos, piece);
        r.ok = filter.feed(part.constData(), part.size(), &r.forwarded, &r.dropped);
        r.maxBuffered = std::max(r.maxBuffered, filter.buffered());
    }
    return r;
}

} // namespace

class TestMqttPacketFilter : public QObject
{
    Q_OBJECT

private slots:
    void passesAndDrops_data();
    void passesAndDrops();
    void packetAtTheLimitPasses();
    void malformedAndForeignOversizeAreRefused();
    void acknowledgementBytes();
    void boundariesInAnyPieces();
};

void TestMqttPacketFilter::passesAndDrops_data()
{
    QTest::addColumn<int>("piece");
    for (int piece : {1, 2, 3, 7, 100, 4096, 65536, 1 << 22})
        QTest::newRow(qPrintable(QStringLiteral("pieces of %1").arg(piece))) << piece;
}

void TestMqttPacketFilter::passesAndDrops()
{
    QFETCH(int, piece);
    constexpr quint32 Limit = 1000;
    MqttPacketFilter filter(Limit);
    const QByteArray a = publish("a/telemetry", R"({"light": 1})");
    const QByteArray pingresp("\xD0\x00", 2);
    const QByteArray hugeQos1 = publish("a/commands", QByteArray(3 * 1024 * 1024, 'x'), 1, 0x1234);
    const QByteArray b = publish("a/state", R"({"led_on": true})", 1, 7);
    const QByteArray hugeQos0 = publish("b/telemetry", QByteArray(5000, 'y'));
    const QByteArray c = publish("c/status", "online", 1, 8);
    const Result r =
        feedInPieces(filter, a + pingresp + hugeQos1 + b + hugeQos0 + c, qsizetype(piece));

    QVERIFY(r.ok);
    QCOMPARE(r.forwarded, a + pingresp + b + c);
    QCOMPARE(r.dropped.size(), 2);
    QCOMPARE(r.dropped[0].topic, QStringLiteral("a/commands"));
    QCOMPARE(r.dropped[0].qos, 1);
    QCOMPARE(r.dropped[0].packetId, 0x1234);
    QCOMPARE(r.dropped[0].bytes, hugeQos1.size());
    QCOMPARE(r.dropped[1].topic, QStringLiteral("b/telemetry"));
    QCOMPARE(r.dropped[1].qos, 0);
    QCOMPARE(r.dropped[1].packetId, -1);
    // Never more than one packet within the limit is held, whatever the input.
    QVERIFY2(r.maxBuffered <= qsizetype(Limit), qPrintable(QString::number(r.maxBuffered)));
    QCOMPARE(filter.buffered(), 0);
}

void TestMqttPacketFilter::packetAtTheLimitPasses()
{
    const QByteArray p = publish("t", QByteArray(500, 'z'));
    MqttPacketFilter exact{quint32(p.size())};
    Result r = feedInPieces(exact, p + p, 33);
    QVERIFY(r.ok);
    QCOMPARE(r.forwarded, p + p);
    QVERIFY(r.dropped.isEmpty());

    MqttPacketFilter smaller{quint32(p.size() - 1)};
    r = feedInPieces(smaller, p + p, 33);
    QVERIFY(r.ok);
    QVERIFY(r.forwarded.isEmpty());
    QCOMPARE(r.dropped.size(), 2);
}

void TestMqttPacketFilter::malformedAndForeignOversizeAreRefused()
{
    QByteArray forward;
    QList<MqttPacketFilter::Dropped> dropped;
    // A Remaining Length of five bytes (MQTT-2.2.3 allows four).
    MqttPacketFilter a(1000);
    QVERIFY(!a.feed("\x30\xFF\xFF\xFF\xFF\x01", 6, &forward, &dropped));
    // A SUBACK larger than the limit cannot be dropped and acknowledged: refused.
    MqttPacketFilter b(10);
    const QByteArray suback = QByteArray("\x90", 1) + remainingLength(100) + QByteArray(100, 0);
    QVERIFY(!b.feed(suback.constData(), suback.size(), &forward, &dropped));
    QVERIFY(forward.isEmpty());
    QVERIFY(dropped.isEmpty());
}

void TestMqttPacketFilter::acknowledgementBytes()
{
    MqttPacketFilter::Dropped d;
    d.qos = 1;
    d.packetId = 0x1234;
    QCOMPARE(MqttPacketFilter::acknowledgement(d), QByteArray("\x40\x02\x12\x34", 4));
    d.qos = 2;
    QCOMPARE(MqttPacketFilter::acknowledgement(d), QByteArray("\x50\x02\x12\x34", 4));
    d.qos = 0;
    d.packetId = -1;
    QVERIFY(MqttPacketFilter::acknowledgement(d).isEmpty());
}

// MqttPacketBoundary says "between two packets" exactly at the ends of packets, however the stream
// is cut: packets of 2 bytes (PINGREQ), 4 (PUBACK), 200 and 20,000 (two and three length bytes).
void TestMqttPacketFilter::boundariesInAnyPieces()
{
    const QList<QByteArray> packets = {QByteArray("\xC0\x00", 2), QByteArray("\x40\x02\x00\x07", 4),
                                       publish("a/b", QByteArray(190, 'x'), 1, 9),
                                       publish("c", QByteArray(20000, 'y'))};
    QByteArray stream;
    QList<qsizetype> ends;
    for (int round = 0; round < 2; ++round) {
        for (const QByteArray &p : packets) {
            stream += p;
            ends.append(stream.size());
        }
    }
    for (qsizetype piece : {qsizetype(1), qsizetype(3), qsizetype(7), qsizetype(4096)}) {
        MqttPacketBoundary boundary;
        QVERIFY(boundary.atBoundary());
        for (qsizetype pos = 0; pos < stream.size(); pos += piece) {
            const qsizetype n = std::min(piece, stream.size() - pos);
            boundary.feed(stream.constData() + pos, n);
            QCOMPARE(boundary.atBoundary(), ends.contains(pos + n));
        }
        QVERIFY(boundary.atBoundary());
    }
}

QTEST_GUILESS_MAIN(TestMqttPacketFilter)
#include "tst_mqttpacketfilter.moc"
