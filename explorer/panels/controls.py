"""The control panel: dataset, recipe and every training setting, and the Train / Pause / Stop buttons.

It publishes the configuration through `state.set_config(config, error)` on every change and follows
`state.configChanged` (a loaded model sets the configuration) without echoing it back. Fields start from a base
configuration (the recipe's, or the one a model brought) so settings the panel does not show (initialiser,
scaling, momentum, ...) are kept. Datasets load on a `JobRunner`; training runs through `TrainingController`.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from core import datasets, recipes
from core.layer_spec import is_layered
from core.readers import N_PIXELS
from core.training import ConfigError, TrainConfig
from explorer.jobs import JobRunner
from explorer.panels.controls_layout import lay_out
from explorer.runs import TrainRequest
from explorer.widgets.config_fields import (
    closest_recipe,
    config_from_fields,
    format_hidden,
    matches_recipe,
    parse_hidden,
)

DEFAULT_RECIPE = "keras-dense512"


class ControlPanel(QWidget):
    buttonsChanged = Signal()  # Train / Pause / Stop enabled states changed (the window's actions follow)

    def __init__(self, state, controller, parent=None):
        super().__init__(parent)
        self.setObjectName("controlPanel")
        self.state = state
        self.controller = controller
        self._base: TrainConfig = recipes.config(DEFAULT_RECIPE)
        self._recipe: str | None = DEFAULT_RECIPE
        self._updating = False  # True while fields are set from a config: no publishing, no "modified"
        self._published = None
        self._field_errors: dict[QWidget, str] = {}
        self.dataset_job = JobRunner(self, name="datasetLoadJob")  # the newest dataset asked for wins
        self.dataset_job.done.connect(self._on_dataset_loaded)
        self.dataset_job.failed.connect(self._on_dataset_failed)
        self._loading_key: str | None = None  # the dataset being loaded (the newest asked for)
        self._build()
        self.recipe_combo.setCurrentIndex(max(0, self.recipe_combo.findData(DEFAULT_RECIPE)))
        self._apply_config(self._base)
        self._connect()
        self._publish()

    # --- layout ----------------------------------------------------------------------------------------------
    def _build(self) -> None:
        """The fields, the message line, the buttons and the progress bar (explorer/panels/controls_layout.py)."""
        lay_out(self)

    def _connect(self) -> None:
        self.recipe_combo.activated.connect(self._on_recipe_chosen)
        self.dataset_combo.currentIndexChanged.connect(self._on_dataset_chosen)
        self.hidden_edit.textChanged.connect(self._on_field_changed)
        for box in (self.activation_combo, self.output_combo, self.optimizer_combo):
            box.currentIndexChanged.connect(self._on_field_changed)
        for box in (self.lr_spin, self.batch_spin, self.epochs_spin, self.limit_spin, self.rotation_spin,
                    self.seed_spin):  # fmt: skip
            box.valueChanged.connect(self._on_field_changed)
        self.train_button.clicked.connect(self.train)
        self.pause_button.clicked.connect(self.controller.toggle_pause)
        self.stop_button.clicked.connect(self.controller.stop)
        s = self.state
        s.configChanged.connect(self._on_config_changed)
        s.datasetChanged.connect(self._on_dataset_changed)
        for signal in (s.trainingStarted, s.trainingFinished, s.modelChanged):
            signal.connect(self._update_buttons)
        s.runsChanged.connect(self._update_buttons)
        s.pausedChanged.connect(lambda paused: self.pause_button.setText("Resume" if paused else "Pause"))
        s.trainingFailed.connect(lambda text: self.show_message(text, "error"))
        s.trainingStarted.connect(lambda run: self.show_message(""))

    # --- the configuration -----------------------------------------------------------------------------------
    def _apply_config(self, config) -> None:
        """Set every field from `config` without publishing (the caller publishes or is the publisher)."""
        self._updating = True
        try:
            self.hidden_edit.setText(format_hidden(config.hidden))
            self.activation_combo.setCurrentIndex(max(0, self.activation_combo.findData(config.activation)))
            pair = self.output_combo.findData(f"{config.output}|{config.loss}")
            self.output_combo.setCurrentIndex(max(0, pair))
            self.optimizer_combo.setCurrentIndex(max(0, self.optimizer_combo.findData(config.optimizer)))
            self.lr_spin.setValue(config.lr)
            self.batch_spin.setValue(config.batch_size)
            self.epochs_spin.setValue(config.epochs)
            self.limit_spin.setValue(config.train_limit)
            self.rotation_spin.setValue(round(config.rotate) if config.augment != "off" else 0)
            self.seed_spin.setValue(config.seed)
        finally:
            self._updating = False

    def read_config(self) -> tuple[TrainConfig, str]:
        """The configuration the fields describe, and "" or the first problem in one sentence."""
        self._field_errors = {}
        hidden, hidden_error = parse_hidden(self.hidden_edit.text())
        if hidden_error:
            self._field_errors[self.hidden_edit] = hidden_error
        lr = self.lr_spin.value()
        if lr <= 0:
            self._field_errors[self.lr_spin] = (
                "Learning rate: must be above 0; try 0.001 for rmsprop or adam, 0.1 for sgd."
            )
        config = config_from_fields(
            self._base,
            dataset=self.dataset_combo.current_key(),
            hidden=hidden,
            activation=self.activation_combo.currentData(),
            output_loss=self.output_combo.currentData(),
            optimizer=self.optimizer_combo.currentData(),
            lr=lr,
            batch_size=self.batch_spin.value(),
            epochs=self.epochs_spin.value(),
            train_limit=self.limit_spin.value(),
            rotate=float(self.rotation_spin.value()),
            seed=self.seed_spin.value(),
        )
        error = next(iter(self._field_errors.values()), "")
        if not error:
            try:
                config.validate()
            except (ConfigError, ValueError) as exc:
                error = str(exc)
        return config, error

    def _publish(self) -> None:
        config, error = self.read_config()
        for widget in (self.hidden_edit, self.lr_spin):
            invalid = widget in self._field_errors
            widget.setProperty("invalid", invalid)
            widget.setStyleSheet("border: 1px solid #d62728; background: #fff0f0;" if invalid else "")
        self._refresh_recipe_label(config)
        self.show_message(error, "error") if error else self._show_recipe_note()
        self._published = config
        self.state.set_config(config, error)
        self._update_buttons()

    def _on_field_changed(self, *_):
        if not self._updating:
            self._publish()

    def _on_recipe_chosen(self, index: int) -> None:
        name = self.recipe_combo.itemData(index)
        current, _ = self.read_config()
        self._recipe = name
        # The recipe sets the network and training; the dataset, training-set size and seed stay the user's.
        self._base = recipes.config(
            name, dataset=current.dataset, train_limit=current.train_limit, seed=current.seed
        )
        self._apply_config(self._base)
        self._publish()

    def _on_config_changed(self, config) -> None:
        if config is None or config is self._published:
            return  # our own publication coming back
        self._base = config
        self._recipe = closest_recipe(config)
        index = self.recipe_combo.findData(self._recipe)
        if index >= 0:
            self.recipe_combo.setCurrentIndex(index)
        self._apply_config(config)
        if config.dataset != self.dataset_combo.current_key() and self.dataset_combo.is_available(
            config.dataset
        ):
            self.dataset_combo.select_key(config.dataset)  # loads it; publishes when loaded
        config_now, error = self.read_config()
        self._refresh_recipe_label(config_now)
        self.show_message(error, "error") if error else self._show_recipe_note()
        self._update_buttons()

    def _refresh_recipe_label(self, config) -> None:
        for i in range(self.recipe_combo.count()):
            name = self.recipe_combo.itemData(i)
            modified = name == self._recipe and not matches_recipe(config, name)
            self.recipe_combo.setItemText(i, f"{name} (modified)" if modified else name)

    def select_recipe(self, name: str) -> None:
        index = self.recipe_combo.findData(name)
        if index >= 0:
            self.recipe_combo.setCurrentIndex(index)
            self._on_recipe_chosen(index)

    def restore(self, recipe: str | None, config) -> None:
        """Fields from a saved session: its configuration, shown against its recipe (modified or not)."""
        self._recipe = recipe if recipe in recipes.RECIPES else closest_recipe(config)
        index = self.recipe_combo.findData(self._recipe)
        if index >= 0:
            self.recipe_combo.setCurrentIndex(index)
        self._base = config
        self._apply_config(config)
        self._publish()

    @property
    def recipe(self) -> str | None:
        return self._recipe

    def _show_recipe_note(self) -> None:
        recipe = recipes.get(self._recipe) if self._recipe in recipes.RECIPES else None
        dataset = getattr(self.state.dataset, "name", "mnist")
        target = recipe.target(dataset) if recipe else None
        if recipe and target:
            self.show_message(
                f"{recipe.name}: its source reports {target:.1%} test accuracy on {dataset}.", "note"
            )
        else:
            self.show_message("")

    def show_message(self, text: str, kind: str = "note") -> None:
        colours = {"error": "#b00020", "warning": "#8a5a00", "note": "#555"}
        self.message.setStyleSheet(f"color: {colours.get(kind, '#555')};")
        self.message.setText(text)
        self.message.setToolTip(text)  # all of it, should a long sentence need more than its lines

    # --- datasets ----------------------------------------------------------------------------------------------
    def _on_dataset_chosen(self, _index: int) -> None:
        key = self.dataset_combo.current_key()
        if (
            key is None
            or key == getattr(self.state.dataset, "name", None)
            and key in ("mnist", "fashion-mnist")
        ):
            return
        self.load_dataset(key)

    def load_dataset(self, key: str) -> None:
        """Load `key` (a name or a path) off the GUI thread; the newest request wins, older results are dropped."""
        self._loading_key = key
        self.show_message(f"Loading {key}…", "note")
        self.dataset_job.submit(datasets.load, key)
        self._update_buttons()

    def _on_dataset_failed(self, error: str) -> None:
        """One sentence; the app keeps the dataset it had, and a path that failed leaves the list."""
        key, self._loading_key = self._loading_key, None
        self.dataset_combo.blockSignals(True)  # removing the current row must not load its neighbour
        if key not in ("mnist", "fashion-mnist"):
            self.dataset_combo.remove_path(key)
        self.dataset_combo.blockSignals(False)
        self._select_current_dataset()
        self.show_message(error, "error")
        self.state.show_status(error)
        self._update_buttons()

    def _on_dataset_loaded(self, dataset) -> None:
        self._loading_key = None
        self.state.set_dataset(dataset)
        for warning in getattr(dataset, "warnings", []) or []:
            self.state.show_status(warning)

    def _on_dataset_changed(self, dataset) -> None:
        self._select_current_dataset()
        self._publish()
        warnings = getattr(dataset, "warnings", []) or []
        if warnings:
            self.show_message(" ".join(warnings), "warning")

    def _select_current_dataset(self) -> None:
        dataset = self.state.dataset
        if dataset is None:
            return
        self.dataset_combo.blockSignals(True)
        if not self.dataset_combo.select_key(dataset.name):
            self.dataset_combo.select_key(dataset.source)
        self.dataset_combo.blockSignals(False)

    # --- training ----------------------------------------------------------------------------------------------
    def can_train(self) -> bool:
        return (
            not self.state.training
            and self.state.dataset is not None
            and self._loading_key is None
            and not self.state.config_error
            and self.state.config is not None
        )

    def _update_buttons(self, *_):
        training = self.state.training
        self.train_button.setEnabled(self.can_train())
        self.pause_button.setEnabled(training)
        self.stop_button.setEnabled(training)
        run = self.state.selected_run
        self.continue_check.setEnabled(run is not None and run.model is not None)
        if not self.continue_check.isEnabled():
            self.continue_check.setChecked(False)
        self.buttonsChanged.emit()

    def train(self) -> None:
        if not self.can_train():
            return
        config, dataset = self.state.config, self.state.dataset
        network, parent_run = None, None
        if self.continue_check.isChecked() and self.state.selected_run and self.state.selected_run.model:
            parent_run = self.state.selected_run
            network = parent_run.model.network.copy()
            wanted = [N_PIXELS, *config.hidden, dataset.n_classes]
            if is_layered(parent_run.model.config.hidden) or is_layered(config.hidden):  # a CNN: its layer tokens
                have = [N_PIXELS, *parent_run.model.config.hidden, len(parent_run.model.classes)]
            else:
                have = list(network.layer_sizes)
            if have != wanted or network.activation != config.activation:
                self.show_message(
                    f"Cannot continue {parent_run.name}: its layers are {'-'.join(map(str, have))} "
                    f"{network.activation}; set the same to continue it, or untick Continue.",
                    "error",
                )
                return
        label = self._recipe or "custom"
        if self._recipe and not matches_recipe(config, self._recipe):
            label = f"{self._recipe} (modified)"
        name = f"run {self.state.next_run_number} · {label}"
        if parent_run is not None:
            name = f"{parent_run.name.split(' · ')[0]} continued"
        self.state.request_training(TrainRequest(config, name, network, parent_run))
