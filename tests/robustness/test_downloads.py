"""Downloads from a hostile local server (127.0.0.1): each failure is one clear DatasetError, nothing is left behind,
and the caller goes on: the next download from a good mirror brings the real MNIST, checked against the real
checksums (the server serves the bundled MNIST files, so nothing is monkeypatched in the core tests).

Modes (the first path segment): `ok`, `stall-headers` (accepts, never answers), `stall-body` (sends a third, then
goes silent), `trickle` (100 bytes every half second), `short` (claims the full length, sends half, closes),
`garbage` (random bytes of the right length), `garbage-gzip` (a valid gzip of random content), `bomb` (a small gzip
that inflates to 200 MB), `endless` (no length, a gzip header whose comment never ends), `huge-length` (claims a
terabyte), `wrong-dataset` (Fashion-MNIST's files under MNIST's names), `redirect-loop`, `error` (HTTP 500),
`fashion` (the real Fashion-MNIST files). The GUI test drives File > Download Fashion-MNIST… against the same
server and checks the window stays alive, says what went wrong in one sentence, and keeps the loaded dataset.
"""

from __future__ import annotations

import gzip
import http.server
import os
import signal
import socket
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import resources
from core import datasets, download
from core.readers import DatasetError

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FAILURES = {
    "stall-headers": "no data for",
    "stall-body": "no data for",
    "short": "the connection closed after",
    "trickle": "too slow to finish",
    "garbage": "not a valid gzip file",
    "garbage-gzip": "its content is 4096 bytes",
    "bomb": "larger than the expected",
    "endless": "more than",
    "huge-length": "the server offers",
    "redirect-loop": "HTTP 30",
    "error": "HTTP 500",
}


class HostileServer:
    def __init__(self):
        self.release = threading.Event()
        self.files = {p.name: p.read_bytes() for p in resources.MNIST_DIR.glob("*.gz")}
        self.fashion = (
            {p.name: p.read_bytes() for p in FASHION_DIR.glob("*.gz")} if FASHION_DIR.is_dir() else {}
        )
        self.bomb = gzip.compress(b"\x00" * (200 << 20), 1)
        rng = np.random.default_rng(7)
        self.noise = rng.integers(0, 256, 1 << 20, dtype=np.uint8).tobytes()
        # made up front, so that tracemalloc in the test measures the client, not this server
        self.garbage = (self.noise * 10)[: len(self.files["train-images-idx3-ubyte.gz"])]
        self.garbage_gzip = gzip.compress(self.noise[:4096])
        self.comment = bytes(np.frombuffer(self.noise, np.uint8) | 1)  # no NUL byte ends it
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send_body(self, body: bytes, length: int | None = None):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                mode, _, name = self.path.strip("/").partition("/")
                body = server.files.get(name, b"")
                try:
                    if mode == "ok":
                        self.send_body(body)
                    elif mode == "stall-headers":
                        server.release.wait(60)
                    elif mode == "stall-body":
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body[: len(body) // 3])
                        self.wfile.flush()
                        server.release.wait(60)
                    elif mode == "trickle":  # never silent for a whole second, but 200 bytes a second
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        for i in range(0, len(body), 100):
                            if server.release.wait(0.5):
                                break
                            self.wfile.write(body[i : i + 100])
                            self.wfile.flush()
                    elif mode == "short":
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body[: len(body) // 2])
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                    elif mode == "garbage":
                        self.send_body(server.garbage)
                    elif mode == "garbage-gzip":
                        self.send_body(server.garbage_gzip)
                    elif mode == "bomb":
                        self.send_body(server.bomb)
                    elif mode == "endless":  # a gzip header whose comment never ends: no content, ever
                        self.send_response(200)
                        self.end_headers()
                        self.wfile.write(b"\x1f\x8b\x08\x10\x00\x00\x00\x00\x00\xff")
                        while not server.release.is_set():
                            self.wfile.write(server.comment)
                    elif mode == "huge-length":
                        self.send_body(b"\x1f\x8b", length=10**12)
                    elif mode in ("wrong-dataset", "fashion"):
                        self.send_body(server.fashion[name])
                    elif mode == "redirect-loop":
                        self.send_response(302)
                        self.send_header("Location", self.path)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    else:
                        self.send_error(500)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should
                self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def server():
    s = HostileServer()
    yield s
    s.close()


def _hang_guard(signum, frame):
    raise TimeoutError("download() hung")


def test_hostile_servers_give_one_clear_error_and_leave_nothing(server, tmp_path, figures):
    previous = signal.signal(signal.SIGALRM, _hang_guard)
    modes = dict(FAILURES)
    if server.fashion:
        modes["wrong-dataset"] = "checksum mismatch"
    user_file = tmp_path / "existing" / "notes.txt"
    user_file.parent.mkdir()
    user_file.write_text("the user's own file")
    worst_peak, slowest = 0, 0.0
    try:
        for mode, problem in modes.items():
            for dest in (tmp_path / f"new-{mode}", user_file.parent):
                signal.alarm(60)
                tracemalloc.start()
                started = time.perf_counter()
                try:
                    with pytest.raises(DatasetError) as info:
                        download.download(
                            "mnist", dest=dest, mirrors=[f"{server.url}/{mode}/"], timeout=1, slow=(2048, 2.0)
                        )
                finally:
                    signal.alarm(0)
                    worst_peak = max(worst_peak, tracemalloc.get_traced_memory()[1])
                    tracemalloc.stop()
                slowest = max(slowest, time.perf_counter() - started)
                message = str(info.value)
                assert message.startswith("Could not download mnist") and problem in message, (mode, message)
                assert "train-images-idx3-ubyte.gz" in message and "\n" not in message
                if dest == user_file.parent:
                    assert sorted(os.listdir(dest)) == ["notes.txt"], (mode, os.listdir(dest))
                else:
                    assert not dest.exists(), (mode, list(dest.iterdir()))
            figures(f"{mode:14s} -> {message.split(': ', 1)[1][:110]}")
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert user_file.read_text() == "the user's own file"
    assert worst_peak < 16 << 20  # the 200 MB bomb is never inflated in memory
    figures(
        f"{len(modes)} hostile modes x 2 destinations refused; nothing left behind; "
        f"largest allocation {worst_peak / 2**20:.1f} MB (the bomb inflates to 200 MB); slowest refusal {slowest:.1f} s"
    )

    # the caller goes on: a bad mirror, then a good one, brings the real MNIST, checked and loadable
    dest = tmp_path / "good"
    seen = []
    folder = download.download(
        "mnist", dest=dest, mirrors=[f"{server.url}/garbage/", f"{server.url}/ok/"], timeout=5,
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert sorted(os.listdir(folder)) == sorted(download.FILES["mnist"])
    ds = datasets.load(folder, cache=False)
    reference = datasets.load("mnist")
    assert ds.n_train == 60_000 and ds.n_test == 10_000
    np.testing.assert_array_equal(ds.test_images, reference.test_images)
    assert seen[-1][0] == seen[-1][1] == sum(len(server.files[name]) for name in download.FILES["mnist"])
    figures(
        "afterwards: garbage mirror then good mirror -> the real MNIST (60,000 + 10,000), checksums verified"
    )


def test_the_app_survives_a_failed_download(server, qtbot, monkeypatch, figures):
    """File > Download Fashion-MNIST… against a stalling and a garbage mirror: one sentence, the app goes on."""
    from PySide6.QtCore import QThreadPool

    from explorer.app import build_window

    baseline = app_threads()
    window = build_window()
    qtbot.addWidget(window)
    state = window.state
    before = state.dataset
    assert before is not None and before.name == "mnist"
    messages = []
    state.statusMessage.connect(messages.append)
    real = download.download
    for mode in ("stall-body", "garbage"):
        monkeypatch.setitem(download.MIRRORS, "fashion-mnist", (f"{server.url}/{mode}/",))
        # the app's own call, with a 1 s stall limit instead of 30 s so the test is quick
        monkeypatch.setattr(datasets, "download", lambda name, **kw: real(name, **{**kw, "timeout": 1}))
        count = len(messages)
        window.findChild(type(window.action_download), "actionDownloadFashion").trigger()
        qtbot.waitUntil(lambda c=count: len(messages) > c, timeout=30_000)
        error = messages[-1]
        assert error.startswith("Could not download fashion-mnist") and "\n" not in error, error
        assert state.dataset is before  # the loaded MNIST is untouched
        figures(f"GUI, {mode}: the window stays up and says: {error[:100]}…")
    assert not (download.data_dir() / "fashion-mnist").exists()
    if server.fashion:  # and then a good mirror: the app downloads, checks and switches to Fashion-MNIST
        monkeypatch.setitem(download.MIRRORS, "fashion-mnist", (f"{server.url}/fashion/",))
        window.findChild(type(window.action_download), "actionDownloadFashion").trigger()
        qtbot.waitUntil(
            lambda: state.dataset is not None and state.dataset.name == "fashion-mnist", timeout=60_000
        )
        assert state.dataset.n_train == 60_000
        assert sorted(p.name for p in (download.data_dir() / "fashion-mnist").iterdir()) == sorted(
            server.fashion
        )
        figures("GUI, then a good mirror: Fashion-MNIST downloaded, checked and loaded (60,000 + 10,000)")
    window.close()
    qtbot.waitUntil(lambda: app_threads() <= baseline, timeout=10_000)  # the download worker has ended
    # and nothing is left running: a job the close could not cancel (decoding the new dataset) ends on its own
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0, timeout=10_000)


def app_threads() -> set[threading.Thread]:
    """Live threads, leaving out the test server's own request handlers (a stalled one waits for the release)."""
    return {t for t in threading.enumerate() if "process_request_thread" not in t.name}
