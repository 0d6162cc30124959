#pragma once

// TelemetryStore: every device's light samples and its LED on/off changes, bounded by a retention
// period, and persisted to a SQLite file in batched transactions. Without a file every sample is
// in memory, as two sorted columns (time, value) with per-block min/max summaries for fast
// decimation; with one, memory holds only the last few minutes of each device and a cache of
// fixed size of ranges read from the file as charts show them, from summaries of 1 and 15
// minutes when zoomed out (#11, docs/chart.md "Tiered, lazy history"). Knows nothing of
// widgets or MQTT. The facade the widgets use: one SampleSeries and one LedHistory per device,
// the file through TelemetryDatabase, CSV through writeCsv(); it keeps the rows queued for the
// file, their bound, and the retention.
//
// Thread: create and use on the GUI thread only. The SQLite writes (inserts, retention deletes)
// run on a worker QThread the store owns, with its own QSqlDatabase connection made, used and
// removed on that thread; the GUI thread only hands it whole batches of rows and never waits on
// SQLite, except in open() (reading where each device's samples begin and end), flush(), close()
// (and so the destructor), and the few calls that say they wait (sampleCount(), forEachInRange(),
// exportCsv()). Ranges for charts are read on a second thread (TelemetryReader): decimate() never
// waits; what is not read yet comes as `loading` columns and historyLoaded() follows.

#include "sampleseries.h"

#include <QList>
#include <QObject>
#include <QPair>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

class QIODevice;

namespace nightlight {

class TelemetryStore : public QObject
{
    Q_OBJECT
public:
    // One sample: time in ms since the Unix epoch (UTC), value in the device's units.
    using Sample = SampleSeries::Sample;
    // First and last sample time of a device, in ms since the epoch (UTC), inclusive.
    using Range = SampleSeries::Range;
    // One decimated column: min/max of the values in its time slice, and the values of its
    // first and last sample (to join neighbouring columns). `empty` when no sample falls in it
    // (then the numbers are meaningless).
    using Column = SampleSeries::Column;

    // Samples per min/max summary block. Decimation reads whole blocks from their summary.
    static constexpr int BlockSize = SampleSeries::BlockSize;
    // Default retention: 30 days.
    static constexpr qint64 DefaultRetentionMs = qint64(30) * 24 * 3600 * 1000;
    // Default bound of the rows waiting to be written: 4 MB (40 bytes a row on x86-64); 5.8 days
    // of one device at the default 5 s interval, 100 s of 1,000 samples a second.
    static constexpr qsizetype DefaultMaxPendingWrites = 100000;

    explicit TelemetryStore(QObject *parent = nullptr);
    ~TelemetryStore() override; // flushes pending writes

    // --- persistence ---------------------------------------------------------------------
    // Opens (or creates) the SQLite database at `path`, reads which devices it holds samples of
    // and where they begin and end (not the samples: they are read as they come into view), and
    // from then on writes new samples in batched transactions. Samples (and LED changes) appended
    // while no database is open live in memory only; open() queues those the file lacks. A file
    // that is not a readable SQLite database is moved aside to "<path>.corrupt-<yyyyMMdd-HHmmss>",
    // a new one is started, and lastWarning() says so. Only two kinds of file are moved: a
    // non-empty regular file that does not start with the SQLite header, and one SQLite reads and
    // finds damaged (SQLITE_CORRUPT, SQLITE_NOTADB); an empty file becomes a new database. Returns
    // false (sets *error, "cannot open <path>: <reason>", and openError()) when no usable database
    // could be opened at `path`, and touches nothing: a directory, a FIFO or device, a file this
    // process cannot read, a symbolic link loop, a folder that is missing or not writable, a fine
    // file that is busy (another program holds a lock for over 2 s), a failing disk. The store then
    // works in memory. warningOccurred fires inside open(): check lastWarning() after it. Starts
    // the writer thread; loading runs on it while open() waits.
    bool open(const QString &path, QString *error = nullptr);
    bool isOpen() const;
    // Why the last open() failed, without the path ("is a directory", "Permission denied",
    // "database is locked"); empty after one that succeeded.
    QString openError() const;
    QString path() const;
    // Hands every queued sample (and LED change) to the writer thread and waits until it has
    // written them (one transaction) and done every delete handed over before. Call on shutdown;
    // the destructor does too. False (and *error) when the write failed: the rows stay queued for
    // the next try.
    bool flush(QString *error = nullptr);
    // Flushes and closes the database (on the writer thread); the samples in memory stay, those
    // only in the file are no longer shown.
    void close();
    // The last non-fatal problem (corrupt file moved aside, a failed write, a full backlog) or
    // its end ("writing to <path> works again; N samples ... are not in the file"), empty if none.
    // A run of failed writes warns once when it starts and once when writing works again.
    QString lastWarning() const;

    // Queued samples are handed to the writer thread every `ms` (default 1000) or as soon as
    // `samples` are queued (default 2000), whichever comes first; it writes each hand-over in one
    // transaction. Never one transaction per sample.
    void setFlushInterval(int ms);
    int flushInterval() const;
    void setFlushBatchSize(int samples);
    int flushBatchSize() const;
    // Number of rows (samples and LED changes) not yet committed to the file: queued here plus
    // handed to the writer.
    qsizetype pendingWrites() const;
    // While writes fail (disk full, a lock held for long) the rows wait and are retried. At most
    // `rows` wait (default DefaultMaxPendingWrites, at least 1): a sample that arrives while that
    // many wait is kept in memory (the chart shows it) but never written to the file, and counted
    // in droppedWrites(). The rows already waiting are kept (they continue the file without a
    // gap). LED changes, a few a day, are always queued.
    void setMaxPendingWrites(qsizetype rows);
    qsizetype maxPendingWrites() const;
    // Samples not written to the file because the backlog was full, since the store was made.
    qsizetype droppedWrites() const;
    // SQLite's max_page_count for the connection (0, the default: SQLite's own, no practical
    // limit); kept across open(). Writes that need more pages fail with SQLITE_FULL ("database or
    // disk is full"), as on a full disk: the tests' way to fill the disk without filling one. It
    // cannot go below the file's current size. Waits for the writer thread. Returns the limit in
    // effect (0 when no database is open).
    qint64 setMaxPageCount(qint64 pages);

    // --- bounds --------------------------------------------------------------------------
    // Samples older than now - retention are dropped (memory and file): at once, on open(), and
    // then about once a minute. 0 keeps everything. Default DefaultRetentionMs.
    void setRetention(qint64 ms);
    qint64 retention() const;
    // Within the retention, how long the file keeps raw samples (default DefaultRawRetentionMs)
    // and 1-minute summaries (DefaultMinuteRetentionMs); 15-minute summaries are kept for the
    // whole retention. Beyond the raw retention charts draw from the 1-minute summaries.
    static constexpr qint64 DefaultRawRetentionMs = qint64(7) * 24 * 3600 * 1000;
    static constexpr qint64 DefaultMinuteRetentionMs = qint64(90) * 24 * 3600 * 1000;
    void setTierRetention(qint64 rawMs, qint64 minuteMs);
    // Optional cap per device (0 = none, the default). When a device exceeds it by an eighth,
    // its oldest samples are dropped down to the cap in one go (amortised O(1) append).
    void setMaxSamplesPerDevice(qsizetype count);
    qsizetype maxSamplesPerDevice() const;
    // Drops every sample with t < cutoffMs, in memory at once and in the file on the writer
    // thread (after the rows handed over before; flush() waits for it). Called by the retention
    // timer with now - retention(); public for tests and for a "clear old data" action.
    // LED changes before the cutoff go too, but a device whose LED was on at the cutoff keeps a
    // change to on at cutoffMs: its period still shades from there.
    void removeBefore(qint64 cutoffMs);

    // --- writing -------------------------------------------------------------------------
    // Adds a sample. t >= the device's last t is an O(1) append; an older t (replayed outage data)
    // is inserted at its place. A sample identical (same t and v) to a stored one is ignored (QoS 1
    // redelivery); non-finite values are ignored. Emits deviceAdded for a new id, then
    // samplesAppended (synchronously: connect with a coalescing receiver, see LightChart).
    void append(const QString &deviceId, qint64 tMs, double value);
    // Many samples of one device in one go (any order): one sort + merge, one signal.
    void append(const QString &deviceId, std::vector<Sample> samples);
    // Records that the device's LED is `on` from tMs (ms since the epoch, UTC) on. A repeat of
    // the value in effect at tMs is ignored (before the first change the LED counts as off); an
    // older tMs is inserted at its place (after changes with the same time). Written to the file
    // with the samples' batches; does not add a device to devices(). Emits ledPeriodsChanged.
    void appendLedState(const QString &deviceId, qint64 tMs, bool on);

    // --- the devices listed -------------------------------------------------------------------
    // A device is listed (knownDevices(), and the file's `devices` table) once it sent something
    // worth keeping: append() and appendLedState() list it, addDevice() too (a state with no LED
    // change). Nothing else does: a status, an id named on the command line, a malformed message
    // make no device (#9). A listed device goes at open() when it has not been heard within the
    // retention period and nothing of it is left in the file. Files from before the table list
    // every device they hold samples or LED changes of.
    void addDevice(const QString &deviceId);
    // Sorted; after open(), the file's too.
    QStringList knownDevices() const;
    // Takes the device out of knownDevices() and the file's list. With `deleteHistory` its
    // samples and LED changes go too: at once in memory (samplesRemoved, ledPeriodsChanged) and in
    // the file on the writer thread (flush() waits for it), so a long history never blocks the
    // caller. Without, they stay (in memory and the file, until the retention period takes them);
    // devices() still has it. If it sends again it is listed again, as a new device.
    void forgetDevice(const QString &deviceId, bool deleteHistory);

    // --- reading -------------------------------------------------------------------------
    QStringList devices() const; // sorted; the devices with samples in memory or the file
    bool contains(const QString &deviceId) const;
    // Samples of the device held in memory: all of them without a file, the last few minutes
    // with one. Grows with every append (charts key their caches on it).
    qsizetype size(const QString &deviceId) const;
    // Every sample of the device the store holds, in memory and in the file (where retention
    // took raw samples, those the summaries stand for). Waits for the file: for a dialog, not
    // for painting.
    qsizetype sampleCount(const QString &deviceId) const;
    std::optional<Sample> last(const QString &deviceId) const;
    // First and last sample time. With a file, `first` is the retention cutoff once the cutoff
    // has passed the file's first sample (which is then on its way out of the file).
    std::optional<Range> timeRange(const QString &deviceId) const;
    // Changes whenever stored samples move or vanish (out-of-order insert, retention, cap);
    // appends at the end leave it alone. Caches of decimated data key on (generation, size).
    quint64 generation(const QString &deviceId) const;

    // Min/max/first/last per column for the window [t0Ms, t1Ms) cut into `columns` equal slices
    // (column i covers [t0 + span*i/columns, t0 + span*(i+1)/columns), integer ms). Whole blocks
    // inside a column are read from their summaries, so the cost is about
    // columns * (2 * BlockSize + blocks per column), not the number of samples. With a file,
    // what it holds comes from the coarsest tier (15-minute or 1-minute summaries, else raw
    // samples) whose bucket fits in a column, a summary bucket counting in the column of its
    // start; ranges not read yet are asked for and their columns come back `loading`, and
    // historyLoaded() follows when they arrive. Never waits.
    std::vector<Column> decimate(const QString &deviceId, qint64 t0Ms, qint64 t1Ms,
                                 int columns) const;
    // Calls fn(t, v) for each sample with t0Ms <= t <= t1Ms, in time order, the file's too
    // (waiting for the writer and then the reader: for export and tests, not for painting).
    void forEachInRange(const QString &deviceId, qint64 t0Ms, qint64 t1Ms,
                        const std::function<void(qint64, double)> &fn) const;
    // Number of samples with t0Ms <= t <= t1Ms (waits for the file as forEachInRange does).
    qsizetype countInRange(const QString &deviceId, qint64 t0Ms, qint64 t1Ms) const;
    // The sample nearest in time to tMs (the earlier one on a tie), nullopt for no samples;
    // of the file's, only among the raw ranges already read (a hover never waits).
    std::optional<Sample> nearest(const QString &deviceId, qint64 tMs) const;

    // The periods the device's LED was on that overlap [t0Ms, t1Ms), in time order, as (start,
    // end) in ms, clipped to the window, in LightChart::setLedPeriods's format: a period still on
    // at the last change has end == start. A period is at least 1 ms long.
    QList<QPair<qint64, qint64>> ledPeriods(const QString &deviceId, qint64 t0Ms,
                                            qint64 t1Ms) const;

    // Writes "time_utc,device,light\n" then one line per sample with t0Ms <= t <= t1Ms, e.g.
    // "2026-11-26T11:14:11.123Z,kitchen,412\n" (ISO 8601 UTC with ms; the shortest exact value, no
    // exponent). `out` must be open for writing. False and *error on a write error.
    bool exportCsv(QIODevice *out, const QString &deviceId, qint64 t0Ms, qint64 t1Ms,
                   QString *error = nullptr) const;

    // Writes the same CSV to `fileName` (through a QSaveFile: all or nothing) without holding up
    // the caller: with a file open, once the writer has what was appended before, the reader
    // thread streams the file's samples into it; without, at once. `done(error, rows)` is called
    // on this thread when it is finished (error empty on success), also when the store is
    // closed meanwhile ("the history was closed").
    void exportCsvLater(const QString &fileName, const QString &deviceId, qint64 t0Ms, qint64 t1Ms,
                        std::function<void(const QString &error, qint64 rows)> done);

    // Bytes of memory the samples of one device (or all devices, for an empty id) hold: column
    // capacity plus block summaries; for all devices, the cache of the file's ranges too.
    qsizetype memoryBytes(const QString &deviceId = QString()) const;

signals:
    void deviceAdded(const QString &deviceId);
    // New samples for the device (appended or inserted). Fires once per append() call.
    void samplesAppended(const QString &deviceId);
    // Samples were dropped (retention or cap); generation() changed.
    void samplesRemoved(const QString &deviceId);
    // A range of the device's history arrived from the file (or a summary grew): decimate()
    // may give more now; generation() changed.
    void historyLoaded(const QString &deviceId);
    // The device's LED changes changed (appendLedState, open(), retention): ledPeriods() may
    // give something else now.
    void ledPeriodsChanged(const QString &deviceId);
    // lastWarning() changed.
    void warningOccurred(const QString &message);

private:
    struct Private;
    std::unique_ptr<Private> const d;
};

} // namespace nightlight
