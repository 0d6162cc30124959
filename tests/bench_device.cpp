// bench_device: nightlight-device measured as a black box over a real mosquitto (TestBroker).
//   - command -> confirmed state latency (p50/p99 over N commands), beside a bare libmosquitto
//     echo client (subscribe, republish) in the same run, both with TCP_NODELAY;
//   - CPU time per 1,000 ticks at --interval-ms 50 (/proc/<pid>/stat utime+stime, and the
//     threads' /proc/<pid>/task/*/schedstat run time for sub-tick resolution);
//   - resident memory (VmRSS);
//   - time from process start to the first telemetry message.
// Prints a markdown table. Not a test: run it through scripts/bench-device.sh.
//
// The probe and the echo client use libmosquitto directly (their own network threads), so the
// numbers do not include our MqttClient's hand-over to a Qt thread on the measuring side.

#include "procstatus.h"
#include "protocol.h"
#include "testbroker.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QStringList>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <mosquitto.h>
#include <unistd.h>

using namespace nightlight;
using Clock = std::chrono::steady_clock;

namespace {

struct Message
{
    std::string topic;
    QByteArray payload;
    Clock::time_point at;
};

// A libmosquitto client on its own network thread; received messages wait in an inbox.
class Probe
{
public:
    Probe() = default;
    Probe(const Probe &) = delete;
    Probe &operator=(const Probe &) = delete;
    ~Probe()
    {
        if (m_mosq) {
            mosquitto_disconnect(m_mosq);
            mosquitto_loop_stop(m_mosq, false);
            mosquitto_destroy(m_mosq);
        }
    }

    // onMessage, if set, runs on the network thread instead of the inbox (the echo client).
    bool connect(int port,
                 std::function<void(mosquitto *, const mosquitto_message *)> onMessage = {})
    {
        m_onMessage = std::move(onMessage);
        m_mosq = mosquitto_new(nullptr, true, this);
        mosquitto_int_option(m_mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_int_option(m_mosq, MOSQ_OPT_TCP_NODELAY, 1);
        mosquitto_max_inflight_messages_set(m_mosq, 100);
        mosquitto_connect_callback_set(m_mosq, [](mosquitto *, void *self, int rc) {
            auto *p = static_cast<Probe *>(self);
            std::lock_guard lock(p->m_mutex);
            p->m_connected = rc == 0;
            p->m_cv.notify_all();
        });
        mosquitto_subscribe_callback_set(m_mosq,
                                         [](mosquitto *, void *self, int, int, const int *) {
                                             auto *p = static_cast<Probe *>(self);
                                             std::lock_guard lock(p->m_mutex);
                                             ++p->m_subacks;
                                             p->m_cv.notify_all();
                                         });
        mosquitto_message_callback_set(
            m_mosq, [](mosquitto *m, void *self, const mosquitto_message *msg) {
                auto *p = static_cast<Probe *>(self);
                if (p->m_onMessage) {
                    p->m_onMessage(m, msg);
                    return;
                }
                Message in{msg->topic,
                           QByteArray(static_cast<const char *>(msg->payload), msg->payloadlen),
                           Clock::now()};
                std::lock_guard lock(p->m_mutex);
                p->m_inbox.push_back(std::move(in));
                p->m_cv.notify_all();
            });
        if (mosquitto_connect(m_mosq, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS)
            return false;
        mosquitto_loop_start(m_mosq);
        std::unique_lock lock(m_mutex);
        return m_cv.wait_for(lock, std::chrono::seconds(5), [this] { return m_connected; });
    }

    bool subscribe(const char *topic, int qos)
    {
        std::unique_lock lock(m_mutex);
        const int want = m_subacks + 1;
        lock.unlock();
        mosquitto_subscribe(m_mosq, nullptr, topic, qos);
        lock.lock();
        return m_cv.wait_for(lock, std::chrono::seconds(5), [&] { return m_subacks >= want; });
    }

    void publish(const std::string &topic, const QByteArray &payload, int qos)
    {
        mosquitto_publish(m_mosq, nullptr, topic.c_str(), int(payload.size()), payload.constData(),
                          qos, false);
    }

    // The first message (removed from the inbox, older ones dropped) that satisfies `match`.
    std::optional<Message> waitFor(const std::function<bool(const Message &)> &match,
                                   std::chrono::milliseconds timeout)
    {
        const auto deadline = Clock::now() + timeout;
        std::unique_lock lock(m_mutex);
        for (;;) {
            while (!m_inbox.empty()) {
                Message m = std::move(m_inbox.front());
                m_inbox.pop_front();
                if (match(m))
                    return m;
            }
            if (m_cv.wait_until(lock, deadline) == std::cv_status::timeout && m_inbox.empty())
                return std::nullopt;
        }
    }

    void clearInbox()
    {
        std::lock_guard lock(m_mutex);
        m_inbox.clear();
    }

private:
    mosquitto *m_mosq = nullptr;
    std::function<void(mosquitto *, const mosquitto_message *)> m_onMessage;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Message> m_inbox;
    bool m_connected = false;
    int m_subacks = 0;
};

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, size_t(p / 100.0 * double(v.size() - 1) + 0.5));
    return v[i];
}

double usSince(Clock::time_point t0, Clock::time_point t1)
{
    return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

// utime + stime in clock ticks (field 14 and 15 of /proc/<pid>/stat).
long long cpuTicks(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray s = f.readAll();
    // The command name (field 2) may contain spaces: split after its closing parenthesis.
    const QList<QByteArray> fields = s.mid(s.lastIndexOf(')') + 2).split(' ');
    return fields.value(11).toLongLong() + fields.value(12).toLongLong();
}

// Sum over the process's threads of the time spent on a CPU, in nanoseconds.
long long runTimeNs(qint64 pid)
{
    long long total = 0;
    const QDir tasks(QStringLiteral("/proc/%1/task").arg(pid));
    for (const QString &tid : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile f(tasks.filePath(tid) + QStringLiteral("/schedstat"));
        if (f.open(QIODevice::ReadOnly))
            total += f.readAll().split(' ').value(0).toLongLong();
    }
    return total;
}

class DeviceProcess
{
public:
    // `binary`: nightlight-device, or the bare C device (the same options).
    bool start(int port, const QString &id, int intervalMs,
               const QString &binary = QStringLiteral(NIGHTLIGHT_DEVICE_BIN),
               const QStringList &extra = {})
    {
        m_process.setStandardOutputFile(QProcess::nullDevice());
        m_process.setStandardErrorFile(QProcess::nullDevice());
        m_process.start(binary,
                        QStringList{QStringLiteral("--host"), QStringLiteral("127.0.0.1"),
                                    QStringLiteral("--port"), QString::number(port),
                                    QStringLiteral("--id"), id, QStringLiteral("--interval-ms"),
                                    QString::number(intervalMs)} +
                            extra);
        return m_process.waitForStarted(5000);
    }
    ~DeviceProcess()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.terminate();
            if (!m_process.waitForFinished(3000))
                m_process.kill();
            m_process.waitForFinished(3000);
        }
    }
    qint64 pid() const { return m_process.processId(); }

private:
    QProcess m_process;
};

int fail(const char *what)
{
    std::fprintf(stderr, "bench_device: %s\n", what);
    return 1;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    int commands = 1000;
    int ticks = 1000;
    int starts = 10;
    const QStringList args = QCoreApplication::arguments();
    for (int i = 1; i + 1 < args.size(); i += 2) {
        if (args[i] == QLatin1String("--commands"))
            commands = args[i + 1].toInt();
        else if (args[i] == QLatin1String("--ticks"))
            ticks = args[i + 1].toInt();
        else if (args[i] == QLatin1String("--starts"))
            starts = args[i + 1].toInt();
    }

    mosquitto_lib_init();
    TestBroker broker;
    if (!broker.start())
        return fail(qPrintable(broker.errorString()));
    const int port = broker.port();

    // --- command -> state latency, device and echo in the same run ---------------------------
    const QString id = QStringLiteral("bench");
    DeviceProcess device;
    Probe probe;
    if (!probe.connect(port))
        return fail("probe cannot connect");
    probe.subscribe((stateTopic(id)).toUtf8().constData(), 1);
    probe.subscribe("bench-echo/out", 1);
    probe.subscribe((telemetryTopic(id)).toUtf8().constData(), 0);
    // A long interval: no tick refreshes the state during the latency run.
    if (!device.start(port, id, 3600 * 1000))
        return fail("cannot start nightlight-device");
    if (!probe.waitFor([&](const Message &m) { return m.topic == stateTopic(id).toStdString(); },
                       std::chrono::seconds(10)))
        return fail("no state from the device");

    Probe echo;
    if (!echo.connect(port, [](mosquitto *m, const mosquitto_message *msg) {
            mosquitto_publish(m, nullptr, "bench-echo/out", msg->payloadlen, msg->payload, 1,
                              false);
        }))
        return fail("echo cannot connect");
    echo.subscribe("bench-echo/in", 1);

    const std::string commandsTopicName = commandsTopic(id).toStdString();
    const std::string stateTopicName = stateTopic(id).toStdString();
    std::vector<double> deviceUs;
    std::vector<double> echoUs;
    const int warmup = 50;
    probe.clearInbox();
    for (int i = 0; i < commands + warmup; ++i) {
        const bool on = i % 2 == 0;
        // Interleaved: both paths see the same machine load.
        auto t0 = Clock::now();
        probe.publish(commandsTopicName, on ? "{\"led_on\": true}" : "{\"led_on\": false}", 1);
        const auto state = probe.waitFor(
            [&](const Message &m) {
                if (m.topic != stateTopicName)
                    return false;
                const auto s = decodeState(m.payload);
                return s && s->ledOn == on && s->mode == Mode::Manual;
            },
            std::chrono::seconds(5));
        if (!state)
            return fail("no confirmed state within 5 s");
        if (i >= warmup)
            deviceUs.push_back(usSince(t0, state->at));

        const QByteArray seq = QByteArray::number(i);
        t0 = Clock::now();
        probe.publish("bench-echo/in", seq, 1);
        const auto back = probe.waitFor(
            [&](const Message &m) { return m.topic == "bench-echo/out" && m.payload == seq; },
            std::chrono::seconds(5));
        if (!back)
            return fail("no echo within 5 s");
        if (i >= warmup)
            echoUs.push_back(usSince(t0, back->at));
    }

    // --- start to first telemetry ------------------------------------------------------------
    std::vector<double> startMs;
    for (int i = 0; i < starts; ++i) {
        const QString sid = QStringLiteral("bench-start-%1").arg(i);
        const std::string topic = telemetryTopic(sid).toStdString();
        probe.subscribe(topic.c_str(), 0);
        probe.clearInbox();
        DeviceProcess d;
        const auto t0 = Clock::now();
        if (!d.start(port, sid, 5000))
            return fail("cannot start nightlight-device");
        const auto first = probe.waitFor([&](const Message &m) { return m.topic == topic; },
                                         std::chrono::seconds(10));
        if (!first)
            return fail("no first telemetry within 10 s");
        startMs.push_back(usSince(t0, first->at) / 1000);
    }

    // --- CPU per 1,000 ticks and memory, at --interval-ms 50, ours and the bare C device ------
    // One after the other in this run, on the same broker and probe: the bare device is the
    // reference for what the wire costs (#12).
    struct TickCost
    {
        double cpuMsStat = 0;
        double cpuMsSched = 0;
        double wallS = 0;
        long long rssKb = 0;
        long long privateKb = 0;
    };
    const auto measureTicks = [&](const QString &id, const QString &binary,
                                  const QStringList &extra = {}) -> std::optional<TickCost> {
        const std::string ctopic = telemetryTopic(id).toStdString();
        probe.subscribe(ctopic.c_str(), 0);
        probe.clearInbox();
        DeviceProcess device;
        if (!device.start(port, id, 50, binary, extra))
            return std::nullopt;
        const auto isTelemetry = [&](const Message &m) {
            return m.topic == ctopic;
        };
        for (int i = 0; i < 20; ++i) { // warm up: connected and ticking
            if (!probe.waitFor(isTelemetry, std::chrono::seconds(10)))
                return std::nullopt;
        }
        const long long ticks0 = cpuTicks(device.pid());
        const long long ns0 = runTimeNs(device.pid());
        const auto wall0 = Clock::now();
        for (int i = 0; i < ticks; ++i) {
            if (!probe.waitFor(isTelemetry, std::chrono::seconds(10)))
                return std::nullopt;
        }
        TickCost c;
        c.wallS = usSince(wall0, Clock::now()) / 1e6;
        const long long ticks1 = cpuTicks(device.pid());
        const long long ns1 = runTimeNs(device.pid());
        c.rssKb = rssKb(device.pid());
        c.privateKb = privateKb(device.pid());
        const double hz = double(sysconf(_SC_CLK_TCK));
        c.cpuMsStat = double(ticks1 - ticks0) / hz * 1000 * 1000.0 / ticks;
        c.cpuMsSched = double(ns1 - ns0) / 1e6 * 1000.0 / ticks;
        return c;
    };
    // Steady state: telemetry at QoS 0, as the bare device sends it. For the first minute after
    // each connect ours sends it at QoS 1 (#9, docs/device.md): measured too, apart.
    const auto ours =
        measureTicks(QStringLiteral("bench-cpu"), QStringLiteral(NIGHTLIGHT_DEVICE_BIN),
                     {QStringLiteral("--telemetry-qos1-window-ms"), QStringLiteral("0")});
    if (!ours)
        return fail("nightlight-device: no steady telemetry at 50 ms");
    const auto firstMinute =
        measureTicks(QStringLiteral("bench-cpu1"), QStringLiteral(NIGHTLIGHT_DEVICE_BIN));
    if (!firstMinute)
        return fail("nightlight-device: no telemetry at 50 ms after a connect");
    const auto bare =
        measureTicks(QStringLiteral("bench-bare"), QStringLiteral(NIGHTLIGHT_BAREDEVICE_BIN));
    if (!bare)
        return fail("nightlight-baredevice: no steady telemetry at 50 ms");
    const double cpuMsStat = ours->cpuMsStat;
    const double cpuMsSched = ours->cpuMsSched;
    const double wallS = ours->wallS;
    const long long rss = ours->rssKb;

    const double p50d = percentile(deviceUs, 50), p99d = percentile(deviceUs, 99);
    const double p50e = percentile(echoUs, 50), p99e = percentile(echoUs, 99);
    std::printf("| measure | value | target |\n|---|---|---|\n");
    std::printf(
        "| command -> state p50, nightlight-device (%d commands) | %.0f us | <= 1.5x echo |\n",
        commands, p50d);
    std::printf("| command -> state p99, nightlight-device | %.0f us | < 500 us |\n", p99d);
    std::printf("| publish -> echo p50, bare libmosquitto echo client | %.0f us | |\n", p50e);
    std::printf("| publish -> echo p99, bare libmosquitto echo client | %.0f us | |\n", p99e);
    std::printf("| p50 ratio device / echo | %.2fx | <= 1.5x |\n", p50e > 0 ? p50d / p50e : 0.0);
    // The machine's own tail shows in the echo's p99: this ratio is what is ours.
    std::printf("| p99 ratio device / echo | %.2fx | |\n", p99e > 0 ? p99d / p99e : 0.0);
    std::printf("| CPU per 1,000 ticks at 50 ms, /proc stat utime+stime (%d ticks in %.1f s) "
                "| %.0f ms | |\n",
                ticks, wallS, cpuMsStat);
    std::printf("| CPU per 1,000 ticks at 50 ms, schedstat (all threads) | %.1f ms | |\n",
                cpuMsSched);
    std::printf("| the same in the first minute after a connect (telemetry at QoS 1) | %.1f ms "
                "| |\n",
                firstMinute->cpuMsSched);
    std::printf("| the same, bare C device (one thread, libmosquitto; %.1f s) | %.1f ms | |\n",
                bare->wallS, bare->cpuMsSched);
    std::printf(
        "| CPU per tick, nightlight-device / bare C device (schedstat) | %.2fx | <= 1.5x |\n",
        bare->cpuMsSched > 0 ? cpuMsSched / bare->cpuMsSched : 0.0);
    std::printf("| resident memory (VmRSS) | %.1f MB | < 15 MB |\n", double(rss) / 1024);
    std::printf("| private memory (Private_Clean + Private_Dirty) | %.1f MB | |\n",
                double(ours->privateKb) / 1024);
    std::printf("| resident / private memory, bare C device | %.1f / %.1f MB | |\n",
                double(bare->rssKb) / 1024, double(bare->privateKb) / 1024);
    std::printf("| start -> first telemetry, median of %d | %.1f ms | < 100 ms |\n", starts,
                percentile(startMs, 50));
    std::printf("| start -> first telemetry, max of %d | %.1f ms | |\n", starts,
                *std::max_element(startMs.begin(), startMs.end()));
    std::fflush(stdout);
    mosquitto_lib_cleanup();
    return 0;
}
