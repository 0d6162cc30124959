#include "deviceitemdelegate.h"

#include "devicelistmodel.h"

#include <QApplication>
#include <QPainter>
#include <QStyle>

namespace nightlight {

DeviceItemDelegate::DeviceItemDelegate(QObject *parent) : QStyledItemDelegate(parent) { }

DeviceItemDelegate::~DeviceItemDelegate() = default;

QSize DeviceItemDelegate::sizeHint(const QStyleOptionViewItem &option,
                                   const QModelIndex &index) const
{
    // The full-width text's hint, but only as wide as the dot and a few letters: the row takes
    // the view's width (list mode) and elides what does not fit.
    QSize size = QStyledItemDelegate::sizeHint(option, index);
    const QFontMetrics fm(option.font);
    size.setWidth(option.decorationSize.width() + fm.horizontalAdvance(QLatin1Char('M')) * 4);
    return size;
}

void DeviceItemDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                               const QModelIndex &index) const
{
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    const QString id = index.data(DeviceListModel::DeviceIdRole).toString();
    const QString status = index.data(DeviceListModel::StatusTextRole).toString();
    // The style draws the background, focus and the dot; we draw the two texts.
    opt.text.clear();
    const QWidget *widget = option.widget;
    QStyle *style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);

    const QRect textRect = style->subElementRect(QStyle::SE_ItemViewItemText, &opt, widget);
    const QFontMetrics fm(opt.font);
    const int gap = fm.horizontalAdvance(QLatin1Char('M'));
    // The id first (up to two thirds if the status needs the rest), then the status.
    const int idFull = fm.horizontalAdvance(id);
    const int statusFull = fm.horizontalAdvance(status);
    int idWidth = std::min(idFull, textRect.width());
    if (idWidth + gap + statusFull > textRect.width())
        idWidth = std::min(idFull,
                           std::max(textRect.width() * 2 / 3, textRect.width() - gap - statusFull));
    const QPalette::ColorGroup group = !(opt.state & QStyle::State_Enabled) ? QPalette::Disabled
        : (opt.state & QStyle::State_Active)                                ? QPalette::Normal
                                                                            : QPalette::Inactive;
    const bool selected = opt.state & QStyle::State_Selected;
    painter->save();
    painter->setFont(opt.font);
    painter->setPen(
        opt.palette.color(group, selected ? QPalette::HighlightedText : QPalette::Text));
    const QRect idRect(textRect.left(), textRect.top(), idWidth, textRect.height());
    painter->drawText(idRect, int(Qt::AlignLeft | Qt::AlignVCenter),
                      fm.elidedText(id, Qt::ElideMiddle, idWidth));
    const int statusLeft = idRect.right() + 1 + gap;
    const int statusWidth = textRect.right() + 1 - statusLeft;
    if (statusWidth > fm.horizontalAdvance(QStringLiteral("M…"))) {
        if (!selected)
            painter->setPen(opt.palette.color(group, QPalette::PlaceholderText));
        painter->drawText(QRect(statusLeft, textRect.top(), statusWidth, textRect.height()),
                          int(Qt::AlignRight | Qt::AlignVCenter),
                          fm.elidedText(status, Qt::ElideRight, statusWidth));
    }
    painter->restore();
}

} // namespace nightlight
