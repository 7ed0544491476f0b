"""The `mnist-explorer` command: the app, or a headless subcommand.

Headless subcommands (`datasets`, `recipes`, `train`, `evaluate`, `bench`) run in `core.cli` and never import Qt;
`export` renders figures offscreen. With no subcommand the desktop app opens.
"""

from __future__ import annotations

import sys

HEADLESS_COMMANDS = {"datasets", "recipes", "train", "evaluate", "bench"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in HEADLESS_COMMANDS:
        from core.cli import main as cli_main

        return cli_main(argv)
    if argv and argv[0] == "export":
        from explorer.export import export_command

        return export_command(argv[1:])
    from explorer.main_window import run_app

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
