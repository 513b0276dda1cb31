"""Processes writing the same SQLite file at once: all finish, and every certificate is stored exactly once."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from certdesk.store.migrations import SCHEMA_VERSION
from tests.helpers.certs import make_bundle
from tests.reliability.support import (
    EXIT_INVALID,
    EXIT_OK,
    Certdesk,
    Run,
    certificate_count,
    check_certificate_rows,
    fingerprints_of,
    integrity,
    query,
    split_pem,
)

pytestmark = pytest.mark.slow
SIZE = 3_000
VARIANT = "tests.reliability.variant_certdesk"


def _at_once(certdesk: Certdesk, *commands: tuple[str, ...]) -> list[Run]:
    """Start every command before waiting for any of them."""
    started = [certdesk.start(*command) for command in commands]
    runs = [process.finish() for process in started]
    for run in runs:
        run.assert_clean()
        assert "locked" not in run.err, run.err
        assert "busy" not in run.err, run.err
    return runs


def _check_stored_once(database: Path, expected: set[str]) -> None:
    assert integrity(database) == "ok"
    stored = check_certificate_rows(database)
    duplicated = [sha for sha, times in Counter(stored).items() if times > 1]
    assert duplicated == []
    assert set(stored) == expected
    identifiers = query(database, "SELECT identifier FROM certificate")
    assert len(set(identifiers)) == len(identifiers)
    assert query(database, "SELECT COUNT(*) FROM audit_entry WHERE action = 'import'")[0][0] == len(expected)


def test_two_bundles_into_one_scope_at_once(with_scope: Certdesk, tmp_path: Path) -> None:
    first, second = tmp_path / "first.pem", tmp_path / "second.pem"
    first.write_text(make_bundle(SIZE, prefix="first"))
    second.write_text(make_bundle(SIZE, prefix="second"))

    runs = _at_once(with_scope, *(("cert", "import", "acme", str(path), "--json") for path in (first, second)))

    assert [(run.json()["added"], run.json()["duplicates"]) for run in runs] == [(SIZE, 0), (SIZE, 0)]
    _check_stored_once(
        with_scope.database, set(fingerprints_of(first.read_text())) | set(fingerprints_of(second.read_text()))
    )


def test_same_names_from_two_bundles_get_distinct_identifiers(with_scope: Certdesk, tmp_path: Path) -> None:
    """Two different bundles whose subjects are the same: the identifiers derived from them must not clash."""
    first, second = tmp_path / "first.pem", tmp_path / "second.pem"
    first.write_text(make_bundle(SIZE, prefix="twin"))
    second.write_text(make_bundle(SIZE, prefix="twin"))  # same names, other certificates (other dates)

    runs = _at_once(with_scope, *(("cert", "import", "acme", str(path), "--json") for path in (first, second)))

    assert sorted(run.json()["added"] for run in runs) == [SIZE, SIZE]
    _check_stored_once(
        with_scope.database, set(fingerprints_of(first.read_text())) | set(fingerprints_of(second.read_text()))
    )


def test_the_same_bundle_twice_at_once(with_scope: Certdesk, tmp_path: Path) -> None:
    """A read-then-insert race: both see none stored; only one may store them, the other counts duplicates."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(make_bundle(SIZE, prefix="same"))

    runs = _at_once(with_scope, *(("cert", "import", "acme", str(bundle), "--json"),) * 2)

    outcomes = sorted((run.json()["added"], run.json()["duplicates"]) for run in runs)
    assert outcomes == [(0, SIZE), (SIZE, 0)]
    _check_stored_once(with_scope.database, set(fingerprints_of(bundle.read_text())))


def test_overlapping_bundles_at_once(with_scope: Certdesk, tmp_path: Path) -> None:
    """Two bundles sharing a third of their certificates: the shared ones are stored once, counted once."""
    blocks = split_pem(make_bundle(SIZE, prefix="overlap"))
    first, second = tmp_path / "first.pem", tmp_path / "second.pem"
    first.write_text("".join(blocks[: 2 * SIZE // 3]))
    second.write_text("".join(blocks[SIZE // 3 :]))

    runs = _at_once(with_scope, *(("cert", "import", "acme", str(path), "--json") for path in (first, second)))

    added = sum(run.json()["added"] for run in runs)
    duplicates = sum(run.json()["duplicates"] for run in runs)
    assert (added, duplicates) == (SIZE, SIZE // 3)
    _check_stored_once(with_scope.database, set(fingerprints_of("".join(blocks))))


def test_many_processes_open_a_new_file_at_once(certdesk: Certdesk) -> None:
    """Four first runs race to create the schema of a file that does not exist yet, each adding a scope."""
    runs = _at_once(certdesk, *(("scope", "create", f"team{index}") for index in range(4)))

    assert [run.code for run in runs] == [0, 0, 0, 0]
    assert integrity(certdesk.database) == "ok"
    assert sorted(path for (path,) in query(certdesk.database, "SELECT path FROM scope")) == [
        f"team{index}" for index in range(4)
    ]
    assert query(certdesk.database, "SELECT value FROM schema_meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]


def test_a_list_while_an_import_writes(with_scope: Certdesk, big_bundle: Path) -> None:
    """A reader is never blocked by the writer (WAL): it sees the scope before or after, never half of it."""
    importing = with_scope.start("cert", "import", "acme", str(big_bundle))
    assert importing.err.wait_for("Importing:")
    listed = with_scope("cert", "list", "acme", "--json")
    done = importing.finish()

    assert done.code == 0, done.err
    listed.assert_clean()
    assert len(listed.json()) in (0, certificate_count(with_scope.database))


def test_a_writer_kept_waiting_past_the_busy_timeout_is_told_so(with_scope: Certdesk, tmp_path: Path) -> None:
    """Another program holds the write lock longer than the busy timeout (here 300 ms, not 15 s): a clear
    sentence and exit 3 for the writer, nothing half-written; a reader is not held up at all (WAL)."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(make_bundle(50, prefix="waiting"))
    impatient = {"CERTDESK_TEST_BUSY_TIMEOUT_MS": "300"}
    holder = sqlite3.connect(with_scope.database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        for command in (("scope", "create", "globex"), ("cert", "import", "acme", str(bundle))):
            run = with_scope(*command, module=VARIANT, env=impatient)
            run.assert_clean()
            assert run.code == EXIT_INVALID, (command, run.err)
            assert run.err.startswith(f"The database {with_scope.database} is busy: another program kept it locked")
            assert "nothing is half-written" in run.err
        listed = with_scope("scope", "list", "--json", module=VARIANT, env=impatient)
        assert [scope["path"] for scope in listed.json()] == ["acme"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert certificate_count(with_scope.database) == 0
    assert with_scope("cert", "import", "acme", str(bundle), module=VARIANT, env=impatient).code == EXIT_OK
