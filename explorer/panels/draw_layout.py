"""The Draw tab's widgets: the drawing side (buttons, pen width, canvas) and the answer side (the network's
input, its idea of the guess, the guess and the bars).

Each function builds one side onto the panel (as the panel's attributes, which its methods and the tests use) and
returns its layouts for the panel to place; the panel connects the signals.
"""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout

from core.readers import IMAGE_SHAPE
from explorer.widgets.canvas import CANVAS_SIDE, DEFAULT_PEN, DrawingCanvas
from explorer.widgets.image_view import ImageView
from explorer.widgets.prob_bars import ProbabilityBars

NO_MODEL = "Train or load a model to see what it thinks"


def build_drawing_side(panel) -> QVBoxLayout:
    """The Clear, Undo and Open buttons with the pen width above the message line and the canvas:
    panel.canvas, .clear_button, .undo_button, .open_button, .pen_spin and .message_label."""
    panel.canvas = DrawingCanvas(panel)
    panel.canvas.setObjectName("drawCanvas")
    panel.clear_button = QPushButton("Clear", panel)
    panel.clear_button.setToolTip("Wipe the canvas (Delete); Undo brings it back")
    panel.undo_button = QPushButton("Undo", panel)
    panel.undo_button.setToolTip("Take back the last stroke, clear or opened picture (Ctrl+Z)")
    panel.open_button = QPushButton("Open picture…", panel)
    panel.open_button.setToolTip(
        "Use a photo or scan of one handwritten digit (PNG or JPEG); dark ink on light paper is inverted "
        "automatically, and it is prepared exactly like a drawing"
    )
    panel.pen_spin = QSpinBox(panel)
    panel.pen_spin.setRange(6, 48)
    panel.pen_spin.setValue(DEFAULT_PEN)
    panel.pen_spin.setSuffix(" px")
    panel.pen_spin.setToolTip(
        f"Pen width on the {CANVAS_SIDE}-pixel canvas; {DEFAULT_PEN} px gives MNIST's stroke width for a "
        "digit drawn to fill the dotted box"
    )
    panel.message_label = QLabel("", panel)
    panel.message_label.setObjectName("drawMessageLabel")
    panel.message_label.setWordWrap(True)
    panel.message_label.setStyleSheet("color: #b35900;")
    buttons = QHBoxLayout()
    for widget in (panel.clear_button, panel.undo_button, panel.open_button):
        buttons.addWidget(widget)
    buttons.addStretch(1)
    buttons.addWidget(QLabel("Pen", panel))
    buttons.addWidget(panel.pen_spin)
    left = QVBoxLayout()
    left.addLayout(buttons)
    left.addWidget(panel.message_label)
    left.addWidget(panel.canvas, 1)
    return left


def build_answer_side(panel) -> tuple[QVBoxLayout, QGridLayout, QHBoxLayout]:
    """The network's input and its idea of the guess side by side, the guess in words, and the bars:
    panel.input_view, .query_view, .prediction_label and .bars. Returns the side with its two rows of
    pictures (views) and of the guess, where the panel adds its export buttons."""
    rows, columns = IMAGE_SHAPE
    panel.input_view = ImageView(panel, title=f"What the network sees ({rows}×{columns})")
    panel.input_view.setObjectName("drawInputView")
    panel.input_view.set_empty_text("Draw a digit to see it as the network does")
    panel.input_view.setToolTip(
        "Your drawing prepared the way MNIST's digits were: this is the network's input"
    )
    panel.bars = ProbabilityBars(panel)
    panel.bars.setObjectName("drawProbabilities")
    panel.bars.set_empty_text(NO_MODEL)
    panel.prediction_label = QLabel("", panel)
    panel.prediction_label.setObjectName("drawPredictionLabel")
    panel.prediction_label.setWordWrap(True)
    font = panel.prediction_label.font()
    font.setPointSizeF(font.pointSizeF() * 1.3)
    panel.prediction_label.setFont(font)
    panel.query_view = ImageView(panel, title="Its idea of the guess")
    panel.query_view.setObjectName("drawBackQueryView")
    panel.query_view.setToolTip(
        "Rashid's back query of the predicted label (all-sigmoid networks) or its optimised input: "
        "the picture the network associates most with its guess"
    )
    for view in (panel.input_view, panel.query_view):
        view.setMaximumHeight(330)  # square images: more height would only add blank bands
        view.empty_label.setWordWrap(True)
        view.title_label.setWordWrap(True)
    views = QGridLayout()
    views.addWidget(panel.input_view, 0, 0)
    views.addWidget(panel.query_view, 0, 1)
    for column in (0, 1):  # equal halves: a long wait text (a CNN's optimised input) must not squeeze its picture
        views.setColumnStretch(column, 1)
    guess = QHBoxLayout()
    guess.addWidget(panel.prediction_label, 1)
    right = QVBoxLayout()
    right.addLayout(views, 1)
    right.addLayout(guess)
    right.addWidget(panel.bars, 1)
    return right, views, guess
