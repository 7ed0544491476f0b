"""The Augmentation tab's widgets: the image picker and the rotation's knobs, the three views, the angle strip
with the batch preview, and the training's augmentation setting.

Each function builds one part onto the panel (as the panel's attributes, which its methods and the tests use) and
returns the part's layout or widget, if any, for the panel to place; the panel connects the signals.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QWidget,
)

from explorer.export import attach_export
from explorer.widgets.batch_preview import BatchPreview
from explorer.widgets.image_grid import ImageGrid
from explorer.widgets.image_view import ImageView

STRIP_STEPS = 9
MODES = (
    ("off", "Off: train on the images as they are"),
    ("random", "Random rotation: a new angle in ±N° per image, every epoch"),
    ("rashid", "Rashid's: each image also at +N° and −N° (3× the samples)"),
)


def build_picker(panel) -> None:
    """The image picker (split, index) and the rotation's knobs (angle, order, background)."""
    panel.split_combo = QComboBox(objectName="augmentSplitCombo")
    panel.split_combo.addItem("Training set", "train")
    panel.split_combo.addItem("Test set", "test")
    panel.split_combo.setToolTip(
        "The split the image comes from; clicking an image in the Dataset tab picks it too"
    )
    panel.index_spin = QSpinBox(objectName="augmentIndexSpin")
    panel.index_spin.setToolTip(
        "Which image to rotate (its index in the split); the Dataset tab's click sets it"
    )
    panel.index_spin.setAccelerated(True)
    panel.angle_slider = QSlider(Qt.Orientation.Horizontal, objectName="angleSlider")
    panel.angle_slider.setRange(-45, 45)
    panel.angle_slider.setValue(10)
    panel.angle_slider.setTickInterval(5)
    panel.angle_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
    panel.angle_slider.setToolTip(
        "The angle to turn the image by, in degrees (positive = counter-clockwise). ±10° still reads as the "
        "same digit; beyond ±30° a 6 starts to look like a 9"
    )
    panel.angle_label = QLabel(objectName="angleLabel")
    panel.angle_label.setMinimumWidth(44)
    panel.order_spin = QSpinBox(objectName="orderSpin", minimum=0, maximum=5, value=1)
    panel.order_spin.setToolTip(
        "Interpolation order: 0 = nearest pixel (blocky), 1 = bilinear (what training uses), 3 = cubic "
        "spline (smoother, may ring); 2, 4, 5 = other splines"
    )
    panel.cval_spin = QSpinBox(objectName="cvalSpin", minimum=0, maximum=255, value=0)
    panel.cval_spin.setToolTip(
        "The pixel value (0-255) for the corners that rotate in from outside the image; 0 (black) matches the "
        "digits' background"
    )


def picker_rows(panel) -> tuple[QHBoxLayout, QHBoxLayout]:
    """The picker's row (split, index) and the knobs' row (angle, order, background)."""
    pick = QHBoxLayout()
    for widget in (QLabel("Image:"), panel.split_combo, QLabel("#"), panel.index_spin):
        pick.addWidget(widget)
    pick.addStretch(1)
    angle_text = QLabel("&Angle:")
    angle_text.setBuddy(panel.angle_slider)
    order_text = QLabel("&Order:")
    order_text.setBuddy(panel.order_spin)
    background_text = QLabel("&Background:")
    background_text.setBuddy(panel.cval_spin)
    knobs = QHBoxLayout()
    knobs.addWidget(angle_text)
    knobs.addWidget(panel.angle_slider, 1)
    for widget in (panel.angle_label, order_text, panel.order_spin, background_text, panel.cval_spin):
        knobs.addWidget(widget)
    return pick, knobs


def build_views(panel) -> None:
    """Original, rotated and difference side by side, in `panel.preview_box` (exported as one figure)."""
    panel.original_view = ImageView(panel, title="Original")
    panel.original_view.setObjectName("originalView")
    panel.rotated_view = ImageView(panel, title="Rotated")
    panel.rotated_view.setObjectName("rotatedView")
    panel.difference_view = ImageView(panel, title="Difference (rotated − original)")
    panel.difference_view.setObjectName("differenceView")
    panel.difference_view.setToolTip("Red: pixels the rotation brightened; blue: pixels it darkened")
    for view in (panel.original_view, panel.rotated_view, panel.difference_view):
        view.set_empty_text("Open a dataset to pick an image")
    panel.preview_box = QWidget(objectName="rotationPreview")
    views = QHBoxLayout(panel.preview_box)
    views.setContentsMargins(0, 0, 0, 0)
    for view in (panel.original_view, panel.rotated_view, panel.difference_view):
        views.addWidget(view)


def build_strip(panel) -> QHBoxLayout:
    """The angle strip and the batch preview; returns the strip's title row (title and export)."""
    panel.strip_grid = ImageGrid(panel, thumbnail_size=52)
    panel.strip_grid.setObjectName("angleStrip")
    panel.strip_grid.setToolTip("The same image at evenly spaced angles over the training's rotation range")
    panel.strip_grid.fit_columns(STRIP_STEPS)
    panel.strip_grid.setFixedHeight(112)
    panel.strip_title = QLabel(objectName="angleStripTitle", wordWrap=True)  # wraps, never widens the window

    panel.batch_preview = BatchPreview(panel)
    panel.batch_grid = panel.batch_preview.grid
    panel.new_batch_button = panel.batch_preview.new_batch_button
    strip_head = QHBoxLayout()
    strip_head.addWidget(panel.strip_title, 1)
    strip_head.addWidget(
        attach_export(panel.strip_grid, "rotation_strip", lambda: panel.strip_grid.model.images)
    )
    return strip_head


def build_settings(panel) -> QGroupBox:
    """The training's augmentation setting (shared with the control panel's Rotation)."""
    panel.mode_combo = QComboBox(objectName="augmentModeCombo")
    # its long choices must not set the window's width: it shortens on a 1280 px screen, its list does not
    panel.mode_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    panel.mode_combo.setMinimumContentsLength(20)
    for key, text in MODES:
        panel.mode_combo.addItem(text, key)
    panel.mode_combo.setToolTip(
        "How training augments its images. Random rotation within ±10° usually gains a few tenths of a percent "
        "on MNIST; Rashid's scheme triples each epoch's work. The control panel's Rotation sets the same thing"
    )
    panel.degrees_spin = QSpinBox(
        objectName="augmentDegreesSpin", minimum=1, maximum=45, value=10, suffix="°"
    )
    panel.degrees_spin.setToolTip(
        "N, the largest rotation in degrees; 10° is Rashid's choice and a good default"
    )
    panel.config_note = QLabel(objectName="augmentConfigNote", wordWrap=True)
    panel.config_note.setStyleSheet("color: #d62728;")
    settings = QGroupBox("Training augmentation")
    form = QFormLayout(settings)
    form.addRow("&Scheme", panel.mode_combo)
    form.addRow("&Range ±N", panel.degrees_spin)
    form.addRow(panel.config_note)
    return settings
