// GpioLed: the real libgpiod error paths on this machine. A build machine has no GPIO chips
// (no /dev/gpiochip*, and no gpio-sim or gpio-mockup module to make one), so the success path
// (request, set, release) is only checked on a Raspberry Pi; see docs/hardware.md.

#include "gpioled.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTemporaryFile>
#include <QTest>

using namespace nightlight;

namespace {

bool hasGpioChips()
{
    return !QDir(QStringLiteral("/dev"))
                .entryList({QStringLiteral("gpiochip*")}, QDir::AllEntries | QDir::System)
                .isEmpty();
}

} // namespace

class TestGpioLed : public QObject
{
    Q_OBJECT

private slots:
    void openFails_data();
    void openFails();
    void notAGpioChip_data();
    void notAGpioChip();
};

void TestGpioLed::openFails_data()
{
    QTest::addColumn<QString>("chip");
    QTest::addColumn<int>("line");
    QTest::addColumn<bool>("needsNoChips");
    QTest::addColumn<QString>("expectedStart");

    QTest::newRow("no chip given, no line named GPIO5")
        << QString() << 5 << true
        << QStringLiteral("no GPIO chip has a line named GPIO5 (is this a Raspberry Pi? give "
                          "--gpio-chip)");
    QTest::newRow("no chip given, line 17 looks for GPIO17")
        << QString() << 17 << true << QStringLiteral("no GPIO chip has a line named GPIO17");
    QTest::newRow("kernel name gpiochip0")
        << QStringLiteral("gpiochip0") << 5 << true
        << QStringLiteral("cannot open GPIO chip /dev/gpiochip0: No such file or directory "
                          "(no GPIO chips in /dev: is this a Raspberry Pi?)");
    QTest::newRow("chip number 0") << QStringLiteral("0") << 5 << true
                                   << QStringLiteral("cannot open GPIO chip /dev/gpiochip0: No "
                                                     "such file or directory");
    QTest::newRow("path /dev/gpiochip9")
        << QStringLiteral("/dev/gpiochip9") << 5 << false
        << QStringLiteral("cannot open GPIO chip /dev/gpiochip9: No such file or directory");
    QTest::newRow("path /nonexistent")
        << QStringLiteral("/nonexistent") << 5 << false
        << QStringLiteral("cannot open GPIO chip /nonexistent: No such file or directory");
    QTest::newRow("label pinctrl-bcm2711")
        << QStringLiteral("pinctrl-bcm2711") << 5 << true
        << QStringLiteral("no GPIO chip is named or labelled \"pinctrl-bcm2711\" (no GPIO "
                          "chips in /dev: is this a Raspberry Pi?)");
    QTest::newRow("negative line")
        << QStringLiteral("gpiochip0") << -1 << false << QStringLiteral("invalid GPIO line -1");
    QTest::newRow("negative line, no chip given")
        << QString() << -3 << false << QStringLiteral("invalid GPIO line -3");
}

void TestGpioLed::openFails()
{
    QFETCH(QString, chip);
    QFETCH(int, line);
    QFETCH(bool, needsNoChips);
    QFETCH(QString, expectedStart);
    if (needsNoChips && hasGpioChips()) {
        QSKIP("this machine has GPIO chips");
    }

    QString error;
    auto led = GpioLed::open(chip, line, &error);
    QVERIFY(!led);
    QVERIFY2(error.startsWith(expectedStart), qPrintable(error));
}

void TestGpioLed::notAGpioChip_data()
{
    QTest::addColumn<QString>("kind");
    QTest::newRow("regular file") << QStringLiteral("file");
    QTest::newRow("character device that is not a GPIO chip") << QStringLiteral("/dev/null");
    QTest::newRow("directory") << QStringLiteral("dir");
}

void TestGpioLed::notAGpioChip()
{
    QFETCH(QString, kind);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QTemporaryFile file(dir.filePath(QStringLiteral("gpiochipXXXXXX")));
    QString path = kind;
    QString expected;
    if (kind == QLatin1String("file")) {
        QVERIFY(file.open());
        file.write("not a chip");
        file.flush();
        path = file.fileName();
        expected = QStringLiteral("cannot open GPIO chip %1: not a GPIO chip").arg(path);
    } else if (kind == QLatin1String("dir")) {
        path = dir.path();
        expected = QStringLiteral("cannot open GPIO chip %1: ").arg(path);
    } else {
        expected = QStringLiteral("cannot open GPIO chip %1: not a GPIO chip").arg(path);
    }

    QString error;
    auto led = GpioLed::open(path, 5, &error);
    QVERIFY(!led);
    QVERIFY2(error.startsWith(expected), qPrintable(error));
}

QTEST_GUILESS_MAIN(TestGpioLed)
#include "tst_gpioled.moc"
