// LogThrottle on a fake clock: the burst, the summaries (with the next occurrence, when due, at
// flush), a new burst after a quiet interval, the bound on keys, and the exact summary text.

#include "logthrottle.h"

#include <QTest>

using namespace nightlight;

namespace {

// A throttle on a clock the test moves by hand.
struct Rig
{
    Rig()
    {
        throttle.setClock([this] { return now; });
        throttle.setInterval(60000);
    }
    // `count` occurrences of `key`, one per `stepMs`; every line returned, in order.
    QStringList add(const QString &key, int count, qint64 stepMs = 0)
    {
        QStringList lines;
        for (int i = 1; i <= count; ++i) {
            lines += throttle.add(key, QStringLiteral("%1 #%2").arg(key).arg(i),
                                  QStringLiteral("detail %1").arg(i));
            now += stepMs;
        }
        return lines;
    }

    qint64 now = 1000000;
    LogThrottle throttle;
};

} // namespace

class TestLogThrottle : public QObject
{
    Q_OBJECT

private slots:
    void defaults();
    void burstThenSilence_data();
    void burstThenSilence();
    void summaryWithTheNextOccurrence();
    void summaryWhenDue();
    void flushSummarizesEverything();
    void quietKeyStartsNewBurst();
    void keysAreIndependent();
    void keysAreBounded();
    void quietKeysMakeRoom();
    void detailDefaultsToLine();
    void placeholdersInTextStay();
    void tenThousandBecomeFewLines();
};

void TestLogThrottle::defaults()
{
    LogThrottle t;
    QCOMPARE(t.burst(), 5);
    QCOMPARE(t.interval(), qint64(60000));
    QCOMPARE(t.maxKeys(), 256);
    QCOMPARE(t.overflowKey(), QStringLiteral("other warnings"));
    QCOMPARE(t.nextDueIn(), std::optional<qint64>());
    QVERIFY(t.flush().isEmpty());
}

void TestLogThrottle::burstThenSilence_data()
{
    QTest::addColumn<int>("burst");
    QTest::addColumn<int>("count");
    QTest::addColumn<int>("logged");

    QTest::newRow("one of 5") << 5 << 1 << 1;
    QTest::newRow("5 of 5") << 5 << 5 << 5;
    QTest::newRow("6 of 5") << 5 << 6 << 5;
    QTest::newRow("1000 of 5") << 5 << 1000 << 5;
    QTest::newRow("burst 0: only summaries") << 0 << 10 << 0;
    QTest::newRow("burst 1") << 1 << 10 << 1;
}

void TestLogThrottle::burstThenSilence()
{
    QFETCH(int, burst);
    QFETCH(int, count);
    QFETCH(int, logged);
    Rig rig;
    rig.throttle.setBurst(burst);
    const QStringList lines = rig.add(QStringLiteral("bad commands"), count, 10);
    QCOMPARE(lines.size(), logged);
    for (int i = 0; i < lines.size(); ++i)
        QCOMPARE(lines[i], QStringLiteral("bad commands #%1").arg(i + 1));
    QCOMPARE(rig.throttle.pendingCount(), qint64(count - logged));
    QCOMPARE(rig.throttle.nextDueIn().has_value(), count > logged);
}

void TestLogThrottle::summaryWithTheNextOccurrence()
{
    Rig rig;
    const QString key = QStringLiteral("bad commands");
    // 5 logged at t0, 995 left out over 9.95 s.
    QCOMPARE(rig.add(key, 5).size(), 5);
    QVERIFY(rig.add(key, 995, 10).isEmpty());
    // The first occurrence an interval after the last line brings the summary, counting itself.
    rig.now = 1000000 + 60000;
    const QStringList lines =
        rig.throttle.add(key, QStringLiteral("line"), QStringLiteral("led_on must be a bool"));
    QCOMPARE(lines,
             QStringList{QStringLiteral("bad commands: 996 more in the last 60 s (1001 so far); "
                                        "last: led_on must be a bool")});
    QCOMPARE(rig.throttle.pendingCount(), qint64(0));
    QCOMPARE(rig.throttle.nextDueIn(), std::optional<qint64>());
    // The flood goes on: left out again, next summary an interval after this one.
    QVERIFY(rig.add(key, 3, 1000).isEmpty());
    QCOMPARE(rig.throttle.nextDueIn(), std::optional<qint64>(57000));
}

void TestLogThrottle::summaryWhenDue()
{
    Rig rig;
    const QString key = QStringLiteral("malformed messages on a/telemetry");
    rig.add(key, 7); // 5 logged, 2 left out, all at t0
    QCOMPARE(rig.throttle.nextDueIn(), std::optional<qint64>(60000));
    rig.now += 59999;
    QCOMPARE(rig.throttle.nextDueIn(), std::optional<qint64>(1));
    QVERIFY(rig.throttle.takeDue().isEmpty());
    rig.now += 1;
    QCOMPARE(rig.throttle.nextDueIn(), std::optional<qint64>(0));
    QCOMPARE(rig.throttle.takeDue(),
             QStringList{QStringLiteral("malformed messages on a/telemetry: 2 more in the last "
                                        "60 s (7 so far); last: detail 7")});
    QVERIFY(rig.throttle.takeDue().isEmpty());
    QVERIFY(rig.throttle.flush().isEmpty());
    QCOMPARE(rig.throttle.nextDueIn(), std::optional<qint64>());
    // Overdue is 0, not negative.
    rig.add(key, 1);
    rig.now += 500000;
    QCOMPARE(rig.throttle.nextDueIn(), std::optional<qint64>(0));
}

void TestLogThrottle::flushSummarizesEverything()
{
    Rig rig;
    rig.add(QStringLiteral("b"), 6); // one left out
    rig.add(QStringLiteral("a"), 10); // five left out
    rig.add(QStringLiteral("c"), 5); // nothing left out
    rig.now += 432;
    // In key order, whether due or not; short times in tenths of a second.
    QCOMPARE(
        rig.throttle.flush(),
        (QStringList{QStringLiteral("a: 5 more in the last 0.4 s (10 so far); last: detail 10"),
                     QStringLiteral("b: 1 more in the last 0.4 s (6 so far); last: detail 6")}));
    QVERIFY(rig.throttle.flush().isEmpty());
    QCOMPARE(rig.throttle.pendingCount(), qint64(0));
}

void TestLogThrottle::quietKeyStartsNewBurst()
{
    Rig rig;
    const QString key = QStringLiteral("bad commands");
    QCOMPARE(rig.add(key, 5).size(), 5);
    // Nothing left out, quiet for an interval: a rare warning is logged in full again.
    rig.now += 60000;
    QCOMPARE(rig.add(key, 6).size(), 5);
    // Something left out: the next occurrence after the interval is a summary, not a new burst.
    rig.now += 60000;
    const QStringList lines = rig.add(key, 1);
    QCOMPARE(lines.size(), 1);
    QVERIFY2(lines.first().startsWith(QLatin1String("bad commands: 2 more in the last 60 s (12 so "
                                                    "far)")),
             qPrintable(lines.first()));
    // Right after a summary the flood is still on: left out.
    QVERIFY(rig.add(key, 1).isEmpty());
}

void TestLogThrottle::keysAreIndependent()
{
    Rig rig;
    QCOMPARE(rig.add(QStringLiteral("x"), 20).size(), 5);
    QCOMPARE(rig.add(QStringLiteral("y"), 20).size(), 5);
    QCOMPARE(rig.throttle.keyCount(), 2);
    QCOMPARE(rig.throttle.pendingCount(), qint64(30));
}

void TestLogThrottle::keysAreBounded()
{
    Rig rig;
    rig.throttle.setMaxKeys(4);
    rig.throttle.setOverflowKey(QStringLiteral("malformed messages on other topics"));
    // Three named keys, then every further key shares the overflow key.
    int logged = 0;
    for (int k = 0; k < 100; ++k)
        logged += int(rig.add(QStringLiteral("t%1").arg(k), 10).size());
    QCOMPARE(rig.throttle.keyCount(), 4);
    QCOMPARE(logged, 3 * 5 + 5);
    const QStringList flushed = rig.throttle.flush();
    QCOMPARE(flushed.size(), 4);
    // The overflow key counts all 970 of the 97 folded keys; its detail names the last key.
    QCOMPARE(
        flushed.first(),
        QStringLiteral("malformed messages on other topics: 965 more in the last 0.0 s (970 so "
                       "far); last: t99: detail 10"));
    // 10,000 different keys never take more than maxKeys entries.
    for (int k = 0; k < 10000; ++k)
        rig.add(QStringLiteral("many%1").arg(k), 1);
    QCOMPARE(rig.throttle.keyCount(), 4);
}

void TestLogThrottle::quietKeysMakeRoom()
{
    Rig rig;
    rig.throttle.setMaxKeys(3);
    rig.add(QStringLiteral("a"), 1);
    rig.add(QStringLiteral("b"), 1);
    // Full (two named keys and room for the overflow key): "c" folds into it at once.
    QCOMPARE(rig.add(QStringLiteral("c"), 1), QStringList{QStringLiteral("c #1")});
    QCOMPARE(rig.throttle.keyCount(), 3);
    // An interval later "a" and "b" are quiet with nothing left out: forgotten, "d" gets a key.
    rig.now += 60000;
    rig.add(QStringLiteral("d"), 7);
    QCOMPARE(rig.throttle.flush(),
             QStringList{QStringLiteral("d: 2 more in the last 0.0 s (7 so far); last: detail 7")});
    // A key with lines left out is never forgotten.
    rig.now += 60000;
    rig.add(QStringLiteral("e"), 1);
    rig.add(QStringLiteral("d"), 6);
    rig.now += 60000;
    rig.add(QStringLiteral("f"), 1); // "e" forgotten, "d" kept
    QCOMPARE(rig.throttle.flush(),
             QStringList{QStringLiteral("d: 1 more in the last 60 s (13 so far); last: detail 6")});
}

void TestLogThrottle::detailDefaultsToLine()
{
    Rig rig;
    rig.throttle.setBurst(0);
    QVERIFY(rig.throttle.add(QStringLiteral("k"), QStringLiteral("the whole line")).isEmpty());
    QCOMPARE(rig.throttle.flush(),
             QStringList{QStringLiteral("k: 1 more in the last 0.0 s (1 so far); last: the whole "
                                        "line")});
}

void TestLogThrottle::placeholdersInTextStay()
{
    // Keys and details come from the network: a "%1" in them is text, not a placeholder.
    Rig rig;
    rig.throttle.setBurst(0);
    rig.throttle.add(QStringLiteral("k %3"), QStringLiteral("x"), QStringLiteral("d %1 %2"));
    QCOMPARE(
        rig.throttle.flush(),
        QStringList{QStringLiteral("k %3: 1 more in the last 0.0 s (1 so far); last: d %1 %2")});
}

void TestLogThrottle::tenThousandBecomeFewLines()
{
    // The case of #9: 10,000 bad commands, 1,000 a second, with the owner's timer calling
    // takeDue() whenever nextDueIn() says: 5 full lines and one summary a minute (10 s here: one).
    Rig rig;
    const QString key = QStringLiteral("bad commands");
    QStringList lines;
    for (int i = 1; i <= 10000; ++i) {
        lines += rig.throttle.add(key, QStringLiteral("bad #%1").arg(i), QStringLiteral("why"));
        rig.now += 1;
        if (rig.throttle.nextDueIn() == std::optional<qint64>(0))
            lines += rig.throttle.takeDue();
    }
    lines += rig.throttle.flush();
    QCOMPARE(lines.size(), 6);
    QCOMPARE(
        lines.last(),
        QStringLiteral("bad commands: 9995 more in the last 10.0 s (10000 so far); last: why"));
    // Over ten minutes: one summary a minute, and the counts add up.
    Rig slow;
    QStringList slowLines;
    for (int i = 1; i <= 10000; ++i) {
        slowLines += slow.throttle.add(key, QStringLiteral("bad"), QStringLiteral("why"));
        slow.now += 60; // 10,000 over 600 s
        if (slow.throttle.nextDueIn() == std::optional<qint64>(0))
            slowLines += slow.throttle.takeDue();
    }
    slowLines += slow.throttle.flush();
    qint64 summarized = 0;
    for (const QString &line : slowLines) {
        if (line.startsWith(QLatin1String("bad commands: ")))
            summarized += line.section(u' ', 2, 2).toLongLong();
    }
    QCOMPARE(summarized, qint64(10000 - 5));
    QVERIFY2(slowLines.size() <= 5 + 11, qPrintable(slowLines.join(u'\n')));
}

QTEST_GUILESS_MAIN(TestLogThrottle)
#include "tst_logthrottle.moc"
