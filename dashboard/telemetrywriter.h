#pragma once

// TelemetryWriter: the SQL of TelemetryDatabase's file, on one QSqlDatabase connection: the
// schema and its upgrades, loading, and the writes, with the rows of a failed write kept for the
// next try. Not thread-safe: every member function runs on TelemetryDatabase's writer thread
// (called through queued or blocking-queued invocations), so the connection is created, used and
// removed on that one thread, as Qt SQL requires. Only the atomics are read from other threads.

#include "ledhistory.h"
#include "telemetrydatabase.h"

#include <QSqlDatabase>
#include <QString>

#include <atomic>
#include <map>
#include <vector>

namespace nightlight {

class TelemetryWriter
{
public:
    explicit TelemetryWriter(QString connectionName) : m_connectionName(std::move(connectionName))
    { }

    // Rows handed over (or kept after a failed write) and not yet committed or dropped: samples
    // and LED changes, the backlog that is bounded. Device rows (one per device an hour at most)
    // are not counted.
    std::atomic<qsizetype> unwritten{0};
    // Set by the GUI thread while writing is in trouble: then every successful insert is
    // reported back, so the store can say when it works again.
    std::atomic<bool> reportSuccess{false};

    // Opens (creating if needed) the database at `path`. With `out`, deletes rows older than
    // `cutoff` and loads the rest. On failure closes again, sets *error and whether the failure
    // means the file is not a usable database (*corrupt).
    bool open(const QString &path, qint64 cutoff, TelemetryDatabase::Loaded *out, QString *error,
              bool *corrupt);

    // PRAGMA max_page_count on the connection (it is not stored in the file); 0 puts back what
    // SQLite had at open(). Kept for the next open(). Returns the limit now in effect.
    qint64 setMaxPageCount(qint64 pages);

    // Closes the connection. Rows kept from a failed write are given up: the next open() of the
    // store queues again what the file lacks.
    void close();

    // Writes `rows`, `ledRows` and `deviceRows`, after those kept from a failed write, in one
    // transaction. On failure keeps them all for the next call and returns the message; empty on
    // success.
    QString insert(std::vector<TelemetryDatabase::SampleRow> rows,
                   std::vector<TelemetryDatabase::LedRow> ledRows,
                   std::vector<TelemetryDatabase::DeviceRow> deviceRows);

    // Takes `id` out of the devices table and, with `history`, deletes its samples and LED
    // changes (one transaction; on this thread, so a long history never holds up the GUI). Rows
    // of it kept from a failed write go too (its listing always, its history with `history`).
    QString forget(const QString &id, bool history);

    // Deletes the rows of `id` older than `cutoff`, and drops such rows kept for a retry. Returns
    // the message on failure, empty on success.
    QString deleteBefore(const QString &id, qint64 cutoff);

    // Deletes the LED changes of `id` before `cutoff` (also those kept for a retry) and, with
    // `carryOn`, records a change to on at the cutoff (see LedHistory::clipBefore). Returns the
    // message on failure, empty on success.
    QString clipLed(const QString &id, qint64 cutoff, bool carryOn);

    // True while rows of a failed write wait for the next try.
    bool holdsFailedRows() const
    {
        return !m_retry.empty() || !m_retryLed.empty() || !m_retryDevices.empty();
    }

private:
    QSqlDatabase db() const { return QSqlDatabase::database(m_connectionName, false); }
    bool openDatabase(QString *error, bool *corrupt);
    bool migrate(qint64 from, QString *error, bool *corrupt);
    bool load(TelemetryDatabase::Loaded &out, qint64 cutoff, QString *error, bool *corrupt);
    bool loadLed(std::map<QString, LedHistory> &out, qint64 cutoff, QString *error, bool *corrupt);
    // The file side of clipLed(): one transaction; the SQLite error text on failure.
    static QString clipLedRows(QSqlDatabase handle, const QString &id, qint64 cutoff, bool carryOn);

    QString m_connectionName;
    QString m_path;
    qint64 m_maxPageCount = 0; // setMaxPageCount(); 0: SQLite's own
    qint64 m_defaultMaxPageCount = 0; // what SQLite said at open()
    // Rows of a failed write, written first by the next insert().
    std::vector<TelemetryDatabase::SampleRow> m_retry;
    std::vector<TelemetryDatabase::LedRow> m_retryLed;
    std::vector<TelemetryDatabase::DeviceRow> m_retryDevices;
};

} // namespace nightlight
