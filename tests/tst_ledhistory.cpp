// LedHistory on its own: inserting changes, the periods they make, the retention cut and the
// merge with a file's changes, without a store.

#include "ledhistory.h"

#include <QTest>

#include <limits>

using nightlight::LedHistory;
using Change = LedHistory::Change;
using Changes = std::vector<Change>;
using Periods = QList<QPair<qint64, qint64>>;
using LedChanges = QList<QPair<qint64, bool>>; // (t, on) in arrival order

Q_DECLARE_METATYPE(Changes)

namespace {

constexpr qint64 T0 = 1795691651123; // 2026-11-26T11:14:11.123Z

Periods allPeriods(const LedHistory &h)
{
    return h.periods(std::numeric_limits<qint64>::min(), std::numeric_limits<qint64>::max());
}

} // namespace

class TestLedHistory : public QObject
{
    Q_OBJECT

private slots:
    void ledPeriods_data();
    void ledPeriods();
    void equalTimesKeepArrivalOrder();
    void clipBefore_data();
    void clipBefore();
    void mergeOlder();
    void storedRepeatsAreSkipped();
};

void TestLedHistory::ledPeriods_data()
{
    QTest::addColumn<LedChanges>("changes");
    QTest::addColumn<qint64>("t0");
    QTest::addColumn<qint64>("t1");
    QTest::addColumn<Periods>("expected");
    QTest::addColumn<int>("stored"); // changes not ignored

    const LedChanges three = {{100, true},  {200, false}, {300, true},
                              {400, false}, {500, true},  {600, false}};
    QTest::newRow("no changes") << LedChanges{} << qint64(0) << qint64(1000) << Periods{} << 0;
    QTest::newRow("one period") << LedChanges{{100, true}, {200, false}} << qint64(0)
                                << qint64(1000) << Periods{{100, 200}} << 2;
    QTest::newRow("repeat ignored")
        << LedChanges{{100, true}, {150, true}, {200, false}, {250, false}} << qint64(0)
        << qint64(1000) << Periods{{100, 200}} << 2;
    QTest::newRow("off first ignored") << LedChanges{{50, false}, {100, true}, {200, false}}
                                       << qint64(0) << qint64(1000) << Periods{{100, 200}} << 2;
    QTest::newRow("redelivery ignored")
        << LedChanges{{100, true}, {200, false}, {100, true}, {200, false}} << qint64(0)
        << qint64(1000) << Periods{{100, 200}} << 2;
    QTest::newRow("out of order")
        << LedChanges{{100, true}, {300, false}, {400, true}, {200, false}, {250, true}}
        << qint64(0) << qint64(1000) << Periods{{100, 200}, {250, 300}, {400, 400}} << 5;
    QTest::newRow("late changes between known ones")
        << LedChanges{{10, true}, {20, false}, {30, true}, {15, false}, {17, true}} << qint64(0)
        << qint64(1000) << Periods{{10, 15}, {17, 20}, {30, 30}} << 5;
    QTest::newRow("out of order repeat ignored")
        << LedChanges{{100, true}, {300, false}, {200, true}} << qint64(0) << qint64(1000)
        << Periods{{100, 300}} << 2;
    QTest::newRow("open period") << LedChanges{{100, true}} << qint64(0) << qint64(1000)
                                 << Periods{{100, 100}} << 1;
    QTest::newRow("open period clipped")
        << LedChanges{{100, true}} << qint64(500) << qint64(1000) << Periods{{500, 500}} << 1;
    QTest::newRow("open period after the window")
        << LedChanges{{100, true}} << qint64(0) << qint64(100) << Periods{} << 1;
    QTest::newRow("window clipping")
        << three << qint64(150) << qint64(550) << Periods{{150, 200}, {300, 400}, {500, 550}} << 6;
    QTest::newRow("window inside a period")
        << three << qint64(320) << qint64(380) << Periods{{320, 380}} << 6;
    QTest::newRow("window between periods")
        << three << qint64(200) << qint64(300) << Periods{} << 6;
    QTest::newRow("window after every period")
        << three << qint64(600) << qint64(1000) << Periods{} << 6;
    QTest::newRow("empty window") << three << qint64(350) << qint64(350) << Periods{} << 6;
    QTest::newRow("off at the same ms") << LedChanges{{100, true}, {100, false}} << qint64(0)
                                        << qint64(1000) << Periods{{100, 101}} << 2;
}

void TestLedHistory::ledPeriods()
{
    QFETCH(LedChanges, changes);
    QFETCH(qint64, t0);
    QFETCH(qint64, t1);
    QFETCH(Periods, expected);
    QFETCH(int, stored);
    LedHistory history;
    int inserted = 0;
    for (const auto &c : changes)
        inserted += history.insert(T0 + c.first, c.second) ? 1 : 0;
    QCOMPARE(inserted, stored);
    QCOMPARE(qsizetype(history.changes().size()), qsizetype(stored));
    QCOMPARE(history.isEmpty(), stored == 0);

    Periods shifted;
    for (const auto &p : expected)
        shifted.append({T0 + p.first, T0 + p.second});
    QCOMPARE(history.periods(T0 + t0, T0 + t1), shifted);
}

void TestLedHistory::equalTimesKeepArrivalOrder()
{
    LedHistory h;
    QVERIFY(h.insert(100, true));
    QVERIFY(h.insert(100, false)); // after the change of the same time: off is in effect at 100
    QVERIFY(!h.insert(100, false)); // so another off at 100 is a repeat
    QVERIFY(h.insert(100, true));
    QCOMPARE(h.changes(), (Changes{{100, true}, {100, false}, {100, true}}));
    QVERIFY(h.contains({100, false}));
    QVERIFY(!h.contains({101, false}));
}

void TestLedHistory::clipBefore_data()
{
    QTest::addColumn<Changes>("changes");
    QTest::addColumn<qint64>("cutoff");
    QTest::addColumn<bool>("dropped");
    QTest::addColumn<bool>("carried");
    QTest::addColumn<Changes>("after");

    const Changes onOff = {{100, true}, {200, false}, {300, true}};
    QTest::newRow("nothing before the cutoff") << onOff << qint64(100) << false << false << onOff;
    QTest::newRow("on at the cutoff: carried")
        << onOff << qint64(150) << true << true << Changes{{150, true}, {200, false}, {300, true}};
    QTest::newRow("off at the cutoff: dropped")
        << onOff << qint64(250) << true << false << Changes{{300, true}};
    QTest::newRow("a change on the cutoff itself: not carried")
        << onOff << qint64(200) << true << false << Changes{{200, false}, {300, true}};
    QTest::newRow("still on after the last change")
        << onOff << qint64(1000) << true << true << Changes{{1000, true}};
    QTest::newRow("no changes") << Changes{} << qint64(1000) << false << false << Changes{};
}

void TestLedHistory::clipBefore()
{
    QFETCH(Changes, changes);
    QFETCH(qint64, cutoff);
    QFETCH(bool, dropped);
    QFETCH(bool, carried);
    QFETCH(Changes, after);
    LedHistory h(changes);
    bool didCarry = !carried;
    QCOMPARE(h.clipBefore(cutoff, &didCarry), dropped);
    QCOMPARE(didCarry, carried);
    QCOMPARE(h.changes(), after);
    // The period that began before the cutoff shades from it.
    const Periods first = h.periods(cutoff, cutoff + 1);
    if (carried) {
        QVERIFY(!first.isEmpty());
        QCOMPARE(first.first().first, cutoff);
    }
}

void TestLedHistory::mergeOlder()
{
    // Into an empty history: taken as it is.
    LedHistory empty;
    empty.mergeOlder(LedHistory(Changes{{100, true}, {200, false}}));
    QCOMPARE(empty.changes(), (Changes{{100, true}, {200, false}}));

    // The file's first among equal times; a change both here and there kept once.
    LedHistory mine;
    QVERIFY(mine.insert(200, true));
    QVERIFY(mine.insert(300, false));
    mine.mergeOlder(LedHistory(Changes{{100, true}, {200, false}, {300, false}}));
    QCOMPARE(mine.changes(), (Changes{{100, true}, {200, false}, {200, true}, {300, false}}));
    QCOMPARE(allPeriods(mine), (Periods{{100, 200}, {200, 300}}));
}

void TestLedHistory::storedRepeatsAreSkipped()
{
    // A file may hold repeats (written before an out-of-order change between them was known):
    // they are kept as stored, and the periods skip them.
    const LedHistory h(Changes{{100, true}, {150, true}, {200, false}, {250, false}});
    QCOMPARE(h.changes().size(), size_t(4));
    QCOMPARE(allPeriods(h), (Periods{{100, 200}}));
}

QTEST_GUILESS_MAIN(TestLedHistory)
#include "tst_ledhistory.moc"
