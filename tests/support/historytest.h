#pragma once

// Helpers shared by the history suites (tst_sampleseries, tst_telemetrystore,
// tst_telemetrydatabase): reference decimation, sample makers, and reading an SQLite file through
// a connection of its own. Header-only: the suites link Qt SQL through nightlight_chart.

#include "sampleseries.h"

#include <QFile>
#include <QRandomGenerator>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QString>
#include <QStringList>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <vector>

Q_DECLARE_METATYPE(std::vector<nightlight::SampleSeries::Sample>)

namespace historytest {

using Column = nightlight::SampleSeries::Column;
using Sample = nightlight::SampleSeries::Sample;

constexpr qint64 T0 = 1795691651123; // 2026-11-26T11:14:11.123Z

// The reference: min/max/first/last per column by looking at every sample.
inline std::vector<Column> bruteForce(const std::vector<Sample> &sorted, qint64 t0, qint64 t1,
                                      int columns)
{
    std::vector<Column> out(size_t(std::max(0, columns)));
    if (columns <= 0 || t1 <= t0)
        return out;
    const qint64 span = t1 - t0;
    for (const Sample &s : sorted) {
        if (s.t < t0 || s.t >= t1)
            continue;
        int c = 0;
        while (c + 1 < columns && s.t >= t0 + span * (c + 1) / columns)
            ++c;
        Column &col = out[size_t(c)];
        if (col.empty) {
            col = {s.v, s.v, s.v, s.v, 1, false};
        } else {
            col.min = std::min(col.min, s.v);
            col.max = std::max(col.max, s.v);
            col.last = s.v;
            ++col.count;
        }
    }
    return out;
}

// `count` samples from T0, `step` ms apart with jitter, smooth values plus rare tall spikes.
inline std::vector<Sample> makeSamples(int count, qint64 step, quint32 seed, bool sparse = false)
{
    QRandomGenerator rng(seed);
    std::vector<Sample> out;
    qint64 t = T0;
    for (int i = 0; i < count; ++i) {
        double v = 300 + 100 * std::sin(i / 50.0) + rng.bounded(10.0);
        if (rng.bounded(100) == 0)
            v = rng.bounded(2) ? 1e6 : -50; // a spike one sample wide
        out.push_back({t, v});
        t += step + (step > 1 ? qint64(rng.bounded(int(step))) : 0);
        if (sparse && rng.bounded(10) == 0)
            t += step * 40; // an outage
    }
    return out;
}

inline QString describe(const std::vector<Column> &a, const std::vector<Column> &b)
{
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        if (a[i] != b[i])
            return QStringLiteral("column %1: got empty=%2 min=%3 max=%4 first=%5 last=%6, want "
                                  "empty=%7 min=%8 max=%9 first=%10 last=%11")
                .arg(i)
                .arg(a[i].empty)
                .arg(a[i].min)
                .arg(a[i].max)
                .arg(a[i].first)
                .arg(a[i].last)
                .arg(b[i].empty)
                .arg(b[i].min)
                .arg(b[i].max)
                .arg(b[i].first)
                .arg(b[i].last);
    }
    return QStringLiteral("sizes %1 and %2").arg(a.size()).arg(b.size());
}

// The first column of the first row of `sql` (bound to `device`), read through a connection of
// its own; -1 on any error (no such table).
inline qint64 queryValue(const QString &path, const QString &sql, const QString &device = QString())
{
    const QString name = QStringLiteral("nightlight.test.queryValue");
    qint64 value = -1;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        if (db.open()) {
            QSqlQuery q(db);
            q.prepare(sql);
            if (!device.isNull())
                q.addBindValue(device);
            if (q.exec() && q.next())
                value = q.value(0).toLongLong();
        }
    }
    QSqlDatabase::removeDatabase(name);
    return value;
}

// Runs `statements` on the file at `path` through a connection of its own; false (and a warning
// naming the statement) at the first that fails.
inline bool execAll(const QString &path, const QStringList &statements)
{
    const QString name = QStringLiteral("nightlight.test.execAll");
    bool ok = true;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        ok = db.open();
        QSqlQuery q(db);
        for (const QString &sql : statements) {
            if (ok && !q.exec(sql)) {
                qWarning("%s: %s", qPrintable(sql), qPrintable(q.lastError().text()));
                ok = false;
            }
        }
    }
    QSqlDatabase::removeDatabase(name);
    return ok;
}

inline void writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly), qPrintable(f.errorString()));
    QCOMPARE(f.write(bytes), bytes.size());
}

// Data rows "samples" (in arrival order) and "asBatch" for the out-of-order suites: a late sample,
// an outage replayed one by one and as a batch, reverse order, a shuffled batch.
inline void addOutOfOrderRows()
{
    QTest::addColumn<std::vector<Sample>>("samples");
    QTest::addColumn<bool>("asBatch");

    auto base = makeSamples(3000, 1000, 5);
    auto late = base;
    std::swap(late[2900], late[2999]); // one sample arrives late
    QTest::newRow("one late sample") << late << false;
    auto replay = base;
    // An outage: samples 1000..1999 are replayed after 2000..2999 arrived live.
    std::rotate(replay.begin() + 1000, replay.begin() + 2000, replay.end());
    QTest::newRow("outage replayed one by one") << replay << false;
    QTest::newRow("outage replayed as a batch") << replay << true;
    auto reversed = makeSamples(500, 10, 6);
    std::reverse(reversed.begin(), reversed.end());
    QTest::newRow("reverse order") << reversed << false;
    auto shuffled = makeSamples(2000, 10, 7);
    std::shuffle(shuffled.begin(), shuffled.end(), *QRandomGenerator::global());
    QTest::newRow("shuffled batch") << shuffled << true;
}

} // namespace historytest
