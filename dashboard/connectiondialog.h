#pragma once

// ConnectionDialog: edits ConnectionSettings (host, port, TLS CA file, user name, password,
// history retention). Says whether the password will be kept in the keyring or, where no
// keyring is available, for this session only. GUI thread.

#include "connectionsettings.h"

#include <QDialog>

class QLabel;
class QLineEdit;
class QSpinBox;

namespace nightlight {

class ConnectionDialog : public QDialog
{
    Q_OBJECT

public:
    // `keyringNote`: shown under the password (e.g. why it cannot be stored); empty for none.
    ConnectionDialog(const ConnectionSettings &settings, bool keyringAvailable,
                     const QString &keyringNote, QWidget *parent = nullptr);
    ~ConnectionDialog() override;

    ConnectionSettings settings() const;

private:
    void browseCaFile();
    void validate();

    QLineEdit *m_host;
    QSpinBox *m_port;
    QLineEdit *m_caFile;
    QLineEdit *m_username;
    QLineEdit *m_password;
    QSpinBox *m_retention;
    QLabel *m_passwordNote;
    QLabel *m_error;
    QWidget *m_okButton = nullptr;
};

} // namespace nightlight
