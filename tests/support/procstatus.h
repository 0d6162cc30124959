#pragma once

// Memory of a process as Linux reports it in /proc/<pid>/status (and smaps_rollup), for tests
// that bound it and benchmarks that report it.

#include <QtGlobal>

// Peak resident memory (VmHWM) of process pid (0: this process) in KiB, -1 if unknown.
qint64 peakRssKb(qint64 pid = 0);
// Resident memory now (VmRSS) of process pid (0: this process) in KiB, -1 if unknown.
qint64 rssKb(qint64 pid = 0);
// Private memory of process pid (0: this process) (Private_Clean + Private_Dirty of
// /proc/<pid>/smaps_rollup: no shared library pages) in KiB, -1 if unknown.
qint64 privateKb(qint64 pid = 0);
// Resets this process's VmHWM to its current RSS (/proc/self/clear_refs, Linux >= 4.0).
bool resetPeakRss();
