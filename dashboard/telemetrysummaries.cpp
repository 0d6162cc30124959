// TelemetryWriter's summaries and retention per tier (history format 2, docs/chart.md "Format 2
// and the summaries"): built behind the raw rows in chunks on the writer thread, and old rows
// deleted in small steps. The rest of the class is in telemetrywriter.cpp.

#include "telemetrywriter.h"

#include "telemetrysql.h"

#include <QElapsedTimer>
#include <QSqlError>
#include <QSqlQuery>
#include <QStringList>

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <utility>

namespace nightlight {

namespace {

using namespace telemetrysql;

constexpr auto SummaryTiers = TelemetryDatabase::SummaryTiers;
// Catch-up chunks are sized to take about this long (the span per chunk is scaled by the time the
// last full one took, at most doubled or halved at a time).
constexpr qint64 ChunkTargetMs = 100;
// Retention: rows per DELETE statement, and how long one job deletes before it re-posts itself.
constexpr int RetentionRows = 10000;
constexpr qint64 RetentionJobMs = 20;
// Pages freed per PRAGMA incremental_vacuum step (4 KiB pages: 8 MiB).
constexpr int VacuumPages = 2000;
} // namespace

// --- summaries (docs/chart.md, "Format 2") ------------------------------------------------------

bool TelemetryWriter::loadSummaryState(QString *error, bool *corrupt)
{
    m_until.fill(std::nullopt);
    QSqlQuery query(db());
    query.setForwardOnly(true);
    if (!query.exec(QStringLiteral("SELECT tier, until FROM summary_done")))
        return failed(query.lastError(), error, corrupt);
    while (query.next()) {
        const qint64 tier = query.value(0).toLongLong();
        for (size_t i = 0; i < TierCount; ++i) {
            if (SummaryTiers[i] == tier)
                m_until[i] = query.value(1).toLongLong();
        }
    }
    m_replayBefore = m_until[0].value_or(std::numeric_limits<qint64>::min());
    return true;
}

void TelemetryWriter::setUntil(size_t tier, qint64 until)
{
    m_until[tier] = until;
    if (tier == 0)
        m_replayBefore = until;
}

QString TelemetryWriter::aggregate(size_t tier, qint64 from, qint64 to, const QString *device)
{
    // One INSERT OR REPLACE ... SELECT ... GROUP BY for all devices: SQLite aggregates in C far
    // faster than Qt binds rows. The devices come from skipping through the index (the devices
    // table does not list every device with rows: a forgotten one's may remain), each device's
    // rows off the (device, t) index. first_v and last_v by two index look-ups per bucket (in
    // (t, rowid) order: equal times in the order written); first_value()/last_value() windows
    // gave the same rows at twice the time (they sort every row).
    const qint64 len = SummaryTiers[tier];
    const QString ids = device ? QStringLiteral("(SELECT ? AS id) AS ids")
        : tier == 0            ? QStringLiteral("(WITH RECURSIVE %1 SELECT id FROM d "
                                                           "WHERE id IS NOT NULL) AS ids")
                          .arg(skipScan(QStringLiteral("samples"), QString()))
                    : QStringLiteral("(WITH RECURSIVE %1 SELECT id FROM d "
                                     "WHERE id IS NOT NULL) AS ids")
                          .arg(skipScan(QStringLiteral("summary"),
                                        QStringLiteral("tier = %1").arg(SummaryTiers[0])));
    QString sql;
    if (tier == 0) {
        sql = QStringLiteral(
                  "INSERT OR REPLACE INTO summary(tier, device, t, min, max, first_v, last_v, sum, "
                  "count) SELECT %1, g.device, g.b, g.mn, g.mx, "
                  "(SELECT v FROM samples WHERE device = g.device AND t >= g.b AND t < g.b + %1 "
                  "ORDER BY t, rowid LIMIT 1), "
                  "(SELECT v FROM samples WHERE device = g.device AND t >= g.b AND t < g.b + %1 "
                  "ORDER BY t DESC, rowid DESC LIMIT 1), g.sm, g.n "
                  "FROM (SELECT s.device AS device, %2 AS b, MIN(s.v) AS mn, MAX(s.v) AS mx, "
                  "SUM(s.v) AS sm, COUNT(*) AS n FROM %3 JOIN samples s ON s.device = ids.id "
                  "AND s.t >= %4 AND s.t < %5 GROUP BY s.device, b) AS g")
                  .arg(len)
                  .arg(bucketOf(QStringLiteral("s.t"), len), ids)
                  .arg(from)
                  .arg(to);
    } else {
        // From the complete 1-minute rows, not the raw ones: 1/12 of the rows at 5 s.
        const qint64 minute = SummaryTiers[0];
        sql = QStringLiteral(
                  "INSERT OR REPLACE INTO summary(tier, device, t, min, max, first_v, last_v, sum, "
                  "count) SELECT %1, g.device, g.b, g.mn, g.mx, "
                  "(SELECT first_v FROM summary WHERE tier = %6 AND device = g.device "
                  "AND t >= g.b AND t < g.b + %1 ORDER BY t LIMIT 1), "
                  "(SELECT last_v FROM summary WHERE tier = %6 AND device = g.device "
                  "AND t >= g.b AND t < g.b + %1 ORDER BY t DESC LIMIT 1), g.sm, g.n "
                  "FROM (SELECT m.device AS device, %2 AS b, MIN(m.min) AS mn, MAX(m.max) AS mx, "
                  "SUM(m.sum) AS sm, SUM(m.count) AS n FROM %3 JOIN summary m ON m.tier = %6 "
                  "AND m.device = ids.id AND m.t >= %4 AND m.t < %5 GROUP BY m.device, b) AS g")
                  .arg(len)
                  .arg(bucketOf(QStringLiteral("m.t"), len), ids)
                  .arg(from)
                  .arg(to)
                  .arg(minute);
    }
    QSqlQuery query(db());
    if (!query.prepare(sql))
        return sqlErrorText(query.lastError());
    if (device)
        query.addBindValue(*device);
    if (!query.exec())
        return sqlErrorText(query.lastError());
    return QString();
}

bool TelemetryWriter::requestSummarize(qint64 nowMs)
{
    m_summarizeNow = std::max(m_summarizeNow, nowMs);
    if (m_summarizing || !QSqlDatabase::contains(m_connectionName))
        return false;
    m_summarizing = true;
    return true;
}

QString TelemetryWriter::summarizeStep(bool *more)
{
    *more = false;
    if (!m_summarizing || !QSqlDatabase::contains(m_connectionName)) {
        m_summarizing = false;
        return QString();
    }
    QSqlDatabase handle = db();
    for (size_t tier = 0; tier < TierCount; ++tier) {
        const qint64 len = SummaryTiers[tier];
        qint64 horizon = floorTo(m_summarizeNow - TelemetryDatabase::SummaryLateMs, len);
        // A 15-minute bucket is built from 1-minute rows: only once they are all complete.
        if (tier > 0) {
            if (!m_until[0])
                break;
            horizon = std::min(horizon, floorTo(*m_until[0], len));
        }
        QString why;
        if (!m_until[tier]) {
            // Nothing summarised yet: start at the oldest sample. A file without samples stays
            // so (no row written: an empty file is not written to).
            QSqlQuery oldest(handle);
            if (!oldest.exec(QStringLiteral("WITH RECURSIVE %1 SELECT MIN((SELECT MIN(t) FROM "
                                            "samples WHERE device = d.id)) FROM d "
                                            "WHERE d.id IS NOT NULL")
                                 .arg(skipScan(QStringLiteral("samples"), QString()))) ||
                !oldest.next()) {
                why = sqlErrorText(oldest.lastError());
            } else if (oldest.value(0).isNull()) {
                continue;
            } else {
                const qint64 start = std::min(horizon, floorTo(oldest.value(0).toLongLong(), len));
                oldest.finish();
                QSqlQuery done(handle);
                done.prepare(QStringLiteral(
                    "INSERT OR REPLACE INTO summary_done(tier, until) VALUES (?, ?)"));
                done.addBindValue(len);
                done.addBindValue(start);
                if (!done.exec())
                    why = sqlErrorText(done.lastError());
                else
                    setUntil(tier, start);
            }
        }
        if (why.isEmpty() && *m_until[tier] >= horizon)
            continue;
        qint64 end = 0;
        if (why.isEmpty()) {
            const qint64 from = *m_until[tier];
            end = std::min(horizon, from + m_chunkMs[tier]);
            QElapsedTimer timer;
            timer.start();
            if (!handle.transaction()) {
                why = sqlErrorText(handle.lastError());
            } else {
                why = aggregate(tier, from, end, nullptr);
                if (why.isEmpty()) {
                    QSqlQuery done(handle);
                    done.prepare(QStringLiteral(
                        "INSERT OR REPLACE INTO summary_done(tier, until) VALUES (?, ?)"));
                    done.addBindValue(len);
                    done.addBindValue(end);
                    if (!done.exec())
                        why = sqlErrorText(done.lastError());
                }
                if (why.isEmpty() && !handle.commit())
                    why = sqlErrorText(handle.lastError());
                if (!why.isEmpty())
                    handle.rollback();
            }
            if (why.isEmpty()) {
                // Size the next chunk to about ChunkTargetMs, from what a full one took.
                if (end == from + m_chunkMs[tier]) {
                    const double ratio =
                        double(ChunkTargetMs) / double(std::max<qint64>(1, timer.elapsed()));
                    const qint64 span =
                        qint64(double(m_chunkMs[tier]) * std::clamp(ratio, 0.5, 2.0));
                    m_chunkMs[tier] = std::max(len, floorTo(span, len));
                }
                setUntil(tier, end);
            }
        }
        if (!why.isEmpty()) {
            m_summarizing = false;
            return QStringLiteral("cannot summarize the history in %1: %2").arg(m_path, why);
        }
        // One chunk per job: inserts handed over meanwhile go next.
        *more = true;
        return QString();
    }
    m_summarizing = false;
    return QString();
}

// --- retention per tier -----------------------------------------------------------------------

bool TelemetryWriter::requestRetention(qint64 nowMs, TelemetryDatabase::Retention r)
{
    m_retentionNow = nowMs;
    m_retention = r;
    if (!QSqlDatabase::contains(m_connectionName))
        return false;
    if (m_retaining) {
        // Once the pass under way ends, another starts with these values.
        m_retentionAgain = true;
        return false;
    }
    m_retaining = true;
    m_retentionAgain = false;
    m_retentionPhase = 0;
    m_retentionAfter.reset();
    m_retentionCurrent.reset();
    return true;
}

// Phase 0: raw samples, 1: 1-minute rows, 2: 15-minute rows, each device in turn; 3: vacuum.
QString TelemetryWriter::retentionDelete(qint64 *deleted)
{
    *deleted = 0;
    QSqlDatabase handle = db();
    QSqlQuery query(handle);
    if (m_retentionPhase == 3) {
        // Shrink the file, a bounded number of pages at a time, if it has incremental
        // auto-vacuum (files migrated large do not, see migrate()).
        if (!query.exec(QStringLiteral("PRAGMA auto_vacuum")) || !query.next())
            return sqlErrorText(query.lastError());
        const bool incremental = query.value(0).toInt() == 2;
        query.finish();
        if (!incremental || !query.exec(QStringLiteral("PRAGMA freelist_count")) || !query.next() ||
            query.value(0).toLongLong() == 0) {
            ++m_retentionPhase;
            return QString();
        }
        query.finish();
        if (!query.exec(QStringLiteral("PRAGMA incremental_vacuum(%1)").arg(VacuumPages)))
            return sqlErrorText(query.lastError());
        while (query.next()) { } // each step frees pages
        *deleted = VacuumPages;
        return QString();
    }
    // The cutoff of this phase; none: keep all. Raw samples whose 1-minute bucket is not summarised
    // and 1-minute rows not yet in their 15-minute bucket are never deleted.
    const TelemetryDatabase::Retention &r = m_retention;
    const qint64 keep = m_retentionPhase == 0 ? r.rawMs
        : m_retentionPhase == 1               ? r.minuteMs
                                              : r.quarterMs;
    std::optional<qint64> cutoff;
    if (keep > 0)
        cutoff = m_retentionNow - keep;
    if (cutoff && m_retentionPhase < 2) {
        const auto &until = m_until[size_t(m_retentionPhase)];
        cutoff = until ? std::min(*cutoff, *until) : std::optional<qint64>();
    }
    if (!cutoff) {
        ++m_retentionPhase;
        m_retentionAfter.reset();
        return QString();
    }
    const QString table =
        m_retentionPhase == 0 ? QStringLiteral("samples") : QStringLiteral("summary");
    // "tier = N AND " for the summaries.
    const QString tierAnd = m_retentionPhase == 0
        ? QString()
        : QStringLiteral("tier = %1 AND ").arg(SummaryTiers[size_t(m_retentionPhase - 1)]);
    // The device to work on: the one left unfinished, else the next after the last one done.
    QString device;
    if (m_retentionCurrent) {
        device = *m_retentionCurrent;
    } else {
        query.prepare(
            QStringLiteral("SELECT MIN(device) FROM %1 WHERE %2device > ?").arg(table, tierAnd));
        query.addBindValue(
            m_retentionAfter.value_or(QStringLiteral(""))); // not a null QString: NULL
        if (!query.exec() || !query.next())
            return sqlErrorText(query.lastError());
        if (query.value(0).isNull()) {
            ++m_retentionPhase;
            m_retentionAfter.reset();
            return QString();
        }
        device = query.value(0).toString();
        query.finish();
    }
    // One statement, its own transaction, of at most RetentionRows rows.
    if (m_retentionPhase == 0) {
        query.prepare(
            QStringLiteral("DELETE FROM samples WHERE rowid IN (SELECT rowid FROM samples "
                           "WHERE device = ? AND t < ? LIMIT %1)")
                .arg(RetentionRows));
    } else {
        // WITHOUT ROWID: a range of the key, up to the RetentionRows-th row before the cutoff.
        query.prepare(QStringLiteral("DELETE FROM summary WHERE %1device = ? AND t < ? AND t <= "
                                     "coalesce((SELECT t FROM summary WHERE %1device = ? AND "
                                     "t < ? ORDER BY t LIMIT 1 OFFSET %2), ?)")
                          .arg(tierAnd)
                          .arg(RetentionRows - 1));
        query.addBindValue(device);
        query.addBindValue(*cutoff);
    }
    query.addBindValue(device);
    query.addBindValue(*cutoff);
    if (m_retentionPhase > 0)
        query.addBindValue(*cutoff);
    if (!query.exec())
        return sqlErrorText(query.lastError());
    *deleted = query.numRowsAffected();
    // A device is done once a statement deleted fewer than the most it may.
    if (*deleted < RetentionRows) {
        m_retentionAfter = device;
        m_retentionCurrent.reset();
    } else {
        m_retentionCurrent = device;
    }
    return QString();
}

QString TelemetryWriter::retentionStep(bool *more)
{
    *more = false;
    if (!m_retaining || !QSqlDatabase::contains(m_connectionName)) {
        m_retaining = false;
        return QString();
    }
    QElapsedTimer timer;
    timer.start();
    while (m_retentionPhase < 4 || m_retentionAgain) {
        if (m_retentionPhase == 4) {
            m_retentionAgain = false;
            m_retentionPhase = 0;
            m_retentionAfter.reset();
            m_retentionCurrent.reset();
        }
        qint64 deleted = 0;
        const QString why = retentionDelete(&deleted);
        if (!why.isEmpty()) {
            m_retaining = false;
            return QStringLiteral("cannot delete old history from %1: %2").arg(m_path, why);
        }
        if (timer.elapsed() >= RetentionJobMs) {
            *more = m_retentionPhase < 4 || m_retentionAgain;
            if (!*more)
                m_retaining = false;
            return QString();
        }
    }
    m_retaining = false;
    return QString();
}

} // namespace nightlight
