// The real nightlight-device binary as a child process against a real mosquitto (TestBroker):
// telemetry, commands, retained state, Last Will, SIGTERM, broker outages, fuzzed commands, exit
// codes. Every wait is on an observed message or log line (QTRY_*), never a sleep.

#include "blackhole.h"
#include "deviceprocess.h"
#include "emojiid.h"
#include "mqttclient.h"
#include "protocol.h"
#include "recordingclient.h"
#include "testbroker.h"

#include <QDateTime>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <memory>

using namespace nightlight;

namespace {

constexpr int IntervalMs = 100;

// One running nightlight-device.
class Device : public DeviceProcess
{
public:
    Device() : DeviceProcess(QStringLiteral(NIGHTLIGHT_DEVICE_BIN)) { }
};

// A client that records every message on the topics it subscribes to.
class Observer : public RecordingClient
{
public:
    using RecordingClient::RecordingClient;

    // Every message on `topic` that `decode` accepts, in arrival order.
    template<typename T>
    QList<T> decoded(const QString &topic, Decoded<T> (*decode)(const QByteArray &)) const
    {
        QList<T> out;
        for (const MqttMessage &m : messages) {
            if (m.topic == topic) {
                const auto d = decode(m.payload);
                if (d)
                    out.append(*d);
            }
        }
        return out;
    }
    QList<Telemetry> telemetry(const QString &id) const
    {
        return decoded(telemetryTopic(id), &decodeTelemetry);
    }
    QList<DeviceState> states(const QString &id) const
    {
        return decoded(stateTopic(id), &decodeState);
    }
    QList<QByteArray> statuses(const QString &id) const
    {
        QList<QByteArray> out;
        for (const MqttMessage &m : messages) {
            if (m.topic == statusTopic(id))
                out.append(m.payload);
        }
        return out;
    }
    std::optional<DeviceState> lastState(const QString &id) const
    {
        const auto s = states(id);
        return s.isEmpty() ? std::nullopt : std::optional<DeviceState>(s.last());
    }

    // How late each telemetry sample arrived: receive time - ts, in ms.
    QList<qint64> telemetryDelays(const QString &id) const
    {
        QList<qint64> out;
        for (int i = 0; i < messages.size(); ++i) {
            if (messages[i].topic == telemetryTopic(id)) {
                const auto t = decodeTelemetry(messages[i].payload);
                if (t && t->ts)
                    out.append(receivedAt[i] - *t->ts);
            }
        }
        return out;
    }
};

QStringList strings(std::initializer_list<const char *> items)
{
    QStringList l;
    for (const char *s : items)
        l << QString::fromUtf8(s);
    return l;
}

// What the device's log says about bad commands: its full lines ("ignored bad command (...): ...;
// N bad commands so far") and its throttled summaries ("bad commands: N more in the last T s (M so
// far); last: ...").
struct BadCommandLog
{
    int lines = 0; // lines about bad commands
    int full = 0; // of which full lines, one command each
    int summarized = 0; // commands counted by the summaries
    int soFar = 0; // the device's running count in its last line
    int accounted() const { return full + summarized; }
};

BadCommandLog badCommandLog(const QString &log)
{
    static const QRegularExpression fullLine(QStringLiteral(
        "^nightlight\\.device: ignored bad command .*; (\\d+) bad commands so far$"));
    static const QRegularExpression summaryLine(
        QStringLiteral("^nightlight\\.device: bad commands: (\\d+) more in the last [0-9.]+ s "
                       "\\((\\d+) so far\\); last: .+$"));
    BadCommandLog result;
    for (const QString &line : log.split(u'\n')) {
        if (const auto m = fullLine.match(line); m.hasMatch()) {
            ++result.lines;
            ++result.full;
            result.soFar = m.captured(1).toInt();
        } else if (const auto s = summaryLine.match(line); s.hasMatch()) {
            ++result.lines;
            result.summarized += s.captured(1).toInt();
            result.soFar = s.captured(2).toInt();
        } else if (line.contains(QLatin1String("bad command"))) {
            ++result.lines; // counted, so that a line in an unexpected form fails the bound
        }
    }
    return result;
}

// Publishes {"threshold": t} and waits for the device's state to show it. Commands from one
// client are delivered in order, so every command published before it has been handled then.
bool thresholdHandshake(Observer &observer, const QString &id, double t)
{
    observer.client().publish(commandsTopic(id),
                              QStringLiteral("{\"threshold\": %1}").arg(t).toUtf8(), 1);
    return QTest::qWaitFor(
        [&] { return observer.lastState(id) && observer.lastState(id)->threshold == t; }, 20000);
}

bool isOnlineLast(const Observer &o, const QString &id)
{
    const auto s = o.statuses(id);
    return !s.isEmpty() && s.last() == "online";
}

} // namespace

class TestNightlightDevice : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void telemetryAtInterval();
    void commandGivesRetainedState();
    void sigkillGivesLastWill();
    void sigtermExitsCleanly();
    void sigtermWhileConnectBlocks();
    void outageBuffersAndCommandsWait();
    void fuzzedCommands();
    void badCommandFloodIsThrottled();
    void badArguments_data();
    void badArguments();
    void emojiIdIsPrintedAsItIs_data();
    void emojiIdIsPrintedAsItIs();
    void groveWithoutI2c();
    void notAuthorizedExits4();
    void invalidArgumentExits4();
    void hugeCommandIsDroppedUnread_data();
    void hugeCommandIsDroppedUnread();
    void noSampleLostWhenBothReconnect();

private:
    QStringList deviceArgs(const QString &id, const QStringList &extra = {}) const;
    TestBroker m_broker;
};

void TestNightlightDevice::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(NIGHTLIGHT_DEVICE_BIN)), NIGHTLIGHT_DEVICE_BIN);
    QVERIFY2(m_broker.start(), qPrintable(m_broker.errorString()));
}

QStringList TestNightlightDevice::deviceArgs(const QString &id, const QStringList &extra) const
{
    return QStringList{QStringLiteral("--host"),        m_broker.host(),
                       QStringLiteral("--port"),        QString::number(m_broker.port()),
                       QStringLiteral("--id"),          id,
                       QStringLiteral("--interval-ms"), QString::number(IntervalMs)} +
        extra;
}

void TestNightlightDevice::telemetryAtInterval()
{
    const QString id = QStringLiteral("telemetry-1");
    Observer observer(m_broker, {id + QStringLiteral("/#")});
    QTRY_VERIFY_WITH_TIMEOUT(observer.isConnected(), 5000);
    Device device;
    QVERIFY(device.start(deviceArgs(id)));

    QTRY_VERIFY_WITH_TIMEOUT(observer.telemetry(id).size() >= 8, 10000);
    QVERIFY(isOnlineLast(observer, id));
    const auto t = observer.telemetry(id);
    QList<qint64> gaps;
    for (int i = 1; i < t.size(); ++i) {
        QVERIFY(t[i].ts && t[i - 1].ts);
        QVERIFY2(*t[i].ts > *t[i - 1].ts, "ts strictly increasing");
        gaps.append(*t[i].ts - *t[i - 1].ts);
        QVERIFY(t[i].light >= 0 && t[i].light <= 1000);
    }
    std::sort(gaps.begin(), gaps.end());
    const qint64 median = gaps[gaps.size() / 2];
    QVERIFY2(median >= IntervalMs * 8 / 10 && median <= IntervalMs * 15 / 10,
             qPrintable(QString::number(median)));
    // Each tick refreshes the retained state, and it carries the reading.
    QTRY_VERIFY_WITH_TIMEOUT(observer.states(id).size() >= 2, 5000);
    const DeviceState s = *observer.lastState(id);
    QCOMPARE(s.mode, Mode::Auto);
    QCOMPARE(s.threshold, 300.0);
    QVERIFY(s.light);
}

void TestNightlightDevice::commandGivesRetainedState()
{
    const QString id = QStringLiteral("command-1");
    Observer observer(m_broker, {id + QStringLiteral("/#")});
    QTRY_VERIFY_WITH_TIMEOUT(observer.isConnected(), 5000);
    Device device;
    // A long cycle in bright light: the auto rule keeps the LED off.
    QVERIFY(device.start(deviceArgs(id, strings({"--threshold", "0"}))));
    QTRY_VERIFY_WITH_TIMEOUT(isOnlineLast(observer, id), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastState(id).has_value(), 5000);
    QVERIFY(!observer.lastState(id)->ledOn);

    observer.client().publish(commandsTopic(id), encodeCommand(Command{true, {}, {}}), 1);
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastState(id) && observer.lastState(id)->ledOn, 5000);
    QCOMPARE(observer.lastState(id)->mode, Mode::Manual);

    // A dashboard that starts later sees the real LED at once: the state is retained.
    Observer late(m_broker, {stateTopic(id)});
    QTRY_VERIFY_WITH_TIMEOUT(!late.messages.isEmpty(), 5000);
    QVERIFY(late.messages.first().retained);
    const auto retained = decodeState(late.messages.first().payload);
    QVERIFY2(retained, qPrintable(retained.errorString()));
    QVERIFY(retained->ledOn);
    QCOMPARE(retained->mode, Mode::Manual);

    // And back to auto: applied at once with the last reading (threshold 0: off).
    const qsizetype before = observer.states(id).size();
    observer.client().publish(commandsTopic(id), "{\"mode\": \"auto\"}", 1);
    QTRY_VERIFY_WITH_TIMEOUT(
        observer.states(id).size() > before && observer.lastState(id)->mode == Mode::Auto, 5000);
    QVERIFY(!observer.lastState(id)->ledOn);
}

void TestNightlightDevice::sigkillGivesLastWill()
{
    const QString id = QStringLiteral("sigkill-1");
    Observer observer(m_broker, {statusTopic(id)});
    QTRY_VERIFY_WITH_TIMEOUT(observer.isConnected(), 5000);
    Device device;
    QVERIFY(device.start(deviceArgs(id)));
    QTRY_VERIFY_WITH_TIMEOUT(isOnlineLast(observer, id), 5000);

    device.process().kill();
    QVERIFY(device.process().waitForFinished(5000));
    QTRY_COMPARE_WITH_TIMEOUT(observer.statuses(id).last(), QByteArray("offline"), 5000);
    // Retained: a late subscriber sees it too.
    Observer late(m_broker, {statusTopic(id)});
    QTRY_VERIFY_WITH_TIMEOUT(!late.messages.isEmpty(), 5000);
    QCOMPARE(late.messages.first().payload, QByteArray("offline"));
    QVERIFY(late.messages.first().retained);
}

void TestNightlightDevice::sigtermExitsCleanly()
{
    const QString id = QStringLiteral("sigterm-1");
    Observer observer(m_broker, {id + QStringLiteral("/#")});
    QTRY_VERIFY_WITH_TIMEOUT(observer.isConnected(), 5000);
    Device device;
    QVERIFY(device.start(deviceArgs(id)));
    QTRY_VERIFY_WITH_TIMEOUT(isOnlineLast(observer, id), 5000);
    // LED on by command, so switching it off at exit is visible.
    observer.client().publish(commandsTopic(id), "{\"led_on\": true}", 1);
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastState(id) && observer.lastState(id)->ledOn, 5000);
    const qsizetype offlineBefore = observer.statuses(id).count("offline");

    QElapsedTimer timer;
    timer.start();
    device.process().terminate(); // SIGTERM
    QVERIFY(device.process().waitForFinished(5000));
    const qint64 ms = timer.elapsed();
    QCOMPARE(device.process().exitStatus(), QProcess::NormalExit);
    QCOMPARE(device.process().exitCode(), 0);
    QVERIFY2(ms < 1000, qPrintable(QStringLiteral("took %1 ms").arg(ms)));
    QTRY_COMPARE_WITH_TIMEOUT(observer.statuses(id).last(), QByteArray("offline"), 5000);
    // Exactly one "offline": ours, not also the Last Will (the DISCONNECT was clean).
    QTRY_VERIFY_WITH_TIMEOUT(!observer.lastState(id)->ledOn, 5000);
    QCOMPARE(observer.statuses(id).count("offline"), offlineBefore + 1);
    QVERIFY(device.log().contains(QLatin1String("LED off")));
}

// SIGTERM while libmosquitto's blocking connect() hangs in the MQTT worker thread: the device
// must not wait for that thread on its way out.
void TestNightlightDevice::sigtermWhileConnectBlocks()
{
    BlackHole hole;
    QVERIFY(hole.open());
    Device device;
    QVERIFY(device.start({QStringLiteral("--host"), QStringLiteral("127.0.0.1"),
                          QStringLiteral("--port"), QString::number(hole.port()),
                          QStringLiteral("--id"), QStringLiteral("blackhole-1"),
                          QStringLiteral("-v")}));
    const QString connecting = QStringLiteral("connecting to \"127.0.0.1:%1\"").arg(hole.port());
    QTRY_VERIFY_WITH_TIMEOUT(device.log().contains(connecting), 5000);
    // The rule runs meanwhile: the first sample waits in the buffer.
    QTRY_VERIFY_WITH_TIMEOUT(device.log().contains(QLatin1String("samples buffered")), 5000);

    QElapsedTimer timer;
    timer.start();
    device.process().terminate(); // SIGTERM
    QVERIFY(device.process().waitForFinished(5000));
    const qint64 ms = timer.elapsed();
    QCOMPARE(device.process().exitStatus(), QProcess::NormalExit);
    QCOMPARE(device.process().exitCode(), 0);
    QVERIFY2(ms < 1000, qPrintable(QStringLiteral("took %1 ms").arg(ms)));
    const QString log = device.log();
    // The precondition held: connect() never returned (no socket, no error).
    QVERIFY2(!log.contains(QLatin1String("waiting for CONNACK")), qPrintable(log));
    QVERIFY2(!log.contains(QLatin1String("cannot connect")), qPrintable(log));
    QVERIFY2(log.contains(QLatin1String("shutting down")), qPrintable(log));
}

void TestNightlightDevice::outageBuffersAndCommandsWait()
{
    const QString id = QStringLiteral("outage-1");
    Observer observer(m_broker, {telemetryTopic(id), stateTopic(id)});
    QTRY_VERIFY_WITH_TIMEOUT(observer.isConnected(), 5000);
    Device device;
    // A long reconnect delay: the command below is sent while the device is still away.
    QVERIFY(device.start(deviceArgs(
        id, strings({"-v", "--reconnect-min-ms", "2500", "--reconnect-max-ms", "2500"}))));
    QTRY_VERIFY_WITH_TIMEOUT(observer.telemetry(id).size() >= 3, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(device.countInLog(QStringLiteral("nightlight.device: connected to")),
                              1, 5000);

    m_broker.stop();
    // Several ticks taken while the broker is gone, buffered by the device.
    QTRY_VERIFY_WITH_TIMEOUT(device.log().contains(QLatin1String("5 samples buffered")), 5000);
    QVERIFY2(m_broker.start(), qPrintable(m_broker.errorString()));
    QTRY_VERIFY_WITH_TIMEOUT(observer.isConnected(), 5000);

    // A QoS 1 command while the device's persistent session is offline: mosquitto_pub returns
    // after the broker's PUBACK, so the broker holds it for the device.
    QVERIFY(mosquittoPub(m_broker,
                         {QStringLiteral("-q"), QStringLiteral("1"), QStringLiteral("-t"),
                          commandsTopic(id), QStringLiteral("-m"),
                          QStringLiteral("{\"led_on\": true, \"threshold\": 123}")}));
    QCOMPARE(device.countInLog(QStringLiteral("nightlight.device: connected to")), 1);

    // The device reconnects, gets the command, publishes the buffer in order.
    QTRY_COMPARE_WITH_TIMEOUT(device.countInLog(QStringLiteral("nightlight.device: connected to")),
                              2, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastState(id) && observer.lastState(id)->ledOn &&
                                 observer.lastState(id)->threshold == 123,
                             5000);
    QCOMPARE(observer.lastState(id)->mode, Mode::Manual);
    const int live = int(observer.telemetry(id).size());
    QTRY_VERIFY_WITH_TIMEOUT(observer.telemetry(id).size() >= live + 3, 5000);

    const auto t = observer.telemetry(id);
    int lost = 0;
    for (int i = 1; i < t.size(); ++i) {
        QVERIFY2(*t[i].ts > *t[i - 1].ts,
                 qPrintable(QStringLiteral("ts not increasing at %1: %2 after %3")
                                .arg(i)
                                .arg(*t[i].ts)
                                .arg(*t[i - 1].ts)));
        const qint64 gap = *t[i].ts - *t[i - 1].ts;
        // A QoS 0 sample sent in the instant between the broker's death and the client noticing
        // is lost (at most one); every other step is one interval.
        if (gap > IntervalMs * 3 / 2) {
            ++lost;
            QVERIFY2(gap < IntervalMs * 5 / 2, qPrintable(QStringLiteral("gap of %1 ms").arg(gap)));
        }
    }
    // The device says how many it replays; the outage (>= 2.5 s of reconnect delay at 100 ms)
    // means 20 and more, and they all arrive (late: after the reconnect).
    const QRegularExpression drained(QStringLiteral("publishing (\\d+) buffered samples"));
    int buffered = -1; // the last drain (the first one is the sample taken at start)
    for (auto it = drained.globalMatch(device.log()); it.hasNext();)
        buffered = it.next().captured(1).toInt();
    const auto delays = observer.telemetryDelays(id);
    const int late = int(
        std::count_if(delays.begin(), delays.end(), [](qint64 d) { return d > IntervalMs * 3; }));
    qDebug("%d samples, %d replayed from the buffer (%d arrived > 300 ms late), %d lost at the "
           "outage",
           int(t.size()), buffered, late, lost);
    QVERIFY2(buffered >= 20, qPrintable(QString::number(buffered)));
    QVERIFY(late >= buffered - 5);
    QVERIFY(t.size() >= buffered + 3 + 3);
    QVERIFY(lost <= 1);
}

void TestNightlightDevice::fuzzedCommands()
{
    const QString id = QStringLiteral("fuzz-1");
    Observer observer(m_broker, {stateTopic(id), statusTopic(id)});
    QTRY_VERIFY_WITH_TIMEOUT(observer.isConnected(), 5000);
    Device device;
    QVERIFY(device.start(deviceArgs(id, strings({"--interval-ms", "1000"}))));
    QTRY_VERIFY_WITH_TIMEOUT(isOnlineLast(observer, id), 5000);
    observer.client().publish(commandsTopic(id), "{\"led_on\": true, \"threshold\": 250}", 1);
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastState(id) && observer.lastState(id)->ledOn &&
                                 observer.lastState(id)->threshold == 250,
                             5000);

    // Random bytes, random JSON-ish text, and mutations of good commands; each one checked to
    // be bad with the same decoder, so exactly this many must be rejected.
    QRandomGenerator random(20261126);
    const QList<QByteArray> good = {"{\"led_on\": true}", "{\"mode\": \"auto\"}",
                                    "{\"threshold\": 300}",
                                    "{\"led_on\": false, \"mode\": "
                                    "\"manual\"}"};
    const QList<QByteArray> wrong = {"{\"led_on\": \"yes\"}",
                                     "{\"led_on\": 0}",
                                     "{\"mode\": \"AUTO\"}",
                                     "{\"threshold\": -3}",
                                     "{\"threshold\": 1e9}",
                                     "{}",
                                     "[]",
                                     "null",
                                     "",
                                     "{\"led_on\": true, \"mode\": \"auto\"}"};
    const char alphabet[] = "{}[]\":,0123456789.-+eE truefalsnul\\led_onmodeautothreshold\xff\x00";
    int sent = 0;
    int tries = 0;
    int oversized = 0; // sent, but over the limit
    while (sent < 10000) {
        ++tries;
        QByteArray p;
        switch (random.bounded(5)) {
        case 0: // random bytes
            for (int n = int(random.bounded(64)); n > 0; --n)
                p.append(char(random.bounded(256)));
            break;
        case 1: // random characters from JSON's alphabet
            for (int n = int(random.bounded(48)); n > 0; --n)
                p.append(alphabet[random.bounded(int(sizeof alphabet) - 1)]);
            break;
        case 2: { // a good command, truncated
            const QByteArray g = good[random.bounded(int(good.size()))];
            p = g.left(random.bounded(int(g.size())));
            break;
        }
        case 3: { // a good command with one byte flipped
            p = good[random.bounded(int(good.size()))];
            p[random.bounded(int(p.size()))] = char(random.bounded(256));
            break;
        }
        default:
            p = wrong[random.bounded(int(wrong.size()))];
            if (random.bounded(100) == 0) {
                p = "{\"led_on\": false, \"pad\": \"" + QByteArray(70000, 'x') + "\"}";
                ++oversized;
            }
            break;
        }
        if (decodeCommand(p))
            continue; // accidentally valid: not a bad command
        QVERIFY(observer.client().publish(commandsTopic(id), p, 1));
        ++sent;
        // Flow control: the broker keeps at most 1000 QoS 1 messages queued per client (and
        // drops the rest). A good command after every 500 (threshold 251, 250, ...) is the
        // handshake: once its state is seen, every bad one before it has been handled.
        if (sent % 500 == 0)
            QVERIFY(thresholdHandshake(observer, id, 250 + (sent / 500) % 2));
    }
    qDebug("sent %d bad payloads (%d generated)", sent, tries);
    QCOMPARE(device.process().state(), QProcess::Running);
    const DeviceState s = *observer.lastState(id);
    QVERIFY(s.ledOn);
    QCOMPARE(s.mode, Mode::Manual);
    QCOMPARE(s.threshold, 250.0);

    // Still obeys.
    observer.client().publish(commandsTopic(id), "{\"led_on\": false}", 1);
    QTRY_VERIFY_WITH_TIMEOUT(!observer.lastState(id)->ledOn, 5000);

    // Counted exactly, and logged in a few lines (#9): 5 in full, a summary a minute, the rest
    // at shutdown.
    device.process().terminate();
    QVERIFY(device.process().waitForFinished(5000));
    const BadCommandLog log = badCommandLog(device.log());
    qDebug("10000 bad commands: %d log lines (%d in full)", log.lines, log.full);
    // The ones over the 64 KiB limit too: the device's MQTT client reads past them and says so.
    QVERIFY(oversized > 0);
    QCOMPARE(log.soFar, 10000);
    QCOMPARE(log.accounted(), 10000);
    QCOMPARE(log.full, 5);
    QVERIFY2(log.lines <= 10, qPrintable(device.log()));
}

void TestNightlightDevice::badCommandFloodIsThrottled()
{
    // 2,000 bad commands, then a good one: the device obeys the good one, its log has the first
    // 5 bad ones in full and no more until a minute has passed or it stops; at SIGTERM the
    // summary counts the rest, with the running count (#9).
    const QString id = QStringLiteral("flood-1");
    Observer observer(m_broker, {stateTopic(id), statusTopic(id)});
    QTRY_VERIFY_WITH_TIMEOUT(observer.isConnected(), 5000);
    Device device;
    QVERIFY(device.start(deviceArgs(id, strings({"--interval-ms", "1000"}))));
    QTRY_VERIFY_WITH_TIMEOUT(isOnlineLast(observer, id), 5000);
    QElapsedTimer flood;
    flood.start();
    for (int i = 1; i <= 2000; ++i) {
        QVERIFY(observer.client().publish(commandsTopic(id), "{\"led_on\": \"yes\"}", 1));
        if (i % 500 == 0 && i < 2000) // flow control, as in fuzzedCommands
            QVERIFY(thresholdHandshake(observer, id, 100 + i / 500));
    }
    observer.client().publish(commandsTopic(id), "{\"led_on\": true}", 1);
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastState(id) && observer.lastState(id)->ledOn &&
                                 observer.lastState(id)->mode == Mode::Manual,
                             20000);

    const BadCommandLog during = badCommandLog(device.log());
    if (flood.elapsed() < 60000) { // no summary is due yet
        QCOMPARE(during.lines, 5);
        QCOMPARE(during.soFar, 5);
    }
    QVERIFY2(during.lines <= 10, qPrintable(device.log()));

    device.process().terminate();
    QVERIFY(device.process().waitForFinished(5000));
    QCOMPARE(device.process().exitCode(), 0);
    const BadCommandLog after = badCommandLog(device.log());
    qDebug("2000 bad commands: %d log lines (%d in full)", after.lines, after.full);
    QCOMPARE(after.lines, during.lines + 1); // the summary at shutdown
    QCOMPARE(after.soFar, 2000);
    QCOMPARE(after.accounted(), 2000);
    QVERIFY2(
        device.log().contains(QLatin1String("so far); last: wrong type: led_on must be a bool\n")),
        qPrintable(device.log()));
}

void TestNightlightDevice::badArguments_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");

    QTest::newRow("bad id") << strings({"--id", "a/b"}) << QStringLiteral("invalid device id");
    QTest::newRow("port 0") << strings({"--port", "0"}) << QStringLiteral("invalid --port \"0\"");
    QTest::newRow("port 70000") << strings({"--port", "70000"})
                                << QStringLiteral("invalid --port \"70000\"");
    QTest::newRow("interval 10") << strings({"--interval-ms", "10"})
                                 << QStringLiteral("invalid --interval-ms \"10\"");
    QTest::newRow("not a number") << strings({"--threshold", "dark"})
                                  << QStringLiteral("invalid --threshold \"dark\": not a number");
    QTest::newRow("unknown backend")
        << strings({"--sensor", "camera"}) << QStringLiteral("unknown backend");
    QTest::newRow("missing config file") << strings({"--config", "/nonexistent/device.conf"})
                                         << QStringLiteral("cannot read config file");
    QTest::newRow("unreadable password file")
        << strings({"--username", "u", "--password-file", "/nonexistent/pw"})
        << QStringLiteral("cannot read password file");
    QTest::newRow("missing tls ca file")
        << strings({"--tls-ca", "/nonexistent/ca.crt"})
        << QStringLiteral("cannot read --tls-ca file /nonexistent/ca.crt: No such file");
    QTest::newRow("tls ca is a directory")
        << strings({"--tls-ca", "/"})
        << QStringLiteral("cannot read --tls-ca file /: Is a directory");
    QTest::newRow("no --password option")
        << strings({"--password", "x"}) << QStringLiteral("Unknown option 'password'");
}

void TestNightlightDevice::badArguments()
{
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    QProcess p;
    p.start(QStringLiteral(NIGHTLIGHT_DEVICE_BIN), args);
    QVERIFY(p.waitForFinished(5000));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 2);
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QVERIFY2(err.startsWith(QLatin1String("nightlight-device: ")), qPrintable(err));
    QVERIFY2(err.contains(message), qPrintable(err));
}

void TestNightlightDevice::emojiIdIsPrintedAsItIs_data()
{
    QTest::addColumn<QStringList>("environment"); // NAME=value, after every locale variable is gone

    QTest::newRow("LANG=C.UTF-8") << QStringList{QStringLiteral("LANG=C.UTF-8")};
    QTest::newRow("LANG=C, LC_ALL=C")
        << QStringList{QStringLiteral("LANG=C"), QStringLiteral("LC_ALL=C")};
    QTest::newRow("no locale variables") << QStringList{};
}

// An id with an emoji is refused (exit 2), and the message shows the emoji whatever the locale:
// stderr is UTF-8, and the offending character is the whole code point, not half of its surrogate
// pair printed as '?' (#9).
void TestNightlightDevice::emojiIdIsPrintedAsItIs()
{
    QFETCH(QStringList, environment);
    verifyEmojiIdRefused(QStringLiteral(NIGHTLIGHT_DEVICE_BIN),
                         QProcessEnvironment::systemEnvironment(), environment, 5000);
}

void TestNightlightDevice::groveWithoutI2c()
{
    if (QFile::exists(QStringLiteral("/dev/i2c-1")))
        QSKIP("this machine has /dev/i2c-1");
    QProcess p;
    p.start(QStringLiteral(NIGHTLIGHT_DEVICE_BIN),
            deviceArgs(QStringLiteral("grove-1"), strings({"--sensor", "grove"})));
    QVERIFY(p.waitForFinished(5000));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 3);
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QVERIFY2(err.startsWith(QLatin1String("nightlight-device: grove light sensor: ")),
             qPrintable(err));
    QVERIFY2(err.contains(QLatin1String("/dev/i2c-1")), qPrintable(err));
}

void TestNightlightDevice::notAuthorizedExits4()
{
    TestBroker::Options options;
    options.username = QStringLiteral("device");
    options.password = QStringLiteral("right");
    TestBroker secured(options);
    QVERIFY2(secured.start(), qPrintable(secured.errorString()));
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("NIGHTLIGHT_PASSWORD"), QStringLiteral("wrong"));
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(NIGHTLIGHT_DEVICE_BIN),
            {QStringLiteral("--host"), secured.host(), QStringLiteral("--port"),
             QString::number(secured.port()), QStringLiteral("--username"),
             QStringLiteral("device")});
    QVERIFY(p.waitForFinished(10000));
    QCOMPARE(p.exitCode(), 4);
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QVERIFY2(err.contains(QLatin1String("nightlight-device: cannot connect to 127.0.0.1:")),
             qPrintable(err));
}

// An invalid setting that only the MQTT client finds (libmosquitto rejects a control character in
// the user name) is permanent: the client stops trying, so the device must exit 4 rather than run
// offline forever.
void TestNightlightDevice::invalidArgumentExits4()
{
    QProcess p;
    p.start(QStringLiteral(NIGHTLIGHT_DEVICE_BIN),
            deviceArgs(QStringLiteral("invalid-1"),
                       {QStringLiteral("--username"),
                        QStringLiteral("dev") + QChar(1) + QStringLiteral("ice")}));
    QVERIFY(p.waitForFinished(10000));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 4);
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QVERIFY2(err.contains(QLatin1String("nightlight-device: cannot connect to 127.0.0.1:")),
             qPrintable(err));
    QVERIFY2(err.contains(QLatin1String("invalid user name")), qPrintable(err));
}

void TestNightlightDevice::hugeCommandIsDroppedUnread_data()
{
    QTest::addColumn<QString>("version");
    QTest::addColumn<int>("megabytes");
    QTest::addColumn<bool>("piZeroLimit");
    // MQTT 5: the broker knows the device's Maximum Packet Size and drops the message. 3.1.1:
    // the broker sends it, the device's MQTT client reads past it and acknowledges it. Under a
    // Pi Zero's 512 MB of address space a 200 MB command once put the device into an endless
    // out-of-memory reconnect loop, the broker re-sending it every time (#9).
    QTest::newRow("MQTT 5, 100 MB") << QStringLiteral("5") << 100 << false;
    QTest::newRow("MQTT 3.1.1, 100 MB") << QStringLiteral("3.1.1") << 100 << false;
    QTest::newRow("MQTT 3.1.1, 200 MB in 512 MB") << QStringLiteral("3.1.1") << 200 << true;
}

void TestNightlightDevice::hugeCommandIsDroppedUnread()
{
    QFETCH(QString, version);
    QFETCH(int, megabytes);
    QFETCH(bool, piZeroLimit);
    const QString id =
        QStringLiteral("huge-%1")
            .arg(QString::fromUtf8(QTest::currentDataTag()))
            .replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9]+")), QStringLiteral("-"));

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString file = dir.filePath(QStringLiteral("command"));
    {
        QFile out(file);
        QVERIFY(out.open(QIODevice::WriteOnly));
        QVERIFY(out.write("{\"led_on\": true, \"pad\": \"") > 0);
        const QByteArray chunk(1024 * 1024, 'x');
        for (int i = 0; i < megabytes; ++i)
            QVERIFY(out.write(chunk) == chunk.size());
        QVERIFY(out.write("\"}") == 2);
    }

    Observer observer(m_broker, {id + QStringLiteral("/#")});
    QTRY_VERIFY_WITH_TIMEOUT(observer.isConnected(), 5000);
    Device device;
    const QStringList wrapper = piZeroLimit
        ? QStringList{QStringLiteral("prlimit"), QStringLiteral("--as=524288000"),
                      QStringLiteral("--")}
        : QStringList{};
    QVERIFY(device.start(deviceArgs(id,
                                    {QStringLiteral("--mqtt-version"), version,
                                     QStringLiteral("--threshold"), QStringLiteral("0")}),
                         wrapper));
    QTRY_VERIFY_WITH_TIMEOUT(isOnlineLast(observer, id), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastState(id).has_value(), 5000);
    const qint64 before = device.peakRssKb();
    QVERIFY(before > 0);

    QVERIFY(mosquittoPub(m_broker,
                         {QStringLiteral("-q"), QStringLiteral("1"), QStringLiteral("-t"),
                          commandsTopic(id), QStringLiteral("-f"), file}));

    // The next valid command is applied, and the device never lost its connection.
    observer.client().publish(commandsTopic(id), "{\"threshold\": 555}", 1);
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastState(id) && observer.lastState(id)->threshold == 555.0,
                             10000);
    QCOMPARE(device.process().state(), QProcess::Running);
    // The huge command's led_on (a manual override) was never applied.
    QCOMPARE(observer.lastState(id)->mode, Mode::Auto);
    const qint64 grown = device.peakRssKb() - before;
    qInfo("%s: device peak RSS %lld KiB before, grew by %lld KiB", QTest::currentDataTag(), before,
          grown);
    QVERIFY2(grown < 8 * 1024, qPrintable(QString::number(grown)));
    QCOMPARE(device.countInLog(QStringLiteral("connected to ")), 1);
    QCOMPARE(device.countInLog(QStringLiteral("lost")), 0);
    // Counted and logged as a bad command: the client says how large it was.
    QTRY_VERIFY_WITH_TIMEOUT(
        device.log().contains(QStringLiteral("ignored bad command (too large): a message of ")),
        5000);
}

// The broker restarts; the device is back at once, a persistent-session subscriber (as the
// dashboard) three seconds later. The device replays what it buffered and sends what it takes
// in the first minute after a connect at QoS 1, so the broker queues all of it for the
// subscriber: not one sample is missing (#9; before, the samples between the device's and the
// subscriber's reconnect were QoS 0 and lost).
void TestNightlightDevice::noSampleLostWhenBothReconnect()
{
    TestBroker broker; // its own: it restarts
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    const QString id = QStringLiteral("both-reconnect");

    MqttClient subscriber;
    subscriber.setHost(broker.host());
    subscriber.setPort(broker.port());
    subscriber.setClientId(QStringLiteral("tst-both-reconnect-dashboard"));
    subscriber.setCleanSession(false);
    subscriber.setReconnectDelay(3000, 3000);
    subscriber.subscribe(telemetryTopic(id), 1);
    QList<qint64> ts;
    int qos1 = 0;
    connect(&subscriber, &MqttClient::messageReceived, this, [&](const MqttMessage &m) {
        if (const auto t = decodeTelemetry(m.payload); t && t->ts) {
            ts.append(*t->ts);
            qos1 += m.qos == 1;
        }
    });
    QSignalSpy connected(&subscriber, &MqttClient::connected);
    subscriber.connectToHost();
    QVERIFY(connected.wait(5000));

    Device device;
    QVERIFY(device.start(QStringList{
        QStringLiteral("--host"), broker.host(), QStringLiteral("--port"),
        QString::number(broker.port()), QStringLiteral("--id"), id, QStringLiteral("--interval-ms"),
        QString::number(IntervalMs), QStringLiteral("--reconnect-min-ms"), QStringLiteral("50"),
        QStringLiteral("--reconnect-max-ms"), QStringLiteral("200"),
        QStringLiteral("--telemetry-qos1-window-ms"), QStringLiteral("5000")}));
    QTRY_VERIFY_WITH_TIMEOUT(ts.size() >= 5, 10000);

    broker.stop(); // SIGTERM: mosquitto saves the subscriber's session
    QVERIFY2(broker.restart(), qPrintable(broker.errorString()));
    const qint64 restartedAt = QDateTime::currentMSecsSinceEpoch();
    QVERIFY(connected.wait(10000)); // the subscriber, 3 s later
    QTRY_VERIFY_WITH_TIMEOUT(!ts.isEmpty() && ts.last() > restartedAt + 6000, 20000);

    QVERIFY(qos1 > 0);
    // QoS 1 is at least once: a message in flight when the broker went away comes again (the
    // dashboard stores a sample once per device and ts). Order holds.
    const qsizetype received = ts.size();
    ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
    qInfo("%lld samples, %lld of them again, %d at QoS 1", qint64(received),
          qint64(received - ts.size()), qos1);
    for (qsizetype i = 1; i < ts.size(); ++i) {
        QVERIFY2(ts[i] > ts[i - 1], qPrintable(QStringLiteral("sample %1 out of order").arg(i)));
        QVERIFY2(ts[i] - ts[i - 1] < IntervalMs * 5 / 2,
                 qPrintable(QStringLiteral("%1 ms without a sample before sample %2 of %3")
                                .arg(ts[i] - ts[i - 1])
                                .arg(i)
                                .arg(ts.size())));
    }
    // After the window, back to the lesson's QoS 0.
    const qsizetype before = ts.size();
    QTRY_VERIFY_WITH_TIMEOUT(ts.size() > before + 5, 10000);
}

QTEST_GUILESS_MAIN(TestNightlightDevice)
#include "tst_nightlightdevice.moc"
