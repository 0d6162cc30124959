#pragma once

// WriteQueue: the rows TelemetryStore has for its file (samples, LED changes, device listings),
// queued on the GUI thread and handed to TelemetryDatabase's writer thread in batches: every
// flushInterval() ms, or at the next event-loop turn once flushBatchSize() rows wait; never one
// transaction per row. It bounds the backlog (rows queued here plus rows the writer has not
// committed) and tells of failure episodes: once when one starts, once when writing works again
// (docs/dashboard.md, "Disk full").
//
// Thread: create and use on the GUI thread.

#include "telemetrydatabase.h"

#include <QString>
#include <QTimer>

#include <functional>
#include <vector>

namespace nightlight {

class WriteQueue
{
public:
    using SampleRow = TelemetryDatabase::SampleRow;
    using LedRow = TelemetryDatabase::LedRow;
    using DeviceRow = TelemetryDatabase::DeviceRow;

    // `warn(message, problem)`: an episode of failed writes (or of a full backlog) began
    // (problem), or it ended (not). `handedOver()` is called after each hand-over.
    WriteQueue(TelemetryDatabase &db, std::function<void(const QString &, bool)> warn,
               std::function<void()> handedOver);

    // Rows are queued only while open; setOpen(false) drops what is queued (the next open()
    // compares with the file and queues again what it lacks) and ends an episode. `path` names
    // the file in the messages.
    void setOpen(bool open, const QString &path = QString());
    bool isOpen() const { return m_open; }

    // A sample, unless the backlog is at its bound: then it is dropped and counted (the rows
    // already waiting continue the file without a gap) and an episode begins.
    void addSample(const QString &id, qint64 t, double v);
    // LED changes and device rows are few: always queued.
    void addLed(const QString &id, qint64 t, bool on);
    void addDevice(const QString &id, qint64 seen);
    // Takes queued rows out (retention, forget).
    void dropSamples(const std::function<bool(const SampleRow &)> &which);
    void dropLed(const std::function<bool(const LedRow &)> &which);
    void dropDevices(const std::function<bool(const DeviceRow &)> &which);

    // Gives the queued rows to the writer without waiting (the timer's job). With nothing
    // queued, still pokes the writer when it holds rows of a failed write.
    void handOver();
    // Gives them and waits until they (and every job before) are written. False and *error when
    // the write failed: the writer keeps the rows for the next try.
    bool flush(QString *error);
    // Starts the timer for a hand-over when anything is queued (after open()).
    void schedule();

    // The writer's reports (TelemetryDatabase's callbacks).
    void writeFailed(const QString &message);
    void writeSucceeded();

    // Rows queued here plus rows handed over and not yet committed (device rows not counted).
    qsizetype pendingWrites() const { return queued() + m_db.unwritten(); }
    qsizetype queued() const { return qsizetype(m_samples.size() + m_led.size()); }

    void setFlushInterval(int ms) { m_intervalMs = std::max(0, ms); }
    int flushInterval() const { return m_intervalMs; }
    void setFlushBatchSize(int rows) { m_batchSize = std::max(1, rows); }
    int flushBatchSize() const { return m_batchSize; }
    void setMaxPendingWrites(qsizetype rows) { m_maxPending = std::max<qsizetype>(1, rows); }
    qsizetype maxPendingWrites() const { return m_maxPending; }
    qsizetype droppedWrites() const { return m_dropped; }

private:
    void beginTrouble(const QString &message);
    void startTimer();

    TelemetryDatabase &m_db;
    std::function<void(const QString &, bool)> m_warn;
    std::function<void()> m_handedOver;
    QString m_path;
    bool m_open = false;
    std::vector<SampleRow> m_samples;
    std::vector<LedRow> m_led;
    std::vector<DeviceRow> m_devices;
    QTimer m_timer;
    int m_intervalMs = 1000;
    int m_batchSize = 2000;
    // The backlog bound (#9) and the episode: `m_trouble` from the first failed write (or
    // dropped sample) until a write succeeds with the backlog at most half the bound.
    qsizetype m_maxPending = 100000;
    qsizetype m_dropped = 0;
    qsizetype m_droppedInTrouble = 0;
    bool m_trouble = false;
};

} // namespace nightlight
