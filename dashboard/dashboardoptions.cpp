#include "dashboardoptions.h"

#include "devicehub.h"
#include "protocol.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFileInfo>
#include <QLocale>

namespace nightlight {

DashboardOptions::Outcome DashboardOptions::parse(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        tr("Shows a nightlight's light readings and switches its LED over MQTT."));
    const QCommandLineOption helpOption = parser.addHelpOption();
    const QCommandLineOption versionOption = parser.addVersionOption();
    const QCommandLineOption hostOption(QStringLiteral("host"), tr("MQTT broker host name."),
                                        tr("host"));
    const QCommandLineOption portOption(QStringLiteral("port"), tr("MQTT broker port (1-65535)."),
                                        tr("port"));
    const QCommandLineOption idOption(QStringLiteral("id"), tr("Device id to show at start."),
                                      tr("id"));
    const QCommandLineOption langOption(QStringLiteral("lang"),
                                        tr("Language, e.g. en or bn (default: the system's)."),
                                        tr("language"));
    const QCommandLineOption dbOption(QStringLiteral("database"),
                                      tr("SQLite file for the telemetry history."), tr("path"));
    const QCommandLineOption caOption(QStringLiteral("tls-ca"),
                                      tr("Use TLS, trusting the CA certificates in this file."),
                                      tr("file"));
    const QCommandLineOption userOption(QStringLiteral("username"), tr("User name for the broker."),
                                        tr("name"));
    const QCommandLineOption maxDevicesOption(
        QStringLiteral("max-devices"),
        tr("Most devices to track; messages from further new ones are ignored (default %1).")
            .arg(DeviceHub::DefaultMaxDevices),
        tr("count"));
    QCommandLineOption settingsOption(QStringLiteral("settings"), QString(), QStringLiteral("ini"));
    settingsOption.setFlags(QCommandLineOption::HiddenFromHelp);
    QCommandLineOption shotOption(QStringLiteral("screenshot"), QString(), QStringLiteral("png"));
    shotOption.setFlags(QCommandLineOption::HiddenFromHelp);
    QCommandLineOption paletteOption(QStringLiteral("palette"), QString(),
                                     QStringLiteral("light|dark"));
    paletteOption.setFlags(QCommandLineOption::HiddenFromHelp);
    const QCommandLineOption viewOption(QStringLiteral("view"),
                                        tr("View to show at start: detail or class."), tr("view"));
    QCommandLineOption benchOption(QStringLiteral("bench-report"), QString(),
                                   QStringLiteral("file"));
    benchOption.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOptions({hostOption, portOption, idOption, langOption, dbOption, caOption, userOption,
                       maxDevicesOption, settingsOption, shotOption, paletteOption, viewOption,
                       benchOption});

    if (!parser.parse(arguments)) {
        m_message = parser.errorText();
        return Outcome::Error;
    }
    if (parser.isSet(helpOption)) {
        m_message = parser.helpText();
        return Outcome::Exit;
    }
    if (parser.isSet(versionOption)) {
        m_message = QCoreApplication::applicationName() + QLatin1Char(' ') +
            QCoreApplication::applicationVersion();
        return Outcome::Exit;
    }
    if (!parser.positionalArguments().isEmpty()) {
        m_message = tr("Unexpected argument: %1").arg(parser.positionalArguments().constFirst());
        return Outcome::Error;
    }

    if (parser.isSet(hostOption)) {
        host = parser.value(hostOption).trimmed();
        if (host->isEmpty()) {
            m_message = tr("--host must not be empty");
            return Outcome::Error;
        }
    }
    if (parser.isSet(portOption)) {
        bool ok = false;
        const uint value = parser.value(portOption).toUInt(&ok);
        if (!ok || value < 1 || value > 65535) {
            m_message = tr("--port must be a number from 1 to 65535, not \"%1\"")
                            .arg(parser.value(portOption));
            return Outcome::Error;
        }
        port = quint16(value);
    }
    if (parser.isSet(idOption)) {
        deviceId = parser.value(idOption);
        const QString why = deviceIdError(deviceId);
        if (!why.isEmpty()) {
            m_message = tr("--id: %1").arg(why);
            return Outcome::Error;
        }
    }
    if (parser.isSet(langOption)) {
        language = parser.value(langOption);
        if (QLocale(language).language() == QLocale::C) {
            m_message = tr("--lang: unknown language \"%1\" (try en or bn)").arg(language);
            return Outcome::Error;
        }
    }
    if (parser.isSet(dbOption)) {
        databasePath = parser.value(dbOption);
        const QFileInfo dir(QFileInfo(databasePath).absolutePath());
        if (databasePath.isEmpty() || !dir.isDir()) {
            m_message = tr("--database: the folder of \"%1\" does not exist").arg(databasePath);
            return Outcome::Error;
        }
    }
    if (parser.isSet(caOption)) {
        tlsCaFile = parser.value(caOption);
        const QFileInfo ca(*tlsCaFile);
        if (!ca.isFile() || !ca.isReadable()) {
            m_message = tr("--tls-ca: cannot read \"%1\"").arg(*tlsCaFile);
            return Outcome::Error;
        }
    }
    if (parser.isSet(userOption))
        username = parser.value(userOption);
    if (parser.isSet(maxDevicesOption)) {
        bool ok = false;
        const int value = parser.value(maxDevicesOption).toInt(&ok);
        if (!ok || value < 1 || value > MaxDevicesLimit) {
            m_message = tr("--max-devices must be a number from 1 to %1, not \"%2\"")
                            .arg(MaxDevicesLimit)
                            .arg(parser.value(maxDevicesOption));
            return Outcome::Error;
        }
        maxDevices = value;
    }
    settingsPath = parser.value(settingsOption);
    screenshotPath = parser.value(shotOption);
    if (parser.isSet(paletteOption)) {
        palette = parser.value(paletteOption);
        if (palette != QLatin1String("light") && palette != QLatin1String("dark")) {
            m_message = tr("--palette must be light or dark");
            return Outcome::Error;
        }
    }
    if (parser.isSet(viewOption)) {
        view = parser.value(viewOption);
        if (view != QLatin1String("detail") && view != QLatin1String("class")) {
            m_message = tr("--view must be detail or class, not \"%1\"").arg(view);
            return Outcome::Error;
        }
    }
    if (parser.isSet(benchOption)) {
        benchReportPath = parser.value(benchOption);
        const QFileInfo dir(QFileInfo(benchReportPath).absolutePath());
        if (benchReportPath.isEmpty() || !dir.isDir()) {
            m_message =
                tr("--bench-report: the folder of \"%1\" does not exist").arg(benchReportPath);
            return Outcome::Error;
        }
    }
    return Outcome::Run;
}

} // namespace nightlight
