// Nightlight, the device's rule, with a fake sensor and a fake LED: no broker, no timers to wait
// for (ticks are driven by hand), a fixed clock.

#include "led.h"
#include "lightsensor.h"
#include "nightlight.h"
#include "protocol.h"

#include <QRegularExpression>
#include <QSignalSpy>
#include <QTest>

#include <initializer_list>
#include <limits>

using namespace nightlight;

namespace {

class FakeSensor : public LightSensor
{
    Q_OBJECT
public:
    QString backendName() const override { return QStringLiteral("fake"); }
    void requestReading() override
    {
        ++requests;
        if (failNext)
            emit readingFailed(QStringLiteral("fake failure"));
        else
            emit readingReady(next);
    }
    bool isBusy() const override { return busy; }

    double next = 0;
    bool busy = false;
    bool failNext = false;
    int requests = 0;
};

class FakeLed : public Led
{
    Q_OBJECT
public:
    QString backendName() const override { return QStringLiteral("fake"); }
    void setOn(bool on) override
    {
        m_on = on;
        ++calls;
    }
    bool isOn() const override { return m_on; }

    int calls = 0;

private:
    bool m_on = false;
};

// A sensor, an LED and the rule, with a clock that advances 1000 ms per reading.
struct Rig
{
    Rig()
    {
        nightlight.setClock([this] { return now += 1000; });
        nightlight.setConnected(true);
    }
    void read(double light)
    {
        sensor.next = light;
        nightlight.tick();
    }
    // "r:123" a reading, "c:{...}" a command payload.
    void step(const QString &s)
    {
        if (s.startsWith(QLatin1String("r:")))
            read(s.mid(2).toDouble());
        else if (s.startsWith(QLatin1String("c:")))
            QVERIFY2(nightlight.handleCommand(s.mid(2).toUtf8()), qPrintable(s));
        else
            QFAIL(qPrintable(QStringLiteral("bad step ") + s));
    }

    qint64 now = 1795527578000;
    FakeSensor sensor;
    FakeLed led;
    Nightlight nightlight{&sensor, &led};
    QSignalSpy telemetry{&nightlight, &Nightlight::telemetryReady};
    QSignalSpy states{&nightlight, &Nightlight::stateChanged};
};

DeviceState lastState(const QSignalSpy &spy)
{
    return spy.isEmpty() ? DeviceState{} : spy.last().at(0).value<DeviceState>();
}

} // namespace

class TestNightlight : public QObject
{
    Q_OBJECT

private slots:
    void defaults();
    void rule_data();
    void rule();
    void commands_data();
    void commands();
    void badCommands_data();
    void badCommands();
    void statePublishedOnEveryChange();
    void telemetryCarriesTimestamps();
    void bufferWhileDisconnected();
    void bufferDropsOldest();
    void busySensorSkipsTick();
    void readingFailureIsCounted();
    void readingOutsideContract_data();
    void readingOutsideContract();
    void readingFailuresLogOncePerRun_data();
    void readingFailuresLogOncePerRun();
    void badCommandFloodIsThrottled();
    void badCommandSummaryByTimer();
    void startTicksAtOnce();
    void timerTicksAtInterval();
    void intervalIsClamped();
};

void TestNightlight::defaults()
{
    Rig rig;
    QCOMPARE(rig.nightlight.interval(), 5000);
    QCOMPARE(rig.nightlight.threshold(), 300.0);
    QCOMPARE(rig.nightlight.hysteresis(), 20.0);
    QCOMPARE(rig.nightlight.bufferSize(), 10000);
    QCOMPARE(rig.nightlight.mode(), Mode::Auto);
    QVERIFY(!rig.nightlight.isLedOn());
    QVERIFY(!rig.nightlight.lastLight());
    QCOMPARE(rig.nightlight.state().unit, QString());
}

void TestNightlight::rule_data()
{
    QTest::addColumn<QList<double>>("readings");
    QTest::addColumn<QList<bool>>("expected"); // LED after each reading

    QTest::newRow("299 turns on") << QList<double>{299} << QList<bool>{true};
    QTest::newRow("299.9 turns on") << QList<double>{299.9} << QList<bool>{true};
    QTest::newRow("0 turns on") << QList<double>{0} << QList<bool>{true};
    QTest::newRow("300 from off stays off") << QList<double>{300} << QList<bool>{false};
    QTest::newRow("319 from off stays off") << QList<double>{319} << QList<bool>{false};
    QTest::newRow("on then 300 keeps on") << QList<double>{299, 300} << QList<bool>{true, true};
    QTest::newRow("on then 319 keeps on") << QList<double>{299, 319} << QList<bool>{true, true};
    QTest::newRow("on then 319.99 keeps on")
        << QList<double>{299, 319.99} << QList<bool>{true, true};
    QTest::newRow("on then 320 turns off") << QList<double>{299, 320} << QList<bool>{true, false};
    QTest::newRow("on then 1000 turns off") << QList<double>{10, 1000} << QList<bool>{true, false};
    QTest::newRow("off then 299 turns on")
        << QList<double>{500, 300, 299} << QList<bool>{false, false, true};
    QTest::newRow("band both ways") << QList<double>{299, 310, 320, 310, 299, 319}
                                    << QList<bool>{true, true, false, false, true, true};
    QTest::newRow("dark bright dark")
        << QList<double>{0, 1000, 0} << QList<bool>{true, false, true};
}

void TestNightlight::rule()
{
    QFETCH(QList<double>, readings);
    QFETCH(QList<bool>, expected);
    Rig rig;
    for (int i = 0; i < readings.size(); ++i) {
        rig.read(readings[i]);
        QCOMPARE(rig.led.isOn(), expected[i]);
        QCOMPARE(rig.nightlight.mode(), Mode::Auto);
        QCOMPARE(rig.nightlight.lastLight(), readings[i]);
        QCOMPARE(rig.telemetry.size(), i + 1);
        QCOMPARE(rig.states.size(), i + 1); // each tick refreshes the state
        QCOMPARE(lastState(rig.states).ledOn, expected[i]);
    }
    // setOn only on a change: count the changes.
    int changes = 0;
    bool prev = false;
    for (bool e : expected) {
        changes += e != prev;
        prev = e;
    }
    QCOMPARE(rig.led.calls, changes);
}

void TestNightlight::commands_data()
{
    QTest::addColumn<QStringList>("steps");
    QTest::addColumn<bool>("ledOn");
    QTest::addColumn<Mode>("mode");
    QTest::addColumn<double>("threshold");

    const auto row = [](const char *name, std::initializer_list<const char *> steps, bool led,
                        Mode mode, double t) {
        QStringList list;
        for (const char *s : steps)
            list << QString::fromUtf8(s);
        QTest::newRow(name) << list << led << mode << t;
    };
    row("led_on true in bright light", {"r:800", "c:{\"led_on\": true}"}, true, Mode::Manual, 300);
    row("led_on false in the dark", {"r:100", "c:{\"led_on\": false}"}, false, Mode::Manual, 300);
    row("led_on without any reading", {"c:{\"led_on\": true}"}, true, Mode::Manual, 300);
    row("manual survives readings", {"r:100", "c:{\"led_on\": false}", "r:50", "r:0"}, false,
        Mode::Manual, 300);
    row("manual on survives bright readings", {"r:900", "c:{\"led_on\": true}", "r:1000"}, true,
        Mode::Manual, 300);
    row("back to auto applies the last reading at once",
        {"r:100", "c:{\"led_on\": false}", "c:{\"mode\": \"auto\"}"}, true, Mode::Auto, 300);
    row("back to auto in bright light turns off",
        {"r:900", "c:{\"led_on\": true}", "c:{\"mode\": \"auto\"}"}, false, Mode::Auto, 300);
    row("back to auto inside the band keeps the LED",
        {"r:310", "c:{\"led_on\": true}", "c:{\"mode\": \"auto\"}"}, true, Mode::Auto, 300);
    row("back to auto without a reading keeps the LED",
        {"c:{\"led_on\": true}", "c:{\"mode\": \"auto\"}"}, true, Mode::Auto, 300);
    row("mode manual keeps the LED", {"r:100", "c:{\"mode\": \"manual\"}", "r:900"}, true,
        Mode::Manual, 300);
    row("auto rule resumes after auto",
        {"r:100", "c:{\"led_on\": false}", "c:{\"mode\": \"auto\"}", "r:900"}, false, Mode::Auto,
        300);
    row("threshold raised turns on", {"r:400", "c:{\"threshold\": 500}"}, true, Mode::Auto, 500);
    row("threshold lowered turns off", {"r:250", "c:{\"threshold\": 100}"}, false, Mode::Auto, 100);
    row("threshold lowered into the band keeps on", {"r:250", "c:{\"threshold\": 240}"}, true,
        Mode::Auto, 240);
    row("threshold in manual does not switch",
        {"r:400", "c:{\"led_on\": false}", "c:{\"threshold\": 500}"}, false, Mode::Manual, 500);
    row("threshold with mode auto",
        {"r:400", "c:{\"led_on\": false}", "c:{\"mode\": \"auto\", \"threshold\": 500}"}, true,
        Mode::Auto, 500);
    row("threshold 0 means never on", {"c:{\"threshold\": 0}", "r:0"}, false, Mode::Auto, 0);
    row("led_on with mode manual", {"r:900", "c:{\"led_on\": true, \"mode\": \"manual\"}"}, true,
        Mode::Manual, 300);
    row("led_on with threshold", {"r:900", "c:{\"led_on\": true, \"threshold\": 42}"}, true,
        Mode::Manual, 42);
    row("unknown keys are ignored", {"r:900", "c:{\"led_on\": true, \"colour\": \"red\"}"}, true,
        Mode::Manual, 300);
    row("lesson server command",
        {"r:120", "c:{\"led_on\": true}", "r:900", "c:{\"led_on\": false}"}, false, Mode::Manual,
        300);
}

void TestNightlight::commands()
{
    QFETCH(QStringList, steps);
    QFETCH(bool, ledOn);
    QFETCH(Mode, mode);
    QFETCH(double, threshold);
    Rig rig;
    for (const QString &s : steps) {
        const qsizetype before = rig.states.size();
        rig.step(s);
        // A command is confirmed by exactly one state, in the same event-loop turn.
        QCOMPARE(rig.states.size(), before + 1);
        QCOMPARE(lastState(rig.states), rig.nightlight.state());
    }
    QCOMPARE(rig.led.isOn(), ledOn);
    QCOMPARE(rig.nightlight.mode(), mode);
    QCOMPARE(rig.nightlight.threshold(), threshold);
    const DeviceState s = lastState(rig.states);
    QCOMPARE(s.ledOn, ledOn);
    QCOMPARE(s.mode, mode);
    QCOMPARE(s.threshold, threshold);
    QCOMPARE(rig.nightlight.badCommandCount(), 0);
}

void TestNightlight::badCommands_data()
{
    QTest::addColumn<QByteArray>("payload");

    QTest::newRow("empty payload") << QByteArray();
    QTest::newRow("not json") << QByteArray("turn it on");
    QTest::newRow("truncated json") << QByteArray("{\"led_on\": tru");
    QTest::newRow("array") << QByteArray("[{\"led_on\": true}]");
    QTest::newRow("string") << QByteArray("\"led_on\"");
    QTest::newRow("number") << QByteArray("42");
    QTest::newRow("null") << QByteArray("null");
    QTest::newRow("bare true") << QByteArray("true");
    QTest::newRow("empty object") << QByteArray("{}");
    QTest::newRow("only unknown keys") << QByteArray("{\"colour\": \"red\"}");
    QTest::newRow("led_on is a string") << QByteArray("{\"led_on\": \"true\"}");
    QTest::newRow("led_on is a number") << QByteArray("{\"led_on\": 1}");
    QTest::newRow("led_on is null") << QByteArray("{\"led_on\": null}");
    QTest::newRow("led_on is an object") << QByteArray("{\"led_on\": {\"on\": true}}");
    QTest::newRow("mode is unknown") << QByteArray("{\"mode\": \"dim\"}");
    QTest::newRow("mode is a number") << QByteArray("{\"mode\": 1}");
    QTest::newRow("mode is empty") << QByteArray("{\"mode\": \"\"}");
    QTest::newRow("threshold is a string") << QByteArray("{\"threshold\": \"300\"}");
    QTest::newRow("threshold is a bool") << QByteArray("{\"threshold\": true}");
    QTest::newRow("threshold is negative") << QByteArray("{\"threshold\": -1}");
    QTest::newRow("threshold is huge") << QByteArray("{\"threshold\": 1e300}");
    QTest::newRow("led_on with mode auto") << QByteArray("{\"led_on\": true, \"mode\": \"auto\"}");
    QTest::newRow("good led_on, bad threshold")
        << QByteArray("{\"led_on\": false, \"threshold\": \"x\"}");
    QTest::newRow("invalid utf-8") << QByteArray("{\"mode\": \"\xff\xfe\"}");
    QTest::newRow("too large") << QByteArray("{\"led_on\": false, \"pad\": \"" +
                                             QByteArray(70000, 'x') + "\"}");
}

void TestNightlight::badCommands()
{
    QFETCH(QByteArray, payload);
    Rig rig;
    rig.read(100); // auto, LED on
    QVERIFY(rig.led.isOn());
    const DeviceState before = rig.nightlight.state();
    const int calls = rig.led.calls;
    const qsizetype states = rig.states.size();
    QSignalSpy rejected(&rig.nightlight, &Nightlight::commandRejected);

    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("^ignored bad command \\(.+\\): .+; "
                                                           "1 bad commands so far$")));
    QVERIFY(!rig.nightlight.handleCommand(payload));

    QCOMPARE(rig.nightlight.badCommandCount(), 1);
    QCOMPARE(rejected.size(), 1);
    QVERIFY(rejected.first().at(0).value<DecodeError>() != DecodeError::None);
    QCOMPARE(rig.nightlight.state(), before);
    QCOMPARE(rig.led.calls, calls);
    QCOMPARE(rig.states.size(), states); // nothing changed: nothing published

    // Still obeys the next good command.
    QVERIFY(rig.nightlight.handleCommand("{\"led_on\": false}"));
    QVERIFY(!rig.led.isOn());
    QCOMPARE(rig.nightlight.mode(), Mode::Manual);
    QCOMPARE(rig.nightlight.badCommandCount(), 1);
}

void TestNightlight::statePublishedOnEveryChange()
{
    Rig rig;
    rig.sensor.next = 412;
    rig.nightlight.tick();
    QCOMPARE(rig.states.size(), 1);
    DeviceState s = lastState(rig.states);
    QCOMPARE(s.light, 412.0);
    QCOMPARE(s.ts, rig.now);
    QCOMPARE(s.mode, Mode::Auto);
    QVERIFY(!s.ledOn);

    rig.nightlight.handleCommand("{\"threshold\": 500}"); // change of threshold -> LED on
    QCOMPARE(rig.states.size(), 2);
    s = lastState(rig.states);
    QCOMPARE(s.threshold, 500.0);
    QVERIFY(s.ledOn);

    rig.nightlight.handleCommand("{\"mode\": \"manual\"}"); // change of mode
    QCOMPARE(rig.states.size(), 3);
    QCOMPARE(lastState(rig.states).mode, Mode::Manual);
    QVERIFY(lastState(rig.states).ledOn);

    rig.nightlight.handleCommand("{\"led_on\": false}"); // change of LED
    QCOMPARE(rig.states.size(), 4);
    QVERIFY(!lastState(rig.states).ledOn);

    // The encoded form carries every field of the contract.
    const auto decoded = decodeState(encodeState(lastState(rig.states)));
    QVERIFY2(decoded.isValid(), qPrintable(decoded.errorString()));
    QCOMPARE(*decoded, lastState(rig.states));
}

void TestNightlight::telemetryCarriesTimestamps()
{
    Rig rig;
    rig.read(10);
    rig.read(20);
    QCOMPARE(rig.telemetry.size(), 2);
    const auto t0 = rig.telemetry.at(0).at(0).value<Telemetry>();
    const auto t1 = rig.telemetry.at(1).at(0).value<Telemetry>();
    QCOMPARE(t0, (Telemetry{10, 1795527579000}));
    QCOMPARE(t1, (Telemetry{20, 1795527580000}));
}

void TestNightlight::bufferWhileDisconnected()
{
    Rig rig;
    rig.nightlight.setConnected(false);
    for (int i = 0; i < 5; ++i)
        rig.read(100 + i);
    QCOMPARE(rig.telemetry.size(), 0);
    QCOMPARE(rig.nightlight.bufferedCount(), 5);
    // The rule did not wait for the network.
    QVERIFY(rig.led.isOn());
    QCOMPARE(rig.states.size(), 5);

    rig.nightlight.setConnected(true);
    QCOMPARE(rig.telemetry.size(), 5);
    QCOMPARE(rig.nightlight.bufferedCount(), 0);
    for (int i = 0; i < 5; ++i) {
        const auto t = rig.telemetry.at(i).at(0).value<Telemetry>();
        QCOMPARE(t.light, 100.0 + i);
        QCOMPARE(t.ts, 1795527578000 + 1000 * (i + 1)); // the original ts, in order
    }
    rig.read(7);
    QCOMPARE(rig.telemetry.size(), 6); // live again
    QCOMPARE(rig.nightlight.droppedSampleCount(), 0);
}

void TestNightlight::bufferDropsOldest()
{
    Rig rig;
    rig.nightlight.setBufferSize(3);
    rig.nightlight.setConnected(false);
    QTest::ignoreMessage(QtWarningMsg,
                         "telemetry buffer full (3 samples): dropped 1 oldest so far");
    for (int i = 1; i <= 5; ++i)
        rig.read(i);
    QCOMPARE(rig.nightlight.bufferedCount(), 3);
    QCOMPARE(rig.nightlight.droppedSampleCount(), 2);
    rig.nightlight.setConnected(true);
    QCOMPARE(rig.telemetry.size(), 3);
    QCOMPARE(rig.telemetry.at(0).at(0).value<Telemetry>().light, 3.0);
    QCOMPARE(rig.telemetry.at(2).at(0).value<Telemetry>().light, 5.0);
}

void TestNightlight::busySensorSkipsTick()
{
    Rig rig;
    rig.sensor.busy = true;
    rig.nightlight.tick();
    rig.nightlight.tick();
    QCOMPARE(rig.sensor.requests, 0);
    QCOMPARE(rig.nightlight.skippedTickCount(), 2);
    rig.sensor.busy = false;
    rig.read(5);
    QCOMPARE(rig.sensor.requests, 1);
    QCOMPARE(rig.telemetry.size(), 1);
}

void TestNightlight::readingFailureIsCounted()
{
    Rig rig;
    rig.read(100);
    rig.sensor.failNext = true;
    QTest::ignoreMessage(QtWarningMsg, "reading failed: fake failure; 1 failed readings so far");
    rig.nightlight.tick();
    QCOMPARE(rig.nightlight.readingFailureCount(), 1);
    QCOMPARE(rig.telemetry.size(), 1); // no sample invented
    QVERIFY(rig.led.isOn()); // LED left as it was
    rig.sensor.failNext = false;
    rig.read(900);
    QVERIFY(!rig.led.isOn());
}

// The messages of category nightlight.device while it is alive, by type.
class LogCapture
{
public:
    LogCapture() : m_previous(qInstallMessageHandler(handler)) { s_current = this; }
    ~LogCapture()
    {
        qInstallMessageHandler(m_previous);
        s_current = nullptr;
    }
    QStringList warnings;
    QStringList infos;

private:
    static void handler(QtMsgType type, const QMessageLogContext &context, const QString &text)
    {
        if (!s_current || qstrcmp(context.category, "nightlight.device") != 0)
            return;
        if (type == QtWarningMsg)
            s_current->warnings.append(text);
        else if (type == QtInfoMsg)
            s_current->infos.append(text);
    }
    static inline LogCapture *s_current = nullptr;
    QtMessageHandler m_previous;
};

void TestNightlight::readingOutsideContract_data()
{
    QTest::addColumn<double>("light");
    QTest::addColumn<bool>("valid"); // finite and 0..MaxLevel (PROTOCOL.md)
    QTest::addColumn<bool>("ledOn"); // after the reading, with the LED on before it

    QTest::newRow("NaN") << std::numeric_limits<double>::quiet_NaN() << false << true;
    QTest::newRow("inf") << std::numeric_limits<double>::infinity() << false << true;
    QTest::newRow("-inf") << -std::numeric_limits<double>::infinity() << false << true;
    QTest::newRow("-1") << -1.0 << false << true;
    QTest::newRow("1e7") << 1e7 << false << true;
    QTest::newRow("CounterFit 5e9") << 5e9 << false << true;
    QTest::newRow("0") << 0.0 << true << true;
    QTest::newRow("MaxLevel 1e6") << MaxLevel << true << false;
}

// A reading outside the contract is a failed reading: counted, logged, no telemetry, no state,
// LED unchanged.
void TestNightlight::readingOutsideContract()
{
    QFETCH(double, light);
    QFETCH(bool, valid);
    QFETCH(bool, ledOn);
    Rig rig;
    rig.read(100);
    QVERIFY(rig.led.isOn());
    const qsizetype states = rig.states.size();
    LogCapture log;
    rig.read(light);
    QCOMPARE(rig.nightlight.readingFailureCount(), valid ? 0 : 1);
    QCOMPARE(rig.telemetry.size(), valid ? 2 : 1);
    QCOMPARE(rig.states.size(), valid ? states + 1 : states);
    QCOMPARE(rig.led.isOn(), ledOn);
    QCOMPARE(log.warnings.size(), valid ? 0 : 1);
    if (valid) {
        QCOMPARE(rig.telemetry.last().at(0).value<Telemetry>().light, light);
        QCOMPARE(*lastState(rig.states).light, light);
    } else {
        QVERIFY2(log.warnings.first().startsWith(QLatin1String("reading failed: ")) &&
                     log.warnings.first().contains(QLatin1String("is not a light level in 0..")),
                 qPrintable(log.warnings.first()));
        QCOMPARE(*lastState(rig.states).light, 100.0); // the last good reading
        // Everything that was published still decodes.
        QVERIFY(decodeTelemetry(encodeTelemetry(rig.telemetry.last().at(0).value<Telemetry>())));
        QVERIFY(decodeState(encodeState(rig.nightlight.state())));
    }
}

void TestNightlight::readingFailuresLogOncePerRun_data()
{
    QTest::addColumn<QString>("steps"); // f: a failed reading, r: a good one
    QTest::addColumn<int>("warnings");
    QTest::addColumn<int>("infos"); // "readings work again"
    QTest::addColumn<int>("failures"); // readingFailureCount()

    QTest::newRow("one failure") << QStringLiteral("f") << 1 << 0 << 1;
    QTest::newRow("sensor stays away for 50 ticks")
        << QString(50, QLatin1Char('f')) << 1 << 0 << 50;
    QTest::newRow("away, then back") << QStringLiteral("fffr") << 1 << 1 << 3;
    QTest::newRow("two outages") << QStringLiteral("ffrrfffr") << 2 << 2 << 5;
    QTest::newRow("good readings only") << QStringLiteral("rrr") << 0 << 0 << 0;
}

void TestNightlight::readingFailuresLogOncePerRun()
{
    QFETCH(QString, steps);
    QFETCH(int, warnings);
    QFETCH(int, infos);
    QFETCH(int, failures);
    Rig rig;
    LogCapture log;
    for (const QChar step : steps) {
        rig.sensor.failNext = step == QLatin1Char('f');
        rig.read(500);
    }
    QCOMPARE(rig.nightlight.readingFailureCount(), failures);
    QCOMPARE(log.warnings.size(), warnings);
    for (const QString &w : log.warnings)
        QVERIFY2(w.startsWith(QLatin1String("reading failed: fake failure; ")), qPrintable(w));
    QCOMPARE(log.infos.size(), infos);
    for (const QString &i : log.infos)
        QVERIFY2(i.startsWith(QLatin1String("readings work again after ")), qPrintable(i));
}

void TestNightlight::badCommandFloodIsThrottled()
{
    // A peer sending bad commands as fast as it can: 5 lines in full, then one summary per
    // interval with the device's running count, and what is left at destruction (#9).
    LogCapture log;
    {
        Rig rig;
        qint64 monotonic = 0;
        rig.nightlight.logThrottle().setClock([&monotonic] { return monotonic; });
        for (int i = 0; i < 1000; ++i)
            QVERIFY(!rig.nightlight.handleCommand("{\"led_on\": 1}"));
        QCOMPARE(rig.nightlight.badCommandCount(), 1000);
        QCOMPARE(log.warnings.size(), 5);
        QCOMPARE(log.warnings.last(),
                 QStringLiteral("ignored bad command (wrong type): led_on must be a bool; 5 bad "
                                "commands so far"));
        // A minute later the next one brings the summary, counting itself.
        monotonic += 60000;
        QVERIFY(!rig.nightlight.handleCommand("[]"));
        QCOMPARE(log.warnings.size(), 6);
        QCOMPARE(log.warnings.last(),
                 QStringLiteral("bad commands: 996 more in the last 60 s (1001 so far); last: not "
                                "a JSON object: payload is not a JSON object"));
        QVERIFY(!rig.nightlight.handleCommand("{}"));
        QCOMPARE(log.warnings.size(), 6);
        // Good commands are not throttled and do not count.
        QVERIFY(rig.nightlight.handleCommand("{\"led_on\": true}"));
        QCOMPARE(rig.nightlight.badCommandCount(), 1002);
    }
    // Destroyed (the device's shutdown): the last one is not lost.
    QCOMPARE(log.warnings.size(), 7);
    QCOMPARE(log.warnings.last(),
             QStringLiteral("bad commands: 1 more in the last 0.0 s (1002 so far); last: no "
                            "command: command has none of led_on, mode, threshold"));
}

void TestNightlight::badCommandSummaryByTimer()
{
    // No bad command follows: the summary comes from the rule's timer, an interval after the
    // last line.
    LogCapture log;
    Rig rig;
    rig.nightlight.logThrottle().setInterval(50);
    for (int i = 0; i < 8; ++i)
        QVERIFY(!rig.nightlight.handleCommand("garbage"));
    QTRY_COMPARE(log.warnings.size(), 6);
    const QString summary = log.warnings.last();
    QVERIFY2(summary.startsWith(QLatin1String("bad commands: 3 more in the last ")),
             qPrintable(summary));
    QVERIFY2(summary.contains(QLatin1String(" s (8 so far); last: not JSON: payload is not JSON")),
             qPrintable(summary));
}

void TestNightlight::startTicksAtOnce()
{
    Rig rig;
    rig.sensor.next = 50;
    rig.nightlight.start();
    // Before start() returned: no wait of one interval for the first sample.
    QCOMPARE(rig.sensor.requests, 1);
    QCOMPARE(rig.telemetry.size(), 1);
    QVERIFY(rig.led.isOn());
    QVERIFY(rig.nightlight.isRunning());
    rig.nightlight.stop();
    QVERIFY(!rig.nightlight.isRunning());
}

void TestNightlight::timerTicksAtInterval()
{
    Rig rig;
    rig.nightlight.setInterval(50);
    rig.nightlight.start();
    QCOMPARE(rig.telemetry.size(), 1);
    QElapsedTimer elapsed;
    elapsed.start();
    QVERIFY(rig.telemetry.wait(2000));
    QVERIFY(rig.telemetry.size() >= 2);
    QVERIFY2(elapsed.elapsed() >= 40, QByteArray::number(elapsed.elapsed()).constData());
}

void TestNightlight::intervalIsClamped()
{
    Rig rig;
    rig.nightlight.setInterval(10);
    QCOMPARE(rig.nightlight.interval(), Nightlight::MinIntervalMs);
    rig.nightlight.setInterval(1000);
    QCOMPARE(rig.nightlight.interval(), 1000);
}

QTEST_GUILESS_MAIN(TestNightlight)
#include "tst_nightlight.moc"
