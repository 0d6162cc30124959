#pragma once

// TelemetryReader: reads ranges of the history file for TelemetryStore on a thread of its own, so
// the GUI thread never waits for SQLite while it paints (#11). Owns a QThread and, on it, a
// read-only QSqlDatabase connection of its own (made, used and removed on that thread, as Qt SQL
// requires); SQLite's WAL journal lets it read while TelemetryDatabase's writer writes.
//
// Thread: create and call on the GUI thread. request() hands a read to the thread and returns at
// once; its Answer comes back through `answered`, called on `context`'s thread (queued, dropped if
// `context` is gone). Requests are answered in the order they were made. readSamples() and
// countSamples() wait (CSV export, the forget dialog's count, tests).

#include "sampleseries.h"

#include <QString>

#include <functional>
#include <map>
#include <memory>
#include <vector>

class QObject;

namespace nightlight {

class TelemetryReader
{
public:
    // One row of the summary table: the samples of [t, t + tier).
    struct Bucket
    {
        qint64 t = 0;
        double min = 0;
        double max = 0;
        double first = 0;
        double last = 0;
        double sum = 0;
        qint64 count = 0;
    };
    // Raw samples (tier 0) or summary buckets (tier = bucket length in ms) of `device` with
    // t0 <= t < t1. `id` is the caller's, handed back in the answer.
    struct Request
    {
        quint64 id = 0;
        QString device;
        qint64 tier = 0;
        qint64 t0 = 0;
        qint64 t1 = 0;
    };
    struct Answer
    {
        Request request;
        std::vector<SampleSeries::Sample> samples; // tier 0, in time order
        std::vector<Bucket> buckets; // summary tiers, in time order, all before until[tier]
        // Per summary tier, the time up to which its buckets are complete when this was read
        // (summary_done); a tier the file has no row for is missing.
        std::map<qint64, qint64> until;
        QString error; // empty when the read worked
    };

    TelemetryReader(QObject *context, std::function<void(Answer)> answered);
    ~TelemetryReader(); // stops the thread and closes the connection

    // Reads `path` from now on (the connection is made by the first read). Answers to requests
    // made before are dropped.
    void open(const QString &path);
    // Closes the connection and waits; answers still under way are dropped.
    void close();

    void request(Request request);
    // Asks only for summary_done (an Answer with no rows and request.tier < 0).
    void requestUntil(quint64 id);

    // Waits for the samples of `device` with t0 <= t < t1 (after the requests made before).
    // False and *error when the read failed.
    bool readSamples(const QString &device, qint64 t0, qint64 t1,
                     std::vector<SampleSeries::Sample> *out, QString *error);
    // Writes the samples of `device` with t0 <= t < t1 as CSV (writeCsv()) to `fileName` through a
    // QSaveFile on the reader thread, after the requests made before; `done(error, rows)` comes
    // back on `context`'s thread (error empty on success; "the history was closed" after a
    // close() or open() came first).
    void exportCsvLater(const QString &fileName, const QString &device, qint64 t0, qint64 t1,
                        std::function<void(const QString &error, qint64 rows)> done);
    // Waits for the number of samples the file holds for `device` with t < t1, raw and, older
    // than the raw ones, summarised (`count` of the coarsest tier before its first raw sample).
    qint64 countSamples(const QString &device, qint64 t1, QString *error);

private:
    struct Private;
    std::unique_ptr<Private> const d;
};

} // namespace nightlight
