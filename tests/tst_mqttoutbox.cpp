// MqttOutbox on a real socketpair: the bytes at the peer are what a broker would read. Packets
// are compared with bytes written out by hand from the MQTT 3.1.1 and 5 layouts, and split with
// MqttPacketFilter::header, so a packet cut by another shows up as a parse or content error.

#include "mqttoutbox.h"
#include "mqttpackets.h"

#include <QRegularExpression>
#include <QSet>
#include <QTest>

#include <atomic>
#include <cerrno>
#include <thread>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using nightlight::MqttMessage;
using nightlight::MqttOutbox;
using nightlight::MqttPacketFilter;

namespace {

using Result = MqttOutbox::Result;

struct SocketPair
{
    SocketPair()
    {
        int fds[2] = {-1, -1};
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0) {
            ours = fds[0];
            peer = fds[1];
        }
    }
    ~SocketPair()
    {
        if (ours >= 0)
            ::close(ours);
        if (peer >= 0)
            ::close(peer);
    }
    SocketPair(const SocketPair &) = delete;
    SocketPair &operator=(const SocketPair &) = delete;

    int ours = -1; // attached to the outbox
    int peer = -1; // the "broker"
};

// Everything readable at fd now.
QByteArray drain(int fd)
{
    QByteArray out;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n > 0)
            out.append(buffer, qsizetype(n));
        else if (n < 0 && errno == EINTR)
            continue;
        else
            return out;
    }
}

// Flushes the outbox and returns what the peer received.
QByteArray flushed(MqttOutbox &box, const SocketPair &pair)
{
    int err = 0;
    if (!box.flush(&err))
        QTest::qFail(qPrintable(QStringLiteral("flush failed: errno %1").arg(err)), __FILE__,
                     __LINE__);
    return drain(pair.peer);
}

// Splits a stream into whole packets; false if it does not end on a packet boundary.
bool split(QByteArray stream, QList<QByteArray> *packets)
{
    packets->append(takePackets(stream));
    return stream.isEmpty();
}

struct Publish
{
    int flags = 0; // the low nibble of the first byte
    QByteArray topic;
    int id = 0;
    QByteArray payload;
};

// A PUBLISH without properties (MQTT 5: property length 0).
bool parsePublish(const QByteArray &packet, bool mqtt5, Publish *out)
{
    int headerBytes = 0;
    quint32 remaining = 0;
    if ((quint8(packet.at(0)) & 0xF0) != 0x30 ||
        !MqttPacketFilter::header(packet.constData(), packet.size(), &headerBytes, &remaining))
        return false;
    const QByteArray body = packet.mid(headerBytes);
    out->flags = quint8(packet.at(0)) & 0x0F;
    const int topicLength = (quint8(body.at(0)) << 8) | quint8(body.at(1));
    out->topic = body.mid(2, topicLength);
    qsizetype pos = 2 + topicLength;
    out->id = 0;
    if ((out->flags >> 1) & 3) {
        out->id = (quint8(body.at(pos)) << 8) | quint8(body.at(pos + 1));
        pos += 2;
    }
    if (mqtt5) {
        if (body.at(pos) != 0)
            return false;
        ++pos;
    }
    out->payload = body.mid(pos);
    return true;
}

QList<Publish> publishesIn(const QByteArray &stream, bool mqtt5 = false)
{
    QList<QByteArray> packets;
    QList<Publish> out;
    if (!split(stream, &packets)) {
        QTest::qFail("the stream does not split into whole packets", __FILE__, __LINE__);
        return out;
    }
    for (const QByteArray &packet : std::as_const(packets)) {
        Publish p;
        if (!parsePublish(packet, mqtt5, &p)) {
            QTest::qFail(QByteArray("not a PUBLISH: " + packet.toHex(' ')).constData(), __FILE__,
                         __LINE__);
            return out;
        }
        out.append(p);
    }
    return out;
}

MqttMessage message(const QString &topic, const QByteArray &payload, int qos = 0,
                    bool retained = false)
{
    MqttMessage m;
    m.topic = topic;
    m.payload = payload;
    m.qos = qos;
    m.retained = retained;
    return m;
}

MqttMessage message(const char *topic, const QByteArray &payload, int qos = 0)
{
    return message(QString::fromUtf8(topic), payload, qos);
}

QByteArray ack(quint8 type, int id)
{
    QByteArray out;
    out.append(char(type));
    out.append(char(0x02));
    out.append(char(id >> 8));
    out.append(char(id & 0xFF));
    return out;
}

bool take(MqttOutbox &box, const QByteArray &packet, QList<MqttOutbox::Refused> *refused = nullptr)
{
    QList<MqttOutbox::Refused> ignored;
    return box.takeAcknowledgement(packet.constData(), packet.size(), refused ? refused : &ignored);
}

// Sends until the socket takes nothing more, down to single bytes: the next send gets EAGAIN.
void fill(int fd)
{
    const QByteArray junk(65536, 'j');
    for (const qsizetype chunk : {65536, 4096, 256, 16, 1}) {
        while (::send(fd, junk.constData(), size_t(chunk), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) { }
    }
}

QByteArray longTopic()
{
    QByteArray t;
    for (int i = 0; i < 200; ++i)
        t.append(char('a' + i % 26));
    return t;
}

QByteArray longPayload()
{
    QByteArray p;
    for (int i = 0; i < 20000; ++i)
        p.append(char((i * 7) % 251));
    return p;
}

QByteArray ownerPayload(int i)
{
    return QByteArray::number(i).rightJustified(60, '.');
}

} // namespace

class TestMqttOutbox : public QObject
{
    Q_OBJECT

private slots:
    void publishEncoding_data();
    void publishEncoding();
    void subscriptionEncoding_data();
    void subscriptionEncoding();
    void openSubscribesBeforeFirst();
    void packetIds();
    void window();
    void reconnectSendsUnacknowledgedAgain();
    void takeUnsentForAConnectionWithoutTheOutbox();
    void qos2Exchange();
    void mqtt5PubrecFailureEndsExchange();
    void takeAcknowledgementRefuses();
    void subackRefusals();
    void libmosquittoBoundaries();
    void publishFromOwnerGate();
    void publishFromOwnerFullSocket();
    void serverMaximumPacketSize();
    void ownerThreadAgainstWorker();
};

void TestMqttOutbox::publishEncoding_data()
{
    QTest::addColumn<bool>("mqtt5");
    QTest::addColumn<QString>("topic");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<int>("qos");
    QTest::addColumn<bool>("retained");
    QTest::addColumn<QByteArray>("expected");

    // Fixed header (type | QoS << 1 | retain, Remaining Length), topic length + topic, packet id
    // (QoS > 0; the first id is 1), MQTT 5 property length 0, payload.
    const QByteArray hi("hi");
    QTest::newRow("3.1.1 qos0") << false << QStringLiteral("a/b") << hi << 0 << false
                                << QByteArray::fromHex("30 07 0003 612f62 6869");
    QTest::newRow("3.1.1 qos1 retained") << false << QStringLiteral("a/b") << hi << 1 << true
                                         << QByteArray::fromHex("33 09 0003 612f62 0001 6869");
    QTest::newRow("3.1.1 qos2") << false << QStringLiteral("a/b") << hi << 2 << false
                                << QByteArray::fromHex("34 09 0003 612f62 0001 6869");
    QTest::newRow("3.1.1 qos1 empty") << false << QStringLiteral("a/b") << QByteArray() << 1
                                      << false << QByteArray::fromHex("32 07 0003 612f62 0001");
    QTest::newRow("3.1.1 qos0 retained empty")
        << false << QStringLiteral("a/b") << QByteArray() << 0 << true
        << QByteArray::fromHex("31 05 0003 612f62");
    // The topic length counts UTF-8 bytes, not characters.
    QTest::newRow("3.1.1 utf-8 topic") << false << QString::fromUtf8("t/\xc3\xa9") << hi << 0
                                       << false << QByteArray::fromHex("30 08 0004 742fc3a9 6869");
    QTest::newRow("5 qos0") << true << QStringLiteral("a/b") << hi << 0 << false
                            << QByteArray::fromHex("30 08 0003 612f62 00 6869");
    QTest::newRow("5 qos1 retained") << true << QStringLiteral("a/b") << hi << 1 << true
                                     << QByteArray::fromHex("33 0a 0003 612f62 0001 00 6869");
    QTest::newRow("5 qos2") << true << QStringLiteral("a/b") << hi << 2 << false
                            << QByteArray::fromHex("34 0a 0003 612f62 0001 00 6869");
    QTest::newRow("5 qos1 empty") << true << QStringLiteral("a/b") << QByteArray() << 1 << false
                                  << QByteArray::fromHex("32 08 0003 612f62 0001 00");
    QTest::newRow("5 qos0 retained empty") << true << QStringLiteral("a/b") << QByteArray() << 0
                                           << true << QByteArray::fromHex("31 06 0003 612f62 00");

    // Multi-byte Remaining Lengths: 202 = ca 01, 20202 = ea 9d 01, 20203 = eb 9d 01,
    // 20204 = ec 9d 01, 20205 = ed 9d 01.
    const QByteArray topic = longTopic();
    const QByteArray payload = longPayload();
    QTest::newRow("3.1.1 long topic, empty")
        << false << QString::fromLatin1(topic) << QByteArray() << 0 << false
        << QByteArray::fromHex("30 ca01 00c8") + topic;
    QTest::newRow("3.1.1 long qos0") << false << QString::fromLatin1(topic) << payload << 0 << false
                                     << QByteArray::fromHex("30 ea9d01 00c8") + topic + payload;
    QTest::newRow("3.1.1 long qos1")
        << false << QString::fromLatin1(topic) << payload << 1 << false
        << QByteArray::fromHex("32 ec9d01 00c8") + topic + QByteArray::fromHex("0001") + payload;
    QTest::newRow("5 long qos0") << true << QString::fromLatin1(topic) << payload << 0 << false
                                 << QByteArray::fromHex("30 eb9d01 00c8") + topic +
            QByteArray::fromHex("00") + payload;
    QTest::newRow("5 long qos2 retained")
        << true << QString::fromLatin1(topic) << payload << 2 << true
        << QByteArray::fromHex("35 ed9d01 00c8") + topic + QByteArray::fromHex("0001 00") + payload;
}

void TestMqttOutbox::publishEncoding()
{
    QFETCH(bool, mqtt5);
    QFETCH(QString, topic);
    QFETCH(QByteArray, payload);
    QFETCH(int, qos);
    QFETCH(bool, retained);
    QFETCH(QByteArray, expected);

    // The worker's publish() and the owner's direct send encode the same bytes.
    for (const bool direct : {false, true}) {
        SocketPair pair;
        MqttOutbox box;
        box.attach(pair.ours);
        box.open(mqtt5, MqttOutbox::DefaultWindow, 0, {}, {});
        box.setOwnerSends(true);
        const MqttMessage m = message(topic, payload, qos, retained);
        const Result r = direct ? box.publishFromOwner(m) : box.publish(m);
        QCOMPARE(r, Result::Done);
        const QByteArray got = direct ? drain(pair.peer) : flushed(box, pair);
        QCOMPARE(got.size(), expected.size());
        QCOMPARE(got.toHex(' '), expected.toHex(' '));
    }
}

void TestMqttOutbox::subscriptionEncoding_data()
{
    QTest::addColumn<bool>("mqtt5");
    QTest::addColumn<QByteArray>("subscribe");
    QTest::addColumn<QByteArray>("unsubscribe");

    // SUBSCRIBE: 0x82, id, (5: property length 0), filter length + filter, options (QoS).
    // UNSUBSCRIBE: 0xa2, id, (5: property length 0), filter length + filter.
    QTest::newRow("3.1.1") << false << QByteArray::fromHex("82 08 0001 0003 612f23 01")
                           << QByteArray::fromHex("a2 07 0002 0003 612f23");
    QTest::newRow("5") << true << QByteArray::fromHex("82 09 0001 00 0003 612f23 01")
                       << QByteArray::fromHex("a2 08 0002 00 0003 612f23");
}

void TestMqttOutbox::subscriptionEncoding()
{
    QFETCH(bool, mqtt5);
    QFETCH(QByteArray, subscribe);
    QFETCH(QByteArray, unsubscribe);

    SocketPair pair;
    MqttOutbox box;
    box.attach(pair.ours);
    box.open(mqtt5, MqttOutbox::DefaultWindow, 0, {}, {});
    box.subscribe(QStringLiteral("a/#"), 1);
    QCOMPARE(flushed(box, pair).toHex(' '), subscribe.toHex(' '));
    box.unsubscribe(QStringLiteral("a/#"));
    QCOMPARE(flushed(box, pair).toHex(' '), unsubscribe.toHex(' '));

    // QoS 2 and 0 in the options byte.
    box.subscribe(QStringLiteral("b"), 2);
    box.subscribe(QStringLiteral("c"), 0);
    const QByteArray props = mqtt5 ? QByteArray(1, '\0') : QByteArray();
    const QByteArray length(1, char(mqtt5 ? 0x07 : 0x06));
    const QByteArray expected = QByteArray::fromHex("82") + length + QByteArray::fromHex("0003") +
        props + QByteArray::fromHex("0001 62 02") + QByteArray::fromHex("82") + length +
        QByteArray::fromHex("0004") + props + QByteArray::fromHex("0001 63 00");
    QCOMPARE(flushed(box, pair).toHex(' '), expected.toHex(' '));
}

void TestMqttOutbox::openSubscribesBeforeFirst()
{
    SocketPair pair;
    MqttOutbox box;
    box.attach(pair.ours);
    const QHash<QString, int> subscriptions{
        {QStringLiteral("x/#"), 1}, {QStringLiteral("y"), 0}, {QStringLiteral("z/+/w"), 2}};
    const QList<MqttMessage> first{message("kept/1", "1", 1), message("kept/2", "2", 2)};
    box.open(false, MqttOutbox::DefaultWindow, 0, subscriptions, first);
    QVERIFY(box.isOpen());
    box.publish(message("later", "3", 0));

    QList<QByteArray> packets;
    QVERIFY(split(flushed(box, pair), &packets));
    QCOMPARE(packets.size(), 6);
    QHash<QString, int> seen;
    QSet<int> ids;
    for (int i = 0; i < 3; ++i) {
        const QByteArray &p = packets.at(i);
        QCOMPARE(quint8(p.at(0)), quint8(0x82));
        const int id = (quint8(p.at(2)) << 8) | quint8(p.at(3));
        QVERIFY(id != 0);
        ids.insert(id);
        const int length = (quint8(p.at(4)) << 8) | quint8(p.at(5));
        QCOMPARE(p.size(), 6 + length + 1);
        seen.insert(QString::fromUtf8(p.mid(6, length)), quint8(p.at(6 + length)));
    }
    QCOMPARE(seen, subscriptions);
    Publish pub;
    QVERIFY(parsePublish(packets.at(3), false, &pub));
    QCOMPARE(pub.topic, QByteArray("kept/1"));
    QVERIFY(!ids.contains(pub.id));
    ids.insert(pub.id);
    QVERIFY(parsePublish(packets.at(4), false, &pub));
    QCOMPARE(pub.topic, QByteArray("kept/2"));
    QCOMPARE(pub.flags, 0x04);
    QVERIFY(!ids.contains(pub.id));
    QVERIFY(parsePublish(packets.at(5), false, &pub));
    QCOMPARE(pub.topic, QByteArray("later"));
}

void TestMqttOutbox::packetIds()
{
    SocketPair pair;
    MqttOutbox box;
    box.attach(pair.ours);
    box.open(false, 100, 0, {}, {});

    // Ids 1..5 stay in flight for the whole test (3 is acknowledged just before the wrap).
    for (int i = 0; i < 5; ++i)
        box.publish(message("t", "held", 1));
    QList<Publish> pubs = publishesIn(flushed(box, pair));
    QCOMPARE(pubs.size(), 5);
    QSet<int> inFlight;
    for (int i = 0; i < 5; ++i) {
        QCOMPARE(pubs.at(i).id, i + 1);
        inFlight.insert(pubs.at(i).id);
    }

    // Up to 65535 in batches, acknowledging each batch: ids go up by one.
    int last = 5;
    while (last < 65535) {
        const int batch = std::min(50, 65535 - last);
        for (int i = 0; i < batch; ++i)
            box.publish(message("t", "x", 1));
        pubs = publishesIn(flushed(box, pair));
        QCOMPARE(pubs.size(), batch);
        for (const Publish &p : std::as_const(pubs)) {
            QCOMPARE(p.id, last + 1);
            QVERIFY(!inFlight.contains(p.id));
            last = p.id;
            QVERIFY(take(box, ack(0x40, p.id)));
            // Freed: a second PUBACK is not ours.
            if (p.id % 1000 == 0)
                QVERIFY(!take(box, ack(0x40, p.id)));
        }
    }

    // A PUBACK frees 3; after the wrap 0 is skipped, 1 and 2 are in flight, 3 is free, then
    // 4 and 5 are in flight again.
    QVERIFY(take(box, ack(0x40, 3)));
    inFlight.remove(3);
    for (int i = 0; i < 3; ++i)
        box.publish(message("t", "wrapped", 1));
    pubs = publishesIn(flushed(box, pair));
    QCOMPARE(pubs.size(), 3);
    QCOMPARE(pubs.at(0).id, 3);
    QCOMPARE(pubs.at(1).id, 6);
    QCOMPARE(pubs.at(2).id, 7);

    // A subscription's id is in flight too.
    box.subscribe(QStringLiteral("s"), 0);
    QList<QByteArray> packets;
    QVERIFY(split(flushed(box, pair), &packets));
    QCOMPARE(packets.size(), 1);
    QCOMPARE(packets.at(0).mid(2, 2).toHex(), QByteArray("0008"));
    box.publish(message("t", "after", 1));
    pubs = publishesIn(flushed(box, pair));
    QCOMPARE(pubs.size(), 1);
    QCOMPARE(pubs.at(0).id, 9);
}

void TestMqttOutbox::window()
{
    SocketPair pair;
    MqttOutbox box;
    box.attach(pair.ours);
    box.open(false, 3, 0, {}, {});

    for (int i = 0; i < 10; ++i)
        QCOMPARE(box.publish(message("w", QByteArray::number(i), 1)), Result::Done);
    QList<Publish> pubs = publishesIn(flushed(box, pair));
    QCOMPARE(pubs.size(), 3);
    for (int i = 0; i < 3; ++i)
        QCOMPARE(pubs.at(i).payload, QByteArray::number(i));

    // QoS 0 is not held behind the window.
    box.publish(message("q0", "now", 0));
    pubs = publishesIn(flushed(box, pair));
    QCOMPARE(pubs.size(), 1);
    QCOMPARE(pubs.at(0).topic, QByteArray("q0"));

    // Each PUBACK lets exactly the next one out.
    QList<int> inFlight{1, 2, 3};
    for (int next = 3; next < 10; ++next) {
        QVERIFY(take(box, ack(0x40, inFlight.takeFirst())));
        pubs = publishesIn(flushed(box, pair));
        QCOMPARE(pubs.size(), 1);
        QCOMPARE(pubs.at(0).payload, QByteArray::number(next));
        inFlight.append(pubs.at(0).id);
    }
    // Nothing left waiting: more PUBACKs send nothing.
    while (!inFlight.isEmpty())
        QVERIFY(take(box, ack(0x40, inFlight.takeFirst())));
    QVERIFY(flushed(box, pair).isEmpty());
    QCOMPARE(box.detach(), 0);
}

// MQTT-4.4.0-1: what the broker has not acknowledged goes again in the next session, first, with
// its packet id and DUP set; a QoS 2 message the broker has answered with PUBREC gets its PUBREL
// again instead; those still waiting for the window follow, then what was published while away.
void TestMqttOutbox::reconnectSendsUnacknowledgedAgain()
{
    SocketPair pair;
    MqttOutbox box;
    box.attach(pair.ours);
    box.open(false, 3, 0, {}, {});
    box.setOwnerSends(true);

    // A(1), B(2), C(3) in flight; D, E waiting. QoS 0 never comes back.
    box.publish(message("A", "a", 1));
    box.publish(message("B", "b", 2));
    box.publish(message("q0", "", 0));
    QCOMPARE(box.publishFromOwner(message("C", "c", 1)), Result::Done);
    box.publish(message("D", "d", 1));
    QCOMPARE(box.publishFromOwner(message("E", "e", 2)), Result::Done);
    QCOMPARE(publishesIn(flushed(box, pair)).size(), 4);

    // B received by the broker: PUBREL, and B is not sent again.
    QVERIFY(take(box, ack(0x50, 2)));
    QCOMPARE(flushed(box, pair).toHex(' '), QByteArray("62 02 00 02"));
    // A done: D goes out (id 4).
    QVERIFY(take(box, ack(0x40, 1)));
    QList<Publish> pubs = publishesIn(flushed(box, pair));
    QCOMPARE(pubs.size(), 1);
    QCOMPARE(pubs.at(0).topic, QByteArray("D"));
    QCOMPARE(pubs.at(0).id, 4);

    // B, C, D in flight and E waiting stay.
    QCOMPARE(box.detach(), 4);
    QVERIFY(!box.isOpen());
    // Nothing of ours after detach().
    QVERIFY(!take(box, ack(0x40, 3)));
    QCOMPARE(box.publish(message("late", "", 1)), Result::NotOpen);
    QVERIFY(drain(pair.peer).isEmpty());

    // The next session: PUBREL for B, C and D again with their ids and DUP, in the order they
    // were published; E waits for the window of 3, and F (published while away) behind it.
    box.attach(pair.ours);
    box.open(false, 3, 0, {}, {message("F", "f", 1)});
    QList<QByteArray> sent;
    QVERIFY(split(flushed(box, pair), &sent));
    QCOMPARE(sent.size(), 3);
    QCOMPARE(sent.at(0).toHex(' '), QByteArray("62 02 00 02"));
    pubs = publishesIn(sent.at(1) + sent.at(2));
    QCOMPARE(pubs.at(0).topic, QByteArray("C"));
    QCOMPARE(pubs.at(0).id, 3);
    QCOMPARE(pubs.at(0).flags, 0x08 | 0x02); // DUP, QoS 1
    QCOMPARE(pubs.at(1).topic, QByteArray("D"));
    QCOMPARE(pubs.at(1).id, 4);
    QCOMPARE(pubs.at(1).flags, 0x08 | 0x02);

    // C done: E goes, with a new id (never sent before, so no DUP); then B's PUBCOMP lets F go.
    QVERIFY(take(box, ack(0x40, 3)));
    pubs = publishesIn(flushed(box, pair));
    QCOMPARE(pubs.size(), 1);
    QCOMPARE(pubs.at(0).topic, QByteArray("E"));
    QCOMPARE(pubs.at(0).flags, 0x04);
    QVERIFY(take(box, ack(0x70, 2)));
    pubs = publishesIn(flushed(box, pair));
    QCOMPARE(pubs.size(), 1);
    QCOMPARE(pubs.at(0).topic, QByteArray("F"));
}

// The next connection goes over TLS (no outbox): what the last plain-TCP one kept goes to the
// client's offline queue, in publish order, without the QoS 2 message the broker already has.
void TestMqttOutbox::takeUnsentForAConnectionWithoutTheOutbox()
{
    SocketPair pair;
    MqttOutbox box;
    box.attach(pair.ours);
    box.open(false, 2, 0, {{QStringLiteral("f/#"), 1}}, {});
    box.publish(message("A", "a", 2));
    box.publish(message("B", "b", 1));
    box.publish(message("C", "c", 1)); // waits for the window
    QList<QByteArray> sent;
    QVERIFY(split(flushed(box, pair), &sent));
    QCOMPARE(sent.size(), 3); // SUBSCRIBE, A, B
    const int idA = publishesIn(sent.at(1)).at(0).id;
    QVERIFY(take(box, ack(0x50, idA))); // A released
    QCOMPARE(box.detach(), 3);

    const QList<MqttMessage> unsent = box.takeUnsent();
    QCOMPARE(unsent.size(), 2);
    QCOMPARE(unsent.at(0).topic, QStringLiteral("B"));
    QCOMPARE(unsent.at(1).topic, QStringLiteral("C"));
    QVERIFY(box.takeUnsent().isEmpty());
    QCOMPARE(box.detach(), 0);
}

void TestMqttOutbox::qos2Exchange()
{
    for (const bool mqtt5 : {false, true}) {
        SocketPair pair;
        MqttOutbox box;
        box.attach(pair.ours);
        box.open(mqtt5, 1, 0, {}, {});
        box.publish(message("two", "2", 2));
        box.publish(message("next", "n", 1));
        QList<Publish> pubs = publishesIn(flushed(box, pair), mqtt5);
        QCOMPARE(pubs.size(), 1);
        QCOMPARE(pubs.at(0).flags, 0x04);
        const int id = pubs.at(0).id;

        // PUBACK and PUBCOMP before PUBREC are not how a QoS 2 exchange goes.
        QVERIFY(!take(box, ack(0x40, id)));
        QVERIFY(!take(box, ack(0x70, id)));
        QVERIFY(take(box, ack(0x50, id)));
        QCOMPARE(flushed(box, pair), ack(0x62, id));
        // Still holds the window until PUBCOMP.
        QVERIFY(flushed(box, pair).isEmpty());
        QVERIFY(take(box, ack(0x70, id)));
        pubs = publishesIn(flushed(box, pair), mqtt5);
        QCOMPARE(pubs.size(), 1);
        QCOMPARE(pubs.at(0).topic, QByteArray("next"));
        QVERIFY(!take(box, ack(0x70, id)));
        QCOMPARE(box.detach(), 1); // "next"
    }
}

void TestMqttOutbox::mqtt5PubrecFailureEndsExchange()
{
    SocketPair pair;
    MqttOutbox box;
    box.attach(pair.ours);
    box.open(true, 1, 0, {}, {});
    box.publish(message("two", "2", 2));
    box.publish(message("next", "n", 1));
    QList<Publish> pubs = publishesIn(flushed(box, pair), true);
    QCOMPARE(pubs.size(), 1);
    const int id = pubs.at(0).id;

    // PUBREC with reason 0x80 (unspecified error) and no properties: no PUBREL, the window
    // moves on, and the message is not sent again.
    QByteArray pubrec = ack(0x50, id);
    pubrec[1] = 0x03;
    pubrec.append(char(0x80));
    QVERIFY(take(box, pubrec));
    pubs = publishesIn(flushed(box, pair), true);
    QCOMPARE(pubs.size(), 1);
    QCOMPARE(pubs.at(0).topic, QByteArray("next"));
    QVERIFY(!take(box, ack(0x70, id)));
    QCOMPARE(box.detach(), 1); // "next"
}

void TestMqttOutbox::takeAcknowledgementRefuses()
{
    SocketPair pair;
    MqttOutbox box;
    box.attach(pair.ours);
    // Not open yet: nothing is ours.
    QVERIFY(!take(box, ack(0x40, 1)));
    box.open(false, MqttOutbox::DefaultWindow, 0, {}, {});
    box.publish(message("p", "1", 1)); // id 1
    box.subscribe(QStringLiteral("s"), 1); // id 2
    box.unsubscribe(QStringLiteral("u")); // id 3
    QList<QByteArray> sent;
    QVERIFY(split(flushed(box, pair), &sent));
    QCOMPARE(sent.size(), 3);

    QVERIFY(!take(box, ack(0x40, 0x1234))); // unknown id
    QVERIFY(!take(box, ack(0x40, 0))); // never used
    QVERIFY(!take(box, ack(0x40, 2))); // PUBACK for a SUBSCRIBE
    QVERIFY(!take(box, ack(0x40, 3))); // PUBACK for an UNSUBSCRIBE
    QVERIFY(!take(box, QByteArray::fromHex("90 03 0001 01"))); // SUBACK for a PUBLISH
    QVERIFY(!take(box, ack(0xB0, 1))); // UNSUBACK for a PUBLISH
    QVERIFY(!take(box, QByteArray::fromHex("30 05 0001 70 0001"))); // PUBLISH (QoS 0)
    QVERIFY(!take(box, QByteArray::fromHex("32 05 0001 70 0001"))); // PUBLISH, QoS 1, id 1
    QVERIFY(!take(box, QByteArray::fromHex("d0 00"))); // PINGRESP
    QVERIFY(!take(box, QByteArray::fromHex("20 02 0000"))); // CONNACK
    QVERIFY(!take(box, QByteArray::fromHex("62 02 0001"))); // PUBREL
    QVERIFY(!take(box, QByteArray::fromHex("40 01 00"))); // too short for an id

    // Nothing above was consumed: the real acknowledgements still are.
    QList<MqttOutbox::Refused> refused;
    QVERIFY(take(box, QByteArray::fromHex("90 03 0002 01"), &refused));
    QVERIFY(refused.isEmpty());
    QVERIFY(take(box, ack(0xB0, 3)));
    QVERIFY(take(box, ack(0x40, 1)));
    QVERIFY(!take(box, ack(0x40, 1)));
    QVERIFY(!take(box, ack(0xB0, 3)));
    QCOMPARE(box.detach(), 0);
}

void TestMqttOutbox::subackRefusals()
{
    {
        SocketPair pair;
        MqttOutbox box;
        box.attach(pair.ours);
        box.open(false, MqttOutbox::DefaultWindow, 0, {}, {});
        box.subscribe(QStringLiteral("denied/#"), 1); // id 1
        QList<MqttOutbox::Refused> refused;
        QVERIFY(take(box, QByteArray::fromHex("90 03 0001 80"), &refused));
        QCOMPARE(refused.size(), 1);
        QCOMPARE(refused.at(0).filter, QStringLiteral("denied/#"));
        QCOMPARE(refused.at(0).reason, 0x80);
    }
    {
        SocketPair pair;
        MqttOutbox box;
        box.attach(pair.ours);
        box.open(true, MqttOutbox::DefaultWindow, 0, {}, {});
        box.subscribe(QStringLiteral("acl/#"), 1); // id 1
        // Properties: a Reason String "é" (0x1f, length 2, c3 a9), whose bytes >= 0x80 are
        // not reason codes; then 0x87 (not authorized).
        QList<MqttOutbox::Refused> refused;
        QVERIFY(take(box, QByteArray::fromHex("90 09 0001 05 1f 0002 c3a9 87"), &refused));
        QCOMPARE(refused.size(), 1);
        QCOMPARE(refused.at(0).filter, QStringLiteral("acl/#"));
        QCOMPARE(refused.at(0).reason, 0x87);

        // Granted QoS 1 with empty properties: nothing refused.
        box.subscribe(QStringLiteral("ok"), 1); // id 2
        refused.clear();
        QVERIFY(take(box, QByteArray::fromHex("90 04 0002 00 01"), &refused));
        QVERIFY(refused.isEmpty());
    }
}

void TestMqttOutbox::libmosquittoBoundaries()
{
    SocketPair pair;
    MqttOutbox box;
    box.attach(pair.ours);
    box.open(false, MqttOutbox::DefaultWindow, 0, {}, {});
    box.setOwnerSends(true);
    const QByteArray puback = ack(0x40, 0x0102);

    // PINGREQ cut in two. Even with nothing queued or pending, the owner must not send
    // directly into the middle of it.
    box.feedLibmosquitto("\xc0", 1);
    QCOMPARE(flushed(box, pair).toHex(' '), QByteArray("c0"));
    QCOMPARE(box.publishFromOwner(message("owner", "0", 0)), Result::Done);
    QCOMPARE(box.directSends(), 0);
    QVERIFY(drain(pair.peer).isEmpty());
    box.acknowledge(puback);
    QVERIFY(flushed(box, pair).isEmpty());
    box.feedLibmosquitto("\x00", 1);
    QCOMPARE(flushed(box, pair).toHex(' '),
             QByteArray("00 30 08 00 05 6f 77 6e 65 72 30 40 02 01 02"));

    // A packet with a two-byte Remaining Length (200), cut inside it, then inside the body.
    QByteArray lib = QByteArray::fromHex("30 c8 01 0003 6c6962");
    lib += QByteArray(200 - 5, 'L');
    QCOMPARE(lib.size(), 203);
    box.feedLibmosquitto(lib.constData(), 2);
    box.acknowledge(puback);
    box.publish(message("mine", "1", 0));
    box.subscribe(QStringLiteral("sub"), 0);
    QByteArray wire = flushed(box, pair);
    QCOMPARE(wire, lib.left(2));
    // The owner cannot send directly into the middle of libmosquitto's packet either.
    const qint64 direct = box.directSends();
    QCOMPARE(box.publishFromOwner(message("owner", "2", 0)), Result::Done);
    QCOMPARE(box.directSends(), direct);
    QVERIFY(drain(pair.peer).isEmpty());
    box.feedLibmosquitto(lib.constData() + 2, 100);
    box.acknowledge(puback);
    const QByteArray middle = flushed(box, pair);
    QCOMPARE(middle, lib.mid(2, 100));
    wire += middle;
    box.feedLibmosquitto(lib.constData() + 102, lib.size() - 102);
    // Then a whole PINGREQ of libmosquitto's: after ours, which were there first.
    box.feedLibmosquitto("\xc0\x00", 2);

    QList<QByteArray> packets;
    wire += flushed(box, pair);
    QVERIFY(split(wire, &packets));
    QCOMPARE(packets.size(), 7);
    QCOMPARE(packets.at(0), lib);
    QCOMPARE(packets.at(1), puback);
    Publish p;
    QVERIFY(parsePublish(packets.at(2), false, &p));
    QCOMPARE(p.topic, QByteArray("mine"));
    QCOMPARE(quint8(packets.at(3).at(0)), quint8(0x82));
    QVERIFY(parsePublish(packets.at(4), false, &p));
    QCOMPARE(p.topic, QByteArray("owner"));
    QCOMPARE(packets.at(5), puback);
    QCOMPARE(packets.at(6).toHex(), QByteArray("c000"));

    // At a boundary again: the owner sends directly.
    QCOMPARE(box.publishFromOwner(message("owner", "3", 0)), Result::Done);
    QCOMPARE(box.directSends(), direct + 1);
    QCOMPARE(publishesIn(drain(pair.peer)).size(), 1);
}

void TestMqttOutbox::publishFromOwnerGate()
{
    SocketPair pair;
    MqttOutbox box;
    const MqttMessage m = message("o", "x", 0);
    box.setOwnerSends(true);
    QCOMPARE(box.publishFromOwner(m), Result::NotOpen); // not attached
    box.attach(pair.ours);
    QCOMPARE(box.publishFromOwner(m), Result::NotOpen); // no session yet
    box.open(false, MqttOutbox::DefaultWindow, 0, {}, {});

    box.setOwnerSends(false);
    QCOMPARE(box.publishFromOwner(m), Result::NotOpen);
    box.setOwnerSends(true);

    box.beginPosted();
    box.beginPosted();
    QCOMPARE(box.publishFromOwner(m), Result::NotOpen);
    box.endPosted();
    QCOMPARE(box.publishFromOwner(m), Result::NotOpen);
    box.endPosted();
    QCOMPARE(box.directSends(), 0);
    QVERIFY(drain(pair.peer).isEmpty());

    // Allowed: on the wire at once, no flush().
    QCOMPARE(box.publishFromOwner(m), Result::Done);
    QCOMPARE(drain(pair.peer).toHex(' '), QByteArray("30 04 00 01 6f 78"));
    QCOMPARE(box.publishFromOwner(message("o", "y", 1)), Result::Done);
    QCOMPARE(drain(pair.peer).toHex(' '), QByteArray("32 06 00 01 6f 00 01 79"));
    QCOMPARE(box.directSends(), 2);
    QCOMPARE(box.queuedBytes(), 0);

    box.detach();
    QCOMPARE(box.publishFromOwner(m), Result::NotOpen);
    QCOMPARE(box.directSends(), 2);
}

void TestMqttOutbox::publishFromOwnerFullSocket()
{
    SocketPair pair;
    MqttOutbox box;
    box.attach(pair.ours);
    box.open(false, MqttOutbox::DefaultWindow, 0, {}, {});
    box.setOwnerSends(true);

    fill(pair.ours);
    QCOMPARE(box.publishFromOwner(message("o", "1", 0)), Result::WakeWorker);
    QCOMPARE(box.queuedBytes(), 6);
    // Already queued: the worker is awake, and this one goes behind.
    QCOMPARE(box.publishFromOwner(message("o", "2", 1)), Result::Done);
    QCOMPARE(box.queuedBytes(), 6 + 8);
    int err = 0;
    QVERIFY(box.flush(&err)); // EAGAIN is not an error
    QCOMPARE(box.queuedBytes(), 6 + 8);

    // The peer drains the junk; flush() sends the rest in order.
    const QByteArray junk = drain(pair.peer);
    QVERIFY(!junk.isEmpty());
    QVERIFY(junk.count('j') == junk.size());
    const QList<Publish> pubs = publishesIn(flushed(box, pair));
    QCOMPARE(box.queuedBytes(), 0);
    QCOMPARE(pubs.size(), 2);
    QCOMPARE(pubs.at(0).payload, QByteArray("1"));
    QCOMPARE(pubs.at(1).payload, QByteArray("2"));
}

void TestMqttOutbox::serverMaximumPacketSize()
{
    SocketPair pair;
    MqttOutbox box;
    box.attach(pair.ours);
    box.open(true, MqttOutbox::DefaultWindow, 100, {}, {});
    box.setOwnerSends(true);

    // 100 bytes exactly pass: 2 + 2 + 1 (topic) + 2 (id) + 1 (properties) + 92.
    box.publish(message("t", QByteArray(92, 'p'), 1));
    QCOMPARE(flushed(box, pair).size(), 100);

    const QRegularExpression warning(QStringLiteral(
        "cannot publish to \"big\" a packet of 10[1-9] bytes: the broker takes at most 100"));
    QTest::ignoreMessage(QtWarningMsg, warning);
    box.publish(message("big", QByteArray(93, 'p'), 1));
    QVERIFY(flushed(box, pair).isEmpty());
    QTest::ignoreMessage(QtWarningMsg, warning);
    QCOMPARE(box.publishFromOwner(message("big", QByteArray(95, 'p'), 0)), Result::Done);
    QVERIFY(drain(pair.peer).isEmpty());
    QCOMPARE(box.queuedBytes(), 0);

    // Dropped, not in flight: only the first stays for the next session.
    QCOMPARE(box.detach(), 1);
}

void TestMqttOutbox::ownerThreadAgainstWorker()
{
    SocketPair pair;
    MqttOutbox box;
    box.attach(pair.ours);
    box.open(false, MqttOutbox::DefaultWindow, 0, {}, {});
    box.setOwnerSends(true);

    constexpr int Messages = 100000;
    std::atomic<bool> ownerDone{false};
    std::atomic<bool> allSent{false};
    std::atomic<int> notOpen{0};
    std::atomic<int> wakes{0};

    QByteArray received;
    received.reserve(Messages * 70 + (1 << 20));
    std::thread reader([&] {
        char buffer[65536];
        for (;;) {
            // Read the flag first: once set, everything is in the socket and one drain ends it.
            const bool last = allSent.load();
            for (;;) {
                const ssize_t n = ::recv(pair.peer, buffer, sizeof buffer, 0);
                if (n > 0)
                    received.append(buffer, qsizetype(n));
                else if (!(n < 0 && errno == EINTR))
                    break;
            }
            if (last)
                return;
            pollfd pfd{pair.peer, POLLIN, 0};
            ::poll(&pfd, 1, 20);
        }
    });

    std::thread owner([&] {
        MqttMessage m = message("o", {}, 0);
        for (int i = 0; i < Messages; ++i) {
            m.payload = ownerPayload(i);
            const Result r = box.publishFromOwner(m);
            if (r == Result::NotOpen)
                ++notOpen;
            else if (r == Result::WakeWorker)
                ++wakes;
        }
        ownerDone = true;
    });

    // The worker: its acknowledgements, libmosquitto's packets, and flushes, meanwhile.
    int acks = 0;
    int libPublishes = 0;
    int pings = 0;
    bool flushOk = true;
    for (int k = 0; !ownerDone.load(); ++k) {
        switch (k % 3) {
        case 0:
            box.acknowledge(ack(0x40, acks++ % 65535 + 1));
            break;
        case 1: {
            QByteArray lib =
                QByteArray::fromHex("30 00 0001 4c") + QByteArray::number(libPublishes++);
            lib[1] = char(lib.size() - 2);
            box.feedLibmosquitto(lib.constData(), lib.size());
            break;
        }
        default:
            box.feedLibmosquitto("\xc0\x00", 2);
            ++pings;
            break;
        }
        int err = 0;
        flushOk = box.flush(&err) && flushOk;
    }
    owner.join();
    while (box.queuedBytes() > 0) {
        int err = 0;
        flushOk = box.flush(&err) && flushOk;
        if (box.queuedBytes() > 0) {
            pollfd pfd{pair.ours, POLLOUT, 0};
            ::poll(&pfd, 1, 100);
        }
    }
    allSent = true;
    reader.join();

    QVERIFY(flushOk);
    QCOMPARE(notOpen.load(), 0);
    QList<QByteArray> packets;
    QVERIFY(split(received, &packets));
    int ownerSeen = 0;
    int acksSeen = 0;
    int libSeen = 0;
    int pingsSeen = 0;
    for (const QByteArray &packet : std::as_const(packets)) {
        const auto type = quint8(packet.at(0));
        if (type == 0x40) {
            QCOMPARE(packet, ack(0x40, acksSeen++ % 65535 + 1));
        } else if (type == 0xC0) {
            QCOMPARE(packet.toHex(), QByteArray("c000"));
            ++pingsSeen;
        } else {
            Publish p;
            QVERIFY2(parsePublish(packet, false, &p), packet.toHex(' ').constData());
            QCOMPARE(p.flags, 0);
            if (p.topic == "o") {
                QCOMPARE(p.payload, ownerPayload(ownerSeen));
                ++ownerSeen;
            } else {
                QCOMPARE(p.topic, QByteArray("L"));
                QCOMPARE(p.payload, QByteArray::number(libSeen));
                ++libSeen;
            }
        }
    }
    QCOMPARE(ownerSeen, Messages);
    QCOMPARE(acksSeen, acks);
    QCOMPARE(libSeen, libPublishes);
    QCOMPARE(pingsSeen, pings);
    QVERIFY(box.directSends() > 0);
    qInfo() << "direct sends" << box.directSends() << "wake-ups" << wakes.load() << "worker rounds"
            << acks + libPublishes + pings;
}

QTEST_APPLESS_MAIN(TestMqttOutbox)
#include "tst_mqttoutbox.moc"
