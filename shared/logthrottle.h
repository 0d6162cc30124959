#pragma once

// LogThrottle: keeps a warning that a network peer can trigger at will (a bad command, a malformed
// message) from flooding the log, without losing count of it.
//
// Per key (what the lines are about: "bad commands", "malformed messages on kitchen/telemetry"):
// the first burst() occurrences are logged in full; after that at most one summary line per
// interval() says how many were left out since the key's last line, how many there were in all,
// and the detail of the last one:
//
//   bad commands: 1995 more in the last 60 s (2000 so far); last: wrong type: led_on must be a bool
//
// A summary is due an interval after the key's last line. It comes with the next occurrence after
// that, from takeDue() (the owner's timer, armed with nextDueIn()), or from flush() at shutdown:
// counts are never lost silently. A key that stays quiet for an interval with nothing left out
// starts a new burst, so a rare warning is always logged in full.
//
// Memory is bounded: at most maxKeys() keys, the overflow key ("other warnings") among them. When
// they are all taken, keys with nothing left out and quiet for an interval are forgotten; if none
// is, a new key's lines go to the overflow key, their detail prefixed with the key.
//
// A value class without threads or timers of its own: it returns the lines, the owner logs them
// (its category, its level) on its own thread.

#include <QString>
#include <QStringList>

#include <functional>
#include <map>
#include <optional>

namespace nightlight {

class LogThrottle
{
public:
    static constexpr int DefaultBurst = 5;
    static constexpr qint64 DefaultIntervalMs = 60000;
    static constexpr int DefaultMaxKeys = 256;

    // Milliseconds on a monotonic clock; replaceable for tests.
    using Clock = std::function<qint64()>;

    LogThrottle();

    void setBurst(int lines); // >= 0: lines logged in full before the summaries start
    int burst() const { return m_burst; }
    void setInterval(qint64 ms); // >= 1
    qint64 interval() const { return m_intervalMs; }
    void setMaxKeys(int keys); // >= 1, the overflow key included
    int maxKeys() const { return m_maxKeys; }
    void setOverflowKey(const QString &key);
    QString overflowKey() const { return m_overflowKey; }
    void setClock(Clock clock);

    // One occurrence of `key`. Returns the lines to log now, in order: `line` itself (within the
    // burst), a summary that counts this occurrence (an interval or more after the key's last
    // line), or nothing. `detail` is what a summary quotes as the last one (default: `line`).
    QStringList add(const QString &key, const QString &line, const QString &detail = QString());
    // The summaries that are due: keys with lines left out, an interval after their last line.
    QStringList takeDue();
    // The summaries of every key with lines left out, due or not (at shutdown).
    QStringList flush();
    // Milliseconds until the next summary is due (0: now); nullopt when nothing is left out.
    std::optional<qint64> nextDueIn() const;

    // Keys tracked now (the overflow key included), at most maxKeys().
    int keyCount() const { return int(m_keys.size()); }
    // Occurrences left out and not yet in a summary, over all keys.
    qint64 pendingCount() const;

private:
    struct Entry
    {
        qint64 total = 0; // every occurrence, logged or not
        qint64 suppressed = 0; // left out since the last line
        int burstUsed = 0; // full lines in the current burst
        qint64 lastLineAt = 0; // when the last line (full or summary) was returned
        QString lastDetail;
    };

    QString summarize(const QString &key, Entry &entry, qint64 now);
    // Forgets keys with nothing left out that have been quiet for an interval.
    void forgetQuietKeys(qint64 now);

    int m_burst = DefaultBurst;
    qint64 m_intervalMs = DefaultIntervalMs;
    int m_maxKeys = DefaultMaxKeys;
    QString m_overflowKey;
    Clock m_clock;
    std::map<QString, Entry> m_keys; // sorted: summaries come in a stable order
    qint64 m_lastForgetAt = 0;
    bool m_forgotOnce = false;
};

} // namespace nightlight
