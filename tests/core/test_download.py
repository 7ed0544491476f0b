"""`core.download` against a local HTTP server on 127.0.0.1 serving small gzip files made here.

The server's first path segment picks its behaviour: `ok` serves the file, `cut` closes the connection halfway,
`stall` sends half and then goes silent, `trickle` sends 20 bytes every 50 ms, `big` serves more content than
expected, `missing` answers 404.
"""

import gzip
import hashlib
import http.server
import socket
import threading
import time

import numpy as np
import pytest

from core import datasets, download
from core.readers import DatasetError
from tests.core.test_readers import idx_bytes, sample

NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _small_dataset():
    (x, y), (tx, ty) = sample(12, seed=10), sample(5, seed=11)
    contents = dict(zip(NAMES, (idx_bytes(x), idx_bytes(y), idx_bytes(tx), idx_bytes(ty)), strict=True))
    return (x, y, tx, ty), contents


class Server:
    def __init__(self, files: dict[str, bytes]):
        self.files, self.requests, self.release = files, [], threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                mode, _, name = self.path.strip("/").partition("/")
                server.requests.append(self.path)
                body = server.files.get(name)
                if mode == "missing" or body is None:
                    self.send_error(404)
                    return
                if mode == "big":
                    body = gzip.compress(gzip.decompress(body) + b"\x00" * 1000)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "cut":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if mode == "trickle":  # never silent for long, but far too slow: 20 bytes every 50 ms
                    for i in range(0, len(body), 20):
                        if server.release.is_set():
                            return
                        self.wfile.write(body[i : i + 20])
                        self.wfile.flush()
                        time.sleep(0.05)
                    return
                if mode == "stall":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    server.release.wait(30)
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(monkeypatch):
    """A server with the four files of a small dataset, whose checksums stand in for Fashion-MNIST's."""
    arrays, contents = _small_dataset()
    table = {n: (hashlib.sha256(c).hexdigest(), len(c), len(gzip.compress(c))) for n, c in contents.items()}
    monkeypatch.setitem(download.FILES, "fashion-mnist", table)
    server = Server({n: gzip.compress(c) for n, c in contents.items()})
    yield server, arrays
    server.close()


def _left_in(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else None


def test_download_fetches_checks_and_places_the_four_files(served, tmp_path):
    server, (x, y, tx, ty) = served
    calls = []
    dest = download.download("fashion-mnist", dest=tmp_path / "fm", mirrors=[server.url + "/ok/"],
                             progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert dest == tmp_path / "fm" and _left_in(dest) == sorted(NAMES)
    total = sum(len(f) for f in server.files.values())
    assert calls[-1] == (total, total)
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:], strict=False))
    ds = datasets.load(dest)
    np.testing.assert_array_equal(ds.train_images, x)
    np.testing.assert_array_equal(ds.test_labels, ty)


def test_download_goes_to_the_user_data_folder_where_load_finds_it(served, monkeypatch):
    server, (x, *_) = served
    monkeypatch.setattr(datasets, "SYSTEM_FOLDERS", {})
    dest = datasets.download("fashion-mnist", mirrors=[server.url + "/ok"])
    assert dest == datasets.data_dir() / "fashion-mnist"
    ds = datasets.load("fashion-mnist")
    assert ds.source == str(dest) and ds.class_names == datasets.FASHION_CLASSES
    np.testing.assert_array_equal(ds.train_images, x)


def test_the_next_mirror_is_tried_and_good_files_are_kept(served, tmp_path):
    server, _ = served
    dest = download.download(
        "fashion-mnist", dest=tmp_path, mirrors=[server.url + "/missing/", server.url + "/ok/"]
    )
    assert _left_in(dest) == sorted(NAMES) and len(server.requests) == 8
    download.download("fashion-mnist", dest=tmp_path, mirrors=[server.url + "/missing/"])
    assert len(server.requests) == 8  # all four already there with the right checksum: nothing fetched


@pytest.mark.parametrize("existing", [False, True])
def test_a_wrong_checksum_is_refused_and_nothing_is_left(served, tmp_path, monkeypatch, existing):
    server, _ = served
    table = dict(download.FILES["fashion-mnist"])
    sha, size, gz = table["t10k-images-idx3-ubyte.gz"]
    table["t10k-images-idx3-ubyte.gz"] = ("0" * 64, size, gz)
    monkeypatch.setitem(download.FILES, "fashion-mnist", table)
    dest = tmp_path / "fm"
    if existing:
        dest.mkdir()
        (dest / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte.gz: checksum mismatch") as info:
        download.download("fashion-mnist", dest=dest, mirrors=[server.url + "/ok/"])
    assert "sudo apt install dataset-fashion-mnist" in str(info.value)
    assert _left_in(dest) == (["notes.txt"] if existing else None)


@pytest.mark.parametrize(
    "mode, problem",
    [
        ("cut", "the connection closed after"),
        ("big", "larger than the expected"),
        ("stall", "no data for 0.5 s"),
        ("trickle", "bytes arrived in 1 s, too slow to finish"),
        ("missing", "HTTP 404"),
    ],
)
def test_failed_downloads_leave_nothing_behind(served, tmp_path, mode, problem):
    server, _ = served
    dest = tmp_path / "fm"
    with pytest.raises(DatasetError, match=problem) as info:
        download.download(
            "fashion-mnist", dest=dest, mirrors=[f"{server.url}/{mode}/"], timeout=0.5, slow=(2000, 1.0)
        )
    assert str(info.value).startswith(
        "Could not download fashion-mnist"
    ) and "train-images-idx3-ubyte.gz" in str(info.value)
    assert _left_in(dest) is None


def test_a_failure_on_the_last_file_removes_the_first_three(served, tmp_path):
    server, _ = served
    del server.files["t10k-labels-idx1-ubyte.gz"]
    dest = tmp_path / "fm"
    dest.mkdir()
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz: HTTP 404"):
        download.download("fashion-mnist", dest=dest, mirrors=[server.url + "/ok/"])
    assert len(server.requests) == 4 and _left_in(dest) == []


def test_offline_says_how_to_get_it(served, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]  # nothing listens here once the socket is closed
    with pytest.raises(DatasetError) as info:
        download.download("fashion-mnist", dest=tmp_path / "fm", mirrors=[f"http://127.0.0.1:{closed_port}/"])
    message = str(info.value)
    assert "Connection refused" in message or "ConnectionRefusedError" in message
    assert "sudo apt install dataset-fashion-mnist" in message and "open a folder that holds" in message
    assert not (tmp_path / "fm").exists()


def test_raising_from_progress_cancels_and_cleans_up(served, tmp_path):
    server, _ = served

    def cancel(done, total):
        if done > 100:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download.download(
            "fashion-mnist", dest=tmp_path / "fm", mirrors=[server.url + "/ok/"], progress=cancel
        )
    assert not (tmp_path / "fm").exists()


def test_unknown_dataset_name():
    with pytest.raises(DatasetError, match="No download is known for 'cifar'"):
        download.download("cifar")
