#include "passwordstore.h"

#include <QLoggingCategory>

#ifdef NIGHTLIGHT_HAVE_KEYCHAIN
#include <qt6keychain/keychain.h>
#endif

namespace nightlight {

namespace {
Q_LOGGING_CATEGORY(lcKeychain, "nightlight.dashboard.keychain", QtInfoMsg)
#ifdef NIGHTLIGHT_HAVE_KEYCHAIN
const QString ServiceName = QStringLiteral("nightlight-dashboard");

// Errors that mean "there is no keyring", as opposed to "no such entry".
bool meansNoKeyring(QKeychain::Error error)
{
    return error == QKeychain::NoBackendAvailable || error == QKeychain::NotImplemented ||
        error == QKeychain::OtherError || error == QKeychain::AccessDenied ||
        error == QKeychain::AccessDeniedByUser;
}
#endif
} // namespace

QString PasswordStore::noKeyringReason(const QString &detail)
{
    return tr("no Secret Service or KWallet answered: %1").arg(detail);
}

PasswordStore::PasswordStore(QObject *parent) : QObject(parent)
{
    if (!isBuiltIn())
        m_availability = Availability::Unavailable;
    m_reason = isBuiltIn() ? QString() : tr("built without QtKeychain");
}

PasswordStore::~PasswordStore() = default;

bool PasswordStore::isBuiltIn()
{
#ifdef NIGHTLIGHT_HAVE_KEYCHAIN
    return true;
#else
    return false;
#endif
}

void PasswordStore::setAvailability(Availability availability, const QString &reason)
{
    if (availability == m_availability && reason == m_reason)
        return;
    m_availability = availability;
    m_reason = reason;
    emit availabilityChanged();
}

void PasswordStore::readPassword(const QString &key)
{
#ifdef NIGHTLIGHT_HAVE_KEYCHAIN
    auto *job = new QKeychain::ReadPasswordJob(ServiceName, this);
    job->setAutoDelete(true);
    job->setKey(key);
    connect(job, &QKeychain::Job::finished, this, [this, job, key] {
        if (job->error() == QKeychain::NoError) {
            setAvailability(Availability::Available, QString());
            emit passwordRead(key, job->textData());
            return;
        }
        if (job->error() == QKeychain::EntryNotFound) {
            setAvailability(Availability::Available, QString());
            qCDebug(lcKeychain) << "no password stored yet";
        } else if (meansNoKeyring(job->error())) {
            setAvailability(Availability::Unavailable, noKeyringReason(job->errorString()));
            qCDebug(lcKeychain).noquote() << "no keyring:" << job->errorString();
        } else {
            qCWarning(lcKeychain).noquote()
                << "cannot read the stored password:" << job->errorString();
        }
        emit passwordRead(key, QString());
    });
    job->start();
#else
    emit passwordRead(key, QString());
#endif
}

void PasswordStore::writePassword(const QString &key, const QString &password)
{
#ifdef NIGHTLIGHT_HAVE_KEYCHAIN
    QKeychain::Job *job = nullptr;
    if (password.isEmpty()) {
        auto *del = new QKeychain::DeletePasswordJob(ServiceName, this);
        del->setKey(key);
        job = del;
    } else {
        auto *write = new QKeychain::WritePasswordJob(ServiceName, this);
        write->setKey(key);
        write->setTextData(password);
        job = write;
    }
    job->setAutoDelete(true);
    connect(job, &QKeychain::Job::finished, this, [this, job, key, password] {
        const bool ok = job->error() == QKeychain::NoError ||
            (password.isEmpty() && job->error() == QKeychain::EntryNotFound);
        if (ok)
            setAvailability(Availability::Available, QString());
        else if (meansNoKeyring(job->error()))
            setAvailability(Availability::Unavailable, noKeyringReason(job->errorString()));
        if (!ok)
            qCWarning(lcKeychain).noquote() << "cannot store the password:" << job->errorString();
        emit passwordWritten(key, ok, ok ? QString() : job->errorString());
    });
    job->start();
#else
    emit passwordWritten(key, false, m_reason);
#endif
}

} // namespace nightlight
