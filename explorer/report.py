"""report.html: one self-contained page about a trained model that opens in any browser.

Every figure is embedded as a base64 PNG (no file beside it is needed, so the page can be mailed or moved
alone), followed by the run's full settings, the dataset, the seed, the app version, the timings and the
per-epoch history. No scripts, no external style sheets, no network requests.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
from dataclasses import asdict, is_dataclass

import numpy as np

from core import __version__ as CORE_VERSION
from core import insight
from explorer.abstain_figures import abstain_section
from explorer.activation_figures import units_section
from explorer.conv_figures import MLP_ONLY_NOTE, conv_layer_tokens, conv_section
from explorer.datamap_figures import datamap_section
from explorer.projection_figure import projection_section
from explorer.robustness_figures import robustness_section

STYLE = """
body { font: 15px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 3px 9px; text-align: right; } th { background: #f4f6f8; }
td.k, th.k { text-align: left; }
.figs { display: flex; flex-wrap: wrap; gap: 8px; } .figs img { width: 180px; }
img.wide { max-width: 100%; } .note { color: #8a4b00; }
"""


def _fmt(value) -> str:
    if isinstance(value, float):
        if not np.isfinite(value):
            return str(value)
        return (
            f"{value:.4g}"
            if abs(value) < 1e-3 or abs(value) >= 1e5
            else f"{value:.4f}".rstrip("0").rstrip(".")
        )
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _table(rows: list[tuple[str, object]]) -> str:
    body = "".join(
        f"<tr><th class='k'>{html.escape(str(k))}</th><td class='k'>{html.escape(_fmt(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table>{body}</table>"


def _grid(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(png: bytes | None, alt: str, cls: str = "") -> str:
    if not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f"<img class='{cls}' alt='{html.escape(alt)}' title='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


def build_report(
    model,
    data,
    files: dict[str, bytes],
    history: list[dict] | None = None,
    dataset=None,
    run_name: str = "",
    timings: dict | None = None,
) -> str:
    """The HTML text. `data` is explorer.figures.FigureData, `files` the rendered figures by file name."""
    history = list(model.history if history is None else history)
    config = asdict(model.config) if is_dataclass(model.config) else dict(model.config)
    parts = _head(model, data, history, run_name)
    parts.append(
        "<h2>Learning curves</h2>" + _img(files.get("curves.png"), "loss and accuracy per epoch", "wide")
    )
    parts.append("<h2>The run</h2>" + _table(_run_summary(model, config, history, dataset, timings)))
    parts.append("<h2>Settings</h2>" + _table(sorted(config.items())))
    parts.append("<h2>Input preprocessing</h2>" + _table(sorted(model.preprocessing.items())))
    if history:
        keys: list[str] = []
        for entry in history:
            keys.extend(k for k in entry if k not in keys)
        parts.append(
            "<h2>History, per epoch</h2>" + _grid(keys, [[h.get(k, "") for k in keys] for h in history])
        )
    if data.confusion is not None:
        parts.extend(_errors_section(data, files))
    parts.extend(robustness_section(getattr(data, "robustness", None), files, _img))
    parts.extend(abstain_section(getattr(data, "abstain", None), files, _img))
    parts.extend(units_section(getattr(data, "units", None), files, _img))
    parts.extend(datamap_section(getattr(data, "datamap", None), files, _img))
    parts.extend(projection_section(getattr(data, "projection", None), files, _img))
    parts.extend(_pictures_section(data, files))
    parts.append("</div></body></html>\n")
    return "".join(parts)


def _layer_sizes(net) -> list:
    """[784, 512, 10] for an MLP; [784, "c32k3", "p2", ..., 10] for a convolutional network."""
    if not hasattr(net, "weights"):  # a core.convnet.ConvNetwork: its layers as the hidden-layer field writes them
        return [784, *conv_layer_tokens(net), net.n_classes]
    return [int(net.weights[0].shape[0])] + [int(w.shape[1]) for w in net.weights]


def _head(model, data, history: list[dict], run_name: str) -> list[str]:
    """The document's head, its title and headline (the test accuracy), and the figures' notes."""
    net = model.network
    final = history[-1] if history else {}
    accuracy = data.test_accuracy if data.test_accuracy is not None else final.get("test_accuracy")
    title = f"{model.dataset}: {'-'.join(map(str, _layer_sizes(net)))} {net.activation}/{net.output}"
    headline = (
        f"test accuracy {100 * accuracy:.2f}%" if isinstance(accuracy, (int, float)) else "not evaluated"
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>MNIST Explorer report: {html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(run_name or 'MNIST Explorer report')}: {html.escape(title)}</h1>",
        f"<p class='sub'>{html.escape(headline)} · written {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}"
        f" by MNIST Explorer {html.escape(CORE_VERSION)}</p>",
    ]
    parts.extend(f"<p class='note'>{html.escape(note)}</p>" for note in data.notes)
    return parts


def _run_summary(model, config: dict, history: list[dict], dataset, timings: dict | None) -> list[tuple]:
    """The run as (key, value) rows: what was trained on what, and how long it took."""
    net = model.network
    if hasattr(net, "weights"):
        n_params = sum(int(w.size) for w in net.weights) + sum(int(b.size) for b in net.biases if b is not None)
    else:
        n_params = sum(int(p.size) for p in net.params)
    seconds = sum(float(h.get("epoch_seconds", 0.0)) for h in history)
    speeds = [
        float(h["samples_per_second"])
        for h in history
        if isinstance(h.get("samples_per_second"), (int, float))
    ]
    summary = [
        ("dataset", model.dataset),
        ("classes", ", ".join(model.classes)),
        ("layer sizes", " - ".join(map(str, _layer_sizes(net)))),
        ("parameters", f"{n_params:,}"),
        ("hidden activation / output", f"{net.activation} / {net.output}"),
        ("seed", config.get("seed", "")),
        ("epochs trained", len(history)),
        ("training time", f"{seconds:.1f} s" if history else "unknown"),
        ("mean speed", f"{np.mean(speeds):,.0f} samples/s" if speeds else "unknown"),
        ("app version", CORE_VERSION),
    ]
    if dataset is not None:
        summary[1:1] = [
            ("dataset source", getattr(dataset, "source", "")),
            ("train / test images", f"{len(dataset.train_images):,} / {len(dataset.test_images):,}"),
        ]
    summary.extend((timings or {}).items())
    return summary


def _errors_section(data, files: dict[str, bytes]) -> list[str]:
    """The confusion matrix, each class's accuracy and precision, and the most confident mistakes."""
    metrics = insight.class_metrics(data.confusion)
    rows = [
        [
            name,
            int(metrics["support"][k]),
            f"{100 * metrics['recall'][k]:.2f}",
            f"{100 * metrics['precision'][k]:.2f}",
        ]
        for k, name in enumerate(data.class_names)
    ]
    return [
        "<h2>Errors</h2>" + _img(files.get("confusion.png"), "confusion matrix", "wide"),
        _grid(["class", "test images", "accuracy (recall) %", "precision %"], rows),
        _img(files.get("misclassified.png"), "the most confident mistakes", "wide"),
    ]


def _pictures_section(data, files: dict[str, bytes]) -> list[str]:
    """What the network imagines for each label and what its weights look for; the last div is left open."""
    kind = data.backquery_kind
    explain = (
        "Rashid's back query: each label run backwards through the sigmoid network."
        if kind == "back query"
        else "Optimised inputs: for each label, the input that the network finds most like it (gradient ascent "
        "on the input; Rashid's back query needs an all-sigmoid network)."
    )
    parts = [f"<h2>What the network imagines</h2><p>{html.escape(explain)}</p><div class='figs'>"]
    parts.extend(
        _img(files.get(f"backquery_{k}.png"), f"{kind}: {n}") for k, n in enumerate(data.class_names)
    )
    if data.conv is not None:  # a CNN: its filters and feature maps in place of the MLP's weight templates
        parts.append("</div>")
        parts.extend(conv_section(data.conv, files, _img))
        parts.append(f"<h2>What the weights look for</h2><p class='note'>{html.escape(MLP_ONLY_NOTE)}</p><div>")
        return parts
    parts.append(
        "</div><h2>What the weights look for</h2><p>The linearised network W0·W1·…: blue pixels count "
        "against the label, red for it.</p><div class='figs'>"
    )
    parts.extend(_img(files.get(f"weights_{k}.png"), f"weights: {n}") for k, n in enumerate(data.class_names))
    return parts
