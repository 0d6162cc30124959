#include "writequeue.h"

#include <algorithm>
#include <utility>

namespace nightlight {

namespace {

template<typename Row>
void eraseIf(std::vector<Row> &rows, const std::function<bool(const Row &)> &which)
{
    rows.erase(std::remove_if(rows.begin(), rows.end(), which), rows.end());
}

} // namespace

WriteQueue::WriteQueue(TelemetryDatabase &db, std::function<void(const QString &, bool)> warn,
                       std::function<void()> handedOver)
    : m_db(db), m_warn(std::move(warn)), m_handedOver(std::move(handedOver))
{
    m_timer.setSingleShot(true);
    QObject::connect(&m_timer, &QTimer::timeout, [this] { handOver(); });
}

void WriteQueue::setOpen(bool open, const QString &path)
{
    m_open = open;
    if (open) {
        m_path = path;
        return;
    }
    m_timer.stop();
    m_samples.clear();
    m_led.clear();
    m_devices.clear();
    // A new file, a new start: its first failure warns again.
    m_trouble = false;
    m_db.setReportSuccess(false);
}

void WriteQueue::startTimer()
{
    if (queued() >= m_batchSize)
        m_timer.start(0);
    else if (!m_timer.isActive())
        m_timer.start(m_intervalMs);
}

void WriteQueue::schedule()
{
    if (m_open && (queued() > 0 || !m_devices.empty()))
        m_timer.start(m_intervalMs);
}

void WriteQueue::addSample(const QString &id, qint64 t, double v)
{
    if (!m_open)
        return;
    // Only this thread adds to the backlog, so it never grows past the bound. Refusing the
    // newest keeps what waits a gapless continuation of the file, and keeps the rows already
    // handed to the writer out of reach of this thread (docs/dashboard.md "Disk full").
    if (pendingWrites() >= m_maxPending) {
        if (!m_trouble) {
            beginTrouble(QStringLiteral("%1 rows wait to be written to %2; newer samples are "
                                        "not saved until they are")
                             .arg(pendingWrites())
                             .arg(m_path));
        }
        ++m_dropped;
        ++m_droppedInTrouble;
        return;
    }
    m_samples.push_back({id, t, v});
    startTimer();
}

void WriteQueue::addLed(const QString &id, qint64 t, bool on)
{
    if (!m_open)
        return;
    m_led.push_back({id, t, on});
    startTimer();
}

void WriteQueue::addDevice(const QString &id, qint64 seen)
{
    if (!m_open)
        return;
    m_devices.push_back({id, seen});
    startTimer();
}

void WriteQueue::dropSamples(const std::function<bool(const SampleRow &)> &which)
{
    eraseIf(m_samples, which);
}

void WriteQueue::dropLed(const std::function<bool(const LedRow &)> &which)
{
    eraseIf(m_led, which);
}

void WriteQueue::dropDevices(const std::function<bool(const DeviceRow &)> &which)
{
    eraseIf(m_devices, which);
}

void WriteQueue::handOver()
{
    m_timer.stop();
    if (!m_open || (queued() == 0 && m_devices.empty() && m_db.unwritten() == 0))
        return;
    m_db.insertLater(std::exchange(m_samples, {}), std::exchange(m_led, {}),
                     std::exchange(m_devices, {}));
    m_handedOver();
}

bool WriteQueue::flush(QString *error)
{
    m_timer.stop();
    if (!m_open)
        return true;
    // Queued after every batch and delete handed over before, so when it returns they are done.
    // With nothing new it still retries the rows of a failed write.
    const QString message = m_db.insertNow(std::exchange(m_samples, {}), std::exchange(m_led, {}),
                                           std::exchange(m_devices, {}));
    if (!message.isEmpty()) {
        // The writer keeps the rows: the next flush (or the timer) tries again.
        writeFailed(message);
        if (error)
            *error = message;
        return false;
    }
    writeSucceeded();
    m_handedOver();
    return true;
}

void WriteQueue::beginTrouble(const QString &message)
{
    m_trouble = true;
    m_droppedInTrouble = 0;
    m_db.setReportSuccess(true);
    m_warn(message, true);
}

// A write failed (on the writer thread, or in flush()): warn at the first failure of an episode
// only (a full disk fails every retry, once a second), and try again after the interval; the
// writer keeps the rows.
void WriteQueue::writeFailed(const QString &message)
{
    if (!m_trouble) {
        beginTrouble(QStringLiteral("%1; retrying, and keeping at most %2 unwritten rows (newer "
                                    "samples are then not saved)")
                         .arg(message)
                         .arg(m_maxPending));
    }
    if (m_open && !m_timer.isActive())
        m_timer.start(m_intervalMs);
}

// An insert succeeded while in trouble: the episode ends once the backlog is down to half the
// bound (so a writer that only just keeps up does not warn and recover over and over).
void WriteQueue::writeSucceeded()
{
    if (!m_trouble || pendingWrites() > m_maxPending / 2)
        return;
    m_trouble = false;
    m_db.setReportSuccess(false);
    m_warn(m_droppedInTrouble == 0
               ? QStringLiteral("writing to %1 works again; no samples were lost").arg(m_path)
               : QStringLiteral("writing to %1 works again; %2 samples that arrived while it did "
                                "not could not be kept and are not in the file")
                     .arg(m_path)
                     .arg(m_droppedInTrouble),
           false);
}

} // namespace nightlight
