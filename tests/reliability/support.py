"""Running the real `certdesk` process and looking inside the SQLite file it left behind."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import queue
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 90.0
EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INVALID, EXIT_CONFLICT, EXIT_NOT_FOUND = 0, 1, 2, 3, 4, 5


@dataclass
class Run:
    """What one finished run of the command gave."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == EXIT_OK, f"{self.args} exited {self.code}: {self.err}"
        return json.loads(self.out)

    def assert_clean(self) -> None:
        """A person never sees a Python traceback nor the catch-all internal error."""
        for text in (self.out, self.err):
            assert "Traceback" not in text, text
        assert "internal error" not in self.err, self.err


@dataclass
class Certdesk:
    """`python -m certdesk` with a home, a log folder and a database of its own (given by --database)."""

    home: Path
    database: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CERTDESK_", "VAULT_", "BAO_"))}
        env.update(
            HOME=str(self.home),
            XDG_DATA_HOME=str(self.home / "data"),
            XDG_CONFIG_HOME=str(self.home / "config"),
            XDG_STATE_HOME=str(self.home / "state"),
            XDG_CACHE_HOME=str(self.home / "cache"),
            CERTDESK_LOG_DIR=str(self.log_dir),
            PYTHONPATH=str(REPO_ROOT),
            PYTHONUTF8="1",
        )
        env.update(self.extra_env)
        env.update(extra or {})
        return env

    def command(self, args: Sequence[str], module: str = "certdesk") -> list[str]:
        return [sys.executable, "-m", module, "--database", str(self.database), *args]

    def __call__(
        self,
        *args: str,
        stdin: str | bytes = b"",
        env: Mapping[str, str] | None = None,
        prefix: Sequence[str] = (),
        module: str = "certdesk",
        preexec: Callable[[], None] | None = None,
    ) -> Run:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        completed = subprocess.run(
            [*prefix, *self.command(args, module)],
            input=data,
            capture_output=True,
            env=self.env(env),
            cwd=self.home,
            timeout=TIMEOUT_S,
            check=False,
            preexec_fn=preexec,  # only resource limits, set before exec
        )
        return Run(
            tuple(args),
            completed.returncode,
            completed.stdout.decode("utf-8", "replace"),
            completed.stderr.decode("utf-8", "replace"),
        )

    def start(self, *args: str, env: Mapping[str, str] | None = None) -> Started:
        process = subprocess.Popen(
            self.command(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env(env),
            cwd=self.home,
        )
        return Started(tuple(args), process)


class LineReader:
    """Lines of a pipe as they come, read by a thread so the test can wait with a deadline."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.lines.put(raw.decode("utf-8", "replace"))
        self.lines.put(None)

    def wait_for(self, wanted: str, timeout: float = TIMEOUT_S) -> bool:
        """True once a line holding `wanted` arrived; False when the stream ended first."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line with {wanted!r} within {timeout} s; seen: {self.seen[-5:]}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                return False
            self.seen.append(line)
            if wanted in line:
                return True

    def rest(self, timeout: float = TIMEOUT_S) -> str:
        self._thread.join(timeout)
        while not self.lines.empty():
            line = self.lines.get_nowait()
            if line is not None:
                self.seen.append(line)
        return "".join(self.seen)


@dataclass
class Started:
    """A command still running, its output read as it comes."""

    args: tuple[str, ...]
    process: subprocess.Popen[bytes]
    _out: LineReader | None = None
    _err: LineReader | None = None

    def __post_init__(self) -> None:
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._out, self._err = LineReader(self.process.stdout), LineReader(self.process.stderr)

    @property
    def out(self) -> LineReader:
        assert self._out is not None
        return self._out

    @property
    def err(self) -> LineReader:
        assert self._err is not None
        return self._err

    def finish(self, timeout: float = TIMEOUT_S) -> Run:
        code = self.process.wait(timeout)
        run = Run(self.args, code, self.out.rest(), self.err.rest())
        self._close()
        return run

    def kill(self) -> int:
        self.process.kill()  # SIGKILL on POSIX: no handler, no atexit, no close
        code = self.process.wait(TIMEOUT_S)
        self.out.rest()
        self.err.rest()
        self._close()
        return code

    def _close(self) -> None:
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT_S, interval: float = 0.005) -> bool:
    """Poll `condition` until it holds or the deadline passes; say whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


# --- inside the file ----------------------------------------------------------------------------------------------


def query(path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Read the file with the sqlite3 module itself (it replays or ignores what a killed writer left in the WAL)."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def integrity(path: Path) -> str:
    return "\n".join(str(row[0]) for row in query(path, "PRAGMA integrity_check"))


def certificate_count(path: Path) -> int:
    return int(query(path, "SELECT COUNT(*) FROM certificate")[0][0])


def check_certificate_rows(path: Path) -> list[str]:
    """Every row's PEM parses and its stored fingerprint is that of its PEM; returns the fingerprints."""
    fingerprints = []
    for identifier, pem, sha256 in query(path, "SELECT identifier, pem, sha256 FROM certificate ORDER BY id"):
        certificates = x509.load_pem_x509_certificates(pem.encode("ascii"))
        assert certificates[0].fingerprint(hashes.SHA256()).hex() == sha256, identifier
        fingerprints.append(sha256)
    return fingerprints


def companions(path: Path) -> list[Path]:
    """The -wal, -shm and -journal files SQLite keeps next to a database, those that exist."""
    return [p for p in (Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal")) if p.exists()]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_state(folder: Path) -> dict[str, str]:
    """Each file of a folder (not below it) with the digest of its bytes."""
    return {p.name: digest(p) for p in sorted(folder.iterdir()) if p.is_file()}


def fingerprints_of(bundle_pem: str) -> list[str]:
    return [c.fingerprint(hashes.SHA256()).hex() for c in x509.load_pem_x509_certificates(bundle_pem.encode())]


def split_pem(bundle_pem: str) -> list[str]:
    """The blocks of a PEM bundle, each with its END line."""
    marker = "-----END CERTIFICATE-----\n"
    return [block + marker for block in bundle_pem.split(marker) if block.strip()]


# --- making faults for real -----------------------------------------------------------------------------------------


def unprivileged_prefix() -> list[str]:
    """A command prefix under which file permissions apply: none for a normal user, capabilities dropped for root.

    Root ignores permission bits (CAP_DAC_OVERRIDE); `setpriv --bounding-set=-all` runs the command as
    root still, owner of the test's files, but without any capability, as a person's own process is.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions would not apply to the command")
    return [setpriv, "--bounding-set=-all"]


@contextmanager
def tmpfs(folder: Path, size: str, *options: str) -> Iterator[Path]:
    """A real small filesystem mounted at `folder` (root only; skips where mounting is not permitted)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    folder.mkdir(exist_ok=True)
    mount = ["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", "mode=0755", *options]), "tmpfs", str(folder)]
    mounted = subprocess.run(mount, capture_output=True, text=True, timeout=30, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True, timeout=30, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30, check=False)


def remount(folder: Path, *options: str) -> None:
    subprocess.run(["mount", "-o", ",".join(["remount", *options]), str(folder)], check=True, timeout=30)


def fill_up(folder: Path) -> Path:
    """Write a file until the filesystem holding `folder` has no byte left; return it."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        chunk = 64 * 1024
        while chunk:
            try:
                os.write(descriptor, bytes(chunk))
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                chunk //= 2  # then smaller pieces, down to the last byte that fits
    finally:
        os.close(descriptor)
    return filler
