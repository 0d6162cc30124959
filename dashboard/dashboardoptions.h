#pragma once

// DashboardOptions: the dashboard's command line (QCommandLineParser), parsed and checked.
// Values given override the saved connection settings for this run only.

#include <QCoreApplication>
#include <QString>
#include <QStringList>

#include <optional>

namespace nightlight {

class DashboardOptions
{
    Q_DECLARE_TR_FUNCTIONS(DashboardOptions)

public:
    enum class Outcome {
        Run, // start the dashboard
        Exit, // --help or --version: print message() to stdout, exit 0
        Error, // bad value: print message() to stderr, exit 2
    };

    // The largest --max-devices: far beyond any house, still a bound.
    static constexpr int MaxDevicesLimit = 1000000;

    // Parses `arguments` (argv, program name first). Never exits the process itself.
    Outcome parse(const QStringList &arguments);
    QString message() const { return m_message; }

    std::optional<QString> host;
    std::optional<quint16> port;
    std::optional<QString> tlsCaFile;
    std::optional<QString> username;
    QString deviceId; // empty: the last selected device
    QString language; // empty: the system locale
    QString databasePath; // empty: AppDataLocation/telemetry.sqlite
    // --max-devices: how many devices may become known from the network (the saved setting
    // devices/maxDevices, else DeviceHub::DefaultMaxDevices, when absent).
    std::optional<int> maxDevices;
    // Hidden, for tests and documentation:
    QString settingsPath; // an INI file instead of the user's settings
    QString screenshotPath; // grab the main window to this PNG once data is shown, then quit
    QString palette; // "light", "dark" or empty (the system's)
    // --bench-report FILE: what the dashboard believes (devices, statuses, GUI stalls), written
    // on SIGUSR1 and at exit, for scripts/bench-fleet.sh (BenchReport). Empty: none.
    QString benchReportPath;
    QString view; // --view: "detail", "class" or empty (the view shown last)

private:
    QString m_message;
};

} // namespace nightlight
