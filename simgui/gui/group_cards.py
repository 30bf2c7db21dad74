"""How the Duplicates view draws a group: one row, its photos side by side as cards, each with what decides
the keeper (resolution, file size, format, capture date, folder), the best value of each in bold, the
keeper framed and marked. Geometry is worked out here once, for painting and for clicks alike."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QWidget

from simgui.core.matching.grouping import Group, GroupMember
from simgui.core.matching.keep_rules import capture_moment, photo_pixels
from simgui.core.storage.pathtext import readable
from simgui.gui.texts import count_text, date_text, duration_text, size_text
from simgui.gui.thumbnails import ThumbnailCache

GROUP_ROLE = Qt.UserRole + 1  # the model's Group of a row
PAD = 8
MIN_CARD_TEXT = 150  # a card is at least this wide, whatever the thumbnail size: its lines stay readable
CARD_LINES = 6  # keep mark, name, resolution, size and format, date, folder
KEEPER_GREEN = QColor(46, 160, 67)  # reads on light and dark palettes alike
RESOLUTION, FILE_SIZE, DATE = "resolution", "file size", "date"


@dataclass
class RowGeometry:
    header: QRect
    cards: list[QRect]


def card_size(icon_side: int, line_height: int) -> QSize:
    return QSize(max(icon_side, MIN_CARD_TEXT) + 2 * PAD, icon_side + CARD_LINES * line_height + 3 * PAD)


def row_geometry(rect: QRect, members: int, icon_side: int, line_height: int) -> RowGeometry:
    """The header line, then the cards left to right, wrapping onto more lines when the row is narrow."""
    card = card_size(icon_side, line_height)
    header = QRect(rect.left() + PAD, rect.top() + PAD // 2, rect.width() - 2 * PAD, line_height + PAD)
    per_line = max(1, (rect.width() - PAD) // (card.width() + PAD))
    top = header.bottom() + PAD // 2
    cards = [QRect(rect.left() + PAD + (n % per_line) * (card.width() + PAD),
                   top + (n // per_line) * (card.height() + PAD), card.width(), card.height()) for n in range(members)]
    return RowGeometry(header, cards)


def row_height(width: int, members: int, icon_side: int, line_height: int) -> int:
    """row_geometry's height, by arithmetic: Qt asks it of every row at each layout (12,000 rows)."""
    card = card_size(icon_side, line_height)
    per_line = max(1, (width - PAD) // (card.width() + PAD))
    lines = -(-members // per_line)
    cards_top = PAD // 2 + line_height + PAD - 1 + PAD // 2  # below the header, as row_geometry puts them
    return cards_top + lines * (card.height() + PAD) - 1


def best_members(group: Group) -> dict[str, set[int]]:
    """Which members hold the best value of each fact that decides a keeper, where the members differ in it:
    the most pixels of photo, the largest file, the oldest capture date."""
    moments = [capture_moment(m.image) for m in group.members]
    facts = {
        RESOLUTION: [photo_pixels(m.image) for m in group.members],
        FILE_SIZE: [m.size for m in group.members],
        # oldest first: an undated copy never wins
        DATE: [float("-inf") if moment is None else -moment for moment in moments],
    }
    return {fact: {n for n, v in enumerate(values) if v == max(values)} for fact, values in facts.items()
            if len(set(values)) > 1}


def header_text(group: Group) -> str:
    freed = size_text(group.freed)
    items = count_text(len(group.members), "clip" if group.keeper.image.is_clip else "photo")
    return (f"{group.kind} · {items} · {freed} to free · "
            f"keep {readable(os.path.basename(group.keeper.image.path))}")


def card_lines(member: GroupMember) -> list[tuple[str, str | None]]:
    """A card's lines, each with the fact it shows (for the bold of the best value) or None."""
    image = member.image
    names = " + ".join(readable(os.path.basename(f.path)) for f in member.files)  # a RAW+JPEG shot: both
    first = "★ keep" if member.keeper else f"similarity {member.score:.3f}"
    if member.protected:  # never marked, never moved: said on the card, not only when an action refuses it
        first = "★ kept: protected" if member.keeper else f"protected · {member.score:.3f}"
    resolution = f"{image.width or '?'}×{image.height or '?'}"
    kind = image.format or "?"
    if image.is_clip:  # its length beside its frame size, its codec beside its file size (bit rate: its tooltip)
        resolution, kind = f"{resolution} · {duration_text(image.duration)}", image.codec or "?"
    return [(first, None), (names, None), (resolution, RESOLUTION), (f"{size_text(member.size)} · {kind}", FILE_SIZE),
            (date_text(image), DATE), (readable(os.path.dirname(image.path)), None)]


class GroupDelegate(QStyledItemDelegate):
    """Paints a group's row; `cursor()` says which (row, member) the review's cursor is on, `picked(path)`
    whether a photo is picked (Ctrl+click) for Delete or Compare."""

    def __init__(self, view: QWidget, thumbnails: ThumbnailCache, cursor: Callable[[], tuple[int, int | None]],
                 picked: Callable[[str], bool]):
        super().__init__(view)
        self.view = view
        self.thumbnails = thumbnails
        self.cursor = cursor
        self.picked = picked
        self.icon_side = 128
        self._sizes: dict[tuple[int, int, int], QSize] = {}  # (width, icon side, members) -> a row's size

    def line_height(self) -> int:
        return QFontMetrics(self.view.font()).height()

    def geometry(self, rect: QRect, group: Group) -> RowGeometry:
        return row_geometry(rect, len(group.members), self.icon_side, self.line_height())

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        # asked of every row at every layout: a lookup, not a measure (a layout of 12,000 rows took 170 ms)
        members = len(self.view.model().groups[index.row()].members)
        key = (self.view.viewport().width(), self.icon_side, members)
        size = self._sizes.get(key)
        if size is None:
            size = self._sizes[key] = QSize(key[0], row_height(key[0], members, self.icon_side, self.line_height()))
        return size

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        group: Group = index.data(GROUP_ROLE)
        palette = option.palette
        geometry = self.geometry(option.rect, group)
        row, member = self.cursor()
        current = row == index.row()
        painter.save()
        painter.fillRect(option.rect, palette.alternateBase() if index.row() % 2 else palette.base())
        if current:  # the current group: a band down its left edge, and its header in the highlight colour
            painter.fillRect(QRect(option.rect.left(), option.rect.top(), 4, option.rect.height()), palette.highlight())
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(palette.text().color())
        painter.drawText(geometry.header, Qt.AlignLeft | Qt.AlignVCenter,
                         QFontMetrics(bold).elidedText(header_text(group), Qt.ElideRight, geometry.header.width()))
        best = best_members(group)
        for n, (m, card) in enumerate(zip(group.members, geometry.cards)):
            under_cursor = current and (member == n or (member is None and m.keeper))
            self._paint_card(painter, option, m, card, {fact for fact, holders in best.items() if n in holders},
                             under_cursor)
        painter.restore()

    def _paint_card(self, painter: QPainter, option: QStyleOptionViewItem, member: GroupMember, card: QRect,
                    best: set[str], under_cursor: bool) -> None:
        palette = option.palette
        if self.picked(member.image.path):
            painter.fillRect(card, palette.highlight().color().lighter(160) if palette.base().color().lightness() > 128
                             else palette.highlight().color().darker(160))
        frame = KEEPER_GREEN if member.keeper else palette.mid().color()
        painter.setPen(QPen(frame, 3 if member.keeper else 1))
        painter.drawRoundedRect(card.adjusted(1, 1, -1, -1), 6, 6)
        if under_cursor:
            painter.setPen(QPen(palette.highlight().color(), 3, Qt.DashLine if not member.keeper else Qt.SolidLine))
            painter.drawRoundedRect(card.adjusted(-2, -2, 2, 2), 8, 8)
        thumb = QRect(card.left() + (card.width() - self.icon_side) // 2, card.top() + PAD, self.icon_side,
                      self.icon_side)
        self.thumbnails.get(member.image.path, member.image.content_hash).paint(painter, thumb, Qt.AlignCenter)
        line_height = self.line_height()
        top = thumb.bottom() + PAD
        for n, (text, fact) in enumerate(card_lines(member)):
            font = QFont(option.font)
            font.setBold(fact in best or (n == 0 and member.keeper))
            painter.setFont(font)
            painter.setPen(KEEPER_GREEN if n == 0 and member.keeper else palette.text().color())
            box = QRect(card.left() + PAD, top + n * line_height, card.width() - 2 * PAD, line_height)
            elide = Qt.ElideLeft if n == CARD_LINES - 1 else Qt.ElideMiddle  # a folder's end says most
            painter.drawText(box, Qt.AlignLeft | Qt.AlignVCenter, QFontMetrics(font).elidedText(text, elide, box.width()))

    def card_at(self, rect: QRect, group: Group, x: int, y: int) -> int | None:
        """The member whose card holds the point, or None."""
        return next((n for n, card in enumerate(self.geometry(rect, group).cards) if card.contains(x, y)), None)
