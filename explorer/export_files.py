"""Every figure of a model to files (`export_all`, `mnist-explorer export MODEL.npz OUTDIR`) and a run's metrics
as CSV (`export_run_metrics`), and the atomic file writing every export goes through (`write_bytes_atomic`,
`ExportError`). explorer/export.py (one figure from a panel's button) builds on it; this module imports no Qt
widget code, so the command line's export needs no window."""

from __future__ import annotations

import os
from pathlib import Path

from core.atomic import FolderNotWritable, write_atomic
from explorer.figures import csv_bytes


class ExportError(OSError):
    """A figure or data file that could not be written; the message is one sentence for the user."""


# --- writing files atomically ---------------------------------------------------------------------------------
def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` through a temp file in the same folder and `os.replace`; never a half file.

    A folder that does not exist yet is created (with its parents)."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        from explorer.file_dialogs import create_folder

        problem = create_folder(folder)  # exporting into a new folder is the usual case: make it
        if problem:
            raise ExportError(problem)
    try:
        write_atomic(path, lambda f: f.write(data))
    except FolderNotWritable as exc:
        raise ExportError(f"Cannot write into {folder}: {exc.strerror} (choose another folder).") from None
    except OSError as exc:
        raise ExportError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    return path


# --- every figure of a model, for the menu action and the command line ------------------------------------------
def prepare_folder(outdir: str | Path) -> Path:
    """The output folder, created (with any missing parents) if it does not exist yet; one sentence if it cannot
    be created or written to."""
    from explorer.file_dialogs import create_folder

    outdir = Path(outdir).expanduser()
    if outdir.exists() and not outdir.is_dir():
        raise ExportError(f"Cannot export to {outdir}: it is a file, not a folder.")
    if not outdir.exists():
        problem = create_folder(outdir)
        if problem:
            raise ExportError(problem)
    if not os.access(outdir, os.W_OK | os.X_OK):
        raise ExportError(f"Cannot write into {outdir}: the folder is read-only; choose another folder.")
    return outdir


def write_files(outdir: Path, files: dict[str, bytes]) -> list[Path]:
    return [write_bytes_atomic(outdir / name, content) for name, content in files.items()]


def render_all_from(model, data, files, history=None, dataset=None, run_name: str = "", compute_seconds=None,
                    dynamics=None):
    """`files` (from figures.render_files) plus the curves (unless there), the data map and suspects of the
    run's per-image record (`dynamics`, when it has one) and report.html."""
    from explorer.datamap_figures import compute_datamap, render_datamap_files
    from explorer.figures import render_curves
    from explorer.report import build_report

    history = list(model.history if history is None else history)
    files = dict(files)
    data.datamap = compute_datamap(dynamics, model.classes)
    files.update(render_datamap_files(data.datamap))
    if "curves.png" not in files:
        files.update(render_curves(history))
    timings = {} if compute_seconds is None else {"figures computed in": f"{compute_seconds:.1f} s"}
    html = build_report(model, data, files, history, dataset, run_name=run_name, timings=timings)
    files["report.html"] = html.encode("utf-8")
    return files


def export_all(model, dataset, outdir, history=None, progress=None, dynamics=None) -> list[Path]:
    """Write every figure of `model` (and report.html) into `outdir` with the design's names; the paths written.

    `dataset` gives the test images for the confusion matrix and the mistakes (None: those are left out);
    `history` defaults to the model's own; `progress(fraction, message)` is told how far it got.
    """
    import time

    from explorer.figures import compute, render_files

    outdir = prepare_folder(outdir)
    start = time.perf_counter()
    data = compute(model, dataset, progress)
    files = render_files(data)
    seconds = time.perf_counter() - start
    files = render_all_from(model, data, files, history, dataset, compute_seconds=seconds, dynamics=dynamics)
    return write_files(outdir, files)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text.strip()).strip("_") or "run"


def export_run_metrics(run, folder: str | Path) -> list[Path]:
    """A run's metrics as CSV: `<name>_batches.csv` (every delivered batch point) and `<name>_epochs.csv`."""
    from explorer.figures import history_columns

    folder = prepare_folder(folder)
    stem = _slug(run.name)
    batches = {
        "epoch": list(run.batch_x),
        "loss": list(run.batch_loss),
        "accuracy": list(run.batch_accuracy),
        "lr": list(run.batch_lr) if len(run.batch_lr) == len(run.batch_x) else [None] * len(run.batch_x),
    }
    return [
        write_bytes_atomic(folder / f"{stem}_batches.csv", csv_bytes(batches)),
        write_bytes_atomic(folder / f"{stem}_epochs.csv", csv_bytes(history_columns(run.history))),
    ]


def export_command(argv: list[str]) -> int:
    """`mnist-explorer export MODEL.npz OUTDIR [--dataset D]`: every figure, headless; 2 on bad input."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="mnist-explorer export", description="Write every figure the app draws for a model, headless."
    )
    parser.add_argument("model", help="a model file written by the app or by `mnist-explorer train --save`")
    parser.add_argument("outdir", help="the folder to write into (created, with its parents, if missing)")
    parser.add_argument("--dataset", help="the test images to use (default: the model's own dataset)")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:
        # Figures are drawn into images, never on screen: the offscreen platform needs no display, no X server
        # and none of the xcb plugin's libraries, so a broken or absent display cannot abort the export.
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    from core import datasets
    from core.model_io import ModelError
    from core.model_io import load as load_model

    app = QApplication.instance() or QApplication(["mnist-explorer export"])  # noqa: F841  (kept alive)
    try:
        model = load_model(args.model)
    except ModelError as exc:
        print(f"mnist-explorer export: {exc}", file=sys.stderr)
        return 2
    dataset_name = args.dataset or model.dataset
    problem = ""
    try:
        dataset = datasets.load(dataset_name)
    except (datasets.DatasetError, OSError) as exc:
        dataset, problem = (
            None,
            f"could not load the dataset {dataset_name!r} ({exc}), so confusion.* and misclassified.* were not written; pass --dataset PATH",
        )
    from explorer.datamap_figures import record_beside

    dynamics, note = record_beside(args.model, model)  # a run folder's epoch file has the run's record beside it
    try:
        written = export_all(model, dataset, args.outdir, dynamics=dynamics)
    except ExportError as exc:
        print(f"mnist-explorer export: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} files to {Path(args.outdir)}")
    if note:
        print(f"note: {note}", file=sys.stderr)
    if problem:
        print(f"mnist-explorer export: {problem}", file=sys.stderr)
        return 2
    return 0
