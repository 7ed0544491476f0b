"""Can the window open here? Checked before the QApplication exists, because Qt's own answer to "no display" or
"the xcb plugin cannot load" is an abort (a core dump and exit 134) after a paragraph about reinstalling.

`display_problem()` returns "" when the window can open, else one sentence saying what is missing and what to do.
It looks at what Qt would try: `QT_QPA_PLATFORM` if set, else Wayland when the session has one, else X11 (xcb).
For xcb it loads Qt's xcb plugin with the dynamic loader, which names the first system library missing
(Qt 6.5 and later need libxcb-cursor.so.0, which many desktops lack), and then connects to the X server.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
import sys
from pathlib import Path

# the Debian / Ubuntu package that holds each library Qt's xcb plugin needs and a minimal system may lack
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}
_MISSING = re.compile(r"([\w.+-]+\.so(?:\.[\d.]+)?): cannot open shared object file")
HELP_HINT = "see `mnist-explorer --help` for the commands that need no display"


def display_problem(env: dict | None = None, platform: str | None = None) -> str:
    """ "" if the app can open its window here, else one sentence: what is missing and what to do."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") and "bsd" not in platform:
        return ""  # Windows and macOS always have their one platform plugin and a screen
    wanted = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if not wanted:
        if env.get("WAYLAND_DISPLAY"):
            return ""  # Qt picks Wayland (falling back to X11 on its own)
        wanted = "xcb"
    if wanted == "wayland" or wanted.startswith("wayland-"):
        if not env.get("WAYLAND_DISPLAY"):
            return (
                "MNIST Explorer cannot open its window: QT_QPA_PLATFORM asks for Wayland but no Wayland display "
                f"is running (WAYLAND_DISPLAY is not set); start it from a desktop session, or {HELP_HINT}."
            )
        return ""
    if wanted != "xcb":
        return ""  # offscreen, vnc, eglfs and the like need no X server
    display = env.get("DISPLAY", "")
    if not display:
        return (
            "MNIST Explorer cannot open its window: no display was found (DISPLAY is not set); start it from a "
            f"desktop session (or with `ssh -X`), or {HELP_HINT}."
        )
    missing = missing_xcb_library()
    if missing:
        package = DEBIAN_PACKAGES.get(missing)
        fix = (
            f"install it with `sudo apt install {package}` on Debian or Ubuntu (the package {package})"
            if package
            else "install the system package that provides it"
        )
        return (
            f"MNIST Explorer cannot open its window: Qt's X11 (xcb) plugin needs the system library {missing}, "
            f"which is not installed; {fix}."
        )
    if not can_connect(display):
        return (
            f"MNIST Explorer cannot open its window: the display {display} (DISPLAY) does not answer or refuses "
            f"the connection; check that the X server is running and that you may use it, or {HELP_HINT}."
        )
    return ""


def xcb_plugin_path() -> Path | None:
    """Qt's xcb platform plugin file, or None if this Qt has none."""
    try:
        from PySide6.QtCore import QLibraryInfo  # no QApplication needed to ask where the plugins are

        plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    except Exception:  # noqa: BLE001 - without QtCore the app cannot start anyway; Qt will say so itself
        return None
    candidates = sorted((plugins / "platforms").glob("libqxcb*.so*"))
    return candidates[0] if candidates else None


def missing_library(path: str | Path) -> str:
    """The first shared library the loader cannot find when loading `path` ("" if it loads or fails otherwise)."""
    try:
        ctypes.CDLL(str(path), mode=os.RTLD_LAZY if hasattr(os, "RTLD_LAZY") else 0)
    except OSError as exc:
        found = _MISSING.search(str(exc))
        if found and Path(found.group(1)).name != Path(path).name:
            return found.group(1)
    return ""


def missing_xcb_library() -> str:
    plugin = xcb_plugin_path()
    return missing_library(plugin) if plugin is not None else ""


def can_connect(display: str) -> bool:
    """Whether an X server answers at `display` and lets us in (libxcb's own connect, as Qt does it)."""
    name = ctypes.util.find_library("xcb")
    if name is None:
        return True  # cannot tell without libxcb; leave it to Qt
    try:
        xcb = ctypes.CDLL(name)
    except OSError:
        return True
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    screen = ctypes.c_int(0)
    connection = xcb.xcb_connect(display.encode(), ctypes.byref(screen))
    if not connection:
        return False
    try:
        return xcb.xcb_connection_has_error(connection) == 0
    finally:
        with contextlib.suppress(Exception):
            xcb.xcb_disconnect(connection)
