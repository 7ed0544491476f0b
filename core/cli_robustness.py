"""`mnist-explorer evaluate MODEL --robustness`: the robustness curves (core/robustness.py) added to evaluate's
result, and printed as a table without --json."""

from __future__ import annotations

from core import robustness


def add_robustness(result: dict, model, dataset) -> dict:
    """`result` (evaluate's) gains `robustness` ({"rotation" | "shift" | "noise" | "thickness": [{"amount",
    "accuracy"}, ...]}, amount 0 first), `robustness_units` and `robustness_seconds`."""
    found = robustness.curves(model, dataset.test_images, dataset.test_labels)
    result["robustness"] = robustness.as_json(found)
    result["robustness_units"] = dict(robustness.UNITS)
    result["robustness_seconds"] = round(sum(c.seconds for c in found.values()), 3)
    return result


def print_robustness(result: dict) -> None:
    """One block per perturbation: each amount's accuracy, and its change from the plain test set."""
    curves, units = result["robustness"], result["robustness_units"]
    print(f"robustness on {result['n_test']:,} test images ({result['robustness_seconds']:.1f} s):")
    for name, points in curves.items():
        print(f"  {name} ({units[name]}):")
        plain = points[0]["accuracy"]
        for point in sorted(points, key=lambda p: p["amount"]):
            change = point["accuracy"] - plain
            delta = f"{100 * change:+7.2f} points" if point["amount"] != 0 else "  (the plain test set)"
            print(f"    {point['amount']:>6g}   {100 * point['accuracy']:6.2f}%  {delta}")
