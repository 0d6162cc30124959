#include "connectiondialog.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace nightlight {

ConnectionDialog::ConnectionDialog(const ConnectionSettings &settings, bool keyringAvailable,
                                   const QString &keyringNote, QWidget *parent)
    : QDialog(parent),
      m_host(new QLineEdit(settings.host, this)),
      m_port(new QSpinBox(this)),
      m_caFile(new QLineEdit(settings.tlsCaFile, this)),
      m_username(new QLineEdit(settings.username, this)),
      m_password(new QLineEdit(settings.password, this)),
      m_retention(new QSpinBox(this)),
      m_passwordNote(new QLabel(this)),
      m_error(new QLabel(this))
{
    setWindowTitle(tr("Connection Settings"));
    m_port->setRange(1, 65535);
    m_port->setValue(settings.port);
    m_port->setGroupSeparatorShown(false);
    m_caFile->setPlaceholderText(tr("none (plain TCP)"));
    m_username->setPlaceholderText(tr("anonymous"));
    m_password->setEchoMode(QLineEdit::Password);
    m_retention->setRange(0, 3650);
    m_retention->setValue(settings.retentionDays);
    m_retention->setSuffix(tr(" days"));
    m_retention->setSpecialValueText(tr("forever"));

    auto *browse = new QPushButton(tr("Browse…"), this);
    connect(browse, &QPushButton::clicked, this, &ConnectionDialog::browseCaFile);
    auto *caRow = new QHBoxLayout;
    caRow->addWidget(m_caFile, 1);
    caRow->addWidget(browse);

    m_passwordNote->setWordWrap(true);
    m_passwordNote->setForegroundRole(QPalette::PlaceholderText);
    if (keyringAvailable)
        m_passwordNote->setText(tr("The password is kept in the system keyring."));
    else
        m_passwordNote->setText(
            tr("No keyring is available (%1): the password is used for this session and "
               "not stored.")
                .arg(keyringNote));

    auto *form = new QFormLayout;
    form->addRow(tr("&Host:"), m_host);
    form->addRow(tr("&Port:"), m_port);
    // A row holding a layout gets no buddy by itself, and a label without one shows its "&".
    auto *caLabel = new QLabel(tr("TLS &CA file:"), this);
    caLabel->setBuddy(m_caFile);
    form->addRow(caLabel, caRow);
    form->addRow(tr("&User name:"), m_username);
    form->addRow(tr("Pass&word:"), m_password);
    form->addRow(QString(), m_passwordNote);
    form->addRow(tr("&Keep history:"), m_retention);

    m_error->setWordWrap(true);
    m_error->setVisible(false);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_okButton = buttons->button(QDialogButtonBox::Ok);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(buttons);

    connect(m_host, &QLineEdit::textChanged, this, &ConnectionDialog::validate);
    connect(m_caFile, &QLineEdit::textChanged, this, &ConnectionDialog::validate);
    validate();
}

ConnectionDialog::~ConnectionDialog() = default;

ConnectionSettings ConnectionDialog::settings() const
{
    ConnectionSettings s;
    s.host = m_host->text().trimmed();
    s.port = quint16(m_port->value());
    s.tlsCaFile = m_caFile->text().trimmed();
    s.username = m_username->text();
    s.password = m_password->text();
    s.retentionDays = m_retention->value();
    return s;
}

void ConnectionDialog::browseCaFile()
{
    const QString file = QFileDialog::getOpenFileName(
        this, tr("TLS CA Certificates"), QFileInfo(m_caFile->text()).absolutePath(),
        tr("Certificates (*.crt *.pem);;All files (*)"));
    if (!file.isEmpty())
        m_caFile->setText(file);
}

void ConnectionDialog::validate()
{
    QString problem;
    if (m_host->text().trimmed().isEmpty())
        problem = tr("Enter the broker's host name.");
    else if (!m_caFile->text().trimmed().isEmpty() && !QFileInfo(m_caFile->text()).isReadable())
        problem = tr("Cannot read the CA file.");
    m_error->setText(problem);
    m_error->setVisible(!problem.isEmpty());
    m_okButton->setEnabled(problem.isEmpty());
}

} // namespace nightlight
