#pragma once

// SampleSeries: one device's light samples in memory, as two sorted columns (time, value) plus the
// min/max of each BlockSize-sample block (the last block may be partial), so that decimating a
// window to a few hundred columns reads whole blocks from their summaries instead of every sample.
// 16 bytes per sample, 16 bytes per block. A plain value: no signals, no SQL, no locking; the
// owner (TelemetryStore) decides what is kept and what is written.

#include <QtGlobal>

#include <algorithm>
#include <functional>
#include <optional>
#include <vector>

namespace nightlight {

class SampleSeries
{
public:
    // One sample: time in ms since the Unix epoch (UTC), value in the device's units.
    struct Sample
    {
        qint64 t = 0;
        double v = 0;
        bool operator==(const Sample &o) const { return t == o.t && v == o.v; }
        bool operator!=(const Sample &o) const { return !(*this == o); }
    };
    // First and last sample time, in ms since the epoch (UTC), inclusive.
    struct Range
    {
        qint64 first = 0;
        qint64 last = 0;
    };
    // One decimated column: min/max of the values in its time slice, and the values of its
    // first and last sample (to join neighbouring columns). `empty` when no sample falls in it
    // (then the numbers are meaningless). `count`: the samples it stands for. `loading`: part of
    // its slice is still being read from the history file (TelemetryStore); it shows what is
    // there so far. Neither takes part in ==.
    struct Column
    {
        double min = 0;
        double max = 0;
        double first = 0;
        double last = 0;
        qint64 count = 0;
        bool empty = true;
        bool loading = false;
        bool operator==(const Column &o) const
        {
            return empty == o.empty &&
                (empty || (min == o.min && max == o.max && first == o.first && last == o.last));
        }
        bool operator!=(const Column &o) const { return !(*this == o); }
        // Takes in `n` more samples that come after the column's in time: their min, max,
        // first and last value.
        void add(double lo, double hi, double firstValue, double lastValue, qint64 n)
        {
            if (empty) {
                min = lo;
                max = hi;
                first = firstValue;
                empty = false;
            } else {
                min = std::min(min, lo);
                max = std::max(max, hi);
            }
            last = lastValue;
            count += n;
        }
    };

    // Samples per min/max summary block. Decimation reads whole blocks from their summary.
    static constexpr int BlockSize = 64;

    // The column geometry of decimate(): column i of [t0Ms, t1Ms) cut into `columns` starts at
    // columnStart(t0Ms, t1Ms, columns, i) (i == columns: t1Ms). columnOf() is the column holding
    // tMs, for t0Ms <= tMs < t1Ms.
    static qint64 columnStart(qint64 t0Ms, qint64 t1Ms, int columns, qint64 i);
    static int columnOf(qint64 t0Ms, qint64 t1Ms, int columns, qint64 tMs);

    qsizetype size() const { return qsizetype(m_t.size()); }
    bool isEmpty() const { return m_t.empty(); }
    // The columns, in time order (equal times in arrival order).
    const std::vector<qint64> &times() const { return m_t; }
    const std::vector<double> &values() const { return m_v; }
    // Changes whenever stored samples move or vanish (out-of-order insert, dropFront, merge of
    // older samples); appends at the end leave it alone. Starts at 0.
    quint64 generation() const { return m_generation; }

    std::optional<Sample> last() const;
    std::optional<Range> timeRange() const;

    // Adds one sample. t >= the last t is an O(1) append; an older t is inserted after the samples
    // with the same time (summaries rebuilt from there, generation bumped). A sample identical to
    // a stored one (same t and v) is not added: returns false.
    bool insert(qint64 t, double v);
    // Merges `sorted` (in time order) in: samples identical to stored ones (or to earlier ones of
    // `sorted`) are skipped; `added`, when set, is called for each sample that was new, in time
    // order, as it is added. All at or after the last t: appended (generation unchanged);
    // otherwise one merge pass, summaries rebuilt, generation bumped. Returns how many were added.
    qsizetype merge(const std::vector<Sample> &sorted,
                    const std::function<void(qint64, double)> &added = nullptr);
    // Fills an empty series with `sorted` (in time order, as loaded from a file), with no spare
    // capacity in the columns or summaries. Generation unchanged.
    void assignSorted(const std::vector<Sample> &sorted);

    // Index of the first sample with t >= tMs (how many are older).
    qsizetype countBefore(qint64 tMs) const;
    // Drops the oldest `count` samples (count <= size(); 0 does nothing). Returns the time from
    // which samples are kept: the new first sample's t, or the old last t + 1 when none is left.
    // Rebuilds the summaries and bumps the generation when anything went.
    qint64 dropFront(qsizetype count);

    // True when (t, v) is already stored.
    bool containsExact(qint64 t, double v) const;

    // Min/max/first/last per column for the window [t0Ms, t1Ms) cut into `columns` equal slices
    // (column i covers [t0 + span*i/columns, t0 + span*(i+1)/columns), integer ms). Whole blocks
    // inside a column are read from their summaries, so the cost is about
    // columns * (2 * BlockSize + blocks per column), not the number of samples. `columns` empty
    // columns for no samples, an empty window or columns <= 0 (then none).
    std::vector<Column> decimate(qint64 t0Ms, qint64 t1Ms, int columns) const;
    // Calls fn(t, v) for each sample with t0Ms <= t <= t1Ms, in time order.
    void forEachInRange(qint64 t0Ms, qint64 t1Ms,
                        const std::function<void(qint64, double)> &fn) const;
    // Number of samples with t0Ms <= t <= t1Ms (0 when t1Ms < t0Ms).
    qsizetype countInRange(qint64 t0Ms, qint64 t1Ms) const;
    // The sample nearest in time to tMs (the earlier one on a tie; among equal times the last
    // one of that time), nullopt for no samples.
    std::optional<Sample> nearest(qint64 tMs) const;

    // Bytes held: column capacity plus block summaries.
    qsizetype memoryBytes() const;

    // The summaries, for tests: blockCount() == ceil(size() / BlockSize), and block b holds the
    // min and max of samples [b * BlockSize, (b + 1) * BlockSize).
    qsizetype blockCount() const { return qsizetype(m_blockMin.size()); }
    double blockMin(qsizetype b) const { return m_blockMin[size_t(b)]; }
    double blockMax(qsizetype b) const { return m_blockMax[size_t(b)]; }

private:
    // Recomputes the summaries of every block from the one holding sample `from` on.
    void rebuildSummaries(size_t from = 0);
    void pushBack(qint64 t, double v);
    // Min and max of v[a, e), e > a: whole blocks from their summaries.
    void minMax(size_t a, size_t e, double &lo, double &hi) const;

    std::vector<qint64> m_t;
    std::vector<double> m_v;
    std::vector<double> m_blockMin;
    std::vector<double> m_blockMax;
    quint64 m_generation = 0;
};

} // namespace nightlight
