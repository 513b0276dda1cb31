"""Fixtures for the reliability tests: the real command on real files, bundles made once, OpenBao servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.certs import make_bundle
from tests.helpers.openbao import openbao, openbao_pki  # noqa: F401 - re-exported as fixtures
from tests.reliability.support import Certdesk

BIG = 10_000


@pytest.fixture
def certdesk(tmp_path: Path) -> Certdesk:
    """The command over a database that does not exist yet, in a folder of its own."""
    home = tmp_path / "home"
    home.mkdir()
    folder = tmp_path / "db"
    folder.mkdir()
    return Certdesk(home, folder / "certdesk.db")


@pytest.fixture
def with_scope(certdesk: Certdesk) -> Certdesk:
    """The command over a database holding the account `acme` and nothing else."""
    created = certdesk("scope", "create", "acme")
    assert created.code == 0, created.err
    return certdesk


@pytest.fixture(scope="session")
def big_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10,000 distinct self-signed certificates in one PEM file."""
    path = tmp_path_factory.mktemp("bundles") / "big.pem"
    path.write_text(make_bundle(BIG, prefix="big"))
    return path
