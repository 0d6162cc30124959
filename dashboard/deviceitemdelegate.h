#pragma once

// DeviceItemDelegate: one device list row on one line: the status dot, the id, and the status
// text right-aligned in the space left. Its width is never more than the view's: the id is
// elided in the middle (the number at its end stays) and the status at its end, both whole in
// the tooltip, so the list never needs a horizontal scroll bar however narrow the dock. GUI
// thread.

#include <QStyledItemDelegate>

namespace nightlight {

class DeviceItemDelegate : public QStyledItemDelegate
{
    Q_OBJECT

public:
    explicit DeviceItemDelegate(QObject *parent = nullptr);
    ~DeviceItemDelegate() override;

    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    // The height of one line of the tallest text it shows; the width of the dot alone.
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;
};

} // namespace nightlight
