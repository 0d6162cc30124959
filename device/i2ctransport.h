#pragma once

// I2cTransport: the few i2c operations the Grove Base Hat ADC needs (select a peripheral address,
// write one byte, read a few bytes), behind an interface so tests can put a fake bus under
// GroveLightSensor. LinuxI2cTransport is the real one: a /dev/i2c-<bus> character device
// (i2c-dev) opened O_RDWR. Both are plain objects used from one thread; calls block for the
// length of one bus transfer (a few hundred microseconds at 100 kHz).

#include <QString>

#include <memory>

namespace nightlight {

class I2cTransport
{
public:
    virtual ~I2cTransport() = default;

    // What the transport talks to, for messages: "/dev/i2c-1".
    virtual QString deviceName() const = 0;
    // Selects the 7-bit peripheral address (0x03..0x77) for the following transfers.
    virtual bool setAddress(int address) = 0;
    // One write transfer of one byte. False when the peripheral does not acknowledge (NACK) or
    // the bus fails; errorString() says which.
    virtual bool writeByte(quint8 byte) = 0;
    // One read transfer of up to n bytes into buffer. Returns how many arrived (fewer than n is
    // a short read), or -1 with errorString() set.
    virtual int read(char *buffer, int n) = 0;
    // The last failure, with context ("no answer from address 0x04 on /dev/i2c-1 (NACK)").
    virtual QString errorString() const = 0;
};

class LinuxI2cTransport : public I2cTransport
{
public:
    // Opens /dev/i2c-<bus>. nullptr with *error set, e.g. "cannot open /dev/i2c-1: No such file
    // or directory (enable I2C with `sudo raspi-config nonint do_i2c 0` and reboot)".
    static std::unique_ptr<LinuxI2cTransport> open(int bus, QString *error);
    // Opens any path and checks that it is an i2c-dev adapter (ioctl I2C_FUNCS).
    static std::unique_ptr<LinuxI2cTransport> openDevice(const QString &path, QString *error);

    ~LinuxI2cTransport() override;

    QString deviceName() const override { return m_path; }
    bool setAddress(int address) override;
    bool writeByte(quint8 byte) override;
    int read(char *buffer, int n) override;
    QString errorString() const override { return m_errorString; }

private:
    // Owns one POSIX file descriptor: closed exactly once, never copied.
    class FileDescriptor
    {
    public:
        explicit FileDescriptor(int fd = -1) : m_fd(fd) { }
        ~FileDescriptor();
        FileDescriptor(const FileDescriptor &) = delete;
        FileDescriptor &operator=(const FileDescriptor &) = delete;
        int get() const { return m_fd; }
        bool isValid() const { return m_fd >= 0; }

    private:
        int m_fd;
    };

    LinuxI2cTransport(const QString &path, int fd);
    bool fail(const QString &message);

    QString m_path;
    FileDescriptor m_fd;
    int m_address = -1;
    QString m_errorString;
};

} // namespace nightlight
