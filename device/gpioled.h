#pragma once

// GpioLed: an LED on one GPIO line (the lesson wires a Grove LED to D5 = GPIO5), driven through
// libgpiod (the GPIO character device; both the v1 API of libgpiod 1.6 and the v2 API of 2.x,
// chosen at compile time). The line is requested as an output, consumer "nightlight", starting
// low; it is set low and released again when the object is destroyed.
//
// Lives on the main thread; setOn() is one ioctl and acts before it returns.

#include "led.h"

#include <QString>

#include <memory>

namespace nightlight {

class GpioLed : public Led
{
    Q_OBJECT
public:
    // chip: a name ("gpiochip0"), a number ("0"), a path ("/dev/gpiochip0") or a label
    // ("pinctrl-bcm2711"); empty: the first chip with a line named "GPIO<line>" (Raspberry Pi
    // kernels name the header pins so, on the Pi 4 and on the Pi 5), using that line.
    // nullptr with *error set: "no GPIO chip has a line named GPIO5 (is this a Raspberry Pi? give
    // --gpio-chip)", "cannot open GPIO chip /dev/gpiochip0: Permission denied (add the user to
    // the gpio group ...)", "GPIO line 5 on gpiochip0 is in use by ...".
    static std::unique_ptr<GpioLed> open(const QString &chip, int line, QString *error);

    struct Private;
    // Used by open(); Private is only complete inside gpioled.cpp.
    explicit GpioLed(std::unique_ptr<Private> d, QObject *parent = nullptr);
    ~GpioLed() override;

    QString backendName() const override { return QStringLiteral("grove"); }
    // Drives the line high (on) or low. On failure emits failed() and keeps the old state.
    void setOn(bool on) override;
    bool isOn() const override;

    // The chip's kernel name ("gpiochip0") and the line offset on it.
    QString chipName() const;
    int line() const;

private:
    std::unique_ptr<Private> const d;
};

} // namespace nightlight
