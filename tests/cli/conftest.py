"""Run the real `certdesk` command in a subprocess, against databases prepared once per module."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from certdesk.services.certificates import CertificateService
from certdesk.services.scopes import ScopeService
from certdesk.services.views import CertificateDraft
from certdesk.store.connection import close_db, init_db, sqlite_url
from tests.helpers.certs import Issued, Pki, make_certificate, make_pki

TIMEOUT_S = 60


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Result:
    """What one run of the command gave: exit code, standard output (text and bytes), standard error."""

    code: int
    raw: bytes
    err: str

    @property
    def out(self) -> str:
        return self.raw.decode("utf-8")

    def json(self) -> Any:
        import json

        assert self.code == 0, self.err
        return json.loads(self.out)

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


@dataclass
class Cli:
    """`python -m certdesk` with a home, data folders and logs of its own; the database is per instance."""

    home: Path
    database: Path | None
    calls: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("CERTDESK_")}
        env.update(
            HOME=str(self.home),
            XDG_DATA_HOME=str(self.home / "data"),
            XDG_CONFIG_HOME=str(self.home / "config"),
            XDG_STATE_HOME=str(self.home / "state"),
            XDG_CACHE_HOME=str(self.home / "cache"),
            CERTDESK_LOG_DIR=str(self.log_dir),
        )
        if self.database is not None:
            env["CERTDESK_DATABASE"] = str(self.database)
        env.update(extra or {})
        return env

    def __call__(self, *args: str, stdin: bytes | str | None = None, env: Mapping[str, str] | None = None) -> Result:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        self.calls.append(args)
        completed = subprocess.run(
            [sys.executable, "-m", "certdesk", *args],
            input=data if data is not None else b"",
            capture_output=True,
            env=self.env(env),
            cwd=self.home,
            timeout=TIMEOUT_S,
            check=False,
        )
        err = completed.stderr.decode("utf-8", "replace")
        # Whatever happens, a person never sees a Python traceback.
        assert "Traceback" not in err, err
        assert "Traceback" not in completed.stdout.decode("utf-8", "replace")
        return Result(completed.returncode, completed.stdout, err)


@dataclass
class World:
    """acme > eng > payments, with a certificate at each level; a template database to copy."""

    template: Path
    pki: Pki
    root: Issued  # acme/root_ca: a lone self-signed CA, valid ten years
    short: Issued  # acme/eng/payments/payments_api: expires in 10 days
    # acme/eng/eng_chain is pki.chain_pem: leaf (30 days), intermediate, root


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    template = tmp_path_factory.mktemp("world") / "certdesk.db"
    pki = make_pki(prefix="cli test")
    root = make_certificate("Acme Root CA", is_ca=True, days=3650)
    short = make_certificate("payments.acme.test", issuer=root, dns_names=("payments.acme.test",), days=10)
    init_db(sqlite_url(template))
    try:
        scopes, certificates = ScopeService(_Clock(), "seed"), CertificateService(_Clock(), "seed")
        scopes.create("acme", "Acme Inc")
        scopes.create("acme/eng", "Engineering")
        scopes.create("acme/eng/payments", "Payments")
        certificates.create("acme", CertificateDraft(name="Root CA", pem=root.pem, identifier="root_ca"))
        certificates.create(
            "acme/eng",
            CertificateDraft(name="Eng chain", pem=pki.chain_pem, identifier="eng_chain", tags={"env": "prod"}),
        )
        certificates.create(
            "acme/eng/payments", CertificateDraft(name="Payments API", pem=short.pem, identifier="payments_api")
        )
    finally:
        close_db()
    return World(template, pki, root, short)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def cli(home: Path, world: World) -> Cli:
    """The command over a fresh copy of the world database."""
    database = home / "certdesk.db"
    shutil.copyfile(world.template, database)
    return Cli(home, database)


@pytest.fixture
def empty_cli(home: Path) -> Cli:
    """The command over a database that does not exist yet."""
    return Cli(home, home / "empty.db")


@contextmanager
def opened(database: Path) -> Iterator[None]:
    """The test's database opened in-process, for what the CLI cannot do (such as making a connector)."""
    init_db(sqlite_url(database))
    try:
        yield
    finally:
        close_db()
