"""A workaround for QStackedLayout: it sizes only its current page, so a page switched to after the widget was
resized (e.g. an ImageGrid going from its empty message to its thumbnails while its tab was hidden) keeps a stale
size until the next resize. `refit_stack(widget)` lays the current page out at the widget's full size again."""

from __future__ import annotations


def refit_stack(widget) -> None:
    layout = widget.layout()
    if layout is not None:
        layout.setGeometry(widget.contentsRect())
