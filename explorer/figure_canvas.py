"""What every exported figure is painted on: a white QImage with an antialiased painter, and pixel-sized fonts.

QImage and QPainter are safe off the GUI thread, so figures are drawn in the export's worker.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QImage, QPainter

TEXT = QColor("#222222")


def pixel_font(size: int, bold: bool = False) -> QFont:
    """A font `size` pixels high: figures look the same on any screen's DPI."""
    font = QFont()
    font.setPixelSize(size)
    font.setBold(bold)
    return font


def blank_canvas(width: int, height: int) -> tuple[QImage, QPainter]:
    """A white image and a painter on it with antialiased lines and text and a dark pen (the caller ends it)."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.setPen(TEXT)
    return image, painter
