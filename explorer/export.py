"""Figures and their data to files: the panels' export buttons, `export_all` for a whole model, and the CLI.

`attach_export(widget, basename, data_fn)` gives any figure a context-menu entry and a tool button. Plots
(pyqtgraph `GraphicsView`s such as `PlotWidget`) are written through pyqtgraph's exporters, as PNG at 1x, 2x or
4x or as SVG; any other widget is rendered as PNG at the chosen scale. Beside the figure goes the data behind it
(`data_fn()`): an array as `.npy`, a dict of equal-length columns as `.csv`.

Every file goes through `explorer.export_files.write_bytes_atomic` (temp file in the same folder, then
`os.replace`), so a figure is either complete or not there at all; `export_files` also holds `export_all`, every
figure of a model (the menu action and `mnist-explorer export MODEL.npz OUTDIR`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QPoint, Qt
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import QMenu, QMessageBox, QToolButton, QWidget

from explorer.export_files import ExportError, write_bytes_atomic
from explorer.figures import csv_bytes, npy_bytes, png_bytes

SCALES = (1, 2, 4)
PNG_FILTERS = {f"PNG image, {s}x size (*.png)": s for s in SCALES}
SVG_FILTER = "SVG vector drawing (*.svg)"
_last_folder: list[str] = [""]  # the folder of the last export, where the next dialog opens


def save_image(image: QImage, path: str | Path) -> Path:
    return write_bytes_atomic(path, png_bytes(image))


def save_data(data, stem: str | Path) -> Path | None:
    """The data behind a figure beside it: an array as `stem.npy`, a dict of columns as `stem.csv`."""
    if data is None:
        return None
    stem = Path(stem)
    if isinstance(data, dict):
        try:
            content = csv_bytes(data)
        except ValueError as exc:
            raise ExportError(f"Cannot write {stem.name}.csv: {exc}.") from None
        return write_bytes_atomic(stem.with_suffix(".csv"), content)
    return write_bytes_atomic(stem.with_suffix(".npy"), npy_bytes(np.asarray(data)))


# --- rendering one widget -------------------------------------------------------------------------------------
def _plot_view(widget: QWidget):
    """The pyqtgraph view if `widget` is a plot (PlotWidget, GraphicsLayoutWidget), else None."""
    import pyqtgraph as pg

    return widget if isinstance(widget, pg.GraphicsView) else None


def _export_item(view):
    return getattr(view, "centralWidget", None) or view.scene()


def render_figure(widget: QWidget, scale: int = 1) -> QImage:
    """The widget as an image `scale` times its on-screen size (plots drawn again at that size, not upscaled)."""
    scale = max(1, int(scale))
    view = _plot_view(widget)
    if view is not None:
        import pyqtgraph.exporters as pge

        exporter = pge.ImageExporter(_export_item(view))
        width, height = int(exporter.params["width"]), int(exporter.params["height"])
        # Width and height are linked by the aspect ratio with rounding; set both so the size is exact.
        exporter.params.param("width").setValue(max(1, width * scale), blockSignal=exporter.widthChanged)
        exporter.params.param("height").setValue(max(1, height * scale), blockSignal=exporter.heightChanged)
        return exporter.export(toBytes=True)
    size = widget.size()
    image = QImage(size.width() * scale, size.height() * scale, QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(scale)  # draw text and lines at the higher resolution instead of upscaling
    image.fill(widget.palette().window().color())
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    widget.render(painter, QPoint(0, 0))
    painter.end()
    image.setDevicePixelRatio(1.0)
    return image


def render_svg(widget: QWidget) -> bytes:
    view = _plot_view(widget)
    if view is None:
        raise ExportError("Only plots can be exported as SVG; choose PNG for this figure.")
    import pyqtgraph.exporters as pge

    item = _export_item(view)
    try:
        return pge.SVGExporter(item).export(toBytes=True)
    except ValueError:
        # pyqtgraph 0.14's SVG exporter cannot parse the path syntax Qt >= 6.10 writes (pyqtgraph issue
        # #3485); draw the same scene through Qt's own SVG generator instead.
        return _qt_svg(view)


def _qt_svg(view) -> bytes:
    from PySide6.QtCore import QRectF
    from PySide6.QtSvg import QSvgGenerator

    source = QRectF(view.mapToScene(view.viewport().rect()).boundingRect())  # what the view shows
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(source.size().toSize())
    generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
    generator.setTitle(view.objectName() or "figure")
    painter = QPainter(generator)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
    painter.end()
    return bytes(buffer.data())


def export_widget(
    widget: QWidget, path: str | Path, scale: int = 1, data_fn: Callable[[], object] | None = None
):
    """Write the figure to `path` (.png at `scale`, or .svg for plots) and its data beside it; the paths written."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        path = path.with_suffix(".png")
    if path.suffix.lower() == ".svg":
        written = [write_bytes_atomic(path, render_svg(widget))]
    else:
        image = render_figure(widget, scale)
        if image.isNull():
            raise ExportError("The figure has no size yet; show its panel and try again.")
        written = [save_image(image, path)]
    if data_fn is not None:
        data_path = save_data(data_fn(), path.with_suffix(""))
        if data_path is not None:
            written.append(data_path)
    return written


def copy_to_clipboard(widget: QWidget, scale: int = 2) -> QImage:
    image = render_figure(widget, scale)
    QGuiApplication.clipboard().setImage(image)
    return image


# --- the dialogs, patchable in tests ---------------------------------------------------------------------------
def ask_save_path(parent: QWidget | None, caption: str, start: str, filters: list[str]) -> tuple[str, str]:
    """The path and filter the user chose ("" if cancelled). Tests replace this function."""
    from explorer.file_dialogs import ask_save_file

    return ask_save_file(parent, caption, start, filters, filters[0])


def ask_folder(parent: QWidget | None, caption: str) -> str:
    """A folder the user chose, or typed and had created ("" if cancelled). Tests replace this function."""
    from explorer.file_dialogs import ask_folder as folder_dialog

    return folder_dialog(parent, caption, _last_folder[0])


def warn(parent: QWidget | None, text: str) -> None:
    """One plain sentence in a non-blocking message box (tests never wait on it); also on the status bar."""
    state = getattr(parent.window(), "state", None) if parent is not None else None
    if state is not None and hasattr(state, "statusMessage"):
        state.show_status(text)
    box = QMessageBox(QMessageBox.Icon.Warning, "MNIST Explorer", text, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setModal(False)
    box.show()


def _report_done(widget: QWidget, written: list[Path]) -> None:
    state = getattr(widget.window(), "state", None)
    if state is not None and hasattr(state, "statusMessage"):
        state.show_status(
            "Exported " + ", ".join(p.name for p in written) + f" to {written[0].parent}"
        )


def export_dialog(widget: QWidget, basename: str, data_fn=None) -> list[Path]:
    """Ask where and how (PNG 1x/2x/4x, SVG for plots), then export; errors become one sentence."""
    filters = list(PNG_FILTERS) + ([SVG_FILTER] if _plot_view(widget) is not None else [])
    start = str(Path(_last_folder[0] or Path.home()) / f"{basename}.png")
    path, chosen = ask_save_path(widget, "Export figure", start, filters)
    if not path:
        return []
    path = Path(path)
    if chosen == SVG_FILTER or path.suffix.lower() == ".svg":
        path, scale = path.with_suffix(".svg"), 1
    else:
        path, scale = path.with_suffix(".png"), PNG_FILTERS.get(chosen, 1)
    try:
        written = export_widget(widget, path, scale, data_fn)
    except (ExportError, OSError, ValueError) as exc:
        warn(widget, str(exc))
        return []
    _last_folder[0] = str(path.parent)
    _report_done(widget, written)
    return written


def show_menu(widget: QWidget, actions: list[QAction], pos) -> None:
    """The export context menu at `pos` (widget coordinates). Tests replace this function."""
    QMenu.exec(actions, widget.mapToGlobal(pos), None, widget)


def attach_export(widget: QWidget, basename: str, data_fn: Callable[[], object] | None = None) -> QToolButton:
    """Give `widget` "Export figure…" and "Copy to clipboard" (context menu) and return a tool button for them.

    `basename` names the files (`basename.png`, `basename.csv`); `data_fn` returns the data behind the figure.
    """
    export_action = QAction("Export figure…", widget)
    export_action.setToolTip(f"Save this figure as PNG (1x, 2x or 4x) or SVG, with its data, as {basename}.*")
    export_action.triggered.connect(lambda: export_dialog(widget, basename, data_fn))
    copy_action = QAction("Copy to clipboard", widget)
    copy_action.setToolTip(
        "Copy this figure as an image at twice its screen size, to paste into slides or notes"
    )
    copy_action.setShortcut(QKeySequence("Ctrl+Shift+C"))
    copy_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    copy_action.triggered.connect(lambda: copy_to_clipboard(widget))
    widget.addAction(copy_action)
    actions = [export_action, copy_action]

    import pyqtgraph as pg

    if isinstance(widget, pg.GraphicsView):
        # A plot: pyqtgraph opens its own menu on right-click and appends the scene's `contextMenu` actions;
        # put ours there (in place of its generic "Export...") and keep Qt's context event from also reaching
        # a parent's menu, so one right-click shows one menu.
        widget.scene().contextMenu = list(actions)
        widget.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
    else:
        # Any other widget, including one that wraps a pyqtgraph view (whose items ignore Qt's context event,
        # so it reaches us): our own two-entry menu.
        for view in widget.findChildren(pg.GraphicsView):
            view.scene().contextMenu = list(actions)
        widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        widget.customContextMenuRequested.connect(lambda pos: show_menu(widget, actions, pos))
    menu = QMenu(widget)
    menu.addActions(actions)
    button = QToolButton(widget)
    button.setObjectName(f"export_{basename}")
    button.setText("Export")
    button.setToolTip(
        f"Export this figure (PNG 1x/2x/4x or SVG) with its data as {basename}.*; the arrow copies it"
    )
    button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
    button.setMenu(menu)
    button.setDefaultAction(export_action)
    button.setAutoRaise(True)
    button.export_actions = actions  # for tests and automation
    return button
