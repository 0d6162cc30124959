#pragma once

// ChartViewport: which time window LightChart shows, without a widget: the window length (a
// preset, any length, or everything), live mode (the window ends at the newest of "now" and the
// last sample, and follows new data) or a fixed end, and the zoom and pan arithmetic. A plain
// value; the chart supplies the clock and the data's time range, and emits the signals.

#include "sampleseries.h"

#include <QPair>
#include <QtGlobal>

#include <optional>

namespace nightlight {

class ChartViewport
{
public:
    // window() of "everything the device has".
    static constexpr qint64 All = 0;
    // Zoom limits: the shortest and longest window.
    static constexpr qint64 MinSpanMs = 1000;
    static constexpr qint64 MaxSpanMs = qint64(20) * 365 * 24 * 60 * 60 * 1000;
    // The window when there is nothing to show at all with All.
    static constexpr qint64 EmptyAllSpanMs = 60 * 60 * 1000;

    qint64 window() const { return m_windowMs; } // All or the length in ms (default one hour)
    bool isLive() const { return m_live; } // default true
    qint64 viewEnd() const { return m_viewEnd; } // the window's end when not live

    // The visible [t0, t1) at `nowMs` for a device whose samples span `data` (nullopt: none).
    // Live: ends at the newest of now and the last sample + 1 ms; otherwise at viewEnd(). With
    // All: from the first sample (or an hour before the end without data), a non-live window
    // ending just after the last sample, and at least MinSpanMs long.
    QPair<qint64, qint64> range(qint64 nowMs, const std::optional<SampleSeries::Range> &data) const;

    // Sets the window length: ms <= 0 is All, else clamped to [1, MaxSpanMs]. Keeps the live
    // state; a non-live window going from All to a length keeps the end it had, currentEnd.
    void setWindow(qint64 ms, qint64 currentEnd);
    // Enters or leaves live mode; leaving keeps currentEnd as the end. Returns whether it changed.
    bool setLive(bool live, qint64 currentEnd);
    // Shows exactly [t0Ms, t1Ms) (the length at least 1 ms) and leaves live mode. Returns whether
    // it was live.
    bool showRange(qint64 t0Ms, qint64 t1Ms);

    // The window [t0Ms, t1Ms) zoomed by one wheel turn of `angleDelta` (120 a notch; positive
    // zooms in by 0.8 a notch) around anchorMs (clamped into the window), which stays where it
    // is; the new length is clamped to [MinSpanMs, MaxSpanMs].
    static QPair<qint64, qint64> zoomed(qint64 t0Ms, qint64 t1Ms, double anchorMs, int angleDelta);
    // A window of spanMs that ended at endAtPressMs when a drag began, dragged by dx of
    // plotWidth pixels (to the right shows earlier times).
    static QPair<qint64, qint64> panned(qint64 endAtPressMs, qint64 spanMs, double dx,
                                        double plotWidth);
    // How often a live window of spanMs drawn on `width` pixels scrolls: about once a column,
    // but at most 5 times a second and at least once a minute.
    static int liveRepaintIntervalMs(qint64 spanMs, int width);

private:
    qint64 m_windowMs = 60 * 60 * 1000;
    bool m_live = true;
    qint64 m_viewEnd = 0;
};

} // namespace nightlight
