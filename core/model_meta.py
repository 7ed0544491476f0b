"""Checks of a model file's JSON description (its ``meta``): what it must hold and of which kinds.

The description is untrusted input; each check calls ``fail(problem)`` (which raises) with one short sentence.
"""

from __future__ import annotations

import json
import math

from core.preprocess import SCALINGS

FORMAT_VERSION = 1
REQUIRED_META = ("format_version", "config", "dataset", "classes", "preprocessing", "history")
MAX_NAME_CHARS = 200  # a class name, a dataset name or a text value in the history
# the numbers every history entry of this app holds (EpochEvent.as_dict); the curves and reports format them
HISTORY_NUMBERS = ("epoch", "epochs", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                   "epoch_seconds", "elapsed", "samples_per_second", "lr")  # fmt: skip


def _is_number(value) -> bool:
    """A JSON number a float can hold (not a bool, not a 400-digit integer)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _is_name(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME_CHARS and value.isprintable()


def _parse_json(fail, text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"has a 'meta' that is not valid JSON ({exc.msg} at character {exc.pos})")
    except RecursionError:
        fail("has a 'meta' nested too deeply to be a model's description (it was not written by this app)")
    except ValueError as exc:  # e.g. an integer of more digits than Python converts ("Exceeds the limit ...")
        why = "a number in it is thousands of digits long" if "digits" in str(exc) else str(exc)
        fail(f"has a 'meta' this app cannot read ({why})")


def _check_history(fail, history) -> None:
    for entry in history:
        if not isinstance(entry, dict):
            fail("has a 'history' whose entries are not JSON objects")
        for key, value in entry.items():
            if key in HISTORY_NUMBERS:
                ok = value is None or _is_number(value)
            else:
                ok = value is None or isinstance(value, bool) or _is_number(value) or _is_name(value)
            if not ok:
                fail(f"has a 'history' whose {key!r} is {type(value).__name__}, not a number")


def check_preprocessing(fail, prep: dict, config_scaling) -> None:
    scaling = prep.get("scaling", config_scaling)
    if not isinstance(scaling, str) or scaling not in SCALINGS:
        fail(f"has an unknown input scaling in 'preprocessing'; this app knows {', '.join(SCALINGS)}")
    for key in ("mean", "std"):
        if key in prep and not (_is_number(prep[key]) and math.isfinite(prep[key])):
            fail(f"has a 'preprocessing' {key} that is not a finite number")
    if scaling == "standard":
        if "mean" not in prep or "std" not in prep:
            fail("has standardised input scaling without the training set's mean and std")
        if prep["std"] <= 0:
            fail("has standardised input scaling with a std that is not positive")


def check_meta(fail, text: str) -> dict:
    """The JSON description of a model, once it holds everything a model needs, each of the right kind."""
    meta = _parse_json(fail, text)
    if not isinstance(meta, dict):
        fail("has a 'meta' that is not a JSON object")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        fail(f"has a 'meta' without {', '.join(missing)}")
    version = meta["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or abs(version) > 10**6:
        fail(f"has an unreadable format_version {str(version)[:40]!r}")
    if version != FORMAT_VERSION:
        newer = " (written by a newer version of the app; update it)" if version > FORMAT_VERSION else ""
        fail(f"has format_version {version}; this app reads format {FORMAT_VERSION}{newer}")
    if not isinstance(meta["config"], dict):
        fail("has a 'config' that is not a JSON object")
    classes = meta["classes"]
    if not isinstance(classes, list) or len(classes) < 2 or not all(_is_name(c) for c in classes):
        fail(f"has 'classes' that are not a list of at least two names (of 1 to {MAX_NAME_CHARS} characters)")
    if not isinstance(meta["preprocessing"], dict) or not isinstance(meta["history"], list):
        fail("has 'preprocessing' or 'history' of the wrong kind")
    _check_history(fail, meta["history"])
    dataset = meta["dataset"]  # a name, or the folder or file it was loaded from
    if not isinstance(dataset, str) or not 0 < len(dataset) <= 4096 or not dataset.isprintable():
        fail("has a 'dataset' that is not a name")
    return meta
