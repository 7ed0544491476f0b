"""Download MNIST or Fashion-MNIST from their canonical mirrors, checked, with nothing partial left behind.

Each of the four gzip files is streamed into a temp file in the destination folder while its decompressed content
is hashed; a file counts only when its gzip stream is complete and the SHA-256 of its content matches the table
below (which holds whichever way a mirror compressed it). When all four are good they are renamed into place.
Any failure (no connection, a cut or stalled connection, a wrong size, a checksum mismatch, or an exception raised
by the progress callback to cancel) removes every temp file and raises `DatasetError`. Uses urllib only.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path

from core import __version__
from core.atomic import give_default_mode
from core.paths import data_dir
from core.readers import DatasetError

MIRRORS = {  # tried in order, file names appended
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}

# file name -> (SHA-256 of the decompressed content, decompressed size, the canonical gzip's size for progress)
FILES = {
    "mnist": {
        "train-images-idx3-ubyte.gz": (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47040016, 9912422),
        "train-labels-idx1-ubyte.gz": (
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60008, 28881),
        "t10k-images-idx3-ubyte.gz": (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7840016, 1648877),
        "t10k-labels-idx1-ubyte.gz": (
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10008, 4542),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47040016, 26421880),
        "train-labels-idx1-ubyte.gz": (
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60008, 29515),
        "t10k-images-idx3-ubyte.gz": (
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7840016, 4422102),
        "t10k-labels-idx1-ubyte.gz": (
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10008, 5148),
    },
}  # fmt: skip

HOW_TO_GET = {
    "mnist": "MNIST ships with the app; if it is missing, reinstall mnist-explorer or open a folder that holds "
    "its four files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
    "t10k-labels-idx1-ubyte.gz).",
    "fashion-mnist": "Install it with `sudo apt install dataset-fashion-mnist`, download it when you are online, "
    "or open a folder that holds its four files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz).",
}

CHUNK = 1 << 16  # bytes per read from the connection
# A server trickling bytes never trips the timeout: a file arriving slower than SLOW_RATE bytes/s on average,
# once SLOW_AFTER seconds have passed, is given up.
SLOW_RATE = 2048
SLOW_AFTER = 60.0
Progress = Callable[[int, int], None]  # (done_bytes, total_bytes); raise from it to cancel


class _Failed(Exception):
    """One mirror failed for one file; the next mirror is tried."""


class _Tracker:
    """Sums bytes over the four files; the total starts from the canonical sizes and is corrected per response."""

    def __init__(self, callback: Progress | None, estimates: dict[str, int]):
        self.callback, self.estimates = callback, dict(estimates)
        self.done = 0

    def start(self, name: str, length: int | None) -> None:
        if length is not None:
            self.estimates[name] = length
        self.report()

    def add(self, n: int) -> None:
        self.done += n
        self.report()

    def report(self) -> None:
        if self.callback is not None:
            self.callback(self.done, max(self.done, sum(self.estimates.values())))


class _GunzipHash:
    """Decompresses a gzip stream as it arrives (any number of members), hashing the content, capped at `limit`."""

    def __init__(self, limit: int):
        self.inflater, self.sha, self.size, self.limit = zlib.decompressobj(31), hashlib.sha256(), 0, limit

    def feed(self, data: bytes) -> None:
        while data:
            # at most 1 MB out per call (the rest waits in unconsumed_tail): a gzip bomb's 64 KB chunk would
            # otherwise inflate to tens of MB at once
            plain = self.inflater.decompress(data, min(1 << 20, self.limit - self.size + 1))
            self.size += len(plain)
            self.sha.update(plain)
            if self.size > self.limit:
                raise _Failed(f"its content is larger than the expected {self.limit} bytes")
            if self.inflater.eof:
                data = self.inflater.unused_data
                if data.strip(b"\0"):  # another gzip member follows
                    self.inflater = zlib.decompressobj(31)
                else:
                    data = b""
            else:
                data = self.inflater.unconsumed_tail

    def check(self, sha256: str, size: int) -> None:
        if not self.inflater.eof:
            raise _Failed("the gzip stream is cut short (an incomplete download)")
        if self.size != size:
            raise _Failed(f"its content is {self.size} bytes, expected {size}")
        got = self.sha.hexdigest()
        if got != sha256:
            raise _Failed(
                f"checksum mismatch (SHA-256 of the content {got[:16]}..., expected {sha256[:16]}...)"
            )


def _describe(e: BaseException, timeout: float) -> str:
    reason = (
        e.reason if isinstance(e, urllib.error.URLError) and not isinstance(e, urllib.error.HTTPError) else e
    )
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return f"no data for {timeout:g} s (the connection stalled or timed out)"
    if isinstance(e, urllib.error.HTTPError):  # one line: urllib's redirect-loop reason spans three
        return " ".join(f"HTTP {e.code} {e.reason}".split())
    return " ".join(f"{type(reason).__name__}: {reason}".split()) if str(reason) else type(reason).__name__


def _stream(
    url: str, out, spec: tuple, timeout: float, tracker: _Tracker, name: str, slow: tuple[float, float]
) -> None:
    """Copy one URL into `out`, checking the size, the pace (`slow`: bytes/s, after seconds) and the content's
    checksum on the way."""
    sha256, size, _ = spec
    max_bytes = size + size // 8 + 4096  # gzip of incompressible data is barely larger than the data
    request = urllib.request.Request(url, headers={"User-Agent": f"mnist-explorer/{__version__}"})
    received = 0
    slow_rate, slow_after = slow
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=timeout) as response:
        header = response.headers.get("Content-Length")
        length = int(header) if header and header.isdigit() else None
        if length is not None and length > max_bytes:
            raise _Failed(f"the server offers {length} bytes; the file is at most {max_bytes}")
        tracker.start(name, length)
        gunzip = _GunzipHash(size)
        while chunk := response.read1(
            CHUNK
        ):  # read1: what has arrived, so the pace is checked as bytes trickle
            received += len(chunk)
            if received > max_bytes:
                raise _Failed(f"the server sent more than {max_bytes} bytes")
            elapsed = time.monotonic() - started
            if elapsed > slow_after and received < slow_rate * elapsed:
                raise _Failed(
                    f"only {received:,} bytes arrived in {elapsed:.0f} s, too slow to finish (try again later)"
                )
            out.write(chunk)
            gunzip.feed(chunk)
            tracker.add(len(chunk))
    if length is not None and received != length:
        raise _Failed(f"the connection closed after {received} of {length} bytes")
    gunzip.check(sha256, size)


def _fetch(
    dataset: str, name: str, spec: tuple, mirrors, dest: Path, timeout: float, tracker: _Tracker, slow
) -> str:
    """Download one file into a temp file in `dest`, trying each mirror; returns the temp file's path."""
    problems = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + name
        fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{name}.", suffix=".part")
        mark = tracker.done
        try:
            with os.fdopen(fd, "wb") as out:
                give_default_mode(out.fileno(), tmp)  # mkstemp's 0600 would make the dataset private
                _stream(url, out, spec, timeout, tracker, name, slow)
            return tmp
        except _Failed as e:
            problems.append(f"{url}: {e}")
        except zlib.error as e:  # said plainly: zlib's own words ("Error -3 ...") mean nothing to a user
            problems.append(f"{url}: the server sent something that is not a valid gzip file ({e})")
        except (OSError, http.client.HTTPException, ValueError) as e:
            problems.append(f"{url}: {_describe(e, timeout)}")
        except BaseException:
            os.unlink(tmp)
            raise
        os.unlink(tmp)
        tracker.done = mark  # the next mirror starts this file again
    raise DatasetError(f"Could not download {dataset} ({'; '.join(problems)}). {HOW_TO_GET[dataset]}")


def _already_good(path: Path, spec: tuple) -> bool:
    """True when `path` is a complete gzip file whose content matches the checksum: no need to fetch it."""
    if not path.is_file():
        return False
    gunzip = _GunzipHash(spec[1])
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                gunzip.feed(chunk)
        gunzip.check(spec[0], spec[1])
    except (_Failed, OSError, zlib.error):
        return False
    return True


def download(
    name: str,
    dest: Path | str | None = None,
    progress: Progress | None = None,
    mirrors: list[str] | tuple[str, ...] | None = None,
    timeout: float = 30,
    slow: tuple[float, float] = (SLOW_RATE, SLOW_AFTER),
) -> Path:
    """Fetch dataset `name` ("mnist" or "fashion-mnist") into `dest` (default: the user's data folder / name).

    `progress(done_bytes, total_bytes)` is called as bytes arrive; `mirrors` replaces the canonical base URLs;
    `timeout` is the seconds a connection may stay silent; `slow` = (bytes/s, seconds): a file still arriving
    slower than that on average after that many seconds is given up. Files already in `dest` with the right checksum are
    kept. Returns the folder, which then holds the four files.
    """
    key = name.strip().lower().replace("_", "-")
    if key not in FILES:
        raise DatasetError(f"No download is known for '{name}'; choose one of: {', '.join(FILES)}.")
    files = FILES[key]
    dest = Path(dest).expanduser() if dest is not None else data_dir() / key
    created = not dest.exists()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetError(
            f"Cannot create the folder {dest} ({e.strerror or e}); choose another folder."
        ) from e
    todo = {f: spec for f, spec in files.items() if not _already_good(dest / f, spec)}
    tracker = _Tracker(progress, {f: spec[2] for f, spec in todo.items()})
    temps: dict[str, str] = {}
    try:
        for f, spec in todo.items():
            temps[f] = _fetch(key, f, spec, mirrors or MIRRORS[key], dest, timeout, tracker, slow)
        for f in list(temps):
            os.replace(temps[f], dest / f)
            del temps[f]
    except OSError as e:
        raise DatasetError(f"Cannot write into {dest} ({e.strerror or e}); choose another folder.") from e
    finally:
        for tmp in temps.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if created:
            with contextlib.suppress(OSError):
                dest.rmdir()  # only succeeds when the download left it empty
    tracker.report()
    return dest
