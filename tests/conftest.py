"""Shared fixtures: a fresh database per test (SQLite, and PostgreSQL too for the store and services), services
over it, a settable clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import keyring
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from certdesk.services.certificates import CertificateService
from certdesk.services.connectors import ConnectorService
from certdesk.services.scopes import ScopeService
from certdesk.services.secrets import SecretStore
from certdesk.services.vault import VaultGateway
from certdesk.store.connection import DatabaseInfo, close_db, init_db, sqlite_url
from tests.helpers.keyrings import MemoryKeyring

if TYPE_CHECKING:
    from tests.helpers.postgres import CleanDatabase

# The PostgreSQL fixtures (postgres_server, postgres_database, postgres_certdesk) for every test directory.
pytest_plugins = ["tests.helpers.postgres"]

# Tests here that take the `database` fixture run twice: on SQLite and on a real PostgreSQL server.
BOTH_DATABASES = ("tests/store/", "tests/services/", "tests/vault/test_connectors.py")


class SettableClock:
    """The real time unless a test sets one."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def now(self) -> datetime:
        return self.fixed or datetime.now(UTC)


@pytest.fixture(autouse=True)
def memory_keyring() -> MemoryKeyring:
    """No test ever touches the person's real keyring: every test gets an empty in-memory one."""
    backend = MemoryKeyring()
    keyring.set_keyring(backend)  # never the platform's: probing it would reach the desktop session
    return backend


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the person's real data, settings and logs."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("CERTDESK_LOG_DIR", str(home / "logs"))
    monkeypatch.delenv("CERTDESK_DATABASE", raising=False)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "certdesk.db"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): checks SQLite-only behaviour; its PostgreSQL run is skipped for that reason"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the store's and services' database tests on both engines; everything else stays on SQLite."""
    if "database_backend" not in metafunc.fixturenames:
        return
    where = metafunc.definition.path.relative_to(metafunc.config.rootpath).as_posix()
    if not where.startswith(BOTH_DATABASES):
        return
    marks = [pytest.mark.postgres]
    sqlite_only = metafunc.definition.get_closest_marker("sqlite_only")
    if sqlite_only is not None:
        marks.append(pytest.mark.skip(reason=f"SQLite only: {sqlite_only.args[0]}"))
    metafunc.parametrize(
        "database_backend", ["sqlite", pytest.param("postgresql", marks=marks)], indirect=True, scope="function"
    )


@pytest.fixture
def database_backend(request: pytest.FixtureRequest) -> str:
    """`sqlite`, or `postgresql` where `pytest_generate_tests` asks for both."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def empty_database_url(database_backend: str, db_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a database with nothing in it yet: an SQLite file to be, or a new PostgreSQL schema."""
    if database_backend == "sqlite":
        yield sqlite_url(db_path)
        return
    clean: CleanDatabase = request.getfixturevalue("postgres_certdesk")
    with clean.empty_schema() as url:
        yield url


@pytest.fixture
def database(database_backend: str, db_path: Path, request: pytest.FixtureRequest) -> Iterator[DatabaseInfo]:
    """The open, migrated database the models are bound to: a new SQLite file, or the emptied PostgreSQL one."""
    if database_backend == "sqlite":
        info = init_db(sqlite_url(db_path))
        yield info
        close_db()
        return
    clean: CleanDatabase = request.getfixturevalue("postgres_certdesk")
    info = init_db(clean.url)
    try:
        yield info
    finally:
        close_db()
        clean.reset()


@pytest.fixture
def scopes(database: DatabaseInfo, clock: SettableClock) -> ScopeService:
    return ScopeService(clock, "tester")


@pytest.fixture
def certificates(database: DatabaseInfo, clock: SettableClock) -> CertificateService:
    return CertificateService(clock, "tester")


@pytest.fixture
def connectors(database: DatabaseInfo, clock: SettableClock, memory_keyring: MemoryKeyring) -> ConnectorService:
    return ConnectorService(clock, "tester", SecretStore(memory_keyring), VaultGateway(clock))


@pytest.fixture
def acme(scopes: ScopeService) -> ScopeService:
    """An account `acme` with organization `acme/eng` and project `acme/eng/payments`."""
    scopes.create("acme", "Acme Inc")
    scopes.create("acme/eng", "Engineering")
    scopes.create("acme/eng/payments", "Payments")
    return scopes
