"""Drive the real window through what a person does, and save a screenshot of every step.

    python scripts/walkthrough.py [--out walkthrough] [--size 1280x720] [--images 2000] [--display :99]

The journeys: launch; train a ReLU run, pause, resume, stop it mid-epoch; train a sigmoid (Rashid) run and
compare the runs, hovering the plots; every insight tab on the sigmoid and the ReLU run; the epoch slider; the
rotation experiment; draw a digit; export the figures through the real folder dialog; quit while a run trains
(the question, then "Stop and quit"); and launch again, where the runs must be back.

It runs the app in a child process per launch, on the real X display (where there is none, it starts Xvfb on
`--display` at `--size` and stops it at the end), clicks and types with QTest on the real widgets, and captures
the whole screen (ImageMagick's `import`, else Qt's own grab) into `<out>/NN-step.png`. The app's data, cache and
settings live in a throw-away folder, shared by the two launches. Runs stay short: `--images` training images.
`--readme` also copies the shots the README shows into docs/screenshots/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

README_SHOTS = {  # walkthrough step -> the README's screenshot
    "compare-runs": "trainingPanel",
    "dataset-relu": "datasetPanel",
    "rotation-experiment": "augmentationPanel",
    "backquery-sigmoid": "backQueryPanel",
    "weights-relu": "weightsPanel",
    "errors-relu": "errorsPanel",
    "draw": "drawPanel",
    "map-relu": "projectionPanel",
    "datamap-relu": "dataMapPanel",
    "lesson": "robustnessPanel",
    "weights-cnn": "weightsPanelCnn",
}


# --- the parent: a display, two launches ----------------------------------------------------------------------
def start_xvfb(display: str, size: str) -> subprocess.Popen | None:
    if shutil.which("Xvfb") is None:
        raise SystemExit("No display and no Xvfb: install the xvfb package, or run this where a display is.")
    proc = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{display.lstrip(':')}").exists():
            return proc
        time.sleep(0.05)
    proc.terminate()
    raise SystemExit(f"Xvfb did not start on {display}.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "walkthrough"))
    parser.add_argument("--size", default="1280x720", help="the screen Xvfb makes when there is no display")
    parser.add_argument("--display", default=":99", help="where to start Xvfb when DISPLAY is unset")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--readme", action="store_true", help="copy the README's screenshots to docs/screenshots")
    parser.add_argument("--phase", choices=["main", "relaunch"], help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from walkthrough_steps import run_phase

        return run_phase(args.phase, Path(args.out), args.images)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    xvfb = None
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)  # the real window, not offscreen
    if not env.get("DISPLAY"):
        xvfb = start_xvfb(args.display, args.size)
        env["DISPLAY"] = args.display
    home = Path(tempfile.mkdtemp(prefix="mnist-explorer-walkthrough-"))
    for key in ("DATA", "CACHE", "CONFIG"):
        env[f"MNIST_EXPLORER_{key}_DIR"] = str(home / key.lower())
    try:
        for phase in ("main", "relaunch"):
            cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, "--out", str(out),
                   "--images", str(args.images)]  # fmt: skip
            result = subprocess.run(cmd, env=env, cwd=ROOT, timeout=1800)
            if result.returncode:
                print(f"walkthrough: the {phase} launch ended with status {result.returncode}", file=sys.stderr)
                return result.returncode
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
        shutil.rmtree(home, ignore_errors=True)
    shots = sorted(out.glob("*.png"))
    print(f"walkthrough: {len(shots)} screenshots in {out}")
    if args.readme:
        copy_readme_shots(out)
    return 0


def copy_readme_shots(out: Path) -> None:
    target = ROOT / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    for shot in sorted(out.glob("*.png")):
        step = shot.stem.split("-", 1)[1]
        if step in README_SHOTS:
            shutil.copyfile(shot, target / f"{README_SHOTS[step]}.png")
            print("README:", target / f"{README_SHOTS[step]}.png")


if __name__ == "__main__":
    sys.exit(main())
