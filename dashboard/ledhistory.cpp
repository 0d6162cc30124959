#include "ledhistory.h"

#include <algorithm>
#include <iterator>

namespace nightlight {

namespace {

bool byTime(const LedHistory::Change &c, qint64 t)
{
    return c.t < t;
}

} // namespace

bool LedHistory::insert(qint64 tMs, bool on)
{
    // After any change with the same time: equal times keep their arrival order.
    const auto it = std::upper_bound(m_changes.begin(), m_changes.end(), tMs,
                                     [](qint64 t, const Change &c) { return t < c.t; });
    const bool before = it != m_changes.begin() && std::prev(it)->on;
    // Not a change (a state published for another reason, a redelivery, the retained state
    // again after a restart). Before the first change the LED counts as off.
    if (on == before)
        return false;
    m_changes.insert(it, Change{tMs, on});
    return true;
}

bool LedHistory::clipBefore(qint64 cutoff, bool *carried)
{
    *carried = false;
    const auto it = std::lower_bound(m_changes.begin(), m_changes.end(), cutoff, byTime);
    if (it == m_changes.begin())
        return false;
    const bool onBefore = std::prev(it)->on;
    const bool atCutoff = it != m_changes.end() && it->t == cutoff;
    m_changes.erase(m_changes.begin(), it);
    if (onBefore && !atCutoff) {
        m_changes.insert(m_changes.begin(), Change{cutoff, true});
        *carried = true;
    }
    return true;
}

bool LedHistory::contains(const Change &change) const
{
    for (auto f = std::lower_bound(m_changes.begin(), m_changes.end(), change.t, byTime);
         f != m_changes.end() && f->t == change.t; ++f) {
        if (f->on == change.on)
            return true;
    }
    return false;
}

void LedHistory::mergeOlder(LedHistory older)
{
    if (m_changes.empty()) {
        m_changes = std::move(older.m_changes);
        return;
    }
    // Both in time order: the older's first among equal times (it came first).
    std::vector<Change> merged;
    merged.reserve(m_changes.size() + older.m_changes.size());
    std::merge(older.m_changes.begin(), older.m_changes.end(), m_changes.begin(), m_changes.end(),
               std::back_inserter(merged),
               [](const Change &a, const Change &b) { return a.t < b.t; });
    // Drop exact copies (a change both appended and in the file).
    merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
    m_changes = std::move(merged);
}

QList<QPair<qint64, qint64>> LedHistory::periods(qint64 t0Ms, qint64 t1Ms) const
{
    QList<QPair<qint64, qint64>> out;
    if (t1Ms <= t0Ms)
        return out;
    // From the change in effect at t0 (the last one at or before it) on.
    auto it = std::upper_bound(m_changes.begin(), m_changes.end(), t0Ms,
                               [](qint64 t, const Change &c) { return t < c.t; });
    if (it != m_changes.begin())
        --it;
    bool on = false;
    qint64 start = 0;
    for (; it != m_changes.end(); ++it) {
        if (it->on == on)
            continue; // a repeat left by an out-of-order insert
        if (it->on) {
            if (it->t >= t1Ms)
                break;
            start = it->t;
            on = true;
            continue;
        }
        on = false;
        // At least 1 ms long, so it never reads as "still on".
        const qint64 end = std::max(it->t, start + 1);
        if (end > t0Ms)
            out.append({std::max(start, t0Ms), std::min(end, t1Ms)});
    }
    if (on) {
        const qint64 from = std::max(start, t0Ms);
        out.append({from, from});
    }
    return out;
}

} // namespace nightlight
