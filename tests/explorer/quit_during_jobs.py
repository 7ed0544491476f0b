"""Run by test_main_window: train, open each insight tab (each starts its jobs), close the window mid-run, quit.
Whatever this prints on stderr besides Qt's own offscreen-platform notice is a failure."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

INSIGHT_TABS = ("errorsPanel", "weightsPanel", "backQueryPanel", "datasetPanel")


def main() -> None:
    app = QApplication([])
    from explorer.app import build_window

    window = build_window()
    window.show()
    window.findChild(QWidget, "trainLimitSpin").setValue(3000)
    window.findChild(QWidget, "epochsSpin").setValue(3)
    window.findChild(QWidget, "trainButton").click()

    def close_after_first_epoch() -> None:
        if window.state.runs and window.state.runs[-1].history:
            timer.stop()
            for name in INSIGHT_TABS:  # every insight panel starts its heavy job for the new model
                window.tabs.setCurrentWidget(window.findChild(QWidget, name))
                app.processEvents()
            window.close()
            QTimer.singleShot(300, app.quit)

    timer = QTimer()
    timer.timeout.connect(close_after_first_epoch)
    timer.start(20)
    app.exec()
    print("quit cleanly")


if __name__ == "__main__":
    main()
