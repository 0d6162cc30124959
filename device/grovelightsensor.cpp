#include "grovelightsensor.h"

#include "i2ctransport.h"

#include <QLoggingCategory>
#include <QStringList>

namespace nightlight {

namespace {

Q_LOGGING_CATEGORY(lcGrove, "nightlight.grove", QtInfoMsg)

// Product ids in register 0x00, as Seeed's grove.py (grove/adc.py) names them.
constexpr quint16 BaseHatPid = 0x0004; // "Grove Base Hat RPi"
constexpr quint16 BaseHatZeroPid = 0x0005; // "Grove Base Hat RPi Zero"

QString hex(int value, int width = 2)
{
    return QStringLiteral("0x%1").arg(value, width, 16, QLatin1Char('0'));
}

// The hat's register protocol (grove.py ADC.read_register): write the register number, then
// read two bytes, least significant first.
std::optional<quint16> readRegister(I2cTransport &transport, quint8 reg, QString *error)
{
    if (!transport.writeByte(reg)) {
        *error = transport.errorString();
        return std::nullopt;
    }
    char bytes[2] = {0, 0};
    const int got = transport.read(bytes, 2);
    if (got < 0) {
        *error = transport.errorString();
        return std::nullopt;
    }
    if (got < 2) {
        *error = QStringLiteral("short read from register %1 on %2: %3 of 2 bytes")
                     .arg(hex(reg), transport.deviceName())
                     .arg(got);
        return std::nullopt;
    }
    return static_cast<quint16>(static_cast<quint8>(bytes[0]) |
                                (static_cast<quint8>(bytes[1]) << 8));
}

bool setError(QString *error, const QString &message)
{
    if (error) {
        *error = message;
    }
    return false;
}

bool checkChannel(int channel, QString *error)
{
    if (channel < 0 || channel >= GroveLightSensor::ChannelCount) {
        return setError(error,
                        QStringLiteral("invalid ADC channel %1: the Grove Base Hat has channels "
                                       "0..7 (A0 is 0)")
                            .arg(channel));
    }
    return true;
}

bool checkAddress(std::optional<int> address, QString *error)
{
    if (address && (*address < 0x03 || *address > 0x77)) {
        return setError(error,
                        QStringLiteral("invalid i2c address %1 (7-bit addresses 0x03..0x77)")
                            .arg(hex(*address)));
    }
    return true;
}

} // namespace

GroveLightSensor::GroveLightSensor(std::unique_ptr<I2cTransport> transport, int address,
                                   int channel, QObject *parent)
    : LightSensor(parent), m_transport(std::move(transport)), m_address(address), m_channel(channel)
{ }

GroveLightSensor::~GroveLightSensor() = default;

std::unique_ptr<GroveLightSensor> GroveLightSensor::open(int i2cBus, std::optional<int> address,
                                                         int channel, QString *error)
{
    // Arguments first: a wrong channel is wrong on any machine.
    if (!checkChannel(channel, error) || !checkAddress(address, error)) {
        return nullptr;
    }
    auto transport = LinuxI2cTransport::open(i2cBus, error);
    if (!transport) {
        return nullptr;
    }
    return create(std::move(transport), address, channel, error);
}

std::unique_ptr<GroveLightSensor> GroveLightSensor::create(std::unique_ptr<I2cTransport> transport,
                                                           std::optional<int> address, int channel,
                                                           QString *error)
{
    if (!transport) {
        setError(error, QStringLiteral("no i2c transport"));
        return nullptr;
    }
    if (!checkChannel(channel, error) || !checkAddress(address, error)) {
        return nullptr;
    }

    QList<int> candidates;
    if (address) {
        candidates << *address;
    } else {
        candidates << DefaultAddresses[0] << DefaultAddresses[1];
    }

    QStringList tried;
    QStringList why;
    for (const int candidate : std::as_const(candidates)) {
        tried << hex(candidate);
        if (!transport->setAddress(candidate)) {
            why << transport->errorString();
            continue;
        }
        QString readError;
        const auto pid = readRegister(*transport, ProductIdRegister, &readError);
        if (!pid) {
            why << readError;
            continue;
        }
        const bool known = *pid == BaseHatPid || *pid == BaseHatZeroPid;
        if (!known && !address) {
            // Something else lives at a probed address: do not read it as a light sensor.
            why << QStringLiteral("%1 answered product id %2, not a Grove Base Hat (0x0004 or "
                                  "0x0005); give the address explicitly to use it anyway")
                       .arg(hex(candidate), hex(*pid, 4));
            continue;
        }
        if (!known) {
            qCWarning(lcGrove,
                      "device at %s on %s answered product id %s, not a known Grove Base Hat; "
                      "using it as asked",
                      qPrintable(hex(candidate)), qPrintable(transport->deviceName()),
                      qPrintable(hex(*pid, 4)));
        }
        qCInfo(lcGrove, "Grove Base Hat ADC (product id %s) at %s on %s, channel A%d",
               qPrintable(hex(*pid, 4)), qPrintable(hex(candidate)),
               qPrintable(transport->deviceName()), channel);
        auto sensor = std::make_unique<GroveLightSensor>(std::move(transport), candidate, channel);
        sensor->m_productId = *pid;
        return sensor;
    }

    setError(error,
             QStringLiteral("no Grove Base Hat ADC answers at %1 on %2: check the hat is seated "
                            "and I2C is enabled (%3)")
                 .arg(tried.join(QStringLiteral(" or ")), transport->deviceName(),
                      why.join(QStringLiteral("; "))));
    return nullptr;
}

void GroveLightSensor::requestReading()
{
    QString error;
    const auto value =
        readRegister(*m_transport, static_cast<quint8>(RatioRegisterBase + m_channel), &error);
    if (!value) {
        // Nothing to reset: the next request writes the register number again, so a glitch
        // (a NACK while the hat's firmware is busy, a loose cable) costs one reading.
        emit readingFailed(QStringLiteral("cannot read the Grove Base Hat ADC channel A%1: %2")
                               .arg(m_channel)
                               .arg(error));
        return;
    }
    emit readingReady(static_cast<double>(*value));
}

} // namespace nightlight
