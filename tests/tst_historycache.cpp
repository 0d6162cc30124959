// HistoryCache on its own: chunks by key, answers only for the read under way, least recently
// used out past the budget, and what overlaps a range.

#include "historycache.h"

#include <QTest>

using nightlight::HistoryCache;
using Sample = nightlight::SampleSeries::Sample;
using Key = HistoryCache::Key;

namespace {

std::vector<Sample> hourOfSamples(qint64 from)
{
    std::vector<Sample> out;
    for (qint64 t = from; t < from + HistoryCache::RawChunkMs; t += 5000)
        out.push_back({t, 1});
    return out;
}

} // namespace

class TestHistoryCache : public QObject
{
    Q_OBJECT

private slots:
    void fillOnlyTheReadUnderWay();
    void leastRecentlyUsedGoesFirst();
    void removeAndOverlap();
};

void TestHistoryCache::fillOnlyTheReadUnderWay()
{
    HistoryCache cache(1 << 20);
    const Key key{QStringLiteral("d"), 0, 5};
    QVERIFY(!cache.find(key));
    HistoryCache::Chunk &c = cache.get(key);
    QVERIFY(!c.ready);
    c.request = 7;
    // An answer to an older read, or for a chunk not asked for, is ignored.
    QVERIFY(!cache.fill(key, 6, hourOfSamples(0), {}, 0));
    QVERIFY(!cache.fill({QStringLiteral("e"), 0, 5}, 7, hourOfSamples(0), {}, 0));
    QVERIFY(!cache.find(key)->ready);
    QVERIFY(cache.fill(key, 7, hourOfSamples(0), {}, 42));
    const HistoryCache::Chunk *filled = cache.find(key);
    QVERIFY(filled && filled->ready);
    QCOMPARE(filled->request, quint64(0));
    QCOMPARE(filled->until, qint64(42));
    QCOMPARE(filled->samples.size(), size_t(720));
    // Filled once: the same answer again is not taken.
    QVERIFY(!cache.fill(key, 7, {}, {}, 0));
}

void TestHistoryCache::leastRecentlyUsedGoesFirst()
{
    // Room for about three hour-chunks of 720 samples (11,520 bytes each).
    HistoryCache cache(3 * 720 * 16 + 1000);
    quint64 request = 0;
    const auto add = [&](qint64 index) {
        const Key key{QStringLiteral("d"), 0, index};
        HistoryCache::Chunk &c = cache.get(key);
        c.request = ++request;
        return cache.fill(key, request, hourOfSamples(index * HistoryCache::RawChunkMs), {}, 0);
    };
    QVERIFY(add(0));
    QVERIFY(add(1));
    QVERIFY(add(2));
    QCOMPARE(cache.size(), 3);
    QVERIFY(cache.find({QStringLiteral("d"), 0, 0})); // used again: 1 is now the oldest
    QVERIFY(add(3));
    QVERIFY(cache.bytes() <= cache.budget());
    QCOMPARE(cache.size(), 3);
    QVERIFY(!cache.find({QStringLiteral("d"), 0, 1}));
    QVERIFY(cache.find({QStringLiteral("d"), 0, 0}));
    QVERIFY(cache.find({QStringLiteral("d"), 0, 3}));
    // A chunk being read is never evicted (its answer would only be asked for again).
    HistoryCache::Chunk &pending = cache.get({QStringLiteral("d"), 0, 9});
    pending.request = ++request;
    for (qint64 i = 10; i < 20; ++i)
        QVERIFY(add(i));
    QVERIFY(cache.find({QStringLiteral("d"), 0, 9}));
    QVERIFY(cache.bytes() <= cache.budget());
}

void TestHistoryCache::removeAndOverlap()
{
    HistoryCache cache(1 << 20);
    const qint64 day = HistoryCache::chunkSpan(60000); // 1,024 minutes
    cache.get({QStringLiteral("a"), 0, 0});
    cache.get({QStringLiteral("a"), 0, 1});
    cache.get({QStringLiteral("a"), 60000, 0});
    cache.get({QStringLiteral("b"), 0, 0});
    const auto keys = cache.overlapping(QStringLiteral("a"), HistoryCache::RawChunkMs - 1,
                                        HistoryCache::RawChunkMs + 1);
    QCOMPARE(keys.size(), size_t(3)); // raw chunks 0 and 1, and the 1-minute chunk 0
    QVERIFY(cache.overlapping(QStringLiteral("a"), day, day + 1).empty());
    const qsizetype before = cache.bytes();
    cache.removeDevice(QStringLiteral("a"));
    QCOMPARE(cache.size(), 1);
    QVERIFY(cache.bytes() < before);
    cache.removeDevice(QString());
    QCOMPARE(cache.size(), 0);
    QCOMPARE(cache.bytes(), 0);
}

QTEST_GUILESS_MAIN(TestHistoryCache)
#include "tst_historycache.moc"
