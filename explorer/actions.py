"""The File menu's model and export actions: load and save models, export every figure, the report, run metrics.

Each function takes the MainWindow (anything with `.state`, an `AppState`). Dialogs and the message box are
module-level functions so tests can replace them. Slow work (reading a model and its dataset, back queries,
classifying the test set) runs in a worker thread; the GUI thread only applies the result. Every failure is one
sentence in a non-blocking message box and on the status bar, and leaves the app exactly as it was.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from superqt.utils import create_worker

from explorer import file_dialogs
from explorer.export import warn
from explorer.export_files import ExportError, prepare_folder, write_bytes_atomic, write_files

MODEL_FILTER = "MNIST Explorer models (*.npz);;All files (*)"
_last_folder: list[str] = [""]
_load_token = [0]  # the newest load request wins; an older one finishing later is dropped


# --- dialogs, patchable in tests --------------------------------------------------------------------------------
def ask_open_model(parent) -> str:
    return file_dialogs.ask_open_file(parent, "Load model", _last_folder[0], MODEL_FILTER)


def ask_save_model(parent, suggested: str) -> str:
    start = str(Path(_last_folder[0] or Path.home()) / suggested)
    return file_dialogs.ask_save_file(parent, "Save model", start, MODEL_FILTER.split(";;"))[0]


def ask_folder(parent, caption: str) -> str:
    return file_dialogs.ask_folder(parent, caption, _last_folder[0])


def ask_report_path(parent) -> str:
    start = str(Path(_last_folder[0] or Path.home()) / "report.html")
    return file_dialogs.ask_save_file(parent, "Export report", start, ["Web page (*.html)"])[0]


def _status(window, text: str) -> None:
    window.state.statusMessage.emit(text)


def _remember(path: str | Path) -> None:
    path = Path(path)
    _last_folder[0] = str(path if path.is_dir() else path.parent)


# --- load --------------------------------------------------------------------------------------------------------
def _read_model(path: str, current_dataset: str | None):
    """Worker: (model, dataset to switch to or None, error sentence). Never raises."""
    from core import datasets
    from core.model_io import ModelError
    from core.model_io import load as load_file

    try:
        model = load_file(path)
    except ModelError as exc:
        return None, None, f"{exc}."
    if model.dataset == current_dataset:
        return model, None, ""
    problems = []
    for key in dict.fromkeys([model.dataset, str(getattr(model.config, "dataset", "") or "")]):
        if not key:
            continue
        try:
            dataset = datasets.load(key)
        except Exception as exc:  # noqa: BLE001 - any failure becomes the sentence below
            problems.append(str(exc).rstrip("."))
            continue
        if [str(c) for c in dataset.class_names] != [str(c) for c in model.classes]:
            problems.append(f"{key} has the classes {', '.join(dataset.class_names)}, not the model's")
            continue
        return model, dataset, ""
    why = "; ".join(problems) or "it names no dataset"
    return (
        None,
        None,
        f"This model was trained on {model.dataset}, which could not be loaded ({why}); nothing was changed.",
    )


def load_model(window, path: str | None = None):
    """Ask for a model file and load it: its dataset (if another), settings, curves and weights. The worker."""
    state = window.state
    path = path or ask_open_model(window)
    if not path:
        return None
    _load_token[0] += 1
    token = _load_token[0]
    current = getattr(state.dataset, "name", None)
    _status(window, f"Loading {Path(path).name}…")

    def apply(result) -> None:
        if token != _load_token[0]:
            return
        model, dataset, error = result
        if not error and dataset is not None and state.training:
            error = f"Stop the training before loading a model for {model.dataset}; nothing was changed."
        if error:
            warn(window, error)
            return
        if dataset is not None:
            state.set_dataset(dataset)
        state.set_config(model.config)
        run = state.add_loaded_run(model, Path(path).stem)
        _remember(path)
        accuracy = run.final_accuracy
        extra = f", test accuracy {100 * accuracy:.2f}%" if isinstance(accuracy, (int, float)) else ""
        _status(window, f"Loaded {Path(path).name}: {model.dataset}, {len(model.history)} epochs{extra}.")

    return create_worker(_read_model, str(path), current, _connect={"returned": apply})


# --- save --------------------------------------------------------------------------------------------------------
def _current_model(state):
    """The model the panels show, with the per-epoch history of its run up to the shown epoch."""
    model, run = state.model, state.selected_run
    if model is None:
        return None
    if run is not None and run.history and len(model.history) < min(state.selected_epoch, len(run.history)):
        history = [dict(h) for h in run.history[: state.selected_epoch]]
        model = dataclasses.replace(model, history=history)
    return model


def save_model(window, path: str | None = None):
    """Save the shown model (selected run, selected epoch) as .npz; atomic, errors as one sentence. The worker."""
    from core.model_io import ModelError
    from core.model_io import save as save_file

    state = window.state
    model = _current_model(state)
    if model is None:
        warn(window, "There is no model to save yet: train one or load one first.")
        return None
    run = state.selected_run
    suggested = (
        f"{(run.name if run else 'model').split(' · ')[0].replace(' ', '_')}_epoch{state.selected_epoch}.npz"
    )
    path = path or ask_save_model(window, suggested)
    if not path:
        return None
    path = Path(path)
    if path.suffix.lower() != ".npz":
        path = path.with_name(path.name + ".npz")
    try:
        prepare_folder(path.parent)  # a new folder typed into the dialog is created
    except ExportError as exc:
        warn(window, str(exc))
        return None

    def write():
        try:
            save_file(path, model)
        except ModelError as exc:
            return f"{exc}."
        return ""

    def done(error: str) -> None:
        if error:
            warn(window, error)
        else:
            _remember(path)
            _status(window, f"Saved the model to {path}.")

    return create_worker(write, _connect={"returned": done})


# --- figures and report ------------------------------------------------------------------------------------------
def _figure_inputs(window):
    """(model, dataset or None, history, run name) for the shown model, or None after telling the user why."""
    state = window.state
    model = _current_model(state)
    if model is None:
        warn(window, "There is no model to export yet: train one or load one first.")
        return None
    dataset = state.dataset
    if dataset is not None and (
        dataset.name != model.dataset or [str(c) for c in dataset.class_names] != list(model.classes)
    ):
        dataset = None  # the test images of another dataset say nothing about this model
    run = state.selected_run
    return model, dataset, list(model.history), (run.name if run else "")


def _compute(model, dataset, history):
    """Worker: the figures' numbers and every figure file (QPainter on QImage and QSvgGenerator is thread-safe)."""
    from explorer.figures import compute, render_curves, render_files

    start = time.perf_counter()
    data = compute(model, dataset)
    files = render_files(data)
    files.update(render_curves(history))
    return data, files, time.perf_counter() - start


def export_figures(window, folder: str | None = None):
    """Write every figure of the shown model, their data and report.html into a folder the user picks."""
    inputs = _figure_inputs(window)
    if inputs is None:
        return None
    model, dataset, history, run_name = inputs
    folder = folder or ask_folder(window, "Export every figure into a folder")
    if not folder:
        return None
    try:
        outdir = prepare_folder(folder)
    except ExportError as exc:
        warn(window, str(exc))
        return None
    _status(window, f"Exporting the figures of {run_name or 'the model'} to {outdir}…")

    def done(result) -> None:
        from explorer.export_files import render_all_from

        data, files, seconds = result
        try:
            files = render_all_from(model, data, files, history, dataset, run_name, seconds)
            written = write_files(outdir, files)
        except (ExportError, OSError) as exc:
            warn(window, str(exc))
            return
        _remember(outdir)
        _status(window, f"Exported {len(written)} files to {outdir}.")

    return create_worker(_compute, model, dataset, history, _connect={"returned": done})


def export_report(window, path: str | None = None):
    """Write one self-contained report.html (figures embedded) for the shown model."""
    inputs = _figure_inputs(window)
    if inputs is None:
        return None
    model, dataset, history, run_name = inputs
    path = path or ask_report_path(window)
    if not path:
        return None
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        path = path.with_name(path.name + ".html")
    try:
        prepare_folder(path.parent)
    except ExportError as exc:
        warn(window, str(exc))
        return None
    _status(window, f"Writing the report to {path}…")

    def done(result) -> None:
        from explorer.export_files import render_all_from

        data, files, seconds = result
        try:
            files = render_all_from(model, data, files, history, dataset, run_name, seconds)
            write_bytes_atomic(path, files["report.html"])
        except (ExportError, OSError) as exc:
            warn(window, str(exc))
            return
        _remember(path)
        _status(window, f"Wrote the report to {path}.")

    return create_worker(_compute, model, dataset, history, _connect={"returned": done})


def export_run_metrics(window, folder: str | None = None) -> list[Path]:
    """The selected run's per-batch and per-epoch metrics as two CSV files in a folder the user picks."""
    from explorer.export_files import export_run_metrics as write_metrics

    run = window.state.selected_run
    if run is None:
        warn(window, "There is no run to export: train one or load a model first.")
        return []
    folder = folder or ask_folder(window, f"Export the metrics of {run.name}")
    if not folder:
        return []
    try:
        written = write_metrics(run, folder)
    except ExportError as exc:
        warn(window, str(exc))
        return []
    _remember(folder)
    _status(window, f"Exported the metrics of {run.name}: {', '.join(p.name for p in written)}.")
    return written
