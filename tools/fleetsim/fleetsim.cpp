// nightlight-fleetsim: a fleet of simulated nightlight devices in one process and one thread, for
// tests and benchmarks (issue #10 item 4). Each device speaks the whole contract (PROTOCOL.md)
// the way nightlight-device does: a persistent session whose Last Will is a retained "offline" on
// <id>/status (QoS 1), a retained "online" and a retained <id>/state at each connect, telemetry
// on <id>/telemetry (QoS 1 for a window after each connect, QoS 0 after it), a retained state
// after every reading and every command, and commands on <id>/commands obeyed as the device's
// rule does. A share of the fleet is killed uncleanly mid-run (the socket closed without
// DISCONNECT, so the broker publishes the Will); the rest ends as the device does on SIGTERM:
// state (LED off) and "offline" retained at QoS 0, then DISCONNECT.
//
// libmosquitto directly, not MqttClient: N handles in non-threaded mode, driven by one poll()
// loop over their sockets (mosquitto_loop_read/write/misc, mosquitto_want_write). Qt only parses
// the command line and encodes the payloads (protocol.h). Details: docs/fleet.md.
//
// Exit codes: 0 the run ended (also after SIGINT/SIGTERM), 1 a device could not be created or a
// file written, 2 bad options or too few file descriptors for --count.

#include "protocol.h"

#include <QByteArray>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QRandomGenerator>
#include <QSaveFile>
#include <QString>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <queue>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace nightlight;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr int ExitError = 1;
constexpr int ExitBadOptions = 2;
// Hysteresis of the auto rule, as nightlight-device's default.
constexpr double Hysteresis = 20;
constexpr int MinBackoffMs = 500;
constexpr int MaxBackoffMs = 10000;
constexpr int DrainSeconds = 10; // the longest a clean end waits for its QoS 1 telemetry's PUBACKs

void fail(const QString &message)
{
    std::fprintf(stderr, "nightlight-fleetsim: %s\n", qUtf8Printable(message));
    std::fflush(stderr);
}

void say(const QString &message)
{
    std::fprintf(stdout, "fleetsim: %s\n", qUtf8Printable(message));
    std::fflush(stdout);
}

// --- options ----------------------------------------------------------------------------------

struct Options
{
    QString host = QStringLiteral("127.0.0.1");
    int port = 1883;
    int count = 10;
    double rate = 1; // samples per device per second
    double seconds = 60;
    double killShare = 0;
    double killAt = -1; // seconds from the start; < 0: seconds / 2
    QString prefix = QStringLiteral("fc");
    QString sentFile;
    bool stayOnline = false;
    double connectRate = 500; // new connections per second
    int keepalive = 60;
    int qos1WindowMs = 60000; // nightlight-device's --telemetry-qos1-window-ms default
    int width = 1; // digits of the device number, zero-padded
};

std::optional<Options> parseOptions(const QStringList &arguments, int *exitCode)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("A fleet of simulated nightlight devices on one MQTT broker, one thread."));
    parser.addHelpOption();
    auto add = [&](const char *name, const char *help, const char *value) {
        QCommandLineOption o(QString::fromLatin1(name), QString::fromLatin1(help),
                             QString::fromLatin1(value));
        parser.addOption(o);
        return o;
    };
    const auto host = add("host", "Broker host (default 127.0.0.1).", "host");
    const auto port = add("port", "Broker port (default 1883).", "port");
    const auto count = add("count", "Devices (1..100000, default 10).", "n");
    const auto rate = add("rate",
                          "Telemetry per device per second, may be fractional, 0 for none "
                          "(default 1).",
                          "r");
    const auto seconds = add("seconds", "Length of the run (default 60).", "s");
    const auto killShare = add("kill-share",
                               "Share of the devices killed uncleanly (socket closed without "
                               "DISCONNECT: the broker publishes the Will), 0..1 (default 0).",
                               "f");
    const auto killAt = add("kill-at",
                            "When to kill them, seconds from the start (default: the "
                            "middle of the run).",
                            "s");
    const auto prefix = add("prefix",
                            "Device ids are <prefix><number>, the number zero-padded to the "
                            "digits of --count: fc0001..fc5000 (default fc).",
                            "prefix");
    const auto sentFile = add("sent-file",
                              "At exit, write one line per device: id, samples sent, expected "
                              "final status, how it ended, LED, commands applied.",
                              "path");
    const QCommandLineOption stayOnline(
        QStringLiteral("stay-online"),
        QStringLiteral("At the end of --seconds write --sent-file (status online) and keep "
                       "running until SIGINT/SIGTERM; then end cleanly and write it again."));
    parser.addOption(stayOnline);
    const auto connectRate = add("connect-rate", "New connections per second (default 500).", "n");
    const auto keepalive = add("keepalive", "MQTT keepalive, seconds (default 60).", "s");
    const auto qos1Window =
        add("qos1-window-ms",
            "Telemetry at QoS 1 for this long after each connect, as nightlight-device does "
            "(default 60000; 0: always QoS 0).",
            "ms");

    *exitCode = ExitBadOptions;
    if (!parser.parse(arguments)) {
        fail(parser.errorText());
        return std::nullopt;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        std::fputs(qUtf8Printable(parser.helpText()), stdout);
        *exitCode = 0;
        return std::nullopt;
    }
    if (!parser.positionalArguments().isEmpty()) {
        fail(QStringLiteral("unexpected argument: %1").arg(parser.positionalArguments().first()));
        return std::nullopt;
    }
    Options o;
    bool ok = true;
    auto number = [&](const QCommandLineOption &opt, double low, double high, auto *out) {
        if (!ok || !parser.isSet(opt))
            return;
        bool isNumber = false;
        const double v = parser.value(opt).toDouble(&isNumber);
        using T = std::remove_pointer_t<decltype(out)>;
        if (!isNumber || !std::isfinite(v) || v < low || v > high ||
            (std::is_integral_v<T> && v != std::floor(v))) {
            fail(QStringLiteral("--%1 must be a number from %2 to %3, not \"%4\"")
                     .arg(opt.names().first())
                     .arg(low)
                     .arg(high)
                     .arg(parser.value(opt)));
            ok = false;
            return;
        }
        *out = T(v);
    };
    if (parser.isSet(host))
        o.host = parser.value(host);
    number(port, 1, 65535, &o.port);
    number(count, 1, 100000, &o.count);
    number(rate, 0, 1000, &o.rate);
    number(seconds, 0.1, 86400 * 7, &o.seconds);
    number(killShare, 0, 1, &o.killShare);
    number(killAt, 0, 86400 * 7, &o.killAt);
    number(connectRate, 1, 100000, &o.connectRate);
    number(keepalive, 5, 65535, &o.keepalive);
    number(qos1Window, 0, 3600 * 1000, &o.qos1WindowMs);
    if (!ok)
        return std::nullopt;
    if (o.killAt < 0)
        o.killAt = o.seconds / 2;
    if (parser.isSet(prefix))
        o.prefix = parser.value(prefix);
    o.width = int(QString::number(o.count).size());
    const QString sample = o.prefix + QString(o.width, u'0');
    const QString why = deviceIdError(sample);
    if (!why.isEmpty()) {
        fail(QStringLiteral("--prefix makes invalid device ids (%1): %2").arg(sample, why));
        return std::nullopt;
    }
    o.sentFile = parser.value(sentFile);
    o.stayOnline = parser.isSet(stayOnline);
    return o;
}

// --- signals: a self-pipe in the poll set ------------------------------------------------------

int s_signalPipe[2] = {-1, -1};
std::atomic<int> s_signal{0};

void onSignal(int signalNumber)
{
    const int savedErrno = errno;
    s_signal.store(signalNumber);
    const char c = 1;
    [[maybe_unused]] const ssize_t n = ::write(s_signalPipe[1], &c, 1);
    errno = savedErrno;
}

bool installSignals()
{
    if (::pipe2(s_signalPipe, O_NONBLOCK | O_CLOEXEC) != 0)
        return false;
    struct sigaction sa = {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    std::signal(SIGPIPE, SIG_IGN);
    return ::sigaction(SIGINT, &sa, nullptr) == 0 && ::sigaction(SIGTERM, &sa, nullptr) == 0;
}

int openDescriptors()
{
    int n = 0;
    if (DIR *dir = ::opendir("/proc/self/fd")) {
        while (const dirent *e = ::readdir(dir))
            n += e->d_name[0] != '.';
        ::closedir(dir);
        --n; // the directory's own
    }
    return n;
}

// --- the fleet --------------------------------------------------------------------------------

struct MosqDeleter
{
    void operator()(mosquitto *m) const { mosquitto_destroy(m); }
};

class Fleet;

struct Device
{
    enum class Phase {
        Waiting, // not started yet (connect ramp)
        Connecting, // CONNECT sent, no CONNACK yet
        Connected,
        Backoff, // lost or refused: reconnects at retryAt
        Draining, // the clean end: waiting for the broker to acknowledge its QoS 1 telemetry
        Disconnecting, // the clean end: offline, DISCONNECT queued
        Killed, // socket closed without DISCONNECT
        Done, // ended cleanly
    };

    Fleet *fleet = nullptr;
    int index = 0;
    QByteArray id;
    QByteArray telemetryTopic, stateTopic, statusTopic, commandsTopic;
    std::unique_ptr<mosquitto, MosqDeleter> mosq;
    Phase phase = Phase::Waiting;
    Clock::time_point retryAt;
    Clock::time_point connectedAt;
    int backoffMs = MinBackoffMs;
    bool everConnected = false;
    bool scheduled = false; // has an entry in the telemetry queue
    qint64 sent = 0;
    // Message ids of QoS 1 telemetry the broker has not acknowledged yet, and how many there were
    // when the device was killed (or gave up waiting for them at its clean end): those may never
    // have reached the broker (libmosquitto holds back all beyond its in-flight window of 20, and
    // a broker that reads slowly leaves more in the socket), so a dashboard cannot be blamed.
    std::vector<int> unackedTelemetry;
    qint64 unconfirmed = 0;
    qint64 lastTs = 0;
    int commands = 0;
    int badCommands = 0;
    double lightPhase = 0; // 0..1, where in the simulated day it starts
    DeviceState state;
};

class Fleet
{
public:
    explicit Fleet(const Options &options) : m_o(options) { }

    bool create();
    int run();
    bool writeSentFile(bool final) const;

    // libmosquitto callbacks (inside mosquitto_loop_read/write, this thread).
    void onConnect(Device &d, int rc);
    void onDisconnect(Device &d, int rc);
    void onMessage(Device &d, const mosquitto_message &message);
    void onPublished(Device &d, int mid);

private:
    struct Due
    {
        Clock::time_point at;
        int index;
        bool operator>(const Due &o) const { return at > o.at; }
    };

    void startConnect(Device &d, Clock::time_point now);
    void takeSample(Device &d);
    void publishState(Device &d, int qos);
    void publish(Device &d, const QByteArray &topic, const QByteArray &payload, int qos,
                 bool retain, int *mid = nullptr);
    void killShare(Clock::time_point now);
    void endCleanly(Device &d);
    void beginShutdown(Clock::time_point now);
    void touch(int index);
    void syncPollEvents();
    void error(const QString &message);
    double elapsedS(Clock::time_point now) const
    {
        return std::chrono::duration<double>(now - m_start).count();
    }

    Options m_o;
    std::vector<Device> m_devices;
    std::vector<pollfd> m_pollfds; // one per device, then the signal pipe
    std::vector<int> m_touched;
    std::vector<char> m_isTouched;
    std::priority_queue<Due, std::vector<Due>, std::greater<Due>> m_due;
    Clock::time_point m_start;
    nanoseconds m_period{0};
    int m_started = 0; // devices whose first connect has begun
    int m_connected = 0; // devices connected now
    int m_peakConnected = 0;
    bool m_allConnectedSaid = false;
    bool m_killed = false;
    int m_killedCount = 0;
    bool m_shuttingDown = false;
    Clock::time_point m_drainDeadline;
    Clock::time_point m_shutdownDeadline;
    qint64 m_samples = 0;
    qint64 m_skipped = 0; // due while not connected: not taken
    qint64 m_errors = 0;
    qint64 m_lostConnections = 0;
    qint64 m_refused = 0;
    qint64 m_commands = 0;
    qint64 m_badCommands = 0;
    int m_cleanEnds = 0;
    int m_unconfirmedEnds = 0;
    size_t m_miscCursor = 0;
    Clock::time_point m_lastMisc;
};

void onConnectCb(mosquitto *, void *obj, int rc)
{
    auto *d = static_cast<Device *>(obj);
    d->fleet->onConnect(*d, rc);
}

void onDisconnectCb(mosquitto *, void *obj, int rc)
{
    auto *d = static_cast<Device *>(obj);
    d->fleet->onDisconnect(*d, rc);
}

void onMessageCb(mosquitto *, void *obj, const mosquitto_message *message)
{
    auto *d = static_cast<Device *>(obj);
    d->fleet->onMessage(*d, *message);
}

void onPublishCb(mosquitto *, void *obj, int mid)
{
    auto *d = static_cast<Device *>(obj);
    d->fleet->onPublished(*d, mid);
}

void Fleet::error(const QString &message)
{
    // The first few in full; the count is in the summary.
    if (++m_errors <= 10)
        fail(message);
}

bool Fleet::create()
{
    m_devices.resize(size_t(m_o.count));
    m_pollfds.resize(size_t(m_o.count) + 1);
    m_isTouched.assign(size_t(m_o.count), 0);
    auto *random = QRandomGenerator::global();
    for (int i = 0; i < m_o.count; ++i) {
        Device &d = m_devices[size_t(i)];
        d.fleet = this;
        d.index = i;
        const QString id =
            m_o.prefix + QStringLiteral("%1").arg(i + 1, m_o.width, 10, QLatin1Char('0'));
        d.id = id.toUtf8();
        d.telemetryTopic = telemetryTopic(id).toUtf8();
        d.stateTopic = stateTopic(id).toUtf8();
        d.statusTopic = statusTopic(id).toUtf8();
        d.commandsTopic = commandsTopic(id).toUtf8();
        d.state.instance = QString::number(random->generate64(), 16);
        d.lightPhase = random->generateDouble();
        // A persistent session, as nightlight-device's: commands sent while it is away wait.
        const QByteArray clientId = d.id + "-fleetsim";
        errno = 0;
        d.mosq.reset(mosquitto_new(clientId.constData(), false, &d));
        if (!d.mosq) {
            const int e = errno;
            fail(QStringLiteral("cannot create MQTT client %1 of %2: %3%4")
                     .arg(i + 1)
                     .arg(m_o.count)
                     .arg(QString::fromLocal8Bit(std::strerror(e)),
                          e == EMFILE ? QStringLiteral(" (each libmosquitto client holds a "
                                                       "socket pair besides its connection: "
                                                       "raise the hard limit, ulimit -Hn)")
                                      : QString()));
            return false;
        }
        mosquitto *m = d.mosq.get();
        mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
        const QByteArray offline = encodeAvailability(Availability::Offline);
        // PROTOCOL.md: the Last Will is "offline", retained, QoS 1 (as nightlight-device's).
        if (mosquitto_will_set(m, d.statusTopic.constData(), int(offline.size()),
                               offline.constData(), 1, true) != MOSQ_ERR_SUCCESS) {
            fail(QStringLiteral("cannot set the Last Will of %1").arg(id));
            return false;
        }
        mosquitto_connect_callback_set(m, onConnectCb);
        mosquitto_disconnect_callback_set(m, onDisconnectCb);
        mosquitto_message_callback_set(m, onMessageCb);
        mosquitto_publish_callback_set(m, onPublishCb);
        m_pollfds[size_t(i)] = pollfd{-1, 0, 0};
    }
    m_pollfds.back() = pollfd{s_signalPipe[0], POLLIN, 0};
    return true;
}

void Fleet::touch(int index)
{
    if (!m_isTouched[size_t(index)]) {
        m_isTouched[size_t(index)] = 1;
        m_touched.push_back(index);
    }
}

void Fleet::syncPollEvents()
{
    for (const int i : m_touched) {
        Device &d = m_devices[size_t(i)];
        pollfd &p = m_pollfds[size_t(i)];
        const int fd = d.mosq ? mosquitto_socket(d.mosq.get()) : -1;
        p.fd = fd;
        p.events = short(fd < 0 ? 0 : POLLIN | (mosquitto_want_write(d.mosq.get()) ? POLLOUT : 0));
        p.revents = 0;
        m_isTouched[size_t(i)] = 0;
    }
    m_touched.clear();
}

void Fleet::startConnect(Device &d, Clock::time_point now)
{
    // Non-blocking connect: the CONNECT goes out once poll() says the socket is writable.
    const int rc = d.phase == Device::Phase::Waiting
        ? mosquitto_connect_async(d.mosq.get(), m_o.host.toUtf8().constData(), m_o.port,
                                  m_o.keepalive)
        : mosquitto_reconnect_async(d.mosq.get());
    touch(d.index);
    if (rc != MOSQ_ERR_SUCCESS) {
        error(QStringLiteral("%1: cannot connect to %2:%3: %4")
                  .arg(QString::fromUtf8(d.id), m_o.host)
                  .arg(m_o.port)
                  .arg(QString::fromUtf8(rc == MOSQ_ERR_ERRNO ? std::strerror(errno)
                                                              : mosquitto_strerror(rc))));
        d.phase = Device::Phase::Backoff;
        d.retryAt = now + milliseconds(d.backoffMs);
        d.backoffMs = std::min(MaxBackoffMs, d.backoffMs * 2);
        return;
    }
    d.phase = Device::Phase::Connecting;
}

void Fleet::publish(Device &d, const QByteArray &topic, const QByteArray &payload, int qos,
                    bool retain, int *mid)
{
    const int rc = mosquitto_publish(d.mosq.get(), mid, topic.constData(), int(payload.size()),
                                     payload.constData(), qos, retain);
    touch(d.index);
    if (rc != MOSQ_ERR_SUCCESS) {
        error(QStringLiteral("%1: cannot publish on %2: %3")
                  .arg(QString::fromUtf8(d.id), QString::fromUtf8(topic),
                       QString::fromUtf8(mosquitto_strerror(rc))));
    }
}

void Fleet::publishState(Device &d, int qos)
{
    publish(d, d.stateTopic, encodeState(d.state), qos, true);
}

void Fleet::onConnect(Device &d, int rc)
{
    touch(d.index);
    if (rc != 0) {
        ++m_refused;
        error(QStringLiteral("%1: connection refused: %2")
                  .arg(QString::fromUtf8(d.id), QString::fromUtf8(mosquitto_connack_string(rc))));
        return; // the broker closes the connection; onDisconnect schedules the retry
    }
    const auto now = Clock::now();
    d.phase = Device::Phase::Connected;
    d.connectedAt = now;
    d.backoffMs = MinBackoffMs;
    ++m_connected;
    m_peakConnected = std::max(m_peakConnected, m_connected);
    // As nightlight-device on each connect: online, the current state, the commands.
    publish(d, d.statusTopic, encodeAvailability(Availability::Online), 1, true);
    publishState(d, 1);
    const int sub = mosquitto_subscribe(d.mosq.get(), nullptr, d.commandsTopic.constData(), 1);
    if (sub != MOSQ_ERR_SUCCESS) {
        error(QStringLiteral("%1: cannot subscribe to its commands: %2")
                  .arg(QString::fromUtf8(d.id), QString::fromUtf8(mosquitto_strerror(sub))));
    }
    if (!d.everConnected) {
        d.everConnected = true;
        if (m_period.count() > 0 && !d.scheduled) {
            // Spread evenly over one period, by the device's place in the fleet.
            const auto offset = nanoseconds(qint64(double(m_period.count()) * d.index / m_o.count));
            m_due.push(Due{now + offset, d.index});
            d.scheduled = true;
        }
    }
    if (!m_allConnectedSaid && m_connected == m_o.count) {
        m_allConnectedSaid = true;
        say(QStringLiteral("all %1 connected after %2 s")
                .arg(m_o.count)
                .arg(elapsedS(now), 0, 'f', 1));
    }
}

void Fleet::onDisconnect(Device &d, int rc)
{
    touch(d.index);
    if (d.phase == Device::Phase::Connected)
        --m_connected;
    switch (d.phase) {
    case Device::Phase::Disconnecting:
        d.phase = Device::Phase::Done;
        ++m_cleanEnds;
        return;
    case Device::Phase::Killed:
    case Device::Phase::Done:
        return;
    case Device::Phase::Draining:
        ++m_lostConnections;
        --m_connected;
        d.unconfirmed = qint64(d.unackedTelemetry.size());
        d.phase = Device::Phase::Done;
        error(QStringLiteral("%1: connection lost at the end: %2")
                  .arg(QString::fromUtf8(d.id), QString::fromUtf8(mosquitto_strerror(rc))));
        return;
    default:
        break;
    }
    ++m_lostConnections;
    if (d.phase == Device::Phase::Connected)
        error(QStringLiteral("%1: connection lost: %2")
                  .arg(QString::fromUtf8(d.id), QString::fromUtf8(mosquitto_strerror(rc))));
    d.phase = Device::Phase::Backoff;
    // Jittered, so a fleet that lost the broker does not come back in one burst.
    const int jitter = int(QRandomGenerator::global()->bounded(d.backoffMs / 2 + 1));
    d.retryAt = Clock::now() + milliseconds(d.backoffMs / 2 + jitter);
    d.backoffMs = std::min(MaxBackoffMs, d.backoffMs * 2);
}

void Fleet::onPublished(Device &d, int mid)
{
    const auto it = std::find(d.unackedTelemetry.begin(), d.unackedTelemetry.end(), mid);
    if (it != d.unackedTelemetry.end())
        d.unackedTelemetry.erase(it);
    if (d.phase == Device::Phase::Draining && d.unackedTelemetry.empty())
        endCleanly(d);
}

void Fleet::onMessage(Device &d, const mosquitto_message &message)
{
    if (d.commandsTopic != message.topic)
        return;
    const QByteArray payload(static_cast<const char *>(message.payload), message.payloadlen);
    const Decoded<Command> command = decodeCommand(payload);
    if (!command) {
        ++d.badCommands;
        ++m_badCommands;
        return;
    }
    // As Nightlight::applyCommand: led_on is a manual override until {"mode": "auto"}.
    if (command->threshold)
        d.state.threshold = std::clamp(*command->threshold, 0.0, MaxLevel);
    if (command->mode)
        d.state.mode = *command->mode;
    if (command->ledOn) {
        d.state.mode = Mode::Manual;
        d.state.ledOn = *command->ledOn;
    }
    if (d.state.mode == Mode::Auto && d.state.light) {
        if (*d.state.light < d.state.threshold)
            d.state.ledOn = true;
        else if (*d.state.light >= d.state.threshold + Hysteresis)
            d.state.ledOn = false;
    }
    ++d.commands;
    ++m_commands;
    publishState(d, 1); // the command's confirmation, changed or not
}

void Fleet::takeSample(Device &d)
{
    qint64 ts = QDateTime::currentMSecsSinceEpoch();
    ts = std::max(ts, d.lastTs + 1); // one sample per ms at most: (device, ts) stays unique
    d.lastTs = ts;
    // A slow simulated day (10 minutes), 100..900, crossing the threshold now and then.
    const double day = std::fmod(double(ts) / 600000.0 + d.lightPhase, 1.0);
    const double light = std::round(500 + 400 * std::sin(2 * M_PI * day));
    d.state.light = light;
    d.state.ts = ts;
    const bool fresh = Clock::now() - d.connectedAt < milliseconds(m_o.qos1WindowMs);
    int mid = 0;
    publish(d, d.telemetryTopic, encodeTelemetry(Telemetry{light, ts}), fresh ? 1 : 0, false, &mid);
    if (fresh && mid != 0)
        d.unackedTelemetry.push_back(mid);
    ++d.sent;
    ++m_samples;
    if (d.state.mode == Mode::Auto) {
        if (light < d.state.threshold)
            d.state.ledOn = true;
        else if (light >= d.state.threshold + Hysteresis)
            d.state.ledOn = false;
    }
    // As nightlight-device: every reading refreshes the retained state.
    publishState(d, 1);
}

void Fleet::killShare(Clock::time_point now)
{
    m_killed = true;
    QStringList names;
    for (Device &d : m_devices) {
        // Evenly spread: device i is killed when floor((i + 1) * share) steps up.
        const bool pick =
            std::floor((d.index + 1) * m_o.killShare) > std::floor(d.index * m_o.killShare);
        if (!pick)
            continue;
        if (d.phase == Device::Phase::Connected)
            --m_connected;
        const int fd = mosquitto_socket(d.mosq.get());
        if (fd >= 0)
            ::shutdown(fd, SHUT_RDWR); // no DISCONNECT: the broker sends the Will
        d.phase = Device::Phase::Killed; // first: no callback may take it for a lost one
        d.unconfirmed = qint64(d.unackedTelemetry.size());
        d.mosq.reset(); // closes the socket without a word
        touch(d.index);
        ++m_killedCount;
        if (names.size() < 5)
            names << QString::fromUtf8(d.id);
    }
    say(QStringLiteral("killed %1 devices uncleanly at %2 s (%3%4)")
            .arg(m_killedCount)
            .arg(elapsedS(now), 0, 'f', 1)
            .arg(names.join(u' '),
                 m_killedCount > names.size() ? QStringLiteral(" ...") : QString()));
}

// As nightlight-device on SIGTERM: LED off, state and "offline" retained at QoS 0 (mosquitto
// before 2.0.22 may drop the DISCONNECT after a QoS 1 PUBACK it could not send, and publish the
// Will too), then DISCONNECT.
void Fleet::endCleanly(Device &d)
{
    d.state.ledOn = false;
    publishState(d, 0);
    publish(d, d.statusTopic, encodeAvailability(Availability::Offline), 0, true);
    d.phase = Device::Phase::Disconnecting;
    --m_connected;
    mosquitto_disconnect(d.mosq.get());
    touch(d.index);
}

void Fleet::beginShutdown(Clock::time_point now)
{
    m_shuttingDown = true;
    // QoS 1 telemetry still unacknowledged is waited for first (a QoS 0 "offline" and the
    // DISCONNECT would overtake what libmosquitto holds back), up to DrainSeconds.
    m_drainDeadline = now + std::chrono::seconds(DrainSeconds);
    m_shutdownDeadline = m_drainDeadline + std::chrono::seconds(5) + milliseconds(m_o.count);
    for (Device &d : m_devices) {
        switch (d.phase) {
        case Device::Phase::Connected:
            if (d.unackedTelemetry.empty())
                endCleanly(d);
            else
                d.phase = Device::Phase::Draining;
            break;
        case Device::Phase::Connecting:
        case Device::Phase::Backoff:
        case Device::Phase::Waiting:
            // Not connected: nothing to say; a half-open session ends with its Will.
            d.phase = Device::Phase::Done;
            d.mosq.reset();
            touch(d.index);
            break;
        default:
            break;
        }
    }
}

int Fleet::run()
{
    m_start = Clock::now();
    m_lastMisc = m_start;
    if (m_o.rate > 0)
        m_period = nanoseconds(qint64(1e9 / m_o.rate));
    const auto end = m_start + nanoseconds(qint64(m_o.seconds * 1e9));
    const auto killAt = m_start + nanoseconds(qint64(m_o.killAt * 1e9));
    const bool killing = m_o.killShare > 0;
    bool snapshotWritten = false;
    auto nextProgress = m_start + std::chrono::seconds(10);
    std::vector<int> backoff;

    for (;;) {
        auto now = Clock::now();
        if (s_signal.load() != 0 && !m_shuttingDown) {
            say(QStringLiteral("signal %1: ending at %2 s")
                    .arg(s_signal.load())
                    .arg(elapsedS(now), 0, 'f', 1));
            beginShutdown(now);
        }
        if (!m_shuttingDown && now >= end) {
            if (!m_o.stayOnline) {
                beginShutdown(now);
            } else if (!snapshotWritten) {
                snapshotWritten = true;
                if (!m_o.sentFile.isEmpty() && !writeSentFile(false))
                    return ExitError;
                say(QStringLiteral("%1 s: staying online until SIGINT/SIGTERM").arg(m_o.seconds));
            }
        }
        if (m_shuttingDown) {
            bool pending = false;
            const bool drainOver = now >= m_drainDeadline;
            for (Device &d : m_devices) {
                if (d.phase == Device::Phase::Draining && drainOver) {
                    d.unconfirmed = qint64(d.unackedTelemetry.size());
                    endCleanly(d);
                }
                pending = pending || d.phase == Device::Phase::Disconnecting ||
                    d.phase == Device::Phase::Draining;
            }
            if (!pending)
                break;
            if (now >= m_shutdownDeadline) {
                for (Device &d : m_devices) {
                    if (d.phase == Device::Phase::Disconnecting) {
                        ++m_unconfirmedEnds;
                        d.phase = Device::Phase::Done;
                        d.mosq.reset();
                    }
                }
                error(QStringLiteral("%1 devices did not see their DISCONNECT written in time")
                          .arg(m_unconfirmedEnds));
                break;
            }
        }
        if (!m_shuttingDown && killing && !m_killed && now >= killAt)
            killShare(now);

        if (!m_shuttingDown) {
            // The connect ramp.
            const auto allowed =
                std::min<qint64>(m_o.count, qint64(elapsedS(now) * m_o.connectRate) + 1);
            while (m_started < allowed) {
                Device &d = m_devices[size_t(m_started++)];
                if (d.phase == Device::Phase::Waiting)
                    startConnect(d, now);
            }
            // Reconnects after a backoff.
            backoff.clear();
            for (Device &d : m_devices) {
                if (d.phase == Device::Phase::Backoff && d.retryAt <= now)
                    backoff.push_back(d.index);
            }
            for (const int i : backoff)
                startConnect(m_devices[size_t(i)], now);
            // Telemetry that is due; a device far behind (a stalled loop) skips, not bursts.
            while (!m_due.empty() && m_due.top().at <= now) {
                Due due = m_due.top();
                m_due.pop();
                Device &d = m_devices[size_t(due.index)];
                if (d.phase == Device::Phase::Killed) {
                    d.scheduled = false;
                    continue;
                }
                if (d.phase == Device::Phase::Connected)
                    takeSample(d);
                else
                    ++m_skipped;
                due.at += m_period;
                if (due.at < now - m_period)
                    due.at = now;
                m_due.push(due);
            }
        }
        // Keepalive and retries: mosquitto_loop_misc for each client about once a second.
        const auto sinceMisc = now - m_lastMisc;
        size_t miscCount =
            size_t(double(m_devices.size()) * std::chrono::duration<double>(sinceMisc).count());
        if (miscCount > 0) {
            m_lastMisc = now;
            miscCount = std::min(miscCount, m_devices.size());
            for (size_t k = 0; k < miscCount; ++k) {
                Device &d = m_devices[m_miscCursor];
                m_miscCursor = (m_miscCursor + 1) % m_devices.size();
                if (d.mosq && mosquitto_socket(d.mosq.get()) >= 0) {
                    mosquitto_loop_misc(d.mosq.get());
                    touch(d.index);
                }
            }
        }
        if (now >= nextProgress && !m_shuttingDown) {
            nextProgress += std::chrono::seconds(10);
            say(QStringLiteral("%1 s: %2 connected, %3 samples sent")
                    .arg(elapsedS(now), 0, 'f', 0)
                    .arg(m_connected)
                    .arg(m_samples));
        }

        syncPollEvents();
        auto wakeAt = now + milliseconds(50);
        if (!m_shuttingDown) {
            if (!m_due.empty())
                wakeAt = std::min(wakeAt, m_due.top().at);
            if (m_started < m_o.count)
                wakeAt = std::min(wakeAt, now + milliseconds(qint64(1000 / m_o.connectRate) + 1));
        }
        const int timeoutMs = int(
            std::max<qint64>(0, std::chrono::duration_cast<milliseconds>(wakeAt - now).count()));
        const int ready = ::poll(m_pollfds.data(), nfds_t(m_pollfds.size()), timeoutMs);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            fail(QStringLiteral("poll: %1").arg(QString::fromLocal8Bit(std::strerror(errno))));
            return ExitError;
        }
        if (m_pollfds.back().revents & POLLIN) {
            char buffer[16];
            while (::read(s_signalPipe[0], buffer, sizeof buffer) > 0) { }
        }
        for (size_t i = 0; i + 1 < m_pollfds.size() && ready > 0; ++i) {
            const short revents = m_pollfds[i].revents;
            if (revents == 0)
                continue;
            m_pollfds[i].revents = 0;
            Device &d = m_devices[i];
            touch(int(i));
            if (!d.mosq)
                continue;
            // Errors close the socket and call onDisconnect (mosquitto__loop_rc_handle).
            if (revents & (POLLIN | POLLHUP | POLLERR))
                mosquitto_loop_read(d.mosq.get(), 1);
            if (d.mosq && (revents & POLLOUT) && mosquitto_socket(d.mosq.get()) >= 0)
                mosquitto_loop_write(d.mosq.get(), 1);
        }
    }

    for (Device &d : m_devices)
        d.mosq.reset();
    say(QStringLiteral("%1 devices, %2 connected at the peak, %3 samples sent (%4 skipped while "
                       "not connected), %5 killed, %6 ended cleanly, %7 commands applied "
                       "(%8 bad), %9 connections lost, %10 refused, %11 errors")
            .arg(m_o.count)
            .arg(m_peakConnected)
            .arg(m_samples)
            .arg(m_skipped)
            .arg(m_killedCount)
            .arg(m_cleanEnds)
            .arg(m_commands)
            .arg(m_badCommands)
            .arg(m_lostConnections)
            .arg(m_refused)
            .arg(m_errors));
    if (!m_o.sentFile.isEmpty() && !writeSentFile(true))
        return ExitError;
    return 0;
}

bool Fleet::writeSentFile(bool final) const
{
    QSaveFile file(m_o.sentFile);
    if (!file.open(QIODevice::WriteOnly)) {
        fail(QStringLiteral("cannot write %1: %2").arg(m_o.sentFile, file.errorString()));
        return false;
    }
    QByteArray out = "# nightlight-fleetsim: id, samples sent, expected final status "
                     "(online/offline/none), how it ended (clean/killed/online/never), "
                     "led_on (0/1), commands applied, QoS 1 samples the broker never acknowledged "
                     "(outstanding when killed, or 10 s into the clean end)\n";
    for (const Device &d : m_devices) {
        const char *status = "none";
        const char *how = "never";
        if (d.everConnected) {
            if (d.phase == Device::Phase::Killed) {
                status = "offline";
                how = "killed";
            } else if (!final && d.phase == Device::Phase::Connected) {
                status = "online";
                how = "online";
            } else {
                status = "offline";
                how = "clean";
            }
        }
        out += d.id + '\t' + QByteArray::number(d.sent) + '\t' + status + '\t' + how + '\t' +
            (d.state.ledOn ? '1' : '0') + '\t' + QByteArray::number(d.commands) + '\t' +
            QByteArray::number(d.unconfirmed) + '\n';
    }
    if (file.write(out) != out.size() || !file.commit()) {
        fail(QStringLiteral("cannot write %1: %2").arg(m_o.sentFile, file.errorString()));
        return false;
    }
    return true;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("nightlight-fleetsim"));
    QCoreApplication::setApplicationVersion(QLatin1String(NIGHTLIGHT_VERSION));

    int exitCode = 0;
    const std::optional<Options> options = parseOptions(QCoreApplication::arguments(), &exitCode);
    if (!options)
        return exitCode;

    // Every device needs its connection and libmosquitto's socket pair: raise the soft limit to
    // the hard one, and say at once when the fleet cannot fit.
    rlimit limit = {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    ::getrlimit(RLIMIT_NOFILE, &limit);
    const qint64 needed = qint64(options->count) * 3 + openDescriptors() + 16;
    if (limit.rlim_cur != RLIM_INFINITY && qint64(limit.rlim_cur) < needed) {
        fail(QStringLiteral("%1 devices need about %2 file descriptors (a connection and "
                            "libmosquitto's socket pair each), the limit is %3 (hard %4): "
                            "raise it (ulimit -Hn, as root) or use fewer devices")
                 .arg(options->count)
                 .arg(needed)
                 .arg(qint64(limit.rlim_cur))
                 .arg(qint64(limit.rlim_max)));
        return ExitBadOptions;
    }
    if (!installSignals()) {
        fail(QStringLiteral("cannot install signal handlers: %1")
                 .arg(QString::fromLocal8Bit(std::strerror(errno))));
        return ExitError;
    }

    mosquitto_lib_init();
    int rc = ExitError;
    {
        Fleet fleet(*options);
        if (fleet.create()) {
            say(QStringLiteral("%1 devices %2..%3 on %4:%5, %6 samples/s each for %7 s, %8 % "
                               "killed at %9 s")
                    .arg(options->count)
                    .arg(options->prefix + QString(options->width - 1, u'0') + u'1',
                         options->prefix + QString::number(options->count))
                    .arg(options->host)
                    .arg(options->port)
                    .arg(options->rate)
                    .arg(options->seconds)
                    .arg(options->killShare * 100)
                    .arg(options->killAt));
            rc = fleet.run();
        }
    }
    mosquitto_lib_cleanup();
    return rc;
}
