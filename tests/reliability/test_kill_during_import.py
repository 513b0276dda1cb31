"""SIGKILL in the middle of a 10,000-certificate import: the file holds the whole bundle or none of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability.conftest import BIG
from tests.reliability.support import (
    Certdesk,
    certificate_count,
    check_certificate_rows,
    fingerprints_of,
    integrity,
    query,
    wait_until,
)

pytestmark = pytest.mark.slow


def _wal_size(database: Path) -> int:
    try:
        return os.stat(f"{database}-wal").st_size
    except FileNotFoundError:
        return 0


def _check_consistent(database: Path, bundle: Path, allowed: tuple[int, ...]) -> int:
    """The file after the kill: sound, all or nothing, no row half-written, the audit trail in step."""
    assert integrity(database) == "ok"
    count = certificate_count(database)
    assert count in allowed
    stored = check_certificate_rows(database)
    assert len(set(stored)) == count
    if count:
        assert set(stored) == set(fingerprints_of(bundle.read_text()))
    audited = query(database, "SELECT COUNT(*) FROM audit_entry WHERE action = 'import'")[0][0]
    assert audited == count
    return count


def _import_again_completes(certdesk: Certdesk, bundle: Path, count_before: int) -> None:
    """The file is still usable: the same import finishes and stores every certificate once."""
    again = certdesk("cert", "import", "acme", str(bundle), "--json")
    again.assert_clean()
    outcome = again.json()
    assert (outcome["added"], outcome["duplicates"]) == (BIG - count_before, count_before)
    assert certificate_count(certdesk.database) == BIG
    assert integrity(certdesk.database) == "ok"


@pytest.mark.parametrize("progress", ["1,000", "6,000"])
def test_killed_while_reading_the_bundle(with_scope: Certdesk, big_bundle: Path, progress: str) -> None:
    """Killed as the progress line says it is under way: before the commit, so (almost surely) nothing."""
    running = with_scope.start("cert", "import", "acme", str(big_bundle))
    reached = running.err.wait_for(f"Importing: {progress} of about")
    assert reached, running.finish().err
    assert running.kill() != 0

    _check_consistent(with_scope.database, big_bundle, allowed=(0, BIG))


def test_killed_while_the_transaction_is_written(with_scope: Certdesk, big_bundle: Path) -> None:
    """Killed once the last progress line is out and the write-ahead log starts to grow: mid-commit."""
    database = with_scope.database
    running = with_scope.start("cert", "import", "acme", str(big_bundle))
    assert running.err.wait_for(f"Importing: {BIG:,} of about")
    wait_until(lambda: _wal_size(database) > 1_000_000 or running.process.poll() is not None, timeout=30)
    running.kill()

    count = _check_consistent(database, big_bundle, allowed=(0, BIG))
    _import_again_completes(with_scope, big_bundle, count)


def test_killed_after_the_commit_keeps_everything(with_scope: Certdesk, big_bundle: Path) -> None:
    """Killed as soon as the summary is printed (after the commit, during the checkpoint): all 10,000 stay.

    With synchronous=normal a committed transaction may still live only in the WAL; a killed
    process (not a power cut) loses nothing the OS already has, and the next reader replays it.
    """
    running = with_scope.start("cert", "import", "acme", str(big_bundle), env={"PYTHONUNBUFFERED": "1"})
    assert running.out.wait_for(f"Imported into acme: {BIG} added")
    running.kill()

    assert _check_consistent(with_scope.database, big_bundle, allowed=(BIG,)) == BIG
    _import_again_completes(with_scope, big_bundle, BIG)
