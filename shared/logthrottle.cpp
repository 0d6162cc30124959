#include "logthrottle.h"

#include <chrono>

namespace nightlight {

namespace {

qint64 steadyMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// "0.4", "9.9", "60", "3600": tenths below 10 s, whole seconds above.
QString seconds(qint64 ms)
{
    if (ms < 10000)
        return QString::number(double(ms) / 1000.0, 'f', 1);
    return QString::number((ms + 500) / 1000);
}

} // namespace

LogThrottle::LogThrottle() : m_overflowKey(QStringLiteral("other warnings")), m_clock(steadyMs) { }

void LogThrottle::setBurst(int lines)
{
    m_burst = qMax(0, lines);
}

void LogThrottle::setInterval(qint64 ms)
{
    m_intervalMs = qMax<qint64>(1, ms);
}

void LogThrottle::setMaxKeys(int keys)
{
    m_maxKeys = qMax(1, keys);
}

void LogThrottle::setOverflowKey(const QString &key)
{
    m_overflowKey = key;
}

void LogThrottle::setClock(Clock clock)
{
    m_clock = std::move(clock);
}

QStringList LogThrottle::add(const QString &key, const QString &line, const QString &detail)
{
    const qint64 now = m_clock();
    QString effectiveKey = key;
    QString effectiveDetail = detail.isNull() ? line : detail;
    auto it = m_keys.find(key);
    if (it == m_keys.end()) {
        // Room for a new key: all but one slot for named keys, the last for the overflow key.
        const int named = keyCount() - int(m_keys.count(m_overflowKey));
        if (key != m_overflowKey && named >= m_maxKeys - 1) {
            forgetQuietKeys(now);
            if (keyCount() - int(m_keys.count(m_overflowKey)) >= m_maxKeys - 1) {
                effectiveKey = m_overflowKey;
                effectiveDetail = key + QStringLiteral(": ") + effectiveDetail;
            }
        }
        it = m_keys.find(effectiveKey);
        if (it == m_keys.end())
            it = m_keys.emplace(effectiveKey, Entry{0, 0, 0, now, QString()}).first;
    }
    Entry &entry = it->second;
    ++entry.total;
    // Quiet for an interval with nothing left out: a new burst.
    if (entry.suppressed == 0 && now - entry.lastLineAt >= m_intervalMs)
        entry.burstUsed = 0;
    if (entry.burstUsed < m_burst) {
        ++entry.burstUsed;
        entry.lastLineAt = now;
        return {line};
    }
    ++entry.suppressed;
    entry.lastDetail = effectiveDetail;
    if (now - entry.lastLineAt >= m_intervalMs)
        return {summarize(effectiveKey, entry, now)};
    return {};
}

QStringList LogThrottle::takeDue()
{
    const qint64 now = m_clock();
    QStringList lines;
    for (auto &[key, entry] : m_keys) {
        if (entry.suppressed > 0 && now - entry.lastLineAt >= m_intervalMs)
            lines << summarize(key, entry, now);
    }
    return lines;
}

QStringList LogThrottle::flush()
{
    const qint64 now = m_clock();
    QStringList lines;
    for (auto &[key, entry] : m_keys) {
        if (entry.suppressed > 0)
            lines << summarize(key, entry, now);
    }
    return lines;
}

std::optional<qint64> LogThrottle::nextDueIn() const
{
    const qint64 now = m_clock();
    std::optional<qint64> next;
    for (const auto &[key, entry] : m_keys) {
        if (entry.suppressed == 0)
            continue;
        const qint64 in = qMax<qint64>(0, entry.lastLineAt + m_intervalMs - now);
        if (!next || in < *next)
            next = in;
    }
    return next;
}

qint64 LogThrottle::pendingCount() const
{
    qint64 pending = 0;
    for (const auto &[key, entry] : m_keys)
        pending += entry.suppressed;
    return pending;
}

QString LogThrottle::summarize(const QString &key, Entry &entry, qint64 now)
{
    // One arg() call: a key or detail holding "%3" must stay as it is.
    const QString line =
        QStringLiteral("%1: %2 more in the last %3 s (%4 so far); last: %5")
            .arg(key, QString::number(entry.suppressed), seconds(now - entry.lastLineAt),
                 QString::number(entry.total), entry.lastDetail);
    entry.suppressed = 0;
    entry.lastLineAt = now;
    entry.lastDetail.clear();
    return line;
}

void LogThrottle::forgetQuietKeys(qint64 now)
{
    // At most once a second (or once an interval, if shorter): a flood of new keys with every
    // slot busy must not scan all of them on every occurrence.
    if (m_forgotOnce && now - m_lastForgetAt < qMin<qint64>(1000, m_intervalMs))
        return;
    m_forgotOnce = true;
    m_lastForgetAt = now;
    for (auto it = m_keys.begin(); it != m_keys.end();) {
        const Entry &e = it->second;
        if (it->first != m_overflowKey && e.suppressed == 0 && now - e.lastLineAt >= m_intervalMs)
            it = m_keys.erase(it);
        else
            ++it;
    }
}

} // namespace nightlight
