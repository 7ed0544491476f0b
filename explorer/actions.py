"""The File menu's model and export actions: load and save models, export every figure, the report, run metrics.

Each function takes the MainWindow (anything with `.state`, an `AppState`). Dialogs and the message box are
module-level functions so tests can replace them. Slow work (reading a model and its dataset, writing it, computing
and writing the figures) runs on the window's `JobRunner`s (explorer/jobs.py), its progress on the status bar; the
GUI thread only applies the result. Model loads: the newest asked for wins. Saves and exports: every one the user
asked for is done, in turn. Every failure is one sentence in a non-blocking message box and on the status bar, and
leaves the app exactly as it was.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from explorer import file_dialogs
from explorer.export import warn
from explorer.export_files import ExportError, prepare_folder, write_bytes_atomic, write_files
from explorer.jobs import JobRunner

MODEL_FILTER = "MNIST Explorer models (*.npz);;All files (*)"
_last_folder: list[str] = [""]


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
    window.state.show_status(text)


def _remember(path: str | Path) -> None:
    path = Path(path)
    _last_folder[0] = str(path if path.is_dir() else path.parent)


# --- the window's jobs --------------------------------------------------------------------------------------------
LOAD_JOB, FILE_JOB = "modelLoadJob", "fileWriteJob"


def _runner(window, name: str) -> JobRunner:
    """The window's runner for model loads (the newest wins) or for saves and exports (each one, in turn), made on
    first use as a child of the window: it goes with the window, whose close shuts it down."""
    runner = window.findChild(JobRunner, name)
    if runner is None:
        runner = JobRunner(window, keep="newest" if name == LOAD_JOB else "all", name=name)
        runner.failed.connect(lambda text: warn(window, text))
        runner.progress.connect(lambda done, total, what: _status(window, progress_text(done, total, what)))
        if name == LOAD_JOB:
            runner.done.connect(lambda result: _apply_loaded(window, *result))
        else:
            runner.done.connect(lambda result: _written(window, *result))
    return runner


def progress_text(done: int, total: int, what: str) -> str:
    """"Exporting the figures: back query of 3… 24%": what a job is doing and how far it got."""
    return f"{what}… {100 * done // total}%" if total > 0 else f"{what}…"


def _written(window, message: str, path: Path) -> None:
    _remember(path)
    _status(window, message)


# --- load --------------------------------------------------------------------------------------------------------
def _read_model(path: str, current_dataset: str | None, progress):
    """The job: (path, model, dataset to switch to or None). A ModelError, or a ValueError saying why the model's
    dataset could not be loaded: the runner shows either as one sentence."""
    from core import datasets
    from core.model_io import load as load_file

    progress(0, 2, f"Reading {Path(path).name}")
    model = load_file(path)
    if model.dataset == current_dataset:
        return path, model, None
    problems = []
    for key in dict.fromkeys([model.dataset, str(getattr(model.config, "dataset", "") or "")]):
        if not key:
            continue
        progress(1, 2, f"Loading {key}, the model's dataset")
        try:
            dataset = datasets.load(key)
        except Exception as exc:  # noqa: BLE001 - any failure becomes the sentence below
            problems.append(str(exc).rstrip("."))
            continue
        if [str(c) for c in dataset.class_names] != [str(c) for c in model.classes]:
            problems.append(f"{key} has the classes {', '.join(dataset.class_names)}, not the model's")
            continue
        return path, model, dataset
    why = "; ".join(problems) or "it names no dataset"
    raise ValueError(
        f"This model was trained on {model.dataset}, which could not be loaded ({why}); nothing was changed."
    )


def load_model(window, path: str | None = None):
    """Ask for a model file and load it: its dataset (if another), settings, curves and weights. The runner."""
    state = window.state
    path = path or ask_open_model(window)
    if not path:
        return None
    _status(window, f"Loading {Path(path).name}…")
    runner = _runner(window, LOAD_JOB)
    runner.submit_with_progress(_read_model, str(path), getattr(state.dataset, "name", None))
    return runner


def _apply_loaded(window, path: str, model, dataset) -> None:
    state = window.state
    if dataset is not None and state.training:
        warn(window, f"Stop the training before loading a model for {model.dataset}; nothing was changed.")
        return
    if dataset is not None:
        state.set_dataset(dataset)
    state.set_config(model.config)
    run = state.add_loaded_run(model, Path(path).stem)
    _remember(path)
    accuracy = run.final_accuracy
    extra = f", test accuracy {100 * accuracy:.2f}%" if isinstance(accuracy, (int, float)) else ""
    _status(window, f"Loaded {Path(path).name}: {model.dataset}, {len(model.history)} epochs{extra}.")


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


def _write_model(path: Path, model):
    """The job: write the model file (atomic: the old file or the whole new one); (message, path). A ModelError
    says what went wrong."""
    from core.model_io import save as save_file

    save_file(path, model)
    return f"Saved the model to {path}.", path


def save_model(window, path: str | None = None):
    """Save the shown model (selected run, selected epoch) as .npz; atomic, errors as one sentence. The runner."""
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
    runner = _runner(window, FILE_JOB)
    runner.submit(_write_model, path, model)
    return runner


# --- figures and report ------------------------------------------------------------------------------------------
def _figure_inputs(window):
    """(model, dataset or None, history, run name, run) for the shown model, or None after telling the user why."""
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
    return model, dataset, list(model.history), (run.name if run else ""), run


def _render(inputs, doing: str, progress) -> dict[str, bytes]:
    """The job's first part: every figure file and report.html (QPainter on QImage and QSvgGenerator are
    thread-safe); `progress` hears how far it got, as "<doing>: <step>"."""
    from explorer.datamap_figures import run_record
    from explorer.export_files import render_all_from
    from explorer.figures import compute, render_curves, render_files

    model, dataset, history, run_name, run = inputs

    def report(fraction: float, message: str) -> None:
        if fraction < 1:  # the end of the numbers is the start of the drawing, reported below
            progress(round(800 * fraction), 1000, f"{doing}: {message[:1].lower()}{message[1:]}")

    start = time.perf_counter()
    data = compute(model, dataset, report)
    progress(800, 1000, f"{doing}: drawing the figures")
    files = render_files(data)
    files.update(render_curves(history))
    seconds = time.perf_counter() - start
    progress(900, 1000, f"{doing}: writing the files")
    dynamics = run_record(run, len(history))  # the run's per-image record up to the shown epoch, if it has one
    return render_all_from(model, data, files, history, dataset, run_name, seconds, dynamics)


def _export_figures(inputs, outdir: Path, progress):
    """The job: every figure, its data and report.html into `outdir`; (message, folder)."""
    files = _render(inputs, "Exporting the figures", progress)
    written = write_files(outdir, files)
    return f"Exported {len(written)} files to {outdir}.", outdir


def _export_report(inputs, path: Path, progress):
    """The job: one self-contained report.html; (message, path)."""
    files = _render(inputs, "Writing the report", progress)
    write_bytes_atomic(path, files["report.html"])
    return f"Wrote the report to {path}.", path


def export_figures(window, folder: str | None = None):
    """Write every figure of the shown model, their data and report.html into a folder the user picks."""
    inputs = _figure_inputs(window)
    if inputs is None:
        return None
    folder = folder or ask_folder(window, "Export every figure into a folder")
    if not folder:
        return None
    try:
        outdir = prepare_folder(folder)
    except ExportError as exc:
        warn(window, str(exc))
        return None
    _status(window, f"Exporting the figures of {inputs[3] or 'the model'} to {outdir}…")
    runner = _runner(window, FILE_JOB)
    runner.submit_with_progress(_export_figures, inputs, outdir)
    return runner


def export_report(window, path: str | None = None):
    """Write one self-contained report.html (figures embedded) for the shown model."""
    inputs = _figure_inputs(window)
    if inputs is None:
        return None
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
    runner = _runner(window, FILE_JOB)
    runner.submit_with_progress(_export_report, inputs, path)
    return runner


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
