#include "sampleseries.h"

#include <algorithm>

namespace nightlight {

namespace {

// floor(span * i / n) without overflowing for any span and n.
qint64 slice(qint64 span, qint64 i, qint64 n)
{
    return (span / n) * i + ((span % n) * i) / n;
}

} // namespace

qint64 SampleSeries::columnStart(qint64 t0Ms, qint64 t1Ms, int columns, qint64 i)
{
    return t0Ms + slice(t1Ms - t0Ms, i, columns);
}

int SampleSeries::columnOf(qint64 t0Ms, qint64 t1Ms, int columns, qint64 tMs)
{
    const qint64 span = t1Ms - t0Ms;
    const qint64 offset = tMs - t0Ms;
    // An estimate in floating point (off by at most one), then the exact integer edges.
    qint64 i = std::clamp<qint64>(qint64(double(offset) * columns / double(span)), 0, columns - 1);
    while (i > 0 && slice(span, i, columns) > offset)
        --i;
    while (i + 1 < columns && slice(span, i + 1, columns) <= offset)
        ++i;
    return int(i);
}

std::optional<SampleSeries::Sample> SampleSeries::last() const
{
    if (m_t.empty())
        return std::nullopt;
    return Sample{m_t.back(), m_v.back()};
}

std::optional<SampleSeries::Range> SampleSeries::timeRange() const
{
    if (m_t.empty())
        return std::nullopt;
    return Range{m_t.front(), m_t.back()};
}

void SampleSeries::rebuildSummaries(size_t from)
{
    const size_t n = m_t.size();
    const size_t blocks = (n + BlockSize - 1) / BlockSize;
    m_blockMin.resize(blocks);
    m_blockMax.resize(blocks);
    for (size_t b = from / BlockSize; b < blocks; ++b) {
        const size_t a = b * BlockSize;
        const size_t e = std::min(n, a + BlockSize);
        double lo = m_v[a];
        double hi = m_v[a];
        for (size_t i = a + 1; i < e; ++i) {
            lo = std::min(lo, m_v[i]);
            hi = std::max(hi, m_v[i]);
        }
        m_blockMin[b] = lo;
        m_blockMax[b] = hi;
    }
}

void SampleSeries::pushBack(qint64 t, double v)
{
    const size_t i = m_t.size();
    m_t.push_back(t);
    m_v.push_back(v);
    const size_t b = i / BlockSize;
    if (b == m_blockMin.size()) {
        m_blockMin.push_back(v);
        m_blockMax.push_back(v);
    } else {
        m_blockMin[b] = std::min(m_blockMin[b], v);
        m_blockMax[b] = std::max(m_blockMax[b], v);
    }
}

bool SampleSeries::insert(qint64 t, double v)
{
    if (m_t.empty() || t > m_t.back()) {
        pushBack(t, v);
    } else if (containsExact(t, v)) {
        return false;
    } else if (t == m_t.back()) {
        pushBack(t, v);
    } else {
        // Replayed outage data: insert after any samples with the same time.
        const auto it = std::upper_bound(m_t.begin(), m_t.end(), t);
        const auto index = it - m_t.begin();
        m_t.insert(it, t);
        m_v.insert(m_v.begin() + index, v);
        rebuildSummaries(size_t(index));
        ++m_generation;
    }
    return true;
}

qsizetype SampleSeries::merge(const std::vector<Sample> &in,
                              const std::function<void(qint64, double)> &added)
{
    if (in.empty())
        return 0;
    if (m_t.empty() || in.front().t >= m_t.back()) {
        qsizetype count = 0;
        for (const Sample &x : in) {
            if (!m_t.empty() && x.t == m_t.back() && containsExact(x.t, x.v))
                continue;
            pushBack(x.t, x.v);
            if (added)
                added(x.t, x.v);
            ++count;
        }
        return count;
    }
    std::vector<qint64> t;
    std::vector<double> v;
    t.reserve(m_t.size() + in.size());
    v.reserve(m_t.size() + in.size());
    size_t i = 0;
    qsizetype count = 0;
    for (const Sample &x : in) {
        while (i < m_t.size() && m_t[i] <= x.t) {
            t.push_back(m_t[i]);
            v.push_back(m_v[i]);
            ++i;
        }
        bool duplicate = false;
        for (size_t k = t.size(); k > 0 && t[k - 1] == x.t; --k) {
            if (v[k - 1] == x.v) {
                duplicate = true;
                break;
            }
        }
        if (duplicate)
            continue;
        t.push_back(x.t);
        v.push_back(x.v);
        if (added)
            added(x.t, x.v);
        ++count;
    }
    t.insert(t.end(), m_t.begin() + qsizetype(i), m_t.end());
    v.insert(v.end(), m_v.begin() + qsizetype(i), m_v.end());
    m_t = std::move(t);
    m_v = std::move(v);
    rebuildSummaries();
    ++m_generation;
    return count;
}

void SampleSeries::assignSorted(const std::vector<Sample> &sorted)
{
    Q_ASSERT(m_t.empty());
    m_t.reserve(sorted.size());
    m_v.reserve(sorted.size());
    for (const Sample &x : sorted)
        pushBack(x.t, x.v);
    m_blockMin.shrink_to_fit();
    m_blockMax.shrink_to_fit();
}

qsizetype SampleSeries::countBefore(qint64 tMs) const
{
    return qsizetype(std::lower_bound(m_t.begin(), m_t.end(), tMs) - m_t.begin());
}

qint64 SampleSeries::dropFront(qsizetype count)
{
    if (count <= 0)
        return m_t.empty() ? 0 : m_t.front();
    const size_t n = size_t(count);
    const qint64 newFirst = n < m_t.size() ? m_t[n] : m_t.back() + 1;
    m_t.erase(m_t.begin(), m_t.begin() + count);
    m_v.erase(m_v.begin(), m_v.begin() + count);
    rebuildSummaries();
    ++m_generation;
    return newFirst;
}

bool SampleSeries::containsExact(qint64 t, double v) const
{
    auto it = std::lower_bound(m_t.begin(), m_t.end(), t);
    for (; it != m_t.end() && *it == t; ++it) {
        if (m_v[size_t(it - m_t.begin())] == v)
            return true;
    }
    return false;
}

void SampleSeries::minMax(size_t a, size_t e, double &lo, double &hi) const
{
    constexpr size_t B = BlockSize;
    lo = m_v[a];
    hi = m_v[a];
    auto scan = [&](size_t from, size_t to) {
        for (size_t i = from; i < to; ++i) {
            lo = std::min(lo, m_v[i]);
            hi = std::max(hi, m_v[i]);
        }
    };
    if (e - a < 2 * B) {
        scan(a + 1, e);
        return;
    }
    const size_t ba = (a + B - 1) / B; // first whole block
    const size_t be = e / B; // one past the last whole block
    scan(a + 1, ba * B);
    for (size_t b = ba; b < be; ++b) {
        lo = std::min(lo, m_blockMin[b]);
        hi = std::max(hi, m_blockMax[b]);
    }
    scan(be * B, e);
}

std::vector<SampleSeries::Column> SampleSeries::decimate(qint64 t0Ms, qint64 t1Ms,
                                                         int columns) const
{
    std::vector<Column> out(size_t(std::max(0, columns)));
    if (m_t.empty() || columns <= 0 || t1Ms <= t0Ms)
        return out;
    const qint64 span = t1Ms - t0Ms;
    const auto begin = m_t.begin();
    const auto end = m_t.end();
    auto lo = std::lower_bound(begin, end, t0Ms);
    for (int c = 0; c < columns && lo != end; ++c) {
        const qint64 boundary = t0Ms + slice(span, c + 1, columns);
        // Columns are consecutive: search only from where the previous one ended.
        const auto hi = std::lower_bound(lo, end, boundary);
        if (hi != lo) {
            const size_t a = size_t(lo - begin);
            const size_t e = size_t(hi - begin);
            Column &col = out[size_t(c)];
            minMax(a, e, col.min, col.max);
            col.first = m_v[a];
            col.last = m_v[e - 1];
            col.count = qint64(e - a);
            col.empty = false;
        }
        lo = hi;
    }
    return out;
}

void SampleSeries::forEachInRange(qint64 t0Ms, qint64 t1Ms,
                                  const std::function<void(qint64, double)> &fn) const
{
    const auto a = std::lower_bound(m_t.begin(), m_t.end(), t0Ms);
    const auto e = std::upper_bound(a, m_t.end(), t1Ms);
    for (auto it = a; it != e; ++it)
        fn(*it, m_v[size_t(it - m_t.begin())]);
}

qsizetype SampleSeries::countInRange(qint64 t0Ms, qint64 t1Ms) const
{
    if (t1Ms < t0Ms)
        return 0;
    const auto a = std::lower_bound(m_t.begin(), m_t.end(), t0Ms);
    const auto e = std::upper_bound(a, m_t.end(), t1Ms);
    return qsizetype(e - a);
}

std::optional<SampleSeries::Sample> SampleSeries::nearest(qint64 tMs) const
{
    if (m_t.empty())
        return std::nullopt;
    const auto it = std::lower_bound(m_t.begin(), m_t.end(), tMs);
    size_t i = size_t(it - m_t.begin());
    if (i == m_t.size()) {
        i = m_t.size() - 1;
    } else if (i > 0 && tMs - m_t[i - 1] <= m_t[i] - tMs) {
        // The earlier one wins a tie; among equal times, the last one of that time.
        i = i - 1;
    }
    return Sample{m_t[i], m_v[i]};
}

qsizetype SampleSeries::memoryBytes() const
{
    return qsizetype(m_t.capacity() * sizeof(qint64) + m_v.capacity() * sizeof(double) +
                     m_blockMin.capacity() * sizeof(double) +
                     m_blockMax.capacity() * sizeof(double));
}

} // namespace nightlight
