#include "deviceitemdelegate.h"

#include "devicelistmodel.h"

#include <QApplication>
#include <QPainter>
#include <QStyle>

#include <algorithm>

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

    // With the text cleared the style's text rect runs to the row's edge; keep the margin it
    // gives an item's text (QCommonStyle: the focus frame's margin and one pixel), so the status
    // never touches the edge of the list (a Bengali status did).
    QRect textRect = style->subElementRect(QStyle::SE_ItemViewItemText, &opt, widget);
    const int margin = style->pixelMetric(QStyle::PM_FocusFrameHMargin, &opt, widget) + 1;
    textRect.setRight(std::min(textRect.right(), opt.rect.right() - margin));
    const QFontMetrics fm(opt.font);
    const int gap = fm.horizontalAdvance(QLatin1Char('M'));
    // The id first; the status in what is left, at least four letters' worth. When that would cut
    // the id below half the row, the status is left out (the dot says it, the tooltip too).
    const int idFull = fm.horizontalAdvance(id);
    const int statusMin = std::min(fm.horizontalAdvance(status), gap * 4);
    int idWidth = std::min(idFull, textRect.width() - gap - statusMin);
    bool showStatus = true;
    if (idWidth < std::min(idFull, textRect.width() / 2)) {
        idWidth = std::min(idFull, textRect.width());
        showStatus = false;
    }
    const QPalette::ColorGroup group = !(opt.state & QStyle::State_Enabled) ? QPalette::Disabled
        : (opt.state & QStyle::State_Active)                                ? QPalette::Normal
                                                                            : QPalette::Inactive;
    const bool selected = opt.state & QStyle::State_Selected;
    painter->save();
    painter->setFont(opt.font);
    painter->setPen(
        opt.palette.color(group, selected ? QPalette::HighlightedText : QPalette::Text));
    const QRect idRect(textRect.left(), textRect.top(), idWidth, textRect.height());
    // Whole when it fits: elidedText() measures with fractions and may cut an id that fits to the
    // pixel (d0009 as "d…9").
    painter->drawText(idRect.adjusted(0, 0, 1, 0), int(Qt::AlignLeft | Qt::AlignVCenter),
                      idWidth >= idFull ? id : fm.elidedText(id, Qt::ElideMiddle, idWidth));
    const int statusLeft = idRect.right() + 1 + gap;
    const int statusWidth = textRect.right() + 1 - statusLeft;
    if (showStatus && statusWidth > 0) {
        if (!selected)
            painter->setPen(opt.palette.color(group, QPalette::PlaceholderText));
        painter->drawText(QRect(statusLeft, textRect.top(), statusWidth, textRect.height()),
                          int(Qt::AlignRight | Qt::AlignVCenter),
                          fm.elidedText(status, Qt::ElideRight, statusWidth));
    }
    painter->restore();
}

} // namespace nightlight
