"""Find certdesk's bundled resources, installed, from a source tree or frozen by PyInstaller."""

from __future__ import annotations

import re
import sys
from functools import cache
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSize
from PySide6.QtGui import QGuiApplication, QIcon, QIconEngine, QImageReader, QPainter, QPalette, QPixmap

# The colour the line icons are drawn in when they are plain "ink" rather than a colour of their own.
_INK = "#2d3436"
_STROKE = re.compile(r'stroke="#[0-9a-fA-F]{3,8}"')


def resource_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "certdesk" / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


@cache
def icon(name: str) -> QIcon:
    path = resource_dir() / "icons" / f"{name}.svg"
    if not path.exists():
        return QIcon()
    return QIcon(PaletteSvgIconEngine(path.read_text(encoding="utf-8")))


class PaletteSvgIconEngine(QIconEngine):
    """Draws a line icon in the palette's colours, read when it is painted.

    Ink-coloured icons follow the text colour (so they show in the dark theme too), and every icon
    turns the highlighted-text colour on a selected row, where the style's tint would leave a
    coloured icon on the blue selection barely visible.
    """

    def __init__(self, svg: str) -> None:
        super().__init__()
        self.svg = svg
        self._pixmaps: dict[tuple[str, int, int], QPixmap] = {}

    def clone(self) -> QIconEngine:
        return PaletteSvgIconEngine(self.svg)

    def source(self, mode: QIcon.Mode) -> str:
        palette = QGuiApplication.palette()
        if mode == QIcon.Mode.Selected:
            return _STROKE.sub(f'stroke="{palette.color(QPalette.ColorRole.HighlightedText).name()}"', self.svg)
        if mode == QIcon.Mode.Disabled:
            grey = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText).name()
            return _STROKE.sub(f'stroke="{grey}"', self.svg)
        return self.svg.replace(_INK, palette.color(QPalette.ColorRole.WindowText).name())

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:
        width, height = max(1, round(size.width() * scale)), max(1, round(size.height() * scale))
        source = self.source(mode)
        key = (source, width, height)
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            pixmap = self._pixmaps[key] = _render(source, QSize(width, height))
        result = QPixmap(pixmap)
        result.setDevicePixelRatio(scale)
        return result

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        device = painter.device()
        scale = device.devicePixelRatioF() if device is not None else 1.0
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, scale))


def _render(svg: str, size: QSize) -> QPixmap:
    buffer = QBuffer()
    buffer.setData(QByteArray(svg.encode("utf-8")))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, QByteArray(b"svg"))
    reader.setScaledSize(size)
    return QPixmap.fromImage(reader.read())
