#include "ledcontrolwidget.h"

#include "ledcontrol.h"

#include <QButtonGroup>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace nightlight {

LedControlWidget::LedControlWidget(LedControl *control, QWidget *parent)
    : QGroupBox(parent),
      m_control(control),
      m_group(new QButtonGroup(this)),
      m_on(new QPushButton(this)),
      m_off(new QPushButton(this)),
      m_auto(new QPushButton(this)),
      m_state(new QLabel(this)),
      m_message(new QLabel(this))
{
    auto *row = new QHBoxLayout;
    int id = 0;
    for (QAbstractButton *b : {m_on, m_off, m_auto}) {
        b->setCheckable(true);
        m_group->addButton(b, id++);
        row->addWidget(b);
    }
    m_group->setExclusive(true);

    QFont big = m_state->font();
    big.setBold(true);
    m_state->setFont(big);
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // Room for one line even when empty, so the chart above does not jump at every click.
    m_message->setMinimumHeight(m_message->fontMetrics().lineSpacing());

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(row);
    layout->addWidget(m_state);
    layout->addWidget(m_message);

    connect(m_on, &QAbstractButton::clicked, this,
            [this] { m_control->request(LedControl::Choice::On); });
    connect(m_off, &QAbstractButton::clicked, this,
            [this] { m_control->request(LedControl::Choice::Off); });
    connect(m_auto, &QAbstractButton::clicked, this,
            [this] { m_control->request(LedControl::Choice::Auto); });
    connect(m_control, &LedControl::changed, this, &LedControlWidget::sync);
    retranslate();
}

LedControlWidget::~LedControlWidget() = default;

QString LedControlWidget::messageText() const
{
    return m_message->text();
}

QString LedControlWidget::stateText() const
{
    return m_state->text();
}

void LedControlWidget::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    QGroupBox::changeEvent(event);
}

void LedControlWidget::retranslate()
{
    setTitle(tr("LED"));
    m_on->setText(tr("O&n"));
    m_off->setText(tr("O&ff"));
    m_auto->setText(tr("&Auto"));
    sync();
}

void LedControlWidget::sync()
{
    const LedControl::Choice shown = m_control->shownChoice();
    // An exclusive group cannot show "none checked" unless exclusivity is lifted for a moment.
    m_group->setExclusive(false);
    m_on->setChecked(shown == LedControl::Choice::On);
    m_off->setChecked(shown == LedControl::Choice::Off);
    m_auto->setChecked(shown == LedControl::Choice::Auto);
    m_group->setExclusive(true);
    // Bold as well as checked: some styles and dark palettes barely shade a checked button.
    for (QAbstractButton *b : {m_on, m_off, m_auto}) {
        QFont f = b->font();
        f.setBold(b->isChecked());
        b->setFont(f);
    }
    m_on->setEnabled(m_control->isEnabled(LedControl::Choice::On));
    m_off->setEnabled(m_control->isEnabled(LedControl::Choice::Off));
    m_auto->setEnabled(m_control->isEnabled(LedControl::Choice::Auto));
    if (!m_control->isConnected()) {
        // Why all three are disabled: "Not connected to the broker".
        for (QAbstractButton *b : {m_on, m_off, m_auto})
            b->setToolTip(m_control->message());
    } else {
        m_on->setToolTip(tr("Switch the LED on and keep it on"));
        m_off->setToolTip(tr("Switch the LED off and keep it off"));
        m_auto->setToolTip(m_control->hasState()
                               ? tr("Let the device switch the LED by its light threshold")
                               : tr("This device does not confirm commands (lesson device)"));
    }

    m_state->setText(m_control->stateText());
    const QString message = m_control->message();
    m_message->setText(message);
    // A failure is bold rather than coloured, so it reads in light and dark palettes alike.
    QFont f = m_message->font();
    f.setBold(m_control->phase() == LedControl::Phase::Failed);
    m_message->setFont(f);
}

} // namespace nightlight
