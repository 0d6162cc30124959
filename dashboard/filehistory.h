#pragma once

// FileHistory: what TelemetryStore shows of the samples in its SQLite file without holding them
// (#11). Knows where each device's samples begin and end in the file and from when memory holds
// them instead (the tail), reads ranges on TelemetryReader's thread into a HistoryCache of fixed
// size, and decimates from the coarsest tier (15-minute or 1-minute summaries, else raw samples)
// whose bucket fits in a column. Never waits: what is not cached yet is asked for, comes back as
// `loading` columns, and `loaded(id)` is called when it arrives (docs/chart.md, "Reading").
//
// Thread: create and use on the GUI thread; the reads run on the reader's thread.

#include "historycache.h"
#include "sampleseries.h"
#include "telemetrydatabase.h"
#include "telemetryreader.h"

#include <QString>
#include <QTimer>

#include <functional>
#include <map>
#include <optional>
#include <vector>

class QObject;

namespace nightlight {

class FileHistory
{
public:
    using Column = SampleSeries::Column;
    using Sample = SampleSeries::Sample;
    using Range = TelemetryDatabase::SampleRange;

    // What the cache of ranges read from the file may hold.
    static constexpr qsizetype CacheBudgetBytes = qsizetype(24) * 1024 * 1024;

    // `loaded(id)` is called on `context`'s thread when a range of the device arrives (or a
    // summary it is drawn from grew): its decimation may give more now.
    FileHistory(QObject *context, std::function<void(const QString &)> loaded);

    // Reads `path` from now on: the devices' ranges and the tiers' `until` as open() found them.
    // Memory holds every sample of a device after its last in the file.
    void open(const QString &path, std::map<QString, Range> ranges, std::map<qint64, qint64> until);
    // Forgets the file (the reader's connection is closed and answers under way are dropped).
    void close();

    const std::map<QString, Range> &ranges() const { return m_ranges; }
    const Range *range(const QString &id) const;
    // Memory holds every sample of `id` with t >= tailStart(id), the file the older ones
    // (std::numeric_limits<qint64>::min() when the file has none).
    qint64 tailStart(const QString &id) const;
    // Changes whenever something of the device arrives from the file.
    quint64 generation(const QString &id) const;

    // Adds what the file holds of `id` in [a, b) to `cols`, the decimation of [t0, t1) into
    // cols.size() columns, from cached chunks, in time order (before anything of memory's).
    // Raw samples before `rawCutoff` are gone (their retention): the 1-minute tier stands in.
    void decimate(const QString &id, qint64 t0, qint64 t1, qint64 a, qint64 b, qint64 rawCutoff,
                  std::vector<Column> &cols);
    // The sample nearest to tMs among the raw ranges already read, if nearer than `best`.
    std::optional<Sample> nearest(const QString &id, qint64 tMs, std::optional<Sample> best);

    // Reads the cached chunks of `id` overlapping [t0, t1) again (what they show stays until the
    // answers come): after samples in that range were written.
    void refresh(const QString &id, qint64 t0, qint64 t1);
    // Memory let go of the device's samples before `cutoff`, `first` to `last` (none: it held
    // none there), which the writer has: they are read from the file from now on.
    void tailMoved(const QString &id, qint64 cutoff, std::optional<qint64> first,
                   std::optional<Sample> last);
    // Retention: the device's file samples before `cutoff` are on their way out. True when the
    // file held any.
    bool clipBefore(const QString &id, qint64 cutoff);
    // The device's history was deleted: forgotten here at once. True when the file held any.
    bool forget(const QString &id);

    // Asks the reader for the tiers' `until` (once a minute, as the summaries grow).
    void pollUntil();
    TelemetryReader &reader() { return m_reader; }
    // Bytes the cache holds.
    qsizetype memoryBytes() const { return m_cache.bytes(); }

private:
    void request(const HistoryCache::Key &key, HistoryCache::Chunk &c);
    HistoryCache::Chunk &chunk(const QString &id, qint64 tier, qint64 index);
    void answered(TelemetryReader::Answer a);

    std::function<void(const QString &)> m_loaded;
    QString m_path;
    std::map<QString, Range> m_ranges;
    std::map<QString, qint64> m_tailFrom;
    // Per summary tier: its buckets are complete before this (what the reader last said).
    std::map<qint64, qint64> m_until;
    std::map<QString, quint64> m_generation;
    HistoryCache m_cache{CacheBudgetBytes};
    quint64 m_nextRequest = 0;
    int m_readWarnings = 0;
    QTimer m_untilPoll;
    // Declared last: destroyed first, its thread stopped before anything its answers touch.
    TelemetryReader m_reader;
};

} // namespace nightlight
