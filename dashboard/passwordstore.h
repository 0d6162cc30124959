#pragma once

// PasswordStore: the broker password in the system keyring (Secret Service, KWallet, ...)
// through QtKeychain, asynchronously. Where QtKeychain was not built in or no keyring answers,
// isAvailable() turns false and unavailableReason() says why; the password is then kept for
// the session only and never written anywhere. GUI thread.

#include <QObject>
#include <QString>

namespace nightlight {

class PasswordStore : public QObject
{
    Q_OBJECT

public:
    enum class Availability { Unknown, Available, Unavailable };
    Q_ENUM(Availability)

    explicit PasswordStore(QObject *parent = nullptr);
    ~PasswordStore() override;

    // Compiled with QtKeychain at all.
    static bool isBuiltIn();
    Availability availability() const { return m_availability; }
    bool isAvailable() const { return m_availability == Availability::Available; }
    QString unavailableReason() const { return m_reason; }

    // Reads the password for `key`; passwordRead() follows (empty password if none or failed).
    void readPassword(const QString &key);
    // Stores (or with an empty password deletes) the password for `key`; passwordWritten follows.
    void writePassword(const QString &key, const QString &password);

signals:
    void passwordRead(const QString &key, const QString &password);
    void passwordWritten(const QString &key, bool ok, const QString &error);
    void availabilityChanged();

private:
    static QString noKeyringReason(const QString &detail);
    void setAvailability(Availability availability, const QString &reason);

    Availability m_availability = Availability::Unknown;
    QString m_reason;
};

} // namespace nightlight
