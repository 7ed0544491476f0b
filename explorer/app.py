"""The `mnist-explorer` command: the app, or a headless subcommand.

Headless subcommands (`datasets`, `recipes`, `train`, `evaluate`, `bench`) run in `core.cli` and never import Qt;
`export` renders figures offscreen. With no subcommand the desktop app opens, after checking that it can (a
display, Qt's xcb plugin and the system libraries it needs): if not, one sentence and exit status 1, never Qt's
abort. An unknown subcommand is exit status 2 with one line naming the valid ones; it never opens the window.
"""

from __future__ import annotations

import difflib
import sys

from explorer import version

HEADLESS_COMMANDS = {"datasets", "recipes", "train", "evaluate", "bench", "sweep", "suspects"}
COMMANDS = ("datasets", "recipes", "train", "evaluate", "bench", "export", "sweep", "suspects")
EXIT_BAD_INPUT = 2
EXIT_NO_DISPLAY = 1
# options QApplication itself understands (`mnist-explorer -style fusion`); any other option is refused
QT_OPTIONS = {"-platform", "-platformpluginpath", "-platformtheme", "-plugin", "-qwindowgeometry", "-qwindowicon",
              "-qwindowtitle", "-reverse", "-session", "-style", "-stylesheet", "-widgetcount", "-display",
              "-geometry", "-name", "-title", "-visual", "-ncols", "-cmap", "-nograb", "-dograb", "-sync"}  # fmt: skip
USAGE = """usage: mnist-explorer [COMMAND] [ARGS]

With no command, the desktop app opens. The commands (each has --help):
  datasets   list the known datasets and where each is found
  recipes    list the recipes and the accuracy their sources report
  train      train headless with a progress line
  evaluate   test accuracy, loss, per-class accuracy, confusion matrix of a model file
  bench      time training and inference of the core on this machine
  export     write every figure of a model file into a folder: export MODEL.npz OUTDIR
  sweep      train a grid of settings in parallel on Dask: sweep --grid lr=0.1,0.01 ...
  suspects   train, then list the training images most likely mislabelled: suspects [--top N] [--json]
Options: --help, --version; Qt's own options (such as -style fusion) pass to the app."""


def command_error(argv: list[str]) -> str:
    """One line if `argv` is not a command line the app understands, else ""."""
    if not argv:
        return ""
    first = argv[0]
    if first.startswith("-"):
        if first.split("=")[0] in QT_OPTIONS:
            return ""
        commands = ", ".join(COMMANDS)
        return f"mnist-explorer: error: unknown option {first!r}; the commands are {commands} (see `mnist-explorer --help`)"
    close = difflib.get_close_matches(first, COMMANDS, n=1)
    hint = f"did you mean {close[0]!r}? The" if close else "the"
    return (
        f"mnist-explorer: error: unknown command {first!r}; {hint} commands are {', '.join(COMMANDS)}, or none "
        "to open the app (see `mnist-explorer --help`)"
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in HEADLESS_COMMANDS:
        from core.cli import main as cli_main

        return cli_main(argv)
    if argv and argv[0] == "export":
        from explorer.export_files import export_command

        return export_command(argv[1:])
    if argv and argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if argv and argv[0] in ("-V", "--version"):
        print(f"mnist-explorer {version()}")
        return 0
    error = command_error(argv)
    if error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    from explorer.display_check import display_problem

    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_NO_DISPLAY
    return run_app(argv)


def run_app(argv: list[str] | None = None) -> int:
    """Show the window and run the event loop until it closes."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1] + list(argv or []))
    window = build_window()
    window.show()
    return app.exec()


def build_window():
    """The ready main window (MNIST or the last dataset loaded, the last or default recipe selected), not shown,
    without entering the event loop: for `run_app`, tests and automation. Creates the QApplication if needed."""
    from PySide6.QtWidgets import QApplication

    from explorer.gc_policy import collect_on_gui_thread
    from explorer.main_window import APP_TITLE, MainWindow

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_TITLE)
    collect_on_gui_thread()  # cycles are collected on this thread only, never in the training thread
    window = MainWindow()
    window.restore_session()
    return window


if __name__ == "__main__":
    sys.exit(main())
