"""Shared fixtures: a fresh SQLite database per test, services over it, a settable clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

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


@pytest.fixture
def database(db_path: Path) -> Iterator[DatabaseInfo]:
    info = init_db(sqlite_url(db_path))
    yield info
    close_db()


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
