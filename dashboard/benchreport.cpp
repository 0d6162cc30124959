#include "benchreport.h"

#include "devicehub.h"
#include "devicelistmodel.h"
#include "mainwindow.h"
#include "mqttclient.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QMetaEnum>
#include <QSaveFile>

#include <time.h>

namespace nightlight {

namespace {

Q_LOGGING_CATEGORY(lcBench, "nightlight.dashboard.bench", QtInfoMsg)

// CPU time the calling thread has used, ns.
qint64 threadCpuNs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return qint64(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

} // namespace

BenchReport::BenchReport(const QString &path, MainWindow *window, QObject *parent)
    : QObject(parent), m_path(path), m_window(window)
{
    m_probe.setTimerType(Qt::PreciseTimer);
    m_probe.setInterval(ProbeIntervalMs);
    connect(&m_probe, &QTimer::timeout, this, &BenchReport::onProbe);
    m_clock.start();
    m_lastTickNs = m_clock.nsecsElapsed();
    m_lastTickCpuNs = threadCpuNs();
    m_probe.start();
}

BenchReport::~BenchReport() = default;

void BenchReport::onProbe()
{
    const qint64 now = m_clock.nsecsElapsed();
    const qint64 cpu = threadCpuNs();
    const qint64 stallMs = qMax<qint64>(0, (now - m_lastTickNs) / 1000000 - ProbeIntervalMs);
    const qint64 cpuMs = (cpu - m_lastTickCpuNs) / 1000000;
    m_lastTickNs = now;
    m_lastTickCpuNs = cpu;
    if (stallMs > m_maxStallMs) {
        m_maxStallMs = stallMs;
        m_maxStallCpuMs = cpuMs;
    }
    if (stallMs > m_maxStallSinceMs) {
        m_maxStallSinceMs = stallMs;
        m_maxStallSinceCpuMs = cpuMs;
    }
}

bool BenchReport::write()
{
    // A stall that is still going on (we are in it now) counts too.
    onProbe();
    const DeviceListModel *model = m_window->deviceModel();
    const DeviceHub *hub = m_window->hub();
    const QMetaEnum statusEnum = QMetaEnum::fromType<DeviceListModel::Status>();
    QByteArray out;
    out += "# nightlight-dashboard bench report (--bench-report): key value lines, then one "
           "line per device: device <id> <status> <led_on 1/0/->\n";
    out += "written_ms " + QByteArray::number(QDateTime::currentMSecsSinceEpoch()) + '\n';
    out += "report " + QByteArray::number(++m_writes) + '\n';
    out += "uptime_ms " + QByteArray::number(m_clock.elapsed()) + '\n';
    out += "connected " + QByteArray(m_window->client()->isConnected() ? "1" : "0") + '\n';
    out += "devices " + QByteArray::number(model->rowCount()) + '\n';
    out += "malformed " + QByteArray::number(hub->malformedCount()) + '\n';
    out += "stall_max_ms " + QByteArray::number(m_maxStallMs) + '\n';
    out += "stall_max_cpu_ms " + QByteArray::number(m_maxStallCpuMs) + '\n';
    out += "stall_since_last_ms " + QByteArray::number(m_maxStallSinceMs) + '\n';
    out += "stall_since_last_cpu_ms " + QByteArray::number(m_maxStallSinceCpuMs) + '\n';
    for (int row = 0; row < model->rowCount(); ++row) {
        const QString id = model->deviceIdAt(row);
        const auto status = model->status(id);
        const char *name = status ? statusEnum.valueToKey(int(*status)) : nullptr;
        const auto state = hub->lastState(id);
        out += "device " + id.toUtf8() + ' ' + (name ? name : "none") + ' ' +
            (state ? (state->ledOn ? "1" : "0") : "-") + '\n';
    }
    m_maxStallSinceMs = 0;
    m_maxStallSinceCpuMs = 0;

    QSaveFile file(m_path);
    if (!file.open(QIODevice::WriteOnly) || file.write(out) != out.size() || !file.commit()) {
        qCWarning(lcBench, "cannot write the bench report %s: %s", qUtf8Printable(m_path),
                  qUtf8Printable(file.errorString()));
        return false;
    }
    return true;
}

} // namespace nightlight
