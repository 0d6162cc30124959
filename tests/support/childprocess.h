#pragma once

// A test's child processes (a broker, a device, a dashboard) die with it: a test that CTest kills
// at its timeout, or that crashes, must not leave a mosquitto or a device running
// (PR_SET_PDEATHSIG, Linux). Call before start().

class QProcess;

void dieWithTest(QProcess &process);
