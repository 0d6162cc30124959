#include "axisticks.h"

#include <QDateTime>

#include <algorithm>
#include <cmath>

namespace nightlight {

namespace {

constexpr qint64 Second = 1000;
constexpr qint64 Minute = 60 * Second;
constexpr qint64 Hour = 60 * Minute;
constexpr qint64 Day = 24 * Hour;

// The nice time steps, smallest first; beyond a day, NiceDays.
constexpr qint64 NiceSteps[] = {
    100,        200,         500,         Second, 5 * Second, 10 * Second, 30 * Second, Minute,
    5 * Minute, 10 * Minute, 30 * Minute, Hour,   3 * Hour,   6 * Hour,    12 * Hour,   Day};
constexpr qint64 NiceDays[] = {2, 7, 14, 30, 60, 90, 180, 365};

qint64 localOffsetMs(qint64 t)
{
    return qint64(QDateTime::fromMSecsSinceEpoch(t).offsetFromUtc()) * 1000;
}

} // namespace

qint64 AxisTicks::timeStep(qint64 spanMs, int maxTicks)
{
    maxTicks = std::max(1, maxTicks);
    spanMs = std::max<qint64>(1, spanMs);
    for (qint64 step : NiceSteps) {
        if (step * maxTicks >= spanMs)
            return step;
    }
    for (qint64 days : NiceDays) {
        if (days * Day * maxTicks >= spanMs)
            return days * Day;
    }
    return ceilDiv(spanMs, qint64(maxTicks) * 365 * Day) * 365 * Day;
}

std::vector<qint64> AxisTicks::timeTicks(qint64 t0Ms, qint64 t1Ms, int maxTicks)
{
    std::vector<qint64> ticks;
    if (t1Ms <= t0Ms)
        return ticks;
    const qint64 step = timeStep(t1Ms - t0Ms, maxTicks);
    // Aligned in local time, so that hour and day ticks fall on local hours and midnights. The
    // offset is taken again at each tick: a daylight-saving change inside the window moves it.
    qint64 offset = localOffsetMs(t0Ms);
    for (qint64 local = ceilDiv(t0Ms + offset, step) * step;; local += step) {
        qint64 t = local - offset;
        const qint64 tickOffset = localOffsetMs(t);
        if (tickOffset != offset) {
            offset = tickOffset;
            t = local - offset;
        }
        if (t > t1Ms)
            break;
        if (t >= t0Ms && (ticks.empty() || t > ticks.back()))
            ticks.push_back(t);
    }
    return ticks;
}

QString AxisTicks::timeLabelFormat(qint64 stepMs)
{
    if (stepMs < Second)
        return QStringLiteral("HH:mm:ss.zzz");
    if (stepMs < Minute)
        return QStringLiteral("HH:mm:ss");
    if (stepMs < Day)
        return QStringLiteral("HH:mm");
    return QString();
}

double AxisTicks::valueStep(double span, int maxTicks)
{
    maxTicks = std::max(1, maxTicks);
    if (!(span > 0) || !std::isfinite(span))
        return 1;
    const double raw = span / maxTicks;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
        if (m * magnitude >= raw * (1 - 1e-12))
            return m * magnitude;
    }
    return 10 * magnitude;
}

std::vector<double> AxisTicks::valueTicks(double lo, double hi, int maxTicks)
{
    std::vector<double> ticks;
    if (!(hi >= lo) || !std::isfinite(lo) || !std::isfinite(hi))
        return ticks;
    const double step = valueStep(hi - lo, maxTicks);
    const double first = std::ceil(lo / step - 1e-9);
    // Rounded to the step's decimals, so that 3 * 0.1 is 0.3.
    const double scale = std::pow(10.0, decimalsFor(step));
    for (double k = first;; k += 1) {
        double v = std::round(k * step * scale) / scale;
        if (v > hi + step * 1e-9)
            break;
        if (std::abs(v) < step * 1e-9)
            v = 0;
        ticks.push_back(v);
    }
    return ticks;
}

int AxisTicks::decimalsFor(double step)
{
    int decimals = 0;
    double scaled = step;
    while (decimals < 9 && std::abs(scaled - std::round(scaled)) > 1e-9 * std::max(1.0, scaled)) {
        scaled *= 10;
        ++decimals;
    }
    return decimals;
}

AxisTicks::ValueScale AxisTicks::valueScale(double lo, double hi, std::optional<double> threshold,
                                            int maxTicks)
{
    if (threshold) {
        lo = std::min(lo, *threshold);
        hi = std::max(hi, *threshold);
    }
    if (hi - lo <= 0) {
        const double margin = std::max(1.0, std::abs(hi) * 0.05);
        lo -= margin;
        hi += margin;
    }
    ValueScale s;
    s.step = valueStep(hi - lo, maxTicks);
    s.lo = std::floor(lo / s.step) * s.step;
    s.hi = std::ceil(hi / s.step) * s.step;
    if (s.hi <= s.lo)
        s.hi = s.lo + s.step;
    // A threshold on the frame's edge would hide under the axis: give it one step of room.
    if (threshold) {
        if (*threshold <= s.lo)
            s.lo -= s.step;
        if (*threshold >= s.hi)
            s.hi += s.step;
    }
    return s;
}

std::vector<double> AxisTicks::scaleTicks(const ValueScale &scale)
{
    std::vector<double> ticks;
    for (double k = std::round(scale.lo / scale.step);
         k * scale.step <= scale.hi + scale.step * 1e-9; k += 1) {
        double v = k * scale.step;
        if (std::abs(v) < scale.step * 1e-9)
            v = 0;
        ticks.push_back(v);
    }
    return ticks;
}

} // namespace nightlight
