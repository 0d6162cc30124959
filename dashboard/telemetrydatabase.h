#pragma once

// TelemetryDatabase: TelemetryStore's SQLite file and the worker thread that writes it. Owns the
// thread and, living on it, a TelemetryWriter (the SQL: one QSqlDatabase connection made, used and
// removed on that thread, as Qt SQL requires, and the rows of a failed write, kept for the next
// try). Opening moves a damaged file aside.
//
// Thread: create and call on the GUI thread. open(), close(), insertNow() and setMaxPageCount()
// run on the worker and wait for it; the *Later() calls hand a job to the worker and return at
// once. Jobs run in the order they were handed over (one receiver, one thread), so a delete
// follows the inserts before it. A later job that fails reports its message to `writeFailed`, and
// an insertLater() that succeeds while setReportSuccess(true) reports to `insertSucceeded`: both
// called on `context`'s thread (queued), and dropped if `context` is gone by then.

#include "ledhistory.h"
#include "sampleseries.h"

#include <QString>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <vector>

class QObject;

namespace nightlight {

class TelemetryDatabase
{
public:
    // The history file's format, in SQLite's `PRAGMA user_version`, and the application id that
    // marks it as ours (`PRAGMA application_id`, "NLht"). Files written before formats were
    // numbered have 0 for both; open() migrates them in place. A file of a newer format, or one
    // another program marked as its own, is refused and left untouched (docs/chart.md).
    static constexpr int HistoryFormat = 2;
    static constexpr qint32 ApplicationId = 0x4E4C6874;
    // The summary tiers of format 2, as bucket lengths in ms: one `summary` row per device and
    // bucket (t = the bucket's start, floor(sample t / tier) * tier), and in `summary_done` the
    // time up to which every bucket of the tier is complete (docs/chart.md, "Format 2").
    static constexpr std::array<qint64, 2> SummaryTiers = {60000, 900000};
    // How far behind the clock summarizing stops, for samples that arrive late.
    static constexpr qint64 SummaryLateMs = 120000;

    // How long each tier is kept (ms; 0 keeps it forever): raw samples, 1-minute and 15-minute
    // summaries. Raw samples whose 1-minute bucket is not summarised yet are kept whatever
    // rawMs says, and so are 1-minute rows not yet in their 15-minute bucket.
    struct Retention
    {
        qint64 rawMs = 0;
        qint64 minuteMs = 0;
        qint64 quarterMs = 0;
    };

    // A sample row of the `samples` table.
    struct SampleRow
    {
        QString device;
        qint64 t;
        double v;
    };
    // A row of the `led` table: from `t` on the LED is `on`.
    struct LedRow
    {
        QString device;
        qint64 t;
        bool on;
    };
    // A device the file should list (the `devices` table), heard at `seen` (ms since the epoch).
    struct DeviceRow
    {
        QString device;
        qint64 seen;
    };
    // What the file holds of a device's samples: the first and the last (by time).
    struct SampleRange
    {
        qint64 first = 0;
        SampleSeries::Sample last;
    };
    // What open() reads from the file: where each device's samples begin and end (not the
    // samples: TelemetryReader reads ranges as they come into view), the LED changes per device
    // in time order (equal times in the order they were written), the devices it lists with when
    // they were last heard, and per summary tier the time up to which it is complete.
    struct Loaded
    {
        std::map<QString, SampleRange> ranges;
        std::map<QString, LedHistory> led;
        std::map<QString, qint64> devices;
        std::map<qint64, qint64> until;
    };

    TelemetryDatabase(QObject *context, std::function<void(const QString &)> writeFailed,
                      std::function<void()> insertSucceeded);
    ~TelemetryDatabase(); // stops the thread (closing nothing: call close() first)

    // Opens (or creates) the database at `path` on the worker and waits; with `loaded`, reads what
    // Loaded says, with LED changes older than `cutoff` (std::numeric_limits<qint64>::min(): none)
    // clipped (samples older than it are left to the retention jobs).
    // Only a file positively known not to be a database (no SQLite header), or one SQLite finds
    // damaged (SQLITE_CORRUPT, SQLITE_NOTADB), is moved aside to "<path>.corrupt-<stamp>", with
    // movedAside(message) called before a new one is started (then nothing is loaded). Anything
    // else wrong with the path (a folder, no permission, a FIFO, a lock held by another program)
    // touches nothing. False on failure, with *reason (without the path, for openError()) and
    // *message (with it, for the user and the log).
    bool open(const QString &path, qint64 cutoff, Loaded *loaded,
              const std::function<void(const QString &)> &movedAside, QString *reason,
              QString *message);
    // Closes the connection (on the worker, waiting) if the worker runs; rows kept from a failed
    // write are given up.
    void close();

    // Writes the rows, after those kept from a failed write, in one transaction on the worker,
    // after every job handed over before, and waits. Empty on success, else the message (the rows
    // are then kept for the next try).
    QString insertNow(std::vector<SampleRow> rows, std::vector<LedRow> ledRows,
                      std::vector<DeviceRow> deviceRows);
    // The same, without waiting.
    void insertLater(std::vector<SampleRow> rows, std::vector<LedRow> ledRows,
                     std::vector<DeviceRow> deviceRows);
    // Takes `id` out of the devices table and, with `history`, deletes its samples and LED
    // changes (one transaction), rows of it kept from a failed write too.
    void forgetLater(const QString &id, bool history);
    // Deletes the samples of `id` older than `cutoff` (those kept for a retry too).
    void deleteSamplesBeforeLater(const QString &id, qint64 cutoff);
    // Deletes the LED changes of `id` before `cutoff` (those kept for a retry too) and, with
    // `carryOn`, records a change to on at the cutoff (see LedHistory::clipBefore).
    void clipLedLater(const QString &id, qint64 cutoff, bool carryOn);

    // Calls fn on `context`'s thread once every job handed over before has run, with whether
    // every row handed over before is in the file (false: a failed write keeps some for a
    // retry). Needs an open() before.
    void afterWritesLater(std::function<void(bool written)> fn);

    // Builds the summaries of every tier up to two minutes (SummaryLateMs) before `nowMs`, on the
    // worker, behind the jobs handed over before: in chunks of about 100 ms of work, each its own
    // transaction and its own job, so inserts handed over meanwhile go in between. A call while
    // such a catch-up runs only moves its end. open() calls it with the current time.
    void summarizeLater(qint64 nowMs);
    // Deletes what is older than `r` keeps, per tier (all devices; never raw samples or 1-minute
    // rows not yet summarised), in steps of at most 10,000 rows, each its own transaction, then
    // shrinks the file (PRAGMA incremental_vacuum) when it has incremental auto-vacuum. On the
    // worker, re-posting itself between steps. LED changes are left to clipLedLater().
    void applyRetentionLater(qint64 nowMs, Retention r);

    // SQLite's max_page_count for the connection (0: SQLite's own); kept across open(). Starts
    // the worker if needed and waits for it. Returns the limit in effect (0 when not open).
    qint64 setMaxPageCount(qint64 pages);

    // Sample and LED rows handed over (or kept after a failed write) and not yet committed or
    // dropped: the backlog that is bounded. Device rows are not counted.
    qsizetype unwritten() const;
    // While true, every insertLater() that succeeds is reported (see above).
    void setReportSuccess(bool report);

private:
    struct Private;
    std::unique_ptr<Private> const d;
};

} // namespace nightlight
