#include "devicelistmodel.h"

#include "devicehub.h"

#include <QColor>
#include <QDateTime>
#include <QPainter>
#include <QPixmap>

#include <algorithm>

namespace nightlight {

namespace {
// Gaps kept for the interval estimate: enough to ride out one late sample.
constexpr int MaxGaps = 8;

QIcon makeDotIcon(const QColor &colour)
{
    QIcon icon;
    for (int size : {16, 32, 64}) {
        QPixmap pm(size, size);
        pm.fill(Qt::transparent);
        QPainter p(&pm);
        p.setRenderHint(QPainter::Antialiasing);
        p.setPen(QPen(colour.darker(130), size / 16.0));
        p.setBrush(colour);
        const qreal m = size * 0.2;
        p.drawEllipse(QRectF(m, m, size - 2 * m, size - 2 * m));
        p.end();
        icon.addPixmap(pm);
    }
    return icon;
}
} // namespace

DeviceListModel::DeviceListModel(QObject *parent)
    : QAbstractListModel(parent), m_clock([] { return QDateTime::currentMSecsSinceEpoch(); })
{
    m_refreshTimer.setInterval(1000);
    connect(&m_refreshTimer, &QTimer::timeout, this, &DeviceListModel::refresh);
    m_refreshTimer.start();
}

DeviceListModel::~DeviceListModel() = default;

void DeviceListModel::attach(DeviceHub *hub)
{
    connect(hub, &DeviceHub::telemetryReceived, this, &DeviceListModel::noteTelemetry);
    connect(hub, &DeviceHub::statusReceived, this, &DeviceListModel::noteStatus);
    connect(hub, &DeviceHub::stateReceived, this,
            [this](const QString &id, const DeviceState &s) { noteState(id, s.instance); });
    connect(hub, &DeviceHub::deviceAdmitted, this, &DeviceListModel::addDevice);
    connect(hub, &DeviceHub::deviceForgotten, this, &DeviceListModel::removeDevice);
    // Gone stale: the broker may hold a status we never got (dropped on its way to us).
    connect(this, &DeviceListModel::statusChanged, hub, [hub](const QString &id, Status status) {
        if (status == Status::Stale)
            hub->refreshRetained(id);
    });
}

void DeviceListModel::setClock(std::function<qint64()> clock)
{
    m_clock = std::move(clock);
}

void DeviceListModel::setRefreshInterval(int ms)
{
    m_refreshTimer.setInterval(ms);
}

int DeviceListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_devices.size());
}

QString DeviceListModel::statusText(Status status)
{
    switch (status) {
    case Status::Unknown:
        return tr("unknown");
    case Status::Online:
        return tr("online");
    case Status::Offline:
        return tr("offline");
    case Status::Stale:
        return tr("stale");
    case Status::NoStatus:
        return tr("no status (lesson device)");
    case Status::Shared:
        return tr("two devices share this id");
    }
    return {};
}

QColor DeviceListModel::statusColor(Status status)
{
    // Mid-tone colours readable as dots on both light and dark backgrounds.
    switch (status) {
    case Status::Online:
        return QColor(0x2e, 0xa0, 0x43);
    case Status::Offline:
        return QColor(0xd0, 0x3b, 0x3b);
    case Status::Stale:
        return QColor(0xe0, 0x9b, 0x1a);
    case Status::NoStatus:
        return QColor(0x3b, 0x82, 0xd0);
    case Status::Shared:
        return QColor(0x9b, 0x4d, 0xca);
    case Status::Unknown:
        break;
    }
    return QColor(0x8a, 0x8a, 0x8a);
}

int DeviceListModel::count(Status status) const
{
    return m_counts.at(size_t(status));
}

void DeviceListModel::recount(Status from, Status to)
{
    --m_counts[size_t(from)];
    ++m_counts[size_t(to)];
}

QString DeviceListModel::countsText(const QLocale &locale) const
{
    const auto n = [&](Status s) {
        return locale.toString(count(s));
    };
    QStringList parts{tr("%1 online").arg(n(Status::Online)),
                      tr("%1 offline").arg(n(Status::Offline)),
                      tr("%1 stale").arg(n(Status::Stale))};
    // One and many apart: English has the plural in the word, Bengali has it the same.
    if (const int c = count(Status::NoStatus); c > 0)
        parts
            << (c == 1 ? tr("%1 lesson device") : tr("%1 lesson devices")).arg(n(Status::NoStatus));
    if (const int c = count(Status::Shared); c > 0)
        parts << (c == 1 ? tr("%1 shared id") : tr("%1 shared ids")).arg(n(Status::Shared));
    if (count(Status::Unknown) > 0)
        parts << tr("%1 unknown").arg(n(Status::Unknown));
    return parts.join(QStringLiteral(" · "));
}

QVariant DeviceListModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_devices.size())
        return {};
    const Device &d = m_devices.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        return tr("%1 — %2").arg(d.id, statusText(d.status));
    case Qt::ToolTipRole: {
        QString tip = d.id + QLatin1Char('\n') + statusText(d.status);
        if (d.lastLight)
            tip += QLatin1Char('\n') + tr("Last light: %1").arg(QLocale().toString(*d.lastLight));
        if (d.lastTelemetryMs)
            tip += QLatin1Char('\n') +
                tr("Telemetry every %1 s").arg(QLocale().toString(intervalOf(d) / 1000.0, 'g', 3));
        if (d.status == Status::Shared) {
            tip += QLatin1Char('\n') +
                tr("Two devices use this id: their readings are mixed and the broker keeps "
                   "disconnecting one for the other. Give each device its own id.");
        }
        return tip;
    }
    case Qt::DecorationRole:
        return dotIcon(d.status);
    case DeviceIdRole:
        return d.id;
    case StatusRole:
        return int(d.status);
    case StatusTextRole:
        return statusText(d.status);
    case LastLightRole:
        return d.lastLight ? QVariant(*d.lastLight) : QVariant();
    case LastTelemetryRole:
        return d.lastTelemetryMs ? QVariant(*d.lastTelemetryMs) : QVariant();
    case IntervalRole:
        return intervalOf(d);
    case HasStateRole:
        return d.hasState;
    default:
        return {};
    }
}

int DeviceListModel::rowOf(const QString &deviceId) const
{
    return m_rows.value(deviceId, -1);
}

QString DeviceListModel::deviceIdAt(int row) const
{
    return row >= 0 && row < m_devices.size() ? m_devices.at(row).id : QString();
}

QStringList DeviceListModel::deviceIds() const
{
    QStringList ids;
    for (const Device &d : m_devices)
        ids << d.id;
    return ids;
}

std::optional<DeviceListModel::Status> DeviceListModel::status(const QString &deviceId) const
{
    const int row = rowOf(deviceId);
    if (row < 0)
        return std::nullopt;
    return m_devices.at(row).status;
}

qint64 DeviceListModel::interval(const QString &deviceId) const
{
    const int row = rowOf(deviceId);
    return row < 0 ? DefaultIntervalMs : intervalOf(m_devices.at(row));
}

qint64 DeviceListModel::intervalOf(const Device &d)
{
    if (d.gaps.isEmpty())
        return DefaultIntervalMs;
    // The median ignores one sample that came late or a burst replayed after an outage.
    QList<qint64> sorted = d.gaps;
    std::sort(sorted.begin(), sorted.end());
    return std::max<qint64>(1, sorted.at(sorted.size() / 2));
}

QIcon DeviceListModel::dotIcon(Status status) const
{
    auto it = m_icons.find(int(status));
    if (it == m_icons.end())
        it = m_icons.insert(int(status), makeDotIcon(statusColor(status)));
    return *it;
}

DeviceListModel::Status DeviceListModel::computeStatus(const Device &d, qint64 now) const
{
    if (d.sharedUntilMs && now < *d.sharedUntilMs)
        return Status::Shared;
    if (d.availability == Availability::Offline)
        return Status::Offline;
    if (d.lastTelemetryMs && now - *d.lastTelemetryMs > StaleIntervals * intervalOf(d))
        return Status::Stale;
    if (d.availability == Availability::Online)
        return Status::Online;
    if (d.lastTelemetryMs)
        return Status::NoStatus;
    return Status::Unknown;
}

int DeviceListModel::ensureRow(const QString &deviceId)
{
    int row = rowOf(deviceId);
    if (row >= 0)
        return row;
    row = int(m_devices.size());
    beginInsertRows({}, row, row);
    Device d;
    d.id = deviceId;
    m_devices.append(d);
    m_rows.insert(deviceId, row);
    ++m_counts[size_t(Status::Unknown)];
    endInsertRows();
    emit deviceAdded(deviceId);
    emit countsChanged();
    return row;
}

void DeviceListModel::update(int row)
{
    Device &d = m_devices[row];
    const Status s = computeStatus(d, m_clock());
    const QModelIndex idx = index(row);
    if (s != d.status) {
        recount(d.status, s);
        d.status = s;
        emit dataChanged(idx, idx);
        emit statusChanged(d.id, s);
        emit countsChanged();
    }
    // Otherwise nothing shown changed: the tooltip and roles are computed when asked, and a
    // dataChanged per sample would re-layout the view thousands of times a second.
}

void DeviceListModel::addDevice(const QString &deviceId)
{
    if (isValidDeviceId(deviceId))
        ensureRow(deviceId);
}

void DeviceListModel::removeDevice(const QString &deviceId)
{
    removeDevices({deviceId});
}

void DeviceListModel::removeDevices(const QStringList &deviceIds)
{
    QList<int> rows;
    for (const QString &id : deviceIds) {
        const int row = rowOf(id);
        if (row >= 0)
            rows.append(row);
    }
    if (rows.isEmpty())
        return;
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    // From the last row up, one removal per run of neighbouring rows: forgetting a flood's
    // 10,000 devices is not 10,000 removals each renumbering the rest.
    QStringList removed;
    int end = int(rows.size());
    while (end > 0) {
        int begin = end - 1;
        while (begin > 0 && rows.at(begin - 1) == rows.at(begin) - 1)
            --begin;
        const int first = rows.at(begin);
        const int last = rows.at(end - 1);
        beginRemoveRows({}, first, last);
        for (int row = first; row <= last; ++row) {
            --m_counts[size_t(m_devices.at(row).status)];
            removed.append(m_devices.at(row).id);
            m_rows.remove(m_devices.at(row).id);
        }
        m_devices.remove(first, last - first + 1);
        // Right after each removal, so rowOf() holds for whoever reacts to the next one.
        for (int row = first; row < m_devices.size(); ++row)
            m_rows[m_devices.at(row).id] = row;
        endRemoveRows();
        end = begin;
    }
    for (const QString &id : std::as_const(removed))
        emit deviceRemoved(id);
    emit countsChanged();
}

void DeviceListModel::noteTelemetry(const QString &deviceId, const Telemetry &t, qint64 receivedMs)
{
    const int row = ensureRow(deviceId);
    Device &d = m_devices[row];
    if (d.lastTelemetryMs && receivedMs > *d.lastTelemetryMs) {
        d.gaps.append(receivedMs - *d.lastTelemetryMs);
        if (d.gaps.size() > MaxGaps)
            d.gaps.removeFirst();
    }
    d.lastTelemetryMs = receivedMs;
    d.lastLight = t.light;
    update(row);
}

void DeviceListModel::noteStatus(const QString &deviceId, Availability availability)
{
    const int row = ensureRow(deviceId);
    m_devices[row].availability = availability;
    update(row);
}

void DeviceListModel::noteState(const QString &deviceId, const QString &instance)
{
    const int row = ensureRow(deviceId);
    Device &d = m_devices[row];
    d.hasState = true;
    // A device picks a new token at every start: A then B is a restart. A, B, then A again is
    // two devices with one id taking the broker's session from each other.
    if (!instance.isEmpty() && instance != d.instance) {
        if (instance == d.previousInstance)
            d.sharedUntilMs = m_clock() + SharedHoldMs;
        d.previousInstance = d.instance;
        d.instance = instance;
    }
    update(row);
}

void DeviceListModel::refresh()
{
    const qint64 now = m_clock();
    bool counted = false;
    for (int row = 0; row < m_devices.size(); ++row) {
        Device &d = m_devices[row];
        const Status s = computeStatus(d, now);
        if (s != d.status) {
            recount(d.status, s);
            counted = true;
            d.status = s;
            const QModelIndex idx = index(row);
            emit dataChanged(idx, idx);
            emit statusChanged(d.id, s);
        }
    }
    if (counted)
        emit countsChanged();
}

} // namespace nightlight
