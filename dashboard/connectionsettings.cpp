#include "connectionsettings.h"

#include <QSettings>

namespace nightlight {

void ConnectionSettings::load(const QSettings &s)
{
    const ConnectionSettings defaults;
    host = s.value(QStringLiteral("connection/host"), defaults.host).toString();
    const uint p = s.value(QStringLiteral("connection/port"), defaults.port).toUInt();
    port = p >= 1 && p <= 65535 ? quint16(p) : defaults.port;
    tlsCaFile = s.value(QStringLiteral("connection/tlsCaFile")).toString();
    username = s.value(QStringLiteral("connection/username")).toString();
    retentionDays = qBound(0, s.value(QStringLiteral("history/retentionDays"), 30).toInt(), 3650);
    rawDays = qBound(1, s.value(QStringLiteral("history/rawDays"), defaults.rawDays).toInt(), 3650);
    minuteDays =
        qBound(1, s.value(QStringLiteral("history/minuteDays"), defaults.minuteDays).toInt(), 3650);
}

void ConnectionSettings::save(QSettings &s) const
{
    s.setValue(QStringLiteral("connection/host"), host);
    s.setValue(QStringLiteral("connection/port"), port);
    s.setValue(QStringLiteral("connection/tlsCaFile"), tlsCaFile);
    s.setValue(QStringLiteral("connection/username"), username);
    s.setValue(QStringLiteral("history/retentionDays"), retentionDays);
    s.setValue(QStringLiteral("history/rawDays"), rawDays);
    s.setValue(QStringLiteral("history/minuteDays"), minuteDays);
}

QString ConnectionSettings::endpoint() const
{
    return host + QLatin1Char(':') + QString::number(port);
}

QString ConnectionSettings::passwordKey() const
{
    return username + QLatin1Char('@') + endpoint();
}

bool ConnectionSettings::operator==(const ConnectionSettings &o) const
{
    return host == o.host && port == o.port && tlsCaFile == o.tlsCaFile && username == o.username &&
        password == o.password && retentionDays == o.retentionDays && rawDays == o.rawDays &&
        minuteDays == o.minuteDays;
}

} // namespace nightlight
