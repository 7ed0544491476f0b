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
        from explorer.export_files import export_command

        return export_command(argv[1:])
    from explorer.main_window import run_app

    return run_app(argv)


def build_window():
    """The ready main window (MNIST or the last dataset loaded, the last or default recipe selected), not shown,
    without entering the event loop: for `run_app`, tests and automation. Creates the QApplication if needed."""
    from PySide6.QtWidgets import QApplication

    from explorer.main_window import APP_TITLE, MainWindow

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_TITLE)
    window = MainWindow()
    window.restore_session()
    return window


if __name__ == "__main__":
    sys.exit(main())
