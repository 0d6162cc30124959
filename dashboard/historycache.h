#pragma once

// HistoryCache: the ranges of the history file TelemetryStore has read (or is reading), in chunks
// of fixed time span per tier, least recently used first out once they hold more than a fixed
// number of bytes. A chunk is raw samples (tier 0) or summary buckets (tier = bucket length in
// ms). A plain value class: the store asks, requests what is missing, and fills in the answers.

#include "sampleseries.h"
#include "telemetryreader.h"

#include <QString>

#include <map>
#include <vector>

namespace nightlight {

class HistoryCache
{
public:
    struct Key
    {
        QString device;
        qint64 tier = 0;
        qint64 index = 0; // the chunk [index * span, (index + 1) * span), span = chunkSpan(tier)
        bool operator<(const Key &o) const
        {
            if (tier != o.tier)
                return tier < o.tier;
            if (index != o.index)
                return index < o.index;
            return device < o.device;
        }
    };
    struct Chunk
    {
        bool ready = false; // samples/buckets hold an answer (maybe one being refreshed)
        quint64 request = 0; // the read under way, 0 for none
        // Summary tiers: the buckets are complete before this (the file's summary_done when
        // read); what comes after is read raw.
        qint64 until = 0;
        std::vector<SampleSeries::Sample> samples;
        std::vector<TelemetryReader::Bucket> buckets;
        quint64 used = 0; // LRU clock
    };

    // Raw chunks span an hour (720 samples at the lesson's 5 s); a summary chunk 1,024 buckets
    // (17 h of 1-minute, 10.7 days of 15-minute buckets).
    static constexpr qint64 RawChunkMs = qint64(3600) * 1000;
    static constexpr qint64 BucketsPerChunk = 1024;
    static qint64 chunkSpan(qint64 tier) { return tier == 0 ? RawChunkMs : tier * BucketsPerChunk; }

    explicit HistoryCache(qsizetype budgetBytes) : m_budget(budgetBytes) { }

    // The chunk, marked as used now; nullptr when it is not cached.
    Chunk *find(const Key &key);
    // A new, empty chunk (or the cached one), marked as used now.
    Chunk &get(const Key &key);
    // Stores the answer to read `request` of `key`, if that is still the read under way for it
    // (a chunk dropped or asked again meanwhile ignores it). Evicts the least recently used
    // chunks, never the one filled, while over budget. True when it was stored.
    bool fill(const Key &key, quint64 request, std::vector<SampleSeries::Sample> samples,
              std::vector<TelemetryReader::Bucket> buckets, qint64 until);
    // Drops every chunk of `device` (every device for an empty id).
    void removeDevice(const QString &device);
    // The keys of `device`'s cached chunks (of any tier) overlapping [t0, t1).
    std::vector<Key> overlapping(const QString &device, qint64 t0, qint64 t1) const;

    qsizetype bytes() const { return m_bytes; }
    qsizetype budget() const { return m_budget; }
    qsizetype size() const { return qsizetype(m_chunks.size()); }

private:
    static qsizetype bytesOf(const Chunk &c);
    void evict(const Key &keep);

    std::map<Key, Chunk> m_chunks;
    qsizetype m_budget;
    qsizetype m_bytes = 0;
    quint64 m_clock = 0;
};

} // namespace nightlight
