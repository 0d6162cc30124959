#include "csvexport.h"

#include <QByteArray>
#include <QDateTime>
#include <QIODevice>
#include <QLocale>
#include <QTimeZone>

namespace nightlight {

namespace {

QByteArray csvField(const QString &s)
{
    if (!s.contains(QLatin1Char(',')) && !s.contains(QLatin1Char('"')) &&
        !s.contains(QLatin1Char('\n')) && !s.contains(QLatin1Char('\r')))
        return s.toUtf8();
    QString quoted = s;
    quoted.replace(QStringLiteral("\""), QStringLiteral("\"\""));
    return '"' + quoted.toUtf8() + '"';
}

} // namespace

bool writeCsv(QIODevice *out, const QString &deviceId, const CsvSampleSource &samples,
              QString *error)
{
    if (!out || !out->isWritable()) {
        if (error)
            *error = QStringLiteral("the CSV output is not open for writing");
        return false;
    }
    const QByteArray device = csvField(deviceId);
    QByteArray buffer = "time_utc,device,light\n";
    bool ok = true;
    auto write = [&] {
        if (out->write(buffer) != buffer.size())
            ok = false;
        buffer.clear();
    };
    // The Qt::TimeSpec overloads are deprecated from Qt 6.8 on; QTimeZone::UTC (Qt 6.5) is the
    // same lightweight UTC ("Z" in ISO dates), where QTimeZone::utc() would write "+00:00".
#if QT_VERSION >= QT_VERSION_CHECK(6, 5, 0)
    const QTimeZone utc(QTimeZone::UTC);
#else
    const Qt::TimeSpec utc = Qt::UTC;
#endif
    samples([&](qint64 t, double v) {
        if (!ok)
            return;
        buffer += QDateTime::fromMSecsSinceEpoch(t, utc).toString(Qt::ISODateWithMs).toLatin1();
        buffer += ',';
        buffer += device;
        buffer += ',';
        buffer += QByteArray::number(v, 'f', QLocale::FloatingPointShortest);
        buffer += '\n';
        if (buffer.size() > 64 * 1024)
            write();
    });
    if (ok)
        write();
    if (!ok && error)
        *error = QStringLiteral("cannot write CSV: %1").arg(out->errorString());
    return ok;
}

} // namespace nightlight
