#pragma once

// LedHistory: one device's LED on/off changes in time order, and the periods the LED was on that
// they describe (in LightChart::setLedPeriods's format). A plain value: no signals, no SQL; the
// owner (TelemetryStore) decides what is kept and what is written.

#include <QList>
#include <QPair>
#include <QtGlobal>

#include <vector>

namespace nightlight {

class LedHistory
{
public:
    // One change: from `t` on (ms since the epoch, UTC) the LED is `on`.
    struct Change
    {
        qint64 t = 0;
        bool on = false;
        bool operator==(const Change &o) const { return t == o.t && on == o.on; }
        bool operator!=(const Change &o) const { return !(*this == o); }
    };

    LedHistory() = default;
    // The changes as stored (a file's rows): in time order, taken as they are, repeats included.
    explicit LedHistory(std::vector<Change> changes) : m_changes(std::move(changes)) { }

    // In time order (equal times in arrival order). A change never repeats the value in effect
    // before it when it was inserted, but a later one may (after an out-of-order insert):
    // periods() skips those.
    const std::vector<Change> &changes() const { return m_changes; }
    bool isEmpty() const { return m_changes.empty(); }

    // Records that the LED is `on` from tMs on, after any change with the same time (equal times
    // keep their arrival order). A repeat of the value in effect at tMs is ignored (before the
    // first change the LED counts as off): returns false.
    bool insert(qint64 tMs, bool on);
    // Drops the changes before `cutoff`. When the LED was on at the cutoff (the last dropped
    // change is "on" and no change falls on the cutoff itself), puts a change to on at the cutoff
    // first, so the period that started before it still shades from the cutoff (*carried says
    // so). Returns whether anything was dropped.
    bool clipBefore(qint64 cutoff, bool *carried);
    // True when exactly this change (same t and on) is stored.
    bool contains(const Change &change) const;
    // Merges `older` in (a file's changes, in time order): among equal times its changes come
    // first (they came first); exact copies next to each other (a change both here and there)
    // are kept once.
    void mergeOlder(LedHistory older);

    // The periods the LED was on that overlap [t0Ms, t1Ms), in time order, as (start, end) in
    // ms, clipped to the window: a period still on at the last change has end == start. A period
    // is at least 1 ms long. Empty for t1Ms <= t0Ms.
    QList<QPair<qint64, qint64>> periods(qint64 t0Ms, qint64 t1Ms) const;

private:
    std::vector<Change> m_changes;
};

} // namespace nightlight
