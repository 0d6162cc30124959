#include "historycache.h"

namespace nightlight {

HistoryCache::Chunk *HistoryCache::find(const Key &key)
{
    const auto it = m_chunks.find(key);
    if (it == m_chunks.end())
        return nullptr;
    it->second.used = ++m_clock;
    return &it->second;
}

HistoryCache::Chunk &HistoryCache::get(const Key &key)
{
    const auto [it, made] = m_chunks.try_emplace(key);
    if (made)
        m_bytes += bytesOf(it->second);
    it->second.used = ++m_clock;
    return it->second;
}

qsizetype HistoryCache::bytesOf(const Chunk &c)
{
    // The map node and key too, roughly, so a cache of empty chunks is bounded as well.
    return qsizetype(c.samples.capacity() * sizeof(SampleSeries::Sample) +
                     c.buckets.capacity() * sizeof(TelemetryReader::Bucket)) +
        qsizetype(sizeof(Chunk) + sizeof(Key) + 64);
}

bool HistoryCache::fill(const Key &key, quint64 request, std::vector<SampleSeries::Sample> samples,
                        std::vector<TelemetryReader::Bucket> buckets, qint64 until)
{
    const auto it = m_chunks.find(key);
    if (it == m_chunks.end() || it->second.request != request || request == 0)
        return false;
    Chunk &c = it->second;
    m_bytes -= bytesOf(c);
    samples.shrink_to_fit();
    buckets.shrink_to_fit();
    c.samples = std::move(samples);
    c.buckets = std::move(buckets);
    c.until = until;
    c.ready = true;
    c.request = 0;
    m_bytes += bytesOf(c);
    evict(key);
    return true;
}

void HistoryCache::evict(const Key &keep)
{
    while (m_bytes > m_budget && m_chunks.size() > 1) {
        auto oldest = m_chunks.end();
        for (auto it = m_chunks.begin(); it != m_chunks.end(); ++it) {
            if (it->first.device == keep.device && it->first.tier == keep.tier &&
                it->first.index == keep.index)
                continue;
            // A chunk being read stays: its answer would only be read again.
            if (!it->second.ready)
                continue;
            if (oldest == m_chunks.end() || it->second.used < oldest->second.used)
                oldest = it;
        }
        if (oldest == m_chunks.end())
            return;
        m_bytes -= bytesOf(oldest->second);
        m_chunks.erase(oldest);
    }
}

void HistoryCache::removeDevice(const QString &device)
{
    for (auto it = m_chunks.begin(); it != m_chunks.end();) {
        if (device.isEmpty() || it->first.device == device) {
            m_bytes -= bytesOf(it->second);
            it = m_chunks.erase(it);
        } else {
            ++it;
        }
    }
}

std::vector<HistoryCache::Key> HistoryCache::overlapping(const QString &device, qint64 t0,
                                                         qint64 t1) const
{
    std::vector<Key> out;
    for (const auto &[key, chunk] : m_chunks) {
        const qint64 span = chunkSpan(key.tier);
        if (key.device == device && key.index * span < t1 && (key.index + 1) * span > t0)
            out.push_back(key);
    }
    return out;
}

} // namespace nightlight
