#include "devicesortproxy.h"

#include "devicelistmodel.h"

#include <QCoreApplication>

namespace nightlight {

// Ids are ASCII (PROTOCOL.md), so one fixed collation serves every language, and it must not be
// the C locale's: QCollator compares code units there and ignores the numeric mode.
DeviceSortProxy::DeviceSortProxy(QObject *parent)
    : QSortFilterProxyModel(parent), m_collator(QLocale(QLocale::English, QLocale::UnitedStates))
{
    m_collator.setNumericMode(true);
    m_collator.setCaseSensitivity(Qt::CaseInsensitive);
    setFilterRole(DeviceListModel::DeviceIdRole);
    setFilterCaseSensitivity(Qt::CaseInsensitive);
    setSortRole(DeviceListModel::DeviceIdRole);
    m_resort.setInterval(1000);
    connect(&m_resort, &QTimer::timeout, this, [this] {
        // Readings change no row (no dataChanged per sample): sort again.
        invalidate();
    });
    sort(0);
}

DeviceSortProxy::~DeviceSortProxy() = default;

QString DeviceSortProxy::sortKeyName(SortKey key)
{
    switch (key) {
    case SortKey::Id:
        return tr("Id");
    case SortKey::Status:
        return tr("Status");
    case SortKey::Light:
        return tr("Light");
    }
    return {};
}

void DeviceSortProxy::setSortKey(SortKey key)
{
    if (key == m_key)
        return;
    m_key = key;
    if (key == SortKey::Light)
        m_resort.start();
    else
        m_resort.stop();
    invalidate();
}

void DeviceSortProxy::setLightResortInterval(int ms)
{
    m_resort.setInterval(ms);
}

int DeviceSortProxy::statusRank(int status)
{
    using S = DeviceListModel::Status;
    switch (S(status)) {
    case S::Shared:
        return 0;
    case S::Offline:
        return 1;
    case S::Stale:
        return 2;
    case S::Unknown:
        return 3;
    case S::NoStatus:
        return 4;
    case S::Online:
        return 5;
    }
    return 6;
}

bool DeviceSortProxy::idLessThan(const QString &a, const QString &b) const
{
    const int c = m_collator.compare(a, b);
    if (c != 0)
        return c < 0;
    return a < b;
}

bool DeviceSortProxy::lessThan(const QModelIndex &left, const QModelIndex &right) const
{
    const QString a = left.data(DeviceListModel::DeviceIdRole).toString();
    const QString b = right.data(DeviceListModel::DeviceIdRole).toString();
    switch (m_key) {
    case SortKey::Id:
        break;
    case SortKey::Status: {
        const int ra = statusRank(left.data(DeviceListModel::StatusRole).toInt());
        const int rb = statusRank(right.data(DeviceListModel::StatusRole).toInt());
        if (ra != rb)
            return ra < rb;
        break;
    }
    case SortKey::Light: {
        // Darkest first; devices without a reading last.
        const QVariant la = left.data(DeviceListModel::LastLightRole);
        const QVariant lb = right.data(DeviceListModel::LastLightRole);
        if (la.isValid() != lb.isValid())
            return la.isValid();
        if (la.isValid() && la.toDouble() != lb.toDouble())
            return la.toDouble() < lb.toDouble();
        break;
    }
    }
    return idLessThan(a, b);
}

} // namespace nightlight
