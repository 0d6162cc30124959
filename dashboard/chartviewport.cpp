#include "chartviewport.h"

#include <algorithm>
#include <cmath>

namespace nightlight {

QPair<qint64, qint64> ChartViewport::range(qint64 nowMs,
                                           const std::optional<SampleSeries::Range> &data) const
{
    qint64 end = m_live ? nowMs : m_viewEnd;
    if (m_live && data)
        end = std::max(end, data->last + 1);
    if (m_windowMs == All) {
        qint64 start = data ? data->first : end - EmptyAllSpanMs;
        if (!m_live && data)
            end = data->last + 1;
        if (end - start < MinSpanMs)
            start = end - MinSpanMs;
        return {start, end};
    }
    return {end - m_windowMs, end};
}

void ChartViewport::setWindow(qint64 ms, qint64 currentEnd)
{
    ms = ms <= 0 ? All : std::clamp(ms, qint64(1), MaxSpanMs);
    if (!m_live && ms != All && m_windowMs == All)
        m_viewEnd = currentEnd;
    m_windowMs = ms;
}

bool ChartViewport::setLive(bool live, qint64 currentEnd)
{
    if (m_live == live)
        return false;
    if (!live)
        m_viewEnd = currentEnd;
    m_live = live;
    return true;
}

bool ChartViewport::showRange(qint64 t0Ms, qint64 t1Ms)
{
    m_windowMs = std::max<qint64>(1, t1Ms - t0Ms);
    m_viewEnd = t1Ms;
    const bool was = m_live;
    m_live = false;
    return was;
}

QPair<qint64, qint64> ChartViewport::zoomed(qint64 t0Ms, qint64 t1Ms, double anchorMs,
                                            int angleDelta)
{
    const double span = double(t1Ms - t0Ms);
    const double anchor = std::clamp(anchorMs, double(t0Ms), double(t1Ms));
    const double factor = std::pow(0.8, angleDelta / 120.0);
    const double newSpan = std::clamp(span * factor, double(MinSpanMs), double(MaxSpanMs));
    const qint64 t0 = qint64(std::llround(anchor - (anchor - double(t0Ms)) * newSpan / span));
    return {t0, t0 + qint64(std::llround(newSpan))};
}

QPair<qint64, qint64> ChartViewport::panned(qint64 endAtPressMs, qint64 spanMs, double dx,
                                            double plotWidth)
{
    const qint64 shift = qint64(std::llround(dx * double(spanMs) / plotWidth));
    const qint64 t1 = endAtPressMs - shift;
    return {t1 - spanMs, t1};
}

int ChartViewport::liveRepaintIntervalMs(qint64 spanMs, int width)
{
    const qint64 perColumn = spanMs / std::max(1, width);
    return int(std::clamp<qint64>(perColumn, 200, 60 * 1000));
}

} // namespace nightlight
