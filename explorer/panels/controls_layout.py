"""The control panel's widgets: the setting fields, the message line, the Train / Pause / Stop buttons with the
progress bar, and the column they stand in.

Each function builds one part onto the panel (as the panel's attributes, which its methods, the window and the
tests use); `lay_out` places them. The panel connects the signals.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from core import recipes
from core.network import ACTIVATIONS
from explorer.widgets.config_fields import (
    OUTPUT_LOSS_PAIRS,
    TIPS,
    LearningRateSpin,
    compact,
    make_combo,
    make_spin,
)
from explorer.widgets.dataset_combo import DatasetCombo
from explorer.widgets.training_status import TrainingStatus

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
MESSAGE_LINES = 3  # the hint and error line under the settings: lines of room, kept while empty


def build_fields(panel) -> None:
    """Every setting: panel.dataset_combo, .recipe_combo, .hidden_edit, .activation_combo, .output_combo,
    .optimizer_combo, .lr_spin, .batch_spin, .epochs_spin, .limit_spin, .rotation_spin, .seed_spin and
    .continue_check."""
    combo, spin = make_combo, make_spin
    panel.dataset_combo = DatasetCombo()
    compact(panel.dataset_combo)
    panel.recipe_combo = combo("recipeCombo", [(n, n) for n in recipes.names()], TIPS["recipe"])
    panel.hidden_edit = QLineEdit(objectName="hiddenLayersEdit", toolTip=TIPS["hidden"], placeholderText="512")
    panel.activation_combo = combo("activationCombo", [(a, a) for a in ACTIVATIONS], TIPS["activation"])
    panel.output_combo = combo(
        "outputCombo", [(f"{o}|{lo}", text) for o, lo, text in OUTPUT_LOSS_PAIRS], TIPS["output"]
    )
    panel.optimizer_combo = combo("optimizerCombo", [(o, o) for o in OPTIMIZERS], TIPS["optimizer"])
    panel.lr_spin = LearningRateSpin()
    panel.lr_spin.setObjectName("learningRateSpin")
    panel.lr_spin.setToolTip(TIPS["lr"])
    panel.batch_spin = spin("batchSizeSpin", 0, 60_000, TIPS["batch"], special="all (full batch)")
    panel.epochs_spin = spin("epochsSpin", 1, 1000, TIPS["epochs"])
    panel.limit_spin = spin("trainLimitSpin", 0, 1_000_000, TIPS["limit"], step=1000, special="all")
    panel.rotation_spin = spin("rotationSpin", 0, 45, TIPS["rotation"], special="off", suffix="°")
    panel.seed_spin = spin("seedSpin", 0, 2**31 - 1, TIPS["seed"])
    panel.continue_check = QCheckBox("Continue from the selected run", objectName="continueCheck")
    panel.continue_check.setToolTip(TIPS["continue"])
    panel.continue_check.setEnabled(False)


def build_message(panel) -> None:
    """panel.message: the recipe's hint or the first problem with the settings."""
    panel.message = QLabel(objectName="configMessage", wordWrap=True)
    panel.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    # Its room is kept whether or not it holds a hint, so the Train button under it never moves.
    panel.message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    panel.message.setFixedHeight(MESSAGE_LINES * panel.message.fontMetrics().lineSpacing() + 4)


def build_buttons(panel) -> QHBoxLayout:
    """panel.train_button, .pause_button, .stop_button in a row, and panel.status (the progress bar)."""
    panel.train_button = QPushButton("Train", objectName="trainButton")
    panel.train_button.setToolTip("Start a new run with these settings (Ctrl+T). It is added to the runs list.")
    panel.train_button.setDefault(True)
    panel.pause_button = QPushButton("Pause", objectName="pauseButton", enabled=False)
    panel.pause_button.setToolTip("Pause the run after the current batch, or resume it (Space).")
    panel.stop_button = QPushButton("Stop", objectName="stopButton", enabled=False)
    panel.stop_button.setToolTip("End the run now (Esc). It keeps the weights trained so far, partial epoch too.")
    panel.status = TrainingStatus(panel.state, panel.controller)
    buttons = QHBoxLayout()
    for button in (panel.train_button, panel.pause_button, panel.stop_button):
        buttons.addWidget(button)
    return buttons


def _forms(panel) -> list[tuple[str, QFormLayout]]:
    """The fields in three titled forms: the data, the network and its training."""
    rows = {
        "Data": (("Dataset", panel.dataset_combo), ("Training images", panel.limit_spin),
                 ("Rotation", panel.rotation_spin)),
        "Network": (("Recipe", panel.recipe_combo), ("Hidden layers", panel.hidden_edit),
                    ("Activation", panel.activation_combo), ("Output / loss", panel.output_combo)),
        "Training": (("Optimizer", panel.optimizer_combo), ("Learning rate", panel.lr_spin),
                     ("Batch size", panel.batch_spin), ("Epochs", panel.epochs_spin), ("Seed", panel.seed_spin)),
    }  # fmt: skip
    forms = []
    for title, fields in rows.items():
        form = QFormLayout()
        for text, widget in fields:
            form.addRow(text, widget)
        forms.append((title, form))
    return forms


def lay_out(panel) -> None:
    """Build every part and stack them in one column on the panel."""
    build_fields(panel)
    build_message(panel)
    buttons = build_buttons(panel)
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(6, 4, 6, 4)  # tight: on a 720 px screen Train and the progress must not scroll away
    layout.setSpacing(4)
    for title, form in _forms(panel):
        group = QGroupBox(title)
        group.setLayout(form)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addWidget(group)
    layout.addWidget(panel.continue_check)
    layout.addWidget(panel.message)
    layout.addLayout(buttons)
    layout.addWidget(panel.status)
    layout.addStretch(1)
