#include "filehistory.h"

#include "axisticks.h"

#include <QLoggingCategory>

#include <algorithm>
#include <limits>

namespace nightlight {

namespace {

Q_LOGGING_CATEGORY(lcHistory, "nightlight.store")

constexpr qint64 Never = std::numeric_limits<qint64>::min();
// The summary tiers, coarsest first (bucket length in ms). A window is drawn from the coarsest
// whose bucket fits in one pixel column, raw below the 1-minute tier.
constexpr qint64 TiersCoarseFirst[] = {TelemetryDatabase::SummaryTiers[1],
                                       TelemetryDatabase::SummaryTiers[0]};
// A summarised window reads raw samples for what its tier has not summarised yet (the last two
// or three minutes). While the summaries catch up with a file migrated from an older format,
// that could be a month: beyond this it shows "loading" and asks again each second instead.
constexpr qint64 MaxRawGapMs = qint64(6) * 3600 * 1000;
constexpr int UntilPollMs = 1000;

} // namespace

FileHistory::FileHistory(QObject *context, std::function<void(const QString &)> loaded)
    : m_loaded(std::move(loaded)),
      m_reader(context, [this](TelemetryReader::Answer a) { answered(std::move(a)); })
{
    m_untilPoll.setSingleShot(true);
    m_untilPoll.setInterval(UntilPollMs);
    QObject::connect(&m_untilPoll, &QTimer::timeout, context, [this] { pollUntil(); });
}

void FileHistory::open(const QString &path, std::map<QString, Range> ranges,
                       std::map<qint64, qint64> until)
{
    m_path = path;
    m_ranges = std::move(ranges);
    m_until = std::move(until);
    m_tailFrom.clear();
    for (const auto &[id, range] : m_ranges)
        m_tailFrom[id] = range.last.t + 1;
    m_cache.removeDevice(QString());
    m_readWarnings = 0;
    m_reader.open(path);
}

void FileHistory::close()
{
    m_reader.close();
    m_path.clear();
    m_ranges.clear();
    m_tailFrom.clear();
    m_until.clear();
    m_untilPoll.stop();
    m_cache.removeDevice(QString());
}

const FileHistory::Range *FileHistory::range(const QString &id) const
{
    const auto it = m_ranges.find(id);
    return it == m_ranges.end() ? nullptr : &it->second;
}

qint64 FileHistory::tailStart(const QString &id) const
{
    const auto it = m_tailFrom.find(id);
    return it == m_tailFrom.end() ? Never : it->second;
}

quint64 FileHistory::generation(const QString &id) const
{
    const auto it = m_generation.find(id);
    return it == m_generation.end() ? 0 : it->second;
}

void FileHistory::pollUntil()
{
    if (!m_path.isEmpty())
        m_reader.requestUntil(0);
}

// Asks the reader for `key`'s range; an answer to an earlier request for it is ignored.
void FileHistory::request(const HistoryCache::Key &key, HistoryCache::Chunk &c)
{
    c.request = ++m_nextRequest;
    const qint64 span = HistoryCache::chunkSpan(key.tier);
    m_reader.request({c.request, key.device, key.tier, key.index * span, (key.index + 1) * span});
}

// The cached chunk, asked for when it is not cached yet.
HistoryCache::Chunk &FileHistory::chunk(const QString &id, qint64 tier, qint64 index)
{
    const HistoryCache::Key key{id, tier, index};
    if (HistoryCache::Chunk *c = m_cache.find(key))
        return *c;
    HistoryCache::Chunk &c = m_cache.get(key);
    request(key, c);
    return c;
}

void FileHistory::refresh(const QString &id, qint64 t0, qint64 t1)
{
    for (const HistoryCache::Key &key : m_cache.overlapping(id, t0, t1)) {
        if (HistoryCache::Chunk *c = m_cache.find(key))
            request(key, *c);
    }
}

void FileHistory::answered(TelemetryReader::Answer a)
{
    bool moved = false;
    for (const auto &[tier, value] : a.until) {
        auto [it, made] = m_until.try_emplace(tier, value);
        if (!made && value > it->second) {
            it->second = value;
            moved = true;
        }
        moved = moved || made;
    }
    const TelemetryReader::Request &r = a.request;
    if (!a.error.isEmpty() && m_readWarnings < 3) {
        ++m_readWarnings;
        qCWarning(lcHistory).noquote()
            << QStringLiteral("cannot read the history of %1 from %2: %3%4")
                   .arg(r.device, m_path, a.error,
                        m_readWarnings == 3
                            ? QStringLiteral(" (further read errors are not logged)")
                            : QString());
    }
    if (r.tier >= 0) {
        const qint64 span = HistoryCache::chunkSpan(r.tier);
        const auto u = a.until.find(r.tier);
        const qint64 doneUntil = u == a.until.end() ? Never : u->second;
        // A failed read is stored empty (ready): asking again at every paint would only fail
        // again. The next open() starts afresh.
        if (m_cache.fill({r.device, r.tier, floorDiv(r.t0, span)}, r.id, std::move(a.samples),
                         std::move(a.buckets), doneUntil)) {
            ++m_generation[r.device];
            m_loaded(r.device);
        }
    }
    if (moved) {
        // Every chart drawn from a summary may now take more of it.
        for (const auto &entry : m_ranges) {
            ++m_generation[entry.first];
            m_loaded(entry.first);
        }
    }
}

void FileHistory::decimate(const QString &id, qint64 t0, qint64 t1, qint64 a, qint64 b,
                           qint64 rawCutoff, std::vector<Column> &cols)
{
    const int n = int(cols.size());
    const auto loading = [&](qint64 lo, qint64 hi) {
        if (hi <= lo)
            return;
        const int c1 = SampleSeries::columnOf(t0, t1, n, hi - 1);
        for (int c = SampleSeries::columnOf(t0, t1, n, lo); c <= c1; ++c)
            cols[size_t(c)].loading = true;
    };
    const qint64 columnMs = (t1 - t0) / n;
    qint64 tier = 0;
    for (const qint64 t : TiersCoarseFirst) {
        if (t <= columnMs) {
            tier = t;
            break;
        }
    }
    // While the 15-minute tier catches up behind the 1-minute one (a migrated file: the
    // 1-minute buckets come first), the 1-minute tier serves the wide window.
    if (tier == TiersCoarseFirst[0]) {
        const auto quarter = m_until.find(tier);
        const auto minute = m_until.find(TiersCoarseFirst[1]);
        if (minute != m_until.end() &&
            (quarter == m_until.end() || minute->second - quarter->second > MaxRawGapMs))
            tier = TiersCoarseFirst[1];
    }
    qint64 rawFrom = a;
    // Raw samples older than their retention are gone: the 1-minute tier stands in.
    qint64 summaryTier = tier;
    qint64 summaryLimit = b;
    if (tier == 0 && a < rawCutoff) {
        summaryTier = TelemetryDatabase::SummaryTiers[0];
        summaryLimit = std::min(b, rawCutoff);
    }
    if (summaryTier > 0) {
        const auto u = m_until.find(summaryTier);
        const qint64 done = u == m_until.end() ? Never : u->second;
        const qint64 summaryEnd = std::min(summaryLimit, done);
        rawFrom = std::max(a, summaryEnd);
        const qint64 span = HistoryCache::chunkSpan(summaryTier);
        for (qint64 i = floorDiv(a, span); a < summaryEnd && i * span < summaryEnd; ++i) {
            const qint64 lo = std::max(a, i * span);
            const qint64 hi = std::min(summaryEnd, (i + 1) * span);
            HistoryCache::Chunk &c = chunk(id, summaryTier, i);
            if (!c.ready) {
                loading(lo, hi);
                continue;
            }
            // Summarised further since this was read: read it again, showing this meanwhile.
            if (c.until < done && c.until < (i + 1) * span && c.request == 0)
                request({id, summaryTier, i}, c);
            const qint64 complete = std::min(hi, std::max(lo, c.until));
            for (const TelemetryReader::Bucket &k : c.buckets) {
                if (k.t >= lo && k.t < complete) {
                    cols[size_t(SampleSeries::columnOf(t0, t1, n, k.t))].add(k.min, k.max, k.first,
                                                                             k.last, k.count);
                }
            }
            if (complete < hi) {
                rawFrom = complete; // the rest is not summarised yet: raw
                break;
            }
        }
    }
    if (rawFrom >= b)
        return;
    if (tier > 0 && b - rawFrom > MaxRawGapMs) {
        // The summaries are catching up (a migrated file): ask again in a second.
        loading(rawFrom, b);
        if (!m_untilPoll.isActive())
            m_untilPoll.start();
        return;
    }
    const qint64 span = HistoryCache::RawChunkMs;
    for (qint64 i = floorDiv(rawFrom, span); i * span < b; ++i) {
        const qint64 lo = std::max(rawFrom, i * span);
        const qint64 hi = std::min(b, (i + 1) * span);
        const HistoryCache::Chunk &c = chunk(id, 0, i);
        if (!c.ready) {
            loading(lo, hi);
            continue;
        }
        const auto &samples = c.samples;
        auto it = std::lower_bound(samples.begin(), samples.end(), lo,
                                   [](const Sample &x, qint64 t) { return x.t < t; });
        for (; it != samples.end() && it->t < hi; ++it)
            cols[size_t(SampleSeries::columnOf(t0, t1, n, it->t))].add(it->v, it->v, it->v, it->v,
                                                                       1);
    }
}

std::optional<FileHistory::Sample> FileHistory::nearest(const QString &id, qint64 tMs,
                                                        std::optional<Sample> best)
{
    const auto better = [&](const Sample &x) {
        if (!best) {
            best = x;
            return;
        }
        const qint64 dx = x.t > tMs ? x.t - tMs : tMs - x.t;
        const qint64 db = best->t > tMs ? best->t - tMs : tMs - best->t;
        if (dx < db || (dx == db && x.t < best->t))
            best = x;
    };
    // The raw ranges already read around tMs; a hover never waits for the file.
    const qint64 i = floorDiv(tMs, HistoryCache::RawChunkMs);
    for (qint64 k = i - 1; k <= i + 1; ++k) {
        const HistoryCache::Chunk *c = m_cache.find({id, 0, k});
        if (!c || !c->ready || c->samples.empty())
            continue;
        const auto &v = c->samples;
        auto it = std::lower_bound(v.begin(), v.end(), tMs,
                                   [](const Sample &x, qint64 t) { return x.t < t; });
        if (it != v.end())
            better(*it);
        if (it != v.begin())
            better(*std::prev(it));
    }
    return best;
}

void FileHistory::tailMoved(const QString &id, qint64 cutoff, std::optional<qint64> first,
                            std::optional<Sample> last)
{
    qint64 &from = m_tailFrom.try_emplace(id, Never).first->second;
    if (cutoff <= from)
        return;
    if (first && last) {
        auto [f, made] = m_ranges.try_emplace(id);
        if (made || *first < f->second.first)
            f->second.first = *first;
        if (made || last->t >= f->second.last.t)
            f->second.last = *last;
    }
    const qint64 was = from;
    from = cutoff;
    // Cached before the writer had them: read again.
    refresh(id, was, cutoff);
}

bool FileHistory::clipBefore(const QString &id, qint64 cutoff)
{
    const auto it = m_ranges.find(id);
    if (it == m_ranges.end() || it->second.first >= cutoff)
        return false;
    it->second.first = cutoff;
    return true;
}

bool FileHistory::forget(const QString &id)
{
    m_tailFrom.erase(id);
    m_cache.removeDevice(id);
    ++m_generation[id];
    return m_ranges.erase(id) > 0;
}

} // namespace nightlight
