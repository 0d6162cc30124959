#pragma once

// BenchReport: what the dashboard believes, written to a file for scripts/bench-fleet.sh
// (--bench-report FILE, issue #10). It measures how long the GUI thread's event loop was away:
// a 10 ms precise QTimer on the GUI thread, whose longest gap between two ticks beyond its
// interval is the stall, with the GUI thread's own CPU time in that gap (a long wall-clock gap
// with little CPU in it is a busy machine not scheduling us, not our code). write() saves, through
// QSaveFile (a reader never sees half a file): every device of the DeviceListModel with its
// status as the list shows it (the Status enum's name) and its LED as last reported (1, 0, or -
// when no state was heard), the number of devices, whether the client is connected, and the
// longest stall since start and since the previous write(). main.cpp calls it on SIGUSR1 and at
// exit. GUI thread.

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTimer>

namespace nightlight {

class MainWindow;

class BenchReport : public QObject
{
    Q_OBJECT

public:
    static constexpr int ProbeIntervalMs = 10;

    // `window` is not owned and must outlive the report. The probe starts at once.
    BenchReport(const QString &path, MainWindow *window, QObject *parent = nullptr);
    ~BenchReport() override;

    QString path() const { return m_path; }
    // Longest stall (ms beyond the probe's interval) since start and since the last write().
    qint64 longestStallMs() const { return m_maxStallMs; }
    qint64 longestStallSinceWriteMs() const { return m_maxStallSinceMs; }
    // Writes the file now; false (and a warning) if it cannot be saved.
    bool write();

private:
    void onProbe();

    QString m_path;
    MainWindow *m_window;
    QTimer m_probe;
    QElapsedTimer m_clock;
    qint64 m_lastTickNs = 0;
    qint64 m_lastTickCpuNs = 0;
    qint64 m_maxStallMs = 0;
    qint64 m_maxStallCpuMs = 0;
    qint64 m_maxStallSinceMs = 0;
    qint64 m_maxStallSinceCpuMs = 0;
    int m_writes = 0;
};

} // namespace nightlight
