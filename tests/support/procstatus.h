#pragma once

// Memory of a process as Linux reports it in /proc/<pid>/status, for tests that bound it.

#include <QtGlobal>

// Peak resident memory (VmHWM) of process pid (0: this process) in KiB, -1 if unknown.
qint64 peakRssKb(qint64 pid = 0);
// Resets this process's VmHWM to its current RSS (/proc/self/clear_refs, Linux >= 4.0).
bool resetPeakRss();
