#pragma once

// TelemetryWriter: the SQL of TelemetryDatabase's file, on one QSqlDatabase connection: the
// schema and its upgrades, loading, and the writes, with the rows of a failed write kept for the
// next try. Not thread-safe: every member function runs on TelemetryDatabase's writer thread
// (called through queued or blocking-queued invocations), so the connection is created, used and
// removed on that one thread, as Qt SQL requires. Only the atomics are read from other threads.

#include "ledhistory.h"
#include "telemetrydatabase.h"

#include <QSqlDatabase>
#include <QString>

#include <array>
#include <atomic>
#include <limits>
#include <map>
#include <optional>
#include <vector>

namespace nightlight {

class TelemetryWriter
{
public:
    explicit TelemetryWriter(QString connectionName) : m_connectionName(std::move(connectionName))
    { }

    // Rows handed over (or kept after a failed write) and not yet committed or dropped: samples
    // and LED changes, the backlog that is bounded. Device rows (one per device an hour at most)
    // are not counted.
    std::atomic<qsizetype> unwritten{0};
    // Set by the GUI thread while writing is in trouble: then every successful insert is
    // reported back, so the store can say when it works again.
    std::atomic<bool> reportSuccess{false};

    // Opens (creating if needed) the database at `path`. With `out`, deletes rows older than
    // `cutoff` and loads the rest. On failure closes again, sets *error and whether the failure
    // means the file is not a usable database (*corrupt).
    bool open(const QString &path, qint64 cutoff, TelemetryDatabase::Loaded *out, QString *error,
              bool *corrupt);

    // PRAGMA max_page_count on the connection (it is not stored in the file); 0 puts back what
    // SQLite had at open(). Kept for the next open(). Returns the limit now in effect.
    qint64 setMaxPageCount(qint64 pages);

    // Closes the connection. Rows kept from a failed write are given up: the next open() of the
    // store queues again what the file lacks.
    void close();

    // Writes `rows`, `ledRows` and `deviceRows`, after those kept from a failed write, in one
    // transaction. On failure keeps them all for the next call and returns the message; empty on
    // success.
    QString insert(std::vector<TelemetryDatabase::SampleRow> rows,
                   std::vector<TelemetryDatabase::LedRow> ledRows,
                   std::vector<TelemetryDatabase::DeviceRow> deviceRows);

    // Takes `id` out of the devices table and, with `history`, deletes its samples and LED
    // changes (one transaction; on this thread, so a long history never holds up the GUI). Rows
    // of it kept from a failed write go too (its listing always, its history with `history`).
    QString forget(const QString &id, bool history);

    // Deletes the rows of `id` older than `cutoff`, and drops such rows kept for a retry. Returns
    // the message on failure, empty on success.
    QString deleteBefore(const QString &id, qint64 cutoff);

    // Deletes the LED changes of `id` before `cutoff` (also those kept for a retry) and, with
    // `carryOn`, records a change to on at the cutoff (see LedHistory::clipBefore). Returns the
    // message on failure, empty on success.
    QString clipLed(const QString &id, qint64 cutoff, bool carryOn);

    // True while rows of a failed write wait for the next try.
    bool holdsFailedRows() const
    {
        return !m_retry.empty() || !m_retryLed.empty() || !m_retryDevices.empty();
    }
    // Summaries (docs/chart.md, "Format 2"). requestSummarize() asks for every tier to be built up
    // to nowMs - SummaryLateMs; it returns true when no catch-up runs, and the caller then runs
    // summarizeStep() (and again while *more), false when one runs (it takes the new end).
    // summarizeStep() builds one chunk of one tier (about 100 ms of work) in one transaction.
    bool requestSummarize(qint64 nowMs);
    QString summarizeStep(bool *more);
    // Retention per tier, the same way: requestRetention() then retentionStep() while *more; each
    // call deletes up to 10,000 rows per statement for about 20 ms, or vacuums a bounded number
    // of pages.
    bool requestRetention(qint64 nowMs, TelemetryDatabase::Retention r);
    QString retentionStep(bool *more);
    // Counts open(): a step posted before the last open() or close() is dropped.
    quint64 generation() const { return m_generation; }

private:
    QSqlDatabase db() const { return QSqlDatabase::database(m_connectionName, false); }
    bool openDatabase(QString *error, bool *corrupt);
    bool migrate(qint64 from, QString *error, bool *corrupt);
    bool load(TelemetryDatabase::Loaded &out, qint64 cutoff, QString *error, bool *corrupt);
    bool loadLed(std::map<QString, LedHistory> &out, qint64 cutoff, QString *error, bool *corrupt);
    // The file side of clipLed(): one transaction; the SQLite error text on failure.
    static QString clipLedRows(QSqlDatabase handle, const QString &id, qint64 cutoff, bool carryOn);
    // Reads summary_done into m_until.
    bool loadSummaryState(QString *error, bool *corrupt);
    // Builds tier `tier` (an index into SummaryTiers) over [from, to) for every device, or for
    // `device` only when given (a replay); in the caller's transaction. Empty or the error.
    QString aggregate(size_t tier, qint64 from, qint64 to, const QString *device);
    void setUntil(size_t tier, qint64 until);
    // One retention statement: what it deleted in *deleted.
    QString retentionDelete(qint64 *deleted);

    static constexpr size_t TierCount = TelemetryDatabase::SummaryTiers.size();

    QString m_connectionName;
    QString m_path;
    qint64 m_maxPageCount = 0; // setMaxPageCount(); 0: SQLite's own
    qint64 m_defaultMaxPageCount = 0; // what SQLite said at open()
    // Rows of a failed write, written first by the next insert().
    std::vector<TelemetryDatabase::SampleRow> m_retry;
    std::vector<TelemetryDatabase::LedRow> m_retryLed;
    std::vector<TelemetryDatabase::DeviceRow> m_retryDevices;

    quint64 m_generation = 0;
    // Per tier, summary_done.until (none: nothing summarised yet, start at the oldest sample),
    // and the time span of the next catch-up chunk, sized to about 100 ms of work.
    std::array<std::optional<qint64>, TierCount> m_until;
    std::array<qint64, TierCount> m_chunkMs = {3600 * 1000, 24 * 3600 * 1000};
    // A sample older than this is a replay: insert() re-aggregates its buckets (the 1-minute
    // tier's until; the lowest qint64 while it has none).
    qint64 m_replayBefore = std::numeric_limits<qint64>::min();
    bool m_summarizing = false;
    qint64 m_summarizeNow = 0;
    // Retention in progress: its phase (raw, 1-minute, 15-minute, vacuum, done),
    // the last device done (devices are taken in order) and one left with more to delete.
    bool m_retaining = false;
    bool m_retentionAgain = false; // asked again while a pass runs
    qint64 m_retentionNow = 0;
    TelemetryDatabase::Retention m_retention;
    int m_retentionPhase = 0;
    std::optional<QString> m_retentionAfter;
    std::optional<QString> m_retentionCurrent;
};

} // namespace nightlight
