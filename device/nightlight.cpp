#include "nightlight.h"

#include "led.h"
#include "lightsensor.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QTimer>

#include <cmath>
#include <limits>

namespace nightlight {

Q_LOGGING_CATEGORY(lcDevice, "nightlight.device", QtInfoMsg)

Nightlight::Nightlight(LightSensor *sensor, Led *led, QObject *parent)
    : QObject(parent),
      m_sensor(sensor),
      m_led(led),
      m_timer(new QTimer(this)),
      m_clock([] { return QDateTime::currentMSecsSinceEpoch(); }),
      m_logTimer(new QTimer(this))
{
    Q_ASSERT(sensor && led);
    // Precise: replayed samples are checked for gaps at the interval, and 5 % jitter (coarse)
    // would blur that at short intervals.
    m_timer->setTimerType(Qt::PreciseTimer);
    m_timer->setInterval(DefaultIntervalMs);
    connect(m_timer, &QTimer::timeout, this, &Nightlight::tick);
    connect(m_sensor, &LightSensor::readingReady, this, &Nightlight::onReadingReady);
    connect(m_sensor, &LightSensor::readingFailed, this, &Nightlight::onReadingFailed);
    m_logTimer->setSingleShot(true);
    connect(m_logTimer, &QTimer::timeout, this, [this] { warn(m_logThrottle.takeDue()); });
}

Nightlight::~Nightlight()
{
    // What the throttle left out is counted in the log before we go (#9).
    for (const QString &line : m_logThrottle.flush())
        qCWarning(lcDevice, "%s", qUtf8Printable(line));
}

void Nightlight::setInterval(int ms)
{
    m_timer->setInterval(qMax(MinIntervalMs, ms));
}

int Nightlight::interval() const
{
    return m_timer->interval();
}

void Nightlight::setThreshold(double threshold)
{
    m_threshold = qBound(0.0, threshold, MaxLevel);
    if (m_mode == Mode::Auto)
        applyRule();
}

void Nightlight::setHysteresis(double hysteresis)
{
    m_hysteresis = qBound(0.0, hysteresis, MaxLevel);
}

void Nightlight::setBufferSize(int samples)
{
    m_bufferSize = qMax(1, samples);
    while (int(m_buffer.size()) > m_bufferSize) {
        m_buffer.pop_front();
        ++m_dropped;
    }
}

void Nightlight::setClock(Clock clock)
{
    m_clock = std::move(clock);
}

bool Nightlight::isLedOn() const
{
    return m_led->isOn();
}

DeviceState Nightlight::state() const
{
    DeviceState s;
    s.ledOn = m_led->isOn();
    s.mode = m_mode;
    s.threshold = m_threshold;
    s.light = m_light;
    s.ts = m_ts;
    s.unit = m_sensor->unit();
    s.instance = m_instance;
    return s;
}

void Nightlight::start()
{
    m_timer->start();
    tick();
}

void Nightlight::stop()
{
    m_timer->stop();
}

bool Nightlight::isRunning() const
{
    return m_timer->isActive();
}

void Nightlight::setConnected(bool connected)
{
    if (connected == m_connected)
        return;
    m_connected = connected;
    if (!connected)
        return;
    if (!m_buffer.empty()) {
        qCInfo(lcDevice, "connected: publishing %d buffered samples", int(m_buffer.size()));
    }
    // Oldest first, with the timestamps they were taken at. Swap first: a slot that reacts to
    // telemetryReady by calling setConnected(false) must not invalidate what we iterate.
    std::deque<Telemetry> pending;
    pending.swap(m_buffer);
    for (const Telemetry &t : pending)
        emit telemetryReady(t);
}

void Nightlight::tick()
{
    if (m_sensor->isBusy()) {
        ++m_skippedTicks;
        qCDebug(lcDevice, "sensor still busy: skipping this tick (%d skipped)", m_skippedTicks);
        return;
    }
    m_sensor->requestReading();
}

bool Nightlight::handleCommand(const QByteArray &payload)
{
    const Decoded<Command> command = decodeCommand(payload);
    if (!command) {
        rejectCommand(command.error(), command.errorString());
        return false;
    }
    applyCommand(*command);
    return true;
}

void Nightlight::rejectOversizedCommand(qint64 bytes)
{
    // The MQTT client read past it without keeping it (and acknowledged it): it only says how
    // large the packet was.
    rejectCommand(DecodeError::TooLarge,
                  QStringLiteral("a message of %1 bytes is over the 64 KiB limit").arg(bytes));
}

void Nightlight::rejectCommand(DecodeError error, const QString &detail)
{
    ++m_badCommands;
    // A peer can send bad commands as fast as the broker forwards them: 5 lines, then a
    // summary a minute (#9), whose "so far" is this same running count.
    const QString reason = decodeErrorName(error);
    warn(m_logThrottle.add(QStringLiteral("bad commands"),
                           QStringLiteral("ignored bad command (%1): %2; %3 bad commands so far")
                               .arg(reason, detail, QString::number(m_badCommands)),
                           reason + QStringLiteral(": ") + detail));
    emit commandRejected(error, detail);
}

void Nightlight::applyCommand(const Command &command)
{
    if (command.threshold)
        m_threshold = qBound(0.0, *command.threshold, MaxLevel);
    if (command.mode)
        m_mode = *command.mode;
    if (command.ledOn) {
        // PROTOCOL.md: {"led_on": b} is a manual override until {"mode": "auto"}.
        m_mode = Mode::Manual;
        setLed(*command.ledOn);
    }
    if (m_mode == Mode::Auto)
        applyRule(); // back to auto, or a new threshold: decide at once with the last reading
    qCDebug(lcDevice) << "command applied:" << command << "->" << state();
    // Published after every valid command, changed or not: it is the command's confirmation.
    emit stateChanged(state());
}

void Nightlight::warn(const QStringList &lines)
{
    for (const QString &line : lines)
        qCWarning(lcDevice, "%s", qUtf8Printable(line));
    if (m_logTimer->isActive())
        return;
    if (const auto due = m_logThrottle.nextDueIn())
        m_logTimer->start(int(qMin<qint64>(*due, std::numeric_limits<int>::max())));
}

void Nightlight::onReadingReady(double light)
{
    // Outside the contract (PROTOCOL.md: finite, 0..MaxLevel) every receiver would reject the
    // telemetry and the state: a failed reading, not a sample.
    if (!std::isfinite(light) || light < 0 || light > MaxLevel) {
        onReadingFailed(
            QStringLiteral("%1 is not a light level in 0..%2").arg(light).arg(MaxLevel));
        return;
    }
    if (m_failureStreak > 0) {
        qCInfo(lcDevice, "readings work again after %d failed", m_failureStreak);
        m_failureStreak = 0;
    }
    const qint64 ts = m_clock();
    m_light = light;
    m_ts = ts;
    emitTelemetry(Telemetry{light, ts});
    if (m_mode == Mode::Auto)
        applyRule();
    // Each tick refreshes the retained state (and carries any LED change it made).
    emit stateChanged(state());
}

void Nightlight::onReadingFailed(const QString &message)
{
    ++m_readingFailures;
    if (++m_failureStreak == 1) {
        qCWarning(lcDevice, "reading failed: %s; %d failed readings so far",
                  qUtf8Printable(message), m_readingFailures);
    } else {
        qCDebug(lcDevice, "reading failed: %s; %d failed readings so far", qUtf8Printable(message),
                m_readingFailures);
    }
}

bool Nightlight::applyRule()
{
    if (!m_light)
        return false;
    const double light = *m_light;
    if (light < m_threshold)
        return setLed(true);
    if (light >= m_threshold + m_hysteresis)
        return setLed(false);
    return false; // inside the hysteresis band: keep what we have
}

bool Nightlight::setLed(bool on)
{
    if (m_led->isOn() == on)
        return false;
    m_led->setOn(on);
    return true;
}

void Nightlight::emitTelemetry(const Telemetry &telemetry)
{
    // One line per sample taken (with --verbose): what scripts/soak.sh checks the dashboard's
    // database against.
    qCDebug(lcDevice, "telemetry ts=%lld light=%g", telemetry.ts.value_or(-1), telemetry.light);
    if (m_connected) {
        emit telemetryReady(telemetry);
        return;
    }
    if (int(m_buffer.size()) >= m_bufferSize) {
        m_buffer.pop_front();
        ++m_dropped;
        // Once per thousand: a long outage must not flood the journal.
        if (m_dropped % 1000 == 1) {
            qCWarning(lcDevice, "telemetry buffer full (%d samples): dropped %d oldest so far",
                      m_bufferSize, m_dropped);
        }
    }
    m_buffer.push_back(telemetry);
    qCDebug(lcDevice, "not connected: %d samples buffered", int(m_buffer.size()));
}

} // namespace nightlight
