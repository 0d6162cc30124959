// SampleSeries on its own: the columns, their block summaries and decimation, without a store.

#include "historytest.h"
#include "sampleseries.h"

#include <QRandomGenerator>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using nightlight::SampleSeries;
using Column = SampleSeries::Column;
using Sample = SampleSeries::Sample;

namespace {

using historytest::bruteForce;
using historytest::describe;
using historytest::makeSamples;
using historytest::T0;
constexpr int B = SampleSeries::BlockSize;

std::vector<Sample> contents(const SampleSeries &series)
{
    std::vector<Sample> out;
    series.forEachInRange(std::numeric_limits<qint64>::min(), std::numeric_limits<qint64>::max(),
                          [&](qint64 t, double v) {
                              out.push_back({t, v});
                          });
    return out;
}

// Every block summary equals the min/max of its samples, and there is one per started block.
QString checkSummaries(const SampleSeries &s)
{
    const qsizetype blocks = (s.size() + B - 1) / B;
    if (s.blockCount() != blocks)
        return QStringLiteral("%1 blocks for %2 samples").arg(s.blockCount()).arg(s.size());
    for (qsizetype b = 0; b < blocks; ++b) {
        const auto first = s.values().begin() + b * B;
        const auto last = s.values().begin() + std::min(s.size(), (b + 1) * B);
        const auto [lo, hi] = std::minmax_element(first, last);
        if (s.blockMin(b) != *lo || s.blockMax(b) != *hi)
            return QStringLiteral("block %1: min %2 max %3, want %4 %5")
                .arg(b)
                .arg(s.blockMin(b))
                .arg(s.blockMax(b))
                .arg(*lo)
                .arg(*hi);
    }
    return QString();
}

SampleSeries seriesOf(const std::vector<Sample> &samples)
{
    SampleSeries s;
    for (const Sample &x : samples)
        s.insert(x.t, x.v);
    return s;
}

} // namespace

class TestSampleSeries : public QObject
{
    Q_OBJECT

private slots:
    void empty();
    void appendAndQuery();
    void duplicatesAreIgnored();
    void decimate_data();
    void decimate();
    void insertKeepsOrderAndSummaries_data();
    void insertKeepsOrderAndSummaries();
    void mergeAppendsOrMerges();
    void dropFront();
    void nearestAmongEqualTimes();
    void assignSortedHasNoSlack();
};

void TestSampleSeries::empty()
{
    const SampleSeries s;
    QVERIFY(s.isEmpty());
    QCOMPARE(s.size(), 0);
    QCOMPARE(s.last(), std::nullopt);
    QVERIFY(!s.timeRange());
    QCOMPARE(s.nearest(T0), std::nullopt);
    QCOMPARE(s.countInRange(std::numeric_limits<qint64>::min(), std::numeric_limits<qint64>::max()),
             0);
    QCOMPARE(s.blockCount(), 0);
    const auto cols = s.decimate(T0, T0 + 1000, 4);
    QCOMPARE(cols.size(), size_t(4));
    QVERIFY(std::all_of(cols.begin(), cols.end(), [](const Column &c) { return c.empty; }));
    QCOMPARE(s.memoryBytes(), 0);
}

void TestSampleSeries::appendAndQuery()
{
    SampleSeries s;
    for (int i = 0; i < 200; ++i)
        QVERIFY(s.insert(T0 + i * 1000, i));
    QCOMPARE(s.size(), 200);
    QCOMPARE(s.last(), (Sample{T0 + 199000, 199}));
    QCOMPARE(s.timeRange()->first, T0);
    QCOMPARE(s.timeRange()->last, T0 + 199000);
    QCOMPARE(s.countInRange(T0 + 10000, T0 + 20000), 11);
    QCOMPARE(s.countInRange(T0 + 20000, T0 + 10000), 0); // reversed: nothing
    QCOMPARE(s.countBefore(T0 + 10000), 10);
    QCOMPARE(s.countBefore(T0 + 10001), 11);

    std::vector<Sample> window;
    s.forEachInRange(T0 + 10000, T0 + 12500, [&](qint64 t, double v) { window.push_back({t, v}); });
    QCOMPARE(window, (std::vector<Sample>{{T0 + 10000, 10}, {T0 + 11000, 11}, {T0 + 12000, 12}}));

    QCOMPARE(s.nearest(T0 + 10400), (Sample{T0 + 10000, 10}));
    QCOMPARE(s.nearest(T0 + 10600), (Sample{T0 + 11000, 11}));
    QCOMPARE(s.nearest(T0 + 10500), (Sample{T0 + 10000, 10})); // a tie: the earlier one
    QCOMPARE(s.nearest(T0 - 99999), (Sample{T0, 0}));
    QCOMPARE(s.nearest(T0 + 999999), (Sample{T0 + 199000, 199}));
    // Appends at the end do not move anything.
    QCOMPARE(s.generation(), quint64(0));
    QVERIFY2(checkSummaries(s).isEmpty(), qPrintable(checkSummaries(s)));
}

void TestSampleSeries::duplicatesAreIgnored()
{
    SampleSeries s;
    QVERIFY(s.insert(T0, 1));
    QVERIFY(!s.insert(T0, 1)); // QoS 1 redelivery
    QVERIFY(s.insert(T0, 2)); // same time, other value: kept
    QVERIFY(s.insert(T0 - 5, 0));
    QVERIFY(!s.insert(T0 - 5, 0)); // duplicate of an inserted one
    QVERIFY(s.containsExact(T0, 2));
    QVERIFY(!s.containsExact(T0, 3));
    QCOMPARE(contents(s), (std::vector<Sample>{{T0 - 5, 0}, {T0, 1}, {T0, 2}}));
    // A batch: copies of stored samples and of each other are skipped.
    const quint64 generation = s.generation();
    QCOMPARE(s.merge({{T0, 2}, {T0, 2}, {T0 + 1, 7}, {T0 + 1, 7}}), 1);
    QCOMPARE(s.generation(), generation); // all at or after the last: appended
    QCOMPARE(contents(s), (std::vector<Sample>{{T0 - 5, 0}, {T0, 1}, {T0, 2}, {T0 + 1, 7}}));
    QCOMPARE(s.merge({{T0 - 5, 0}, {T0 - 4, 3}, {T0 - 4, 3}}), 1);
    QCOMPARE(contents(s),
             (std::vector<Sample>{{T0 - 5, 0}, {T0 - 4, 3}, {T0, 1}, {T0, 2}, {T0 + 1, 7}}));
}

void TestSampleSeries::decimate_data()
{
    QTest::addColumn<std::vector<Sample>>("samples");
    QTest::addColumn<qint64>("t0");
    QTest::addColumn<qint64>("t1");
    QTest::addColumn<int>("columns");

    const auto dense = makeSamples(100000, 10, 1);
    const qint64 denseEnd = dense.back().t + 1;
    QTest::newRow("random with spikes, whole range") << dense << T0 << denseEnd << 1200;
    QTest::newRow("window edges inside blocks")
        << dense << dense[1000].t + 3 << dense[90017].t - 2 << 977;
    QTest::newRow("window starts before the data") << dense << T0 - 500000 << T0 + 400000 << 300;
    QTest::newRow("window ends after the data")
        << dense << denseEnd - 300000 << denseEnd + 900000 << 640;
    QTest::newRow("window outside the data") << dense << denseEnd + 10 << denseEnd + 1000 << 50;
    QTest::newRow("one column") << dense << T0 << denseEnd << 1;
    QTest::newRow("columns narrower than a ms") << dense << T0 + 1000 << T0 + 1100 << 400;
    const auto sparse = makeSamples(5000, 1000, 2, true);
    QTest::newRow("empty columns between sparse data")
        << sparse << T0 << sparse.back().t + 1 << 4000;
    QTest::newRow("single point") << std::vector<Sample>{{T0 + 50, 3.5}} << T0 << T0 + 100 << 10;
    QTest::newRow("more columns than points")
        << makeSamples(7, 1000, 3) << T0 << T0 + 20000 << 1000;
    QTest::newRow("empty window") << makeSamples(10, 1000, 4) << T0 << T0 << 10;
    QTest::newRow("zero columns") << makeSamples(10, 1000, 4) << T0 << T0 + 9000 << 0;
    std::vector<Sample> same;
    for (int i = 0; i < 1000; ++i)
        same.push_back({T0 + (i / 100) * 1000, double((i * 7919) % 1000)});
    QTest::newRow("many samples with equal times") << same << T0 << T0 + 10000 << 7;
}

void TestSampleSeries::decimate()
{
    QFETCH(std::vector<Sample>, samples);
    QFETCH(qint64, t0);
    QFETCH(qint64, t1);
    QFETCH(int, columns);

    const SampleSeries s = seriesOf(samples);
    const auto got = s.decimate(t0, t1, columns);
    const auto want = bruteForce(samples, t0, t1, columns);
    QCOMPARE(got.size(), size_t(std::max(0, columns)));
    QVERIFY2(got == want, qPrintable(describe(got, want)));
    // Something was checked: windows that hold samples give non-empty columns.
    const bool anyInWindow = std::any_of(samples.begin(), samples.end(),
                                         [&](const Sample &s) { return s.t >= t0 && s.t < t1; });
    QCOMPARE(std::any_of(got.begin(), got.end(), [](const Column &c) { return !c.empty; }),
             anyInWindow && columns > 0);
}

void TestSampleSeries::insertKeepsOrderAndSummaries_data()
{
    historytest::addOutOfOrderRows();
}

void TestSampleSeries::insertKeepsOrderAndSummaries()
{
    QFETCH(std::vector<Sample>, samples);
    QFETCH(bool, asBatch);

    SampleSeries s;
    std::vector<Sample> reported;
    if (asBatch) {
        // The in-order part first, then the rest in one merge (sorted, as the store sorts it).
        const auto firstLate =
            std::is_sorted_until(samples.begin(), samples.end(),
                                 [](const Sample &a, const Sample &b) { return a.t < b.t; });
        for (auto it = samples.begin(); it != firstLate; ++it)
            s.insert(it->t, it->v);
        std::vector<Sample> rest(firstLate, samples.end());
        std::stable_sort(rest.begin(), rest.end(),
                         [](const Sample &a, const Sample &b) { return a.t < b.t; });
        QCOMPARE(s.merge(rest,
                         [&](qint64 t, double v) {
                             reported.push_back({t, v});
                         }),
                 qsizetype(rest.size()));
        QCOMPARE(reported, rest); // every new sample reported, in time order
    } else {
        for (const Sample &x : samples)
            QVERIFY(s.insert(x.t, x.v));
    }
    auto sorted = samples;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Sample &a, const Sample &b) { return a.t < b.t; });
    QCOMPARE(contents(s), sorted);
    QVERIFY(s.generation() > 0);
    QVERIFY2(checkSummaries(s).isEmpty(), qPrintable(checkSummaries(s)));
    // The summaries were rebuilt: decimation still equals the brute force.
    const qint64 t1 = sorted.back().t + 1;
    for (int columns : {1, 7, 333}) {
        const auto got = s.decimate(sorted.front().t, t1, columns);
        const auto want = bruteForce(sorted, sorted.front().t, t1, columns);
        QVERIFY2(got == want, qPrintable(describe(got, want)));
    }
}

void TestSampleSeries::mergeAppendsOrMerges()
{
    SampleSeries s;
    QCOMPARE(s.merge({}), 0);
    // Into an empty series, or after its last sample: appended, nothing moved.
    QCOMPARE(s.merge({{T0, 1}, {T0 + 10, 2}}), 2);
    QCOMPARE(s.merge({{T0 + 10, 3}, {T0 + 20, 4}}), 2);
    QCOMPARE(s.generation(), quint64(0));
    // Older ones: merged in place, the generation moves (caches of decimated data are stale).
    QCOMPARE(s.merge({{T0 + 5, 9}}), 1);
    QCOMPARE(s.generation(), quint64(1));
    QCOMPARE(contents(s),
             (std::vector<Sample>{{T0, 1}, {T0 + 5, 9}, {T0 + 10, 2}, {T0 + 10, 3}, {T0 + 20, 4}}));
    // Only copies: nothing added, nothing reported.
    int reported = 0;
    QCOMPARE(s.merge({{T0 + 5, 9}}, [&](qint64, double) { ++reported; }), 0);
    QCOMPARE(reported, 0);
    QCOMPARE(s.size(), 5);
}

void TestSampleSeries::dropFront()
{
    SampleSeries s;
    for (int i = 0; i < 3 * B + 10; ++i)
        s.insert(T0 + i, i);
    QCOMPARE(s.dropFront(0), T0); // nothing
    QCOMPARE(s.generation(), quint64(0));
    QCOMPARE(s.dropFront(B + 3), T0 + B + 3);
    QCOMPARE(s.generation(), quint64(1));
    QCOMPARE(s.size(), qsizetype(2 * B + 7));
    QCOMPARE(s.timeRange()->first, T0 + B + 3);
    QVERIFY2(checkSummaries(s).isEmpty(), qPrintable(checkSummaries(s)));
    QCOMPARE(s.blockMin(0), double(B + 3));
    // Everything: kept from one past the old last sample.
    QCOMPARE(s.dropFront(s.size()), T0 + 3 * B + 10);
    QVERIFY(s.isEmpty());
    QCOMPARE(s.blockCount(), 0);
}

void TestSampleSeries::nearestAmongEqualTimes()
{
    SampleSeries s;
    s.insert(T0, 1);
    s.insert(T0 + 100, 2);
    s.insert(T0 + 100, 3);
    s.insert(T0 + 200, 4);
    // On a tie, the earlier time, and of that time the last sample; on an exact hit of a time
    // with several samples, the first of them (as the store has always answered).
    QCOMPARE(s.nearest(T0 + 100), (Sample{T0 + 100, 2}));
    QCOMPARE(s.nearest(T0 + 150), (Sample{T0 + 100, 3}));
    QCOMPARE(s.nearest(T0 + 50), (Sample{T0, 1}));
    QCOMPARE(s.nearest(T0 + 151), (Sample{T0 + 200, 4}));
}

void TestSampleSeries::assignSortedHasNoSlack()
{
    std::vector<Sample> loaded;
    for (int i = 0; i < 100000; ++i)
        loaded.push_back({T0 + i, double(i % 1000)});
    SampleSeries s;
    s.assignSorted(loaded);
    QCOMPARE(contents(s), loaded);
    QCOMPARE(s.generation(), quint64(0));
    QVERIFY2(checkSummaries(s).isEmpty(), qPrintable(checkSummaries(s)));
    // 16 bytes a sample plus 16 per block.
    const qsizetype blocks = (100000 + B - 1) / B;
    QCOMPARE(s.memoryBytes(), 100000 * 16 + blocks * 16);
}

QTEST_GUILESS_MAIN(TestSampleSeries)
#include "tst_sampleseries.moc"
