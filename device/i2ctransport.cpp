#include "i2ctransport.h"

#include <QFile>

#include <cerrno>

#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace nightlight {

namespace {

QString errnoText(int error)
{
    return qt_error_string(error);
}

QString hex(int address)
{
    return QStringLiteral("0x%1").arg(address, 2, 16, QLatin1Char('0'));
}

// The hint that turns an errno from open() into something a person can act on.
QString openHint(int error)
{
    switch (error) {
    case ENOENT:
        return QStringLiteral(" (enable I2C with `sudo raspi-config nonint do_i2c 0` and reboot)");
    case EACCES:
    case EPERM:
        return QStringLiteral(
            " (add the user to the i2c group: `sudo usermod -aG i2c $USER`, then log in again)");
    default:
        return {};
    }
}

} // namespace

LinuxI2cTransport::FileDescriptor::~FileDescriptor()
{
    if (m_fd >= 0) {
        // close() is not retried on EINTR on Linux: the descriptor is gone either way.
        ::close(m_fd);
    }
}

LinuxI2cTransport::LinuxI2cTransport(const QString &path, int fd) : m_path(path), m_fd(fd) { }

LinuxI2cTransport::~LinuxI2cTransport() = default;

std::unique_ptr<LinuxI2cTransport> LinuxI2cTransport::open(int bus, QString *error)
{
    if (bus < 0) {
        if (error) {
            *error = QStringLiteral("invalid i2c bus number %1").arg(bus);
        }
        return nullptr;
    }
    return openDevice(QStringLiteral("/dev/i2c-%1").arg(bus), error);
}

std::unique_ptr<LinuxI2cTransport> LinuxI2cTransport::openDevice(const QString &path,
                                                                 QString *error)
{
    const QByteArray native = QFile::encodeName(path);
    int fd = -1;
    do {
        fd = ::open(native.constData(), O_RDWR | O_CLOEXEC | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        const int openError = errno;
        if (error) {
            *error = QStringLiteral("cannot open %1: %2%3")
                         .arg(path, errnoText(openError), openHint(openError));
        }
        return nullptr;
    }
    // Own the descriptor from here on, so every early return closes it.
    std::unique_ptr<LinuxI2cTransport> transport(new LinuxI2cTransport(path, fd));

    // A regular file or another character device opens fine; only an i2c-dev adapter answers
    // I2C_FUNCS (anything else fails with ENOTTY).
    unsigned long functions = 0;
    if (::ioctl(fd, I2C_FUNCS, &functions) < 0) {
        const int ioctlError = errno;
        if (error) {
            *error =
                QStringLiteral("%1 is not an i2c-dev adapter: %2").arg(path, errnoText(ioctlError));
        }
        return nullptr;
    }
    return transport;
}

bool LinuxI2cTransport::fail(const QString &message)
{
    m_errorString = message;
    return false;
}

bool LinuxI2cTransport::setAddress(int address)
{
    if (address < 0x03 || address > 0x77) {
        return fail(QStringLiteral("invalid i2c address %1 (7-bit addresses 0x03..0x77)")
                        .arg(hex(address)));
    }
    // I2C_SLAVE (not I2C_SLAVE_FORCE): never talk over a kernel driver that owns the address.
    if (::ioctl(m_fd.get(), I2C_SLAVE, static_cast<unsigned long>(address)) < 0) {
        const int ioctlError = errno;
        if (ioctlError == EBUSY) {
            return fail(QStringLiteral("address %1 on %2 is claimed by a kernel driver")
                            .arg(hex(address), m_path));
        }
        return fail(QStringLiteral("cannot select address %1 on %2: %3")
                        .arg(hex(address), m_path, errnoText(ioctlError)));
    }
    m_address = address;
    return true;
}

bool LinuxI2cTransport::writeByte(quint8 byte)
{
    ssize_t written = -1;
    do {
        written = ::write(m_fd.get(), &byte, 1);
    } while (written < 0 && errno == EINTR);
    if (written == 1) {
        return true;
    }
    const int writeError = written < 0 ? errno : EIO;
    // The i2c adapters report a missing acknowledge as EREMOTEIO (bcm2835) or ENXIO.
    if (writeError == EREMOTEIO || writeError == ENXIO) {
        return fail(
            QStringLiteral("no answer from address %1 on %2 (NACK)").arg(hex(m_address), m_path));
    }
    return fail(QStringLiteral("i2c write to %1 on %2 failed: %3")
                    .arg(hex(m_address), m_path, errnoText(writeError)));
}

int LinuxI2cTransport::read(char *buffer, int n)
{
    if (n <= 0) {
        return 0;
    }
    ssize_t got = -1;
    do {
        got = ::read(m_fd.get(), buffer, static_cast<size_t>(n));
    } while (got < 0 && errno == EINTR);
    if (got >= 0) {
        return static_cast<int>(got);
    }
    const int readError = errno;
    if (readError == EREMOTEIO || readError == ENXIO) {
        fail(QStringLiteral("no answer from address %1 on %2 (NACK)").arg(hex(m_address), m_path));
    } else {
        fail(QStringLiteral("i2c read from %1 on %2 failed: %3")
                 .arg(hex(m_address), m_path, errnoText(readError)));
    }
    return -1;
}

} // namespace nightlight
