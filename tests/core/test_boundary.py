"""The boundary: importing `core` and every module under it (found with pkgutil, so modules added later are
covered too) in a fresh interpreter pulls in no Qt, no pyqtgraph, no superqt and no plotting library."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("PySide6", "PyQt", "pyqtgraph", "superqt", "matplotlib")

SCRIPT = f"""
import importlib, json, pkgutil, sys
import core
modules = ["core"] + sorted(m.name for m in pkgutil.walk_packages(core.__path__, "core."))
for name in modules:
    importlib.import_module(name)
loaded = sorted(n for n in sys.modules if n.startswith({FORBIDDEN!r}))
print(json.dumps({{"modules": modules, "gui": loaded, "core_file": core.__file__}}))
"""


def test_core_imports_no_gui_or_plotting_library():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["core_file"]).resolve().parent == ROOT / "core"
    assert {"core.datasets", "core.readers", "core.download", "core.paths"} <= set(report["modules"])
    assert report["gui"] == [], f"core pulled in {report['gui']}"
