#pragma once

// DatabaseFile: what is at the path of the history database, looked at before SQLite opens it,
// so that the store only ever moves aside a file known not to be a database (issue #9). It
// changes nothing and never blocks: a FIFO or device is not opened, a regular file is opened
// non-blocking and only its first 16 bytes are read. Plain POSIX calls; any thread.

#include <QString>

namespace nightlight {

class DatabaseFile
{
public:
    enum class Kind {
        Missing, // nothing there (and the folder is writable): SQLite creates a new database
        Empty, // a regular file of 0 bytes: SQLite starts a new database in it
        Sqlite, // a readable regular file with the SQLite header: SQLite decides the rest
        NotSqlite, // a readable, non-empty regular file without the SQLite header
        Unusable, // anything else: errorString() says why; leave it alone
    };

    // The 16 bytes every SQLite 3 database file starts with ("SQLite format 3" and a NUL).
    static constexpr char Header[] = "SQLite format 3";
    static constexpr int HeaderSize = 16;

    // Looks at `path`: follows symbolic links; a directory, a FIFO, socket or device, a file
    // this process cannot read (EACCES), a symbolic link loop, a folder that does not exist or
    // that this process cannot write to (SQLite needs to create its journal there) are Unusable.
    static DatabaseFile inspect(const QString &path);

    Kind kind() const { return m_kind; }
    // Why the path is Unusable, without the path: "is a directory", "Permission denied",
    // "is a FIFO, not a regular file", "cannot write to its folder /x: Permission denied".
    // Empty for the other kinds.
    QString errorString() const { return m_error; }

private:
    DatabaseFile(Kind kind, QString error = QString());

    Kind m_kind;
    QString m_error;
};

} // namespace nightlight
