#pragma once

// SQL helpers shared by TelemetryWriter's two source files (telemetrywriter.cpp: schema, loading
// and writes; telemetrysummaries.cpp: the summaries and retention per tier). Internal to the
// dashboard's history code.

#include <QSqlError>
#include <QString>

namespace nightlight::telemetrysql {

// SQLite result codes (sqlite3.h) that mean "this file is damaged or not a database": the only
// errors for which a file that DatabaseFile found readable is moved aside. Others leave it alone:
// SQLITE_CANTOPEN (a folder, no permission: nothing says the file is bad), SQLITE_BUSY (another
// program holds a lock), SQLITE_IOERR, SQLITE_FULL, SQLITE_READONLY.
constexpr int SqliteCorrupt = 11;
constexpr int SqliteNotADb = 26;

inline bool meansCorrupt(const QSqlError &e)
{
    bool ok = false;
    const int code = e.nativeErrorCode().toInt(&ok) & 0xff; // primary code of an extended one
    return ok && (code == SqliteCorrupt || code == SqliteNotADb);
}

inline QString sqlErrorText(const QSqlError &e)
{
    const QString text = e.text().trimmed();
    return text.isEmpty() ? QStringLiteral("unknown SQLite error") : text;
}

// Reports a failed open or load step: *error the message, *corrupt whether it means the file
// is damaged. Returns false, for `return failed(...)`.
inline bool failed(const QSqlError &e, QString *error, bool *corrupt)
{
    *corrupt = meansCorrupt(e);
    *error = sqlErrorText(e);
    return false;
}

// floor(t / tier) * tier in SQL, right for negative t too (SQLite's % keeps the dividend's sign).
inline QString bucketOf(const QString &column, qint64 tier)
{
    return QStringLiteral("(%1 - ((%1 % %2) + %2) % %2)").arg(column).arg(tier);
}

inline qint64 floorTo(qint64 t, qint64 tier)
{
    const qint64 r = ((t % tier) + tier) % tier;
    return t - r;
}

// The devices with rows in `table` (optionally restricted by `where`), by skipping through its
// index: one lookup per device, as load() does. A CTE body for "WITH RECURSIVE ... SELECT".
inline QString skipScan(const QString &table, const QString &where)
{
    const QString and_ = where.isEmpty() ? QString() : QStringLiteral(" AND ") + where;
    const QString whereOnly = where.isEmpty() ? QString() : QStringLiteral(" WHERE ") + where;
    return QStringLiteral("d(id) AS (SELECT MIN(device) FROM %1%2 UNION ALL "
                          "SELECT (SELECT MIN(device) FROM %1 WHERE device > d.id%3) FROM d "
                          "WHERE d.id IS NOT NULL)")
        .arg(table, whereOnly, and_);
}

} // namespace nightlight::telemetrysql
