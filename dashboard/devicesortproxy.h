#pragma once

// DeviceSortProxy: the DeviceListModel as the device list and the class view show it: filtered by
// text (the ids that contain it, case aside) and sorted by id in natural order (QCollator's
// numeric mode: "d2" before "d10"), by status (problems first) or by the last reading (darkest
// first). Ties go by id. The model emits no dataChanged per reading, so while sorting by light
// the order is brought up to date once a second. GUI thread.

#include <QCollator>
#include <QSortFilterProxyModel>
#include <QTimer>

namespace nightlight {

class DeviceSortProxy : public QSortFilterProxyModel
{
    Q_OBJECT

public:
    enum class SortKey { Id, Status, Light };
    Q_ENUM(SortKey)

    explicit DeviceSortProxy(QObject *parent = nullptr);
    ~DeviceSortProxy() override;

    void setSortKey(SortKey key);
    SortKey sortKey() const { return m_key; }
    // The name shown in the sort menus ("Id", "Status", "Light").
    static QString sortKeyName(SortKey key);

    // Natural order of two ids: numbers compare as numbers, case aside, then the exact id
    // (so the order is total).
    bool idLessThan(const QString &a, const QString &b) const;
    // Position of a status in "sort by status": two devices on one id, offline, stale, unknown,
    // lesson device, online.
    static int statusRank(int status);

    // How often the order is refreshed while sorting by light; default 1000 ms.
    void setLightResortInterval(int ms);

protected:
    bool lessThan(const QModelIndex &left, const QModelIndex &right) const override;

private:
    SortKey m_key = SortKey::Id;
    QCollator m_collator;
    QTimer m_resort;
};

} // namespace nightlight
