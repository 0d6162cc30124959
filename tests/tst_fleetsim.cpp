// nightlight-fleetsim (tools/fleetsim) as a child process against a real mosquitto (TestBroker),
// watched by an MqttClient subscriber: every device publishes its retained state and "online",
// obeys a command, the killed share's Last Wills arrive while the rest still runs, the rest ends
// "offline" with the LED off, and --sent-file matches the telemetry counted on the wire. Bad
// options and too few file descriptors are exit status 2. Every wait is on an observed message
// or the process's output (QTRY_*, QSignalSpy::wait), never a sleep.

#include "mqttclient.h"
#include "protocol.h"
#include "testbroker.h"

#include <QFile>
#include <QHash>
#include <QProcess>
#include <QSet>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace nightlight;

namespace {

constexpr int Devices = 50;
constexpr int TimeoutMs = 30000;

struct SentLine
{
    qint64 sent = 0;
    QString expected;
    QString how;
    bool ledOn = false;
    int commands = 0;
    qint64 unconfirmed = 0;
};

// The --sent-file, by device id.
QHash<QString, SentLine> readSentFile(const QString &path)
{
    QHash<QString, SentLine> lines;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return lines;
    while (!file.atEnd()) {
        const QByteArray line = file.readLine().trimmed();
        if (line.isEmpty() || line.startsWith('#'))
            continue;
        const QList<QByteArray> f = line.split('\t');
        if (f.size() != 7)
            continue;
        lines.insert(QString::fromUtf8(f[0]),
                     SentLine{f[1].toLongLong(), QString::fromUtf8(f[2]), QString::fromUtf8(f[3]),
                              f[4] == "1", f[5].toInt(), f[6].toLongLong()});
    }
    return lines;
}

// One running fleet; its output is collected as it comes.
class Fleet
{
public:
    Fleet()
    {
        QObject::connect(&process, &QProcess::readyReadStandardOutput,
                         [this] { out += process.readAllStandardOutput(); });
        QObject::connect(&process, &QProcess::readyReadStandardError,
                         [this] { err += process.readAllStandardError(); });
    }
    ~Fleet()
    {
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished(5000);
        }
    }
    bool start(const QStringList &args, const QStringList &wrapper = {})
    {
        const QString bin = QStringLiteral(NIGHTLIGHT_FLEETSIM_BIN);
        if (wrapper.isEmpty())
            process.start(bin, args);
        else
            process.start(wrapper.first(), wrapper.mid(1) + QStringList{bin} + args);
        return process.waitForStarted(5000);
    }
    QString output() const { return QString::fromUtf8(out); }
    QString errors() const { return QString::fromUtf8(err); }

    QProcess process;
    QByteArray out;
    QByteArray err;
};

} // namespace

class TestFleetSim : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void speaksTheContract();
    void badOptions_data();
    void badOptions();
    void tooFewDescriptors();

private:
    TestBroker m_broker;
};

void TestFleetSim::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(NIGHTLIGHT_FLEETSIM_BIN)), NIGHTLIGHT_FLEETSIM_BIN);
    QVERIFY2(m_broker.start(), qPrintable(m_broker.errorString()));
}

void TestFleetSim::speaksTheContract()
{
    auto watcher = m_broker.connectedClient();
    QVERIFY(watcher);
    QHash<QString, QString> status; // last status by device
    QHash<QString, DeviceState> state; // last valid state by device
    QHash<QString, qint64> telemetry; // samples counted by device
    int malformed = 0;
    QObject::connect(watcher.get(), &MqttClient::messageReceived, [&](const MqttMessage &m) {
        const auto topic = parseTopic(m.topic);
        if (!topic || !topic->deviceId.startsWith(QLatin1String("fs")))
            return;
        switch (topic->kind) {
        case TopicKind::Status:
            status[topic->deviceId] = QString::fromUtf8(m.payload);
            break;
        case TopicKind::State:
            if (const auto s = decodeState(m.payload))
                state[topic->deviceId] = *s;
            else
                ++malformed;
            break;
        case TopicKind::Telemetry:
            if (decodeTelemetry(m.payload))
                ++telemetry[topic->deviceId];
            else
                ++malformed;
            break;
        case TopicKind::Commands:
            break;
        }
    });
    for (const char *kind : {"status", "state", "telemetry"})
        QVERIFY(watcher->subscribe(QStringLiteral("+/") + QLatin1String(kind), 1));
    // The broker handles one connection's packets in order: once our own marker comes back, the
    // subscriptions are in place.
    QVERIFY(watcher->publish(QStringLiteral("fssync/status"), "online", 1));
    QTRY_COMPARE_WITH_TIMEOUT(status.value(QStringLiteral("fssync")), QStringLiteral("online"),
                              TimeoutMs);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString sentPath = dir.filePath(QStringLiteral("sent.tsv"));
    Fleet fleet;
    // QoS 1 for the first 2 s of each connection, QoS 0 after it: both paths are counted.
    QVERIFY(fleet.start({QStringLiteral("--host"),           m_broker.host(),
                         QStringLiteral("--port"),           QString::number(m_broker.port()),
                         QStringLiteral("--count"),          QString::number(Devices),
                         QStringLiteral("--prefix"),         QStringLiteral("fs"),
                         QStringLiteral("--rate"),           QStringLiteral("5"),
                         QStringLiteral("--seconds"),        QStringLiteral("8"),
                         QStringLiteral("--kill-share"),     QStringLiteral("0.1"),
                         QStringLiteral("--kill-at"),        QStringLiteral("4"),
                         QStringLiteral("--qos1-window-ms"), QStringLiteral("2000"),
                         QStringLiteral("--sent-file"),      sentPath}));
    QStringList ids;
    for (int i = 1; i <= Devices; ++i)
        ids << QStringLiteral("fs%1").arg(i, 2, 10, QLatin1Char('0'));
    // Every tenth: floor((i + 1) * 0.1) steps up at device numbers 10, 20, ...
    const QStringList killed = {QStringLiteral("fs10"), QStringLiteral("fs20"),
                                QStringLiteral("fs30"), QStringLiteral("fs40"),
                                QStringLiteral("fs50")};

    // Retained "online" and a state from every device, with an instance token.
    auto allOnline = [&] {
        for (const QString &id : ids) {
            if (status.value(id) != QLatin1String("online") || !state.contains(id))
                return false;
        }
        return true;
    };
    QTRY_VERIFY_WITH_TIMEOUT(allOnline(), TimeoutMs);
    QVERIFY(!state.value(QStringLiteral("fs07")).instance.isEmpty());
    QVERIFY(fleet.output().contains(QStringLiteral("all 50 connected")));

    // A command is obeyed and confirmed by the retained state: a manual override, then auto.
    QVERIFY(watcher->publish(commandsTopic(QStringLiteral("fs07")), "{\"led_on\": true}", 1));
    QTRY_VERIFY_WITH_TIMEOUT(state.value(QStringLiteral("fs07")).mode == Mode::Manual &&
                                 state.value(QStringLiteral("fs07")).ledOn,
                             TimeoutMs);
    QVERIFY(watcher->publish(commandsTopic(QStringLiteral("fs07")), "{\"mode\": \"auto\"}", 1));
    QTRY_COMPARE_WITH_TIMEOUT(state.value(QStringLiteral("fs07")).mode, Mode::Auto, TimeoutMs);
    // A bad one changes nothing and is not counted as applied.
    QVERIFY(watcher->publish(commandsTopic(QStringLiteral("fs08")), "{\"led_on\": 1}", 1));

    // The killed share: their Last Wills arrive while the others are still online.
    QTRY_VERIFY_WITH_TIMEOUT(fleet.output().contains(QStringLiteral("killed 5 devices")),
                             TimeoutMs);
    auto killedOffline = [&] {
        for (const QString &id : killed) {
            if (status.value(id) != QLatin1String("offline"))
                return false;
        }
        return true;
    };
    QTRY_VERIFY_WITH_TIMEOUT(killedOffline(), TimeoutMs);
    QCOMPARE(fleet.process.state(), QProcess::Running);
    for (const QString &id : ids) {
        if (!killed.contains(id))
            QCOMPARE(status.value(id), QStringLiteral("online"));
    }

    // The end: exit 0 and a summary line.
    QSignalSpy finished(&fleet.process, &QProcess::finished);
    QVERIFY(finished.wait(TimeoutMs));
    QCOMPARE(fleet.process.exitStatus(), QProcess::NormalExit);
    QVERIFY2(fleet.process.exitCode() == 0, qPrintable(fleet.errors()));
    QVERIFY2(fleet.output().contains(QStringLiteral("50 connected at the peak")),
             qPrintable(fleet.output()));
    QVERIFY2(fleet.output().contains(QStringLiteral("1 bad")), qPrintable(fleet.output()));
    QVERIFY2(fleet.output().contains(QStringLiteral(" 0 errors")), qPrintable(fleet.output()));

    // The sent file: every device, the killed ones as such, everyone expected offline.
    const QHash<QString, SentLine> sent = readSentFile(sentPath);
    QCOMPARE(sent.size(), Devices);
    for (const QString &id : ids) {
        QVERIFY2(sent.contains(id), qPrintable(id));
        QCOMPARE(sent[id].expected, QStringLiteral("offline"));
        QCOMPARE(sent[id].how,
                 killed.contains(id) ? QStringLiteral("killed") : QStringLiteral("clean"));
        QVERIFY2(sent[id].sent >= 10, qPrintable(id)); // 5/s: 20 in 4 s for a killed one
        // Unacknowledged QoS 1 samples: only a killed device can leave some (a clean end waits
        // for their PUBACKs, which a local mosquitto sends at once).
        if (killed.contains(id))
            QVERIFY2(sent[id].unconfirmed >= 0 && sent[id].unconfirmed <= sent[id].sent,
                     qPrintable(id));
        else
            QCOMPARE(sent[id].unconfirmed, 0);
    }
    QCOMPARE(sent[QStringLiteral("fs07")].commands, 2);
    QCOMPARE(sent[QStringLiteral("fs08")].commands, 0);

    // On the wire: "offline" for all, the LED off in the clean ones' last state, and exactly the
    // samples the file says were sent.
    auto allOffline = [&] {
        for (const QString &id : ids) {
            if (status.value(id) != QLatin1String("offline"))
                return false;
        }
        return true;
    };
    QTRY_VERIFY_WITH_TIMEOUT(allOffline(), TimeoutMs);
    auto counted = [&] {
        QHash<QString, qint64> expected;
        for (auto it = sent.cbegin(); it != sent.cend(); ++it)
            expected.insert(it.key(), it->sent);
        return expected;
    }();
    QTRY_COMPARE_WITH_TIMEOUT(telemetry, counted, TimeoutMs);
    for (const QString &id : ids) {
        if (!killed.contains(id))
            QVERIFY2(!state.value(id).ledOn, qPrintable(id));
    }
    QCOMPARE(malformed, 0);
}

void TestFleetSim::badOptions_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    QTest::newRow("no devices") << QStringList{QStringLiteral("--count"), QStringLiteral("0")}
                                << QStringLiteral("--count must be a number");
    QTest::newRow("negative rate") << QStringList{QStringLiteral("--rate"), QStringLiteral("-1")}
                                   << QStringLiteral("--rate must be a number");
    QTest::newRow("kill share over 1")
        << QStringList{QStringLiteral("--kill-share"), QStringLiteral("1.5")}
        << QStringLiteral("--kill-share must be a number");
    QTest::newRow("prefix with a slash")
        << QStringList{QStringLiteral("--prefix"), QStringLiteral("a/b")}
        << QStringLiteral("--prefix makes invalid device ids");
    QTest::newRow("unknown option")
        << QStringList{QStringLiteral("--bogus")} << QStringLiteral("bogus");
}

void TestFleetSim::badOptions()
{
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    Fleet fleet;
    QVERIFY(fleet.start(args));
    QVERIFY(fleet.process.waitForFinished(TimeoutMs));
    QCOMPARE(fleet.process.exitCode(), 2);
    QVERIFY2(fleet.errors().contains(message), qPrintable(fleet.errors()));
}

void TestFleetSim::tooFewDescriptors()
{
    // 1,000 devices need about 3,000 descriptors; with a hard limit of 256 it says so at once,
    // before any connection.
    Fleet fleet;
    QVERIFY(fleet.start({QStringLiteral("--port"), QString::number(m_broker.port()),
                         QStringLiteral("--count"), QStringLiteral("1000")},
                        {QStringLiteral("prlimit"), QStringLiteral("--nofile=256:256")}));
    QVERIFY(fleet.process.waitForFinished(TimeoutMs));
    QCOMPARE(fleet.process.exitCode(), 2);
    QVERIFY2(fleet.errors().contains(QStringLiteral("file descriptors")),
             qPrintable(fleet.errors()));
    QVERIFY(!fleet.output().contains(QStringLiteral("connected")));
}

QTEST_GUILESS_MAIN(TestFleetSim)
#include "tst_fleetsim.moc"
