#pragma once

// LedControlWidget: On / Off / Auto as checkable, exclusive buttons over a LedControl, with the
// device's real LED and mode and the control's message (pending, confirmed, failure, lesson
// device) below. Shows, never decides: all logic is in LedControl. GUI thread.

#include <QGroupBox>

class QAbstractButton;
class QButtonGroup;
class QLabel;

namespace nightlight {

class LedControl;

class LedControlWidget : public QGroupBox
{
    Q_OBJECT

public:
    explicit LedControlWidget(LedControl *control, QWidget *parent = nullptr);
    ~LedControlWidget() override;

    QAbstractButton *onButton() const { return m_on; }
    QAbstractButton *offButton() const { return m_off; }
    QAbstractButton *autoButton() const { return m_auto; }
    QString messageText() const;
    QString stateText() const;

protected:
    void changeEvent(QEvent *event) override;

private:
    void sync();
    void retranslate();

    LedControl *m_control;
    QButtonGroup *m_group;
    QAbstractButton *m_on;
    QAbstractButton *m_off;
    QAbstractButton *m_auto;
    QLabel *m_state;
    QLabel *m_message;
};

} // namespace nightlight
