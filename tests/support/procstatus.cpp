#include "procstatus.h"

#include <QByteArray>
#include <QFile>
#include <QString>

namespace {

// The number after `name` ("VmHWM:") in a /proc file of "Name:   value kB" lines, -1 if absent.
qint64 fieldKb(const QString &path, const QByteArray &name)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : file.readAll().split('\n')) {
        if (line.startsWith(name))
            return line.mid(name.size()).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

QString statusPath(qint64 pid)
{
    return pid == 0 ? QStringLiteral("/proc/self/status")
                    : QStringLiteral("/proc/%1/status").arg(pid);
}

} // namespace

qint64 peakRssKb(qint64 pid)
{
    return fieldKb(statusPath(pid), "VmHWM:");
}

qint64 rssKb(qint64 pid)
{
    return fieldKb(statusPath(pid), "VmRSS:");
}

qint64 privateKb(qint64 pid)
{
    const QString rollup = pid > 0 ? QStringLiteral("/proc/%1/smaps_rollup").arg(pid)
                                   : QStringLiteral("/proc/self/smaps_rollup");
    const qint64 clean = fieldKb(rollup, "Private_Clean:");
    const qint64 dirty = fieldKb(rollup, "Private_Dirty:");
    return clean >= 0 && dirty >= 0 ? clean + dirty : -1;
}

bool resetPeakRss()
{
    QFile refs(QStringLiteral("/proc/self/clear_refs"));
    return refs.open(QIODevice::WriteOnly) && refs.write("5") == 1;
}
