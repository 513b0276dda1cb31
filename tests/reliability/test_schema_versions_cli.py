"""Schema versions through the real command on real files: refuse newer, back up then migrate older, undo a failure.

A later release is played by `tests.reliability.variant_certdesk`: today's command with extra schema steps.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from certdesk.store.migrations import SCHEMA_VERSION
from tests.helpers.certs import make_certificate
from tests.reliability.support import (
    EXIT_INVALID,
    Certdesk,
    Run,
    companions,
    digest,
    integrity,
    query,
)

pytestmark = pytest.mark.slow
NEWER = "tests.reliability.variant_certdesk"


def _dump(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def _version(path: Path) -> int:
    return int(query(path, "SELECT value FROM schema_meta WHERE key = 'schema_version'")[0][0])


def _backups(database: Path) -> list[Path]:
    return sorted(database.parent.glob(f"{database.name}.v*.bak"))


def _newer(certdesk: Certdesk, steps: str, *args: str) -> Run:
    run = certdesk(*args, module=NEWER, env={"CERTDESK_TEST_EXTRA_STEPS": steps})
    run.assert_clean()
    return run


@pytest.fixture
def filled(with_scope: Certdesk, tmp_path: Path) -> Certdesk:
    """A database of today's version holding a scope and a certificate, closed (no WAL left)."""
    pem = tmp_path / "root.pem"
    pem.write_text(make_certificate("Schema Root", is_ca=True).pem)
    added = with_scope("cert", "add", "acme", "--name", "Root", "--file", str(pem))
    assert added.code == 0, added.err
    assert companions(with_scope.database) == []
    return with_scope


def test_a_database_from_a_newer_certdesk_is_refused_untouched(filled: Certdesk) -> None:
    database = filled.database
    assert _newer(filled, "note", "scope", "list").code == 0
    assert _version(database) == SCHEMA_VERSION + 1
    before, backups = digest(database), _backups(database)

    for command in (("scope", "list"), ("cert", "list", "acme", "--json"), ("scope", "create", "globex")):
        refused = filled(*command)
        refused.assert_clean()
        assert refused.code == EXIT_INVALID
        assert refused.out == ""
        assert "written by a newer certdesk" in refused.err
        assert f"schema version {SCHEMA_VERSION + 1}" in refused.err
        assert f"knows up to {SCHEMA_VERSION}" in refused.err
        assert "Nothing was changed" in refused.err

    assert digest(database) == before
    assert companions(database) == []
    assert _backups(database) == backups
    assert _version(database) == SCHEMA_VERSION + 1


def test_an_older_database_is_backed_up_then_migrated(filled: Certdesk) -> None:
    database = filled.database
    original = _dump(database)
    assert _backups(database) == []

    listed = _newer(filled, "note,colour", "scope", "list", "--json")

    assert [scope["path"] for scope in listed.json()] == ["acme"]
    [backup] = _backups(database)
    assert backup.name.startswith(f"{database.name}.v{SCHEMA_VERSION}-")
    assert integrity(backup) == "ok"
    assert _dump(backup) == original  # the copy is the database as it was, row for row
    assert _version(database) == SCHEMA_VERSION + 2
    assert query(database, "SELECT path, colour FROM scope") == [("acme", "blue")]
    assert query(database, "SELECT COUNT(*) FROM certificate") == [(1,)]
    assert integrity(database) == "ok"

    # Opening again takes no second copy; the migrated file goes on working.
    assert _newer(filled, "note,colour", "cert", "list", "acme", "--json").json()[0]["name"] == "Root"
    assert len(_backups(database)) == 1


def test_a_failing_migration_leaves_the_original_untouched(filled: Certdesk) -> None:
    database = filled.database
    before, original = digest(database), _dump(database)

    failed = _newer(filled, "note,fail", "scope", "list")

    assert failed.code == EXIT_INVALID
    assert failed.out == ""
    assert failed.err.startswith(f"Cannot open the database {database}:")
    assert "no_such_table" in failed.err
    assert "Nothing was changed" in failed.err
    assert digest(database) == before
    assert _dump(database) == original
    assert companions(database) == []
    assert _version(database) == SCHEMA_VERSION
    [backup] = _backups(database)  # taken before the attempt, and a true copy
    assert _dump(backup) == original
    # Today's release still opens it as if nothing had happened.
    assert filled("cert", "list", "acme", "--json").json()[0]["name"] == "Root"
