#pragma once

// AxisTicks: the arithmetic of LightChart's axes, without a widget: "nice" steps for the time and
// value axes, where their ticks fall (time ticks aligned in local time), the value range a frame
// shows, and the label formats. Pure functions of their arguments (and the local time zone).

#include <QString>
#include <QtGlobal>

#include <optional>
#include <vector>

namespace nightlight {

// Integer division rounding down / up (times before 1970 are negative), for ticks and columns.
inline qint64 floorDiv(qint64 a, qint64 b)
{
    qint64 q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        --q;
    return q;
}

inline qint64 ceilDiv(qint64 a, qint64 b)
{
    return -floorDiv(-a, b);
}

class AxisTicks
{
public:
    // The smallest "nice" time step (100, 200, 500 ms, 1 s, 5 s, 10 s, 30 s, 1, 5, 10, 30 min,
    // 1, 3, 6, 12 h, 1 day, then 2, 7, 14, 30, 60, 90, 180, 365 days, then whole years) giving
    // at most maxTicks ticks over spanMs (maxTicks and spanMs count as at least 1).
    static qint64 timeStep(qint64 spanMs, int maxTicks);
    // Multiples of timeStep(t1Ms - t0Ms, maxTicks) in [t0Ms, t1Ms], aligned in local time (hour
    // and day ticks on local hours and midnights, across a daylight-saving change too), in
    // increasing order. Empty for t1Ms <= t0Ms.
    static std::vector<qint64> timeTicks(qint64 t0Ms, qint64 t1Ms, int maxTicks);
    // The QLocale format of the time labels under ticks stepMs apart: "HH:mm:ss.zzz" below a
    // second, "HH:mm:ss" below a minute, "HH:mm" below a day; empty from a day on (then the
    // labels are dates, "d MMM").
    static QString timeLabelFormat(qint64 stepMs);

    // 1, 2, 2.5 or 5 times a power of ten, giving at most maxTicks ticks over span (1 for a span
    // that is not positive and finite).
    static double valueStep(double span, int maxTicks);
    // The multiples of valueStep(hi - lo, maxTicks) in [lo, hi], rounded to the step's decimals
    // (3 * 0.1 is 0.3). Empty when hi < lo or either is not finite.
    static std::vector<double> valueTicks(double lo, double hi, int maxTicks);
    // Decimals needed to print multiples of `step` exactly (at most 9).
    static int decimalsFor(double step);

    // The value axis of a frame: [lo, hi] on multiples of `step`.
    struct ValueScale
    {
        double lo = 0;
        double hi = 1;
        double step = 1;
        bool operator==(const ValueScale &o) const
        {
            return lo == o.lo && hi == o.hi && step == o.step;
        }
    };
    // The scale for values from dataLo to dataHi (with a threshold line, when given, inside it),
    // with at most maxTicks steps: widened by max(1, 5 %) each way when it has no height, its
    // ends moved out to multiples of the step, and a threshold on an end given a step of room
    // (a line on the frame's edge would hide under the axis).
    static ValueScale valueScale(double dataLo, double dataHi, std::optional<double> threshold,
                                 int maxTicks);
    // Where the value labels and grid lines of `scale` go: the multiples of its step from lo to
    // hi (a value within a billionth of a step of 0 is 0).
    static std::vector<double> scaleTicks(const ValueScale &scale);
};

} // namespace nightlight
