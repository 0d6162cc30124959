#include "databasefile.h"

#include <QFile>
#include <QFileInfo>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nightlight {

namespace {

QString errnoText(int error)
{
    return QString::fromLocal8Bit(std::strerror(error));
}

// What a stat mode that is not a regular file or a directory is, for messages.
QString typeName(mode_t mode)
{
    if (S_ISFIFO(mode))
        return QStringLiteral("a FIFO");
    if (S_ISSOCK(mode))
        return QStringLiteral("a socket");
    if (S_ISCHR(mode))
        return QStringLiteral("a character device");
    if (S_ISBLK(mode))
        return QStringLiteral("a block device");
    return QStringLiteral("not a regular file");
}

// Owns one POSIX file descriptor: closed exactly once.
class Descriptor
{
public:
    explicit Descriptor(int fd) : m_fd(fd) { }
    ~Descriptor()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    Descriptor(const Descriptor &) = delete;
    Descriptor &operator=(const Descriptor &) = delete;
    int get() const { return m_fd; }

private:
    int m_fd;
};

} // namespace

DatabaseFile::DatabaseFile(Kind kind, QString error) : m_kind(kind), m_error(std::move(error)) { }

DatabaseFile DatabaseFile::inspect(const QString &path)
{
    if (path.isEmpty())
        return DatabaseFile(Kind::Unusable, QStringLiteral("the path is empty"));
    const QByteArray native = QFile::encodeName(path);
    const QString folder = QFileInfo(path).absolutePath();

    // The folder first: SQLite creates "<path>-wal", "-shm" or "-journal" beside the file, and a
    // file moved aside is renamed there. access() asks with the real uid, the one that runs us.
    struct stat folderInfo = {};
    if (::stat(QFile::encodeName(folder).constData(), &folderInfo) != 0) {
        const int error = errno;
        return DatabaseFile(
            Kind::Unusable,
            error == ENOENT
                ? QStringLiteral("its folder %1 does not exist").arg(folder)
                : QStringLiteral("cannot reach its folder %1: %2").arg(folder, errnoText(error)));
    }
    if (!S_ISDIR(folderInfo.st_mode))
        return DatabaseFile(Kind::Unusable, QStringLiteral("%1 is not a folder").arg(folder));

    struct stat info = {};
    if (::stat(native.constData(), &info) != 0) {
        const int error = errno;
        if (error != ENOENT) // ELOOP (a symbolic link loop), EACCES on the way, ENOTDIR, ...
            return DatabaseFile(Kind::Unusable, errnoText(error));
        if (::access(QFile::encodeName(folder).constData(), W_OK | X_OK) != 0) {
            return DatabaseFile(
                Kind::Unusable,
                QStringLiteral("cannot create files in %1: %2").arg(folder, errnoText(errno)));
        }
        return DatabaseFile(Kind::Missing);
    }
    if (S_ISDIR(info.st_mode))
        return DatabaseFile(Kind::Unusable, QStringLiteral("is a directory"));
    if (!S_ISREG(info.st_mode)) {
        return DatabaseFile(
            Kind::Unusable,
            QStringLiteral("is %1, not a regular file").arg(typeName(info.st_mode)));
    }

    // Non-blocking, in case it became a FIFO since the stat(); the type is checked again on the
    // descriptor itself.
    const Descriptor fd(::open(native.constData(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (fd.get() < 0)
        return DatabaseFile(Kind::Unusable, errnoText(errno));
    if (::fstat(fd.get(), &info) != 0)
        return DatabaseFile(Kind::Unusable, errnoText(errno));
    if (!S_ISREG(info.st_mode)) {
        return DatabaseFile(
            Kind::Unusable,
            QStringLiteral("is %1, not a regular file").arg(typeName(info.st_mode)));
    }
    char head[HeaderSize] = {};
    ssize_t got = 0;
    while (got < HeaderSize) {
        const ssize_t n = ::read(fd.get(), head + got, size_t(HeaderSize - got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return DatabaseFile(Kind::Unusable, errnoText(errno)); // EIO: a failing disk
        if (n == 0)
            break;
        got += n;
    }
    if (::access(QFile::encodeName(folder).constData(), W_OK | X_OK) != 0) {
        return DatabaseFile(
            Kind::Unusable,
            QStringLiteral("cannot write to its folder %1: %2").arg(folder, errnoText(errno)));
    }
    if (got == 0)
        return DatabaseFile(Kind::Empty);
    // sizeof Header includes its NUL: the 16 bytes of the SQLite header.
    static_assert(sizeof Header == HeaderSize);
    if (got == HeaderSize && std::memcmp(head, Header, HeaderSize) == 0)
        return DatabaseFile(Kind::Sqlite);
    return DatabaseFile(Kind::NotSqlite);
}

} // namespace nightlight
