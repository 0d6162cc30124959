#pragma once

// ConnectionSettings: where the broker is and how to log in, plus the history retention.
// Everything but the password lives in QSettings (group "connection"); the password goes
// through PasswordStore (the system keyring via QtKeychain), never into the settings file.

#include <QString>

class QSettings;

namespace nightlight {

class ConnectionSettings
{
public:
    QString host = QStringLiteral("localhost");
    quint16 port = 1883;
    QString tlsCaFile; // empty: plain TCP
    QString username; // empty: anonymous
    QString password; // not saved by save(); see PasswordStore
    int retentionDays = 30; // history kept in the database; 0 keeps everything
    // Of it, raw samples are kept this long, 1-minute summaries this long (#11); the 15-minute
    // ones for all of it. Settings file only ("history/rawDays", "history/minuteDays").
    int rawDays = 7;
    int minuteDays = 90;

    void load(const QSettings &settings);
    void save(QSettings &settings) const;

    // "host:port", for the status bar and as the keyring entry's key.
    QString endpoint() const;
    // The keyring key of the password: "user@host:port".
    QString passwordKey() const;

    bool operator==(const ConnectionSettings &o) const;
    bool operator!=(const ConnectionSettings &o) const { return !(*this == o); }
};

} // namespace nightlight
