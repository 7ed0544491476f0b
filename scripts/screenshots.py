"""Regenerate the README's screenshots: the real window, driven through the walkthrough at 1280x720.

    python scripts/screenshots.py [--out walkthrough] [--images 2000]

The same as `python scripts/walkthrough.py --readme`: every step's screenshot goes to `--out`, and the ones the
README shows (the training tab comparing runs, then the Dataset, Augmentation, Back query, Weights, Errors and Draw
tabs) are copied to docs/screenshots/<panel objectName>.png. Where there is no display it starts Xvfb.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from walkthrough import main as walkthrough_main  # noqa: E402


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    return walkthrough_main([*argv, "--readme"])


if __name__ == "__main__":
    sys.exit(main())
