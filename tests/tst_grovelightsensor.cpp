// GroveLightSensor: the Grove Base Hat ADC register protocol against a fake i2c bus (what
// bytes go out, how the answer is decoded, probing 0x04 then 0x08, failures and recovery), and
// the real LinuxI2cTransport / GroveLightSensor::open() error paths on this machine.

#include "grovelightsensor.h"
#include "i2ctransport.h"

#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTemporaryFile>
#include <QTest>

#include <map>
#include <memory>

#include <unistd.h>

using namespace nightlight;

namespace {

// A fake i2c bus with one Grove Base Hat-like device per address: each device maps a register to
// the bytes it answers. Records every transfer; failures can be injected.
class FakeBus : public I2cTransport
{
public:
    struct Device
    {
        std::map<quint8, QByteArray> registers;
        bool nack = false; // every transfer to this address fails (no ACK)
    };

    // Shared with the test after the sensor took ownership of the transport.
    struct State
    {
        std::map<int, Device> devices;
        QList<int> addressesSelected;
        QByteArray written; // every byte written, in order
        int failNextWrites = 0; // the next N writes NACK
        int shortNextReads = 0; // the next N reads return 1 byte
    };

    explicit FakeBus(std::shared_ptr<State> state) : m_state(std::move(state)) { }

    QString deviceName() const override { return QStringLiteral("/dev/i2c-fake"); }

    bool setAddress(int address) override
    {
        m_state->addressesSelected << address;
        m_address = address;
        return true;
    }

    bool writeByte(quint8 byte) override
    {
        m_state->written.append(static_cast<char>(byte));
        const auto device = m_state->devices.find(m_address);
        if (device == m_state->devices.end() || device->second.nack ||
            m_state->failNextWrites > 0) {
            if (m_state->failNextWrites > 0) {
                --m_state->failNextWrites;
            }
            m_error = QStringLiteral("no answer from address 0x%1 on /dev/i2c-fake (NACK)")
                          .arg(m_address, 2, 16, QLatin1Char('0'));
            return false;
        }
        m_register = byte;
        return true;
    }

    int read(char *buffer, int n) override
    {
        const auto device = m_state->devices.find(m_address);
        if (device == m_state->devices.end() || device->second.nack) {
            m_error = QStringLiteral("no answer (NACK)");
            return -1;
        }
        const auto reg = device->second.registers.find(m_register);
        const QByteArray answer =
            reg == device->second.registers.end() ? QByteArray(2, '\xff') : reg->second;
        int count = qMin(n, static_cast<int>(answer.size()));
        if (m_state->shortNextReads > 0) {
            --m_state->shortNextReads;
            count = qMin(count, 1);
        }
        memcpy(buffer, answer.constData(), static_cast<size_t>(count));
        return count;
    }

    QString errorString() const override { return m_error; }

private:
    std::shared_ptr<State> m_state;
    int m_address = -1;
    quint8 m_register = 0;
    QString m_error;
};

QByteArray le(quint16 value)
{
    QByteArray bytes;
    bytes.append(static_cast<char>(value & 0xff));
    bytes.append(static_cast<char>(value >> 8));
    return bytes;
}

// A hat at `address` with product id `pid` and the ratio registers 0x30..0x37 set to `ratio`.
FakeBus::Device hat(quint16 pid, quint16 ratio = 0)
{
    FakeBus::Device device;
    device.registers[0x00] = le(pid);
    for (quint8 channel = 0; channel < 8; ++channel) {
        device.registers[static_cast<quint8>(0x30 + channel)] = le(ratio);
    }
    return device;
}

} // namespace

class TestGroveLightSensor : public QObject
{
    Q_OBJECT

private slots:
    void readsRatioRegister_data();
    void readsRatioRegister();
    void probesAddress_data();
    void probesAddress();
    void noHat();
    void invalidArguments_data();
    void invalidArguments();
    void shortReadFails();
    void nackMidRunFailsThenRecovers();
    void realOpenErrors_data();
    void realOpenErrors();
    void realNotAnAdapter_data();
    void realNotAnAdapter();
};

void TestGroveLightSensor::readsRatioRegister_data()
{
    QTest::addColumn<int>("channel");
    QTest::addColumn<QByteArray>("answer");
    QTest::addColumn<quint8>("expectedRegister");
    QTest::addColumn<double>("expectedValue");

    QTest::newRow("channel 0 reads 0x30, zero")
        << 0 << QByteArray("\x00\x00", 2) << quint8(0x30) << 0.0;
    QTest::newRow("channel 0, 1000 little-endian")
        << 0 << QByteArray("\xe8\x03", 2) << quint8(0x30) << 1000.0;
    QTest::newRow("channel 0, low byte only")
        << 0 << QByteArray("\x2a\x00", 2) << quint8(0x30) << 42.0;
    QTest::newRow("channel 0, high byte only")
        << 0 << QByteArray("\x00\x01", 2) << quint8(0x30) << 256.0;
    QTest::newRow("channel 3 reads 0x33")
        << 3 << QByteArray("\xf4\x01", 2) << quint8(0x33) << 500.0;
    QTest::newRow("channel 7 reads 0x37") << 7 << QByteArray("\x01\x00", 2) << quint8(0x37) << 1.0;
    QTest::newRow("largest 16-bit value")
        << 2 << QByteArray("\xff\xff", 2) << quint8(0x32) << 65535.0;
}

void TestGroveLightSensor::readsRatioRegister()
{
    QFETCH(int, channel);
    QFETCH(QByteArray, answer);
    QFETCH(quint8, expectedRegister);
    QFETCH(double, expectedValue);

    auto state = std::make_shared<FakeBus::State>();
    state->devices[0x04] = hat(0x0004);
    state->devices[0x04].registers[expectedRegister] = answer;

    QString error;
    auto sensor =
        GroveLightSensor::create(std::make_unique<FakeBus>(state), std::nullopt, channel, &error);
    QVERIFY2(sensor, qPrintable(error));
    QCOMPARE(sensor->backendName(), QStringLiteral("grove"));
    QCOMPARE(sensor->channel(), channel);
    QVERIFY(!sensor->isBusy());

    state->written.clear();
    QSignalSpy ready(sensor.get(), &LightSensor::readingReady);
    QSignalSpy failed(sensor.get(), &LightSensor::readingFailed);
    sensor->requestReading();
    // Synchronous: answered before requestReading() returns.
    QCOMPARE(ready.size(), 1);
    QCOMPARE(failed.size(), 0);
    QCOMPARE(ready.first().first().toDouble(), expectedValue);
    QCOMPARE(state->written, QByteArray(1, static_cast<char>(expectedRegister)));
}

void TestGroveLightSensor::probesAddress_data()
{
    QTest::addColumn<bool>("at04");
    QTest::addColumn<quint16>("pid04");
    QTest::addColumn<bool>("at08");
    QTest::addColumn<quint16>("pid08");
    QTest::addColumn<int>("expectedAddress");
    QTest::addColumn<quint16>("expectedPid");

    QTest::newRow("hat at 0x04") << true << quint16(0x0004) << false << quint16(0) << 0x04
                                 << quint16(0x0004);
    QTest::newRow("0x04 NACKs, hat at 0x08")
        << false << quint16(0) << true << quint16(0x0005) << 0x08 << quint16(0x0005);
    QTest::newRow("both answer, 0x04 wins")
        << true << quint16(0x0004) << true << quint16(0x0005) << 0x04 << quint16(0x0004);
    QTest::newRow("other device at 0x04, hat at 0x08")
        << true << quint16(0x1234) << true << quint16(0x0004) << 0x08 << quint16(0x0004);
    QTest::newRow("Base Hat for Pi Zero (0x0005) at 0x04")
        << true << quint16(0x0005) << false << quint16(0) << 0x04 << quint16(0x0005);
}

void TestGroveLightSensor::probesAddress()
{
    QFETCH(bool, at04);
    QFETCH(quint16, pid04);
    QFETCH(bool, at08);
    QFETCH(quint16, pid08);
    QFETCH(int, expectedAddress);
    QFETCH(quint16, expectedPid);

    auto state = std::make_shared<FakeBus::State>();
    if (at04) {
        state->devices[0x04] = hat(pid04, 111);
    }
    if (at08) {
        state->devices[0x08] = hat(pid08, 888);
    }
    QString error;
    auto sensor =
        GroveLightSensor::create(std::make_unique<FakeBus>(state), std::nullopt, 0, &error);
    QVERIFY2(sensor, qPrintable(error));
    QCOMPARE(sensor->address(), expectedAddress);
    QCOMPARE(sensor->productId(), expectedPid);
    // The product id register was read first, at every address tried.
    QCOMPARE(state->written.at(0), '\x00');

    // Readings come from the chosen device (the fake gives 111 at 0x04 and 888 at 0x08).
    QSignalSpy ready(sensor.get(), &LightSensor::readingReady);
    sensor->requestReading();
    QCOMPARE(ready.size(), 1);
    QCOMPARE(ready.first().first().toDouble(), expectedAddress == 0x04 ? 111.0 : 888.0);
}

void TestGroveLightSensor::noHat()
{
    auto state = std::make_shared<FakeBus::State>();
    QString error;
    auto sensor =
        GroveLightSensor::create(std::make_unique<FakeBus>(state), std::nullopt, 0, &error);
    QVERIFY(!sensor);
    QVERIFY2(error.startsWith(QStringLiteral("no Grove Base Hat ADC answers at 0x04 or 0x08 on "
                                             "/dev/i2c-fake: check the hat is seated and I2C is "
                                             "enabled")),
             qPrintable(error));
    QCOMPARE(state->addressesSelected, (QList<int>{0x04, 0x08}));

    // An explicit address is the only one tried.
    state->addressesSelected.clear();
    error.clear();
    sensor = GroveLightSensor::create(std::make_unique<FakeBus>(state), 0x10, 0, &error);
    QVERIFY(!sensor);
    QVERIFY2(error.startsWith(QStringLiteral("no Grove Base Hat ADC answers at 0x10 on")),
             qPrintable(error));
    QCOMPARE(state->addressesSelected, (QList<int>{0x10}));

    // Only a foreign device at the probed addresses: refused, with its id in the message.
    state->devices[0x04] = hat(0xbeef);
    error.clear();
    sensor = GroveLightSensor::create(std::make_unique<FakeBus>(state), std::nullopt, 0, &error);
    QVERIFY(!sensor);
    QVERIFY2(error.contains(QStringLiteral("0x04 answered product id 0xbeef")), qPrintable(error));

    // ... but used when asked for by address.
    error.clear();
    sensor = GroveLightSensor::create(std::make_unique<FakeBus>(state), 0x04, 0, &error);
    QVERIFY2(sensor, qPrintable(error));
    QCOMPARE(sensor->productId(), quint16(0xbeef));
}

void TestGroveLightSensor::invalidArguments_data()
{
    QTest::addColumn<int>("channel");
    QTest::addColumn<int>("address");
    QTest::addColumn<QString>("expectedError");

    QTest::newRow("channel 8") << 8 << -1 << QStringLiteral("invalid ADC channel 8");
    QTest::newRow("channel -1") << -1 << -1 << QStringLiteral("invalid ADC channel -1");
    QTest::newRow("address 0x78") << 0 << 0x78 << QStringLiteral("invalid i2c address 0x78");
    QTest::newRow("address 0x00") << 0 << 0x00 << QStringLiteral("invalid i2c address 0x00");
}

void TestGroveLightSensor::invalidArguments()
{
    QFETCH(int, channel);
    QFETCH(int, address);
    QFETCH(QString, expectedError);
    const std::optional<int> maybeAddress = address < 0 ? std::nullopt : std::optional(address);

    // Through a fake bus that has a hat: the arguments alone are wrong.
    auto state = std::make_shared<FakeBus::State>();
    state->devices[0x04] = hat(0x0004);
    QString error;
    auto sensor =
        GroveLightSensor::create(std::make_unique<FakeBus>(state), maybeAddress, channel, &error);
    QVERIFY(!sensor);
    QVERIFY2(error.startsWith(expectedError), qPrintable(error));
    QVERIFY(state->written.isEmpty()); // checked before touching the bus

    // Through the real open(): the arguments are checked before /dev/i2c-1 is opened.
    error.clear();
    sensor = GroveLightSensor::open(1, maybeAddress, channel, &error);
    QVERIFY(!sensor);
    QVERIFY2(error.startsWith(expectedError), qPrintable(error));
}

void TestGroveLightSensor::shortReadFails()
{
    auto state = std::make_shared<FakeBus::State>();
    state->devices[0x04] = hat(0x0004, 300);
    QString error;
    auto sensor =
        GroveLightSensor::create(std::make_unique<FakeBus>(state), std::nullopt, 0, &error);
    QVERIFY2(sensor, qPrintable(error));

    QSignalSpy ready(sensor.get(), &LightSensor::readingReady);
    QSignalSpy failed(sensor.get(), &LightSensor::readingFailed);
    state->shortNextReads = 1;
    sensor->requestReading();
    QCOMPARE(ready.size(), 0);
    QCOMPARE(failed.size(), 1);
    const QString message = failed.first().first().toString();
    QVERIFY2(message.contains(QStringLiteral("short read")), qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("1 of 2 bytes")), qPrintable(message));

    // A short read while probing is "no hat there".
    state->shortNextReads = 2;
    error.clear();
    auto probed =
        GroveLightSensor::create(std::make_unique<FakeBus>(state), std::nullopt, 0, &error);
    QVERIFY(!probed);
    QVERIFY2(error.contains(QStringLiteral("short read")), qPrintable(error));
}

void TestGroveLightSensor::nackMidRunFailsThenRecovers()
{
    auto state = std::make_shared<FakeBus::State>();
    state->devices[0x04] = hat(0x0004, 640);
    QString error;
    auto sensor =
        GroveLightSensor::create(std::make_unique<FakeBus>(state), std::nullopt, 1, &error);
    QVERIFY2(sensor, qPrintable(error));

    QSignalSpy ready(sensor.get(), &LightSensor::readingReady);
    QSignalSpy failed(sensor.get(), &LightSensor::readingFailed);
    sensor->requestReading();
    QCOMPARE(ready.size(), 1);

    state->failNextWrites = 2;
    sensor->requestReading();
    sensor->requestReading();
    QCOMPARE(failed.size(), 2);
    const QString message = failed.first().first().toString();
    QVERIFY2(message.contains(QStringLiteral("A1")), qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("NACK")), qPrintable(message));

    state->devices[0x04].registers[0x31] = le(12);
    sensor->requestReading();
    QCOMPARE(ready.size(), 2);
    QCOMPARE(failed.size(), 2);
    QCOMPARE(ready.last().first().toDouble(), 12.0);

    // A device that stops answering altogether (hat unplugged): fails every time, no crash.
    state->devices[0x04].nack = true;
    sensor->requestReading();
    QCOMPARE(failed.size(), 3);
    state->devices[0x04].nack = false;
    sensor->requestReading();
    QCOMPARE(ready.size(), 3);
}

void TestGroveLightSensor::realOpenErrors_data()
{
    QTest::addColumn<int>("bus");
    QTest::addColumn<QString>("expectedError");

    // No i2c adapters exist on a build machine; bus 99 exists on no Raspberry Pi either.
    QTest::newRow("no /dev/i2c-99") << 99
                                    << QStringLiteral("cannot open /dev/i2c-99: No such file or "
                                                      "directory (enable I2C with `sudo "
                                                      "raspi-config nonint do_i2c 0` and reboot)");
    QTest::newRow("negative bus") << -1 << QStringLiteral("invalid i2c bus number -1");
}

void TestGroveLightSensor::realOpenErrors()
{
    QFETCH(int, bus);
    QFETCH(QString, expectedError);
    if (bus >= 0 && QFile::exists(QStringLiteral("/dev/i2c-%1").arg(bus))) {
        QSKIP("this machine has that i2c bus");
    }

    QString error;
    auto transport = LinuxI2cTransport::open(bus, &error);
    QVERIFY(!transport);
    QCOMPARE(error, expectedError);

    error.clear();
    auto sensor = GroveLightSensor::open(bus, std::nullopt, 0, &error);
    QVERIFY(!sensor);
    QCOMPARE(error, expectedError);
}

void TestGroveLightSensor::realNotAnAdapter_data()
{
    QTest::addColumn<QString>("kind");
    QTest::newRow("regular file") << QStringLiteral("file");
    QTest::newRow("character device that is not i2c") << QStringLiteral("/dev/null");
    QTest::newRow("directory") << QStringLiteral("dir");
    QTest::newRow("file without write permission") << QStringLiteral("readonly");
}

void TestGroveLightSensor::realNotAnAdapter()
{
    QFETCH(QString, kind);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QString path;
    QString expected;
    if (kind == QLatin1String("file")) {
        path = dir.filePath(QStringLiteral("i2c-1"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("not an adapter");
        expected = path + QStringLiteral(" is not an i2c-dev adapter: ");
    } else if (kind == QLatin1String("dir")) {
        path = dir.path();
        expected = QStringLiteral("cannot open %1: Is a directory").arg(path);
    } else if (kind == QLatin1String("readonly")) {
        if (geteuid() == 0) {
            QSKIP("root may open any file");
        }
        path = dir.filePath(QStringLiteral("i2c-1"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        QVERIFY(file.setPermissions(QFileDevice::ReadOwner));
        expected = QStringLiteral("cannot open %1: Permission denied (add the user to the i2c "
                                  "group")
                       .arg(path);
    } else {
        path = kind;
        expected = path + QStringLiteral(" is not an i2c-dev adapter: ");
    }

    QString error;
    auto transport = LinuxI2cTransport::openDevice(path, &error);
    QVERIFY(!transport);
    QVERIFY2(error.startsWith(expected), qPrintable(error));
}

QTEST_GUILESS_MAIN(TestGroveLightSensor)
#include "tst_grovelightsensor.moc"
