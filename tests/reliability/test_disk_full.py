"""A disk that fills up under a write: a clear message, exit 3, the rows already stored intact, nothing half-written.

Two real faults: a small tmpfs filled to the last byte (root only, where mounting is permitted),
and, anywhere, a file-size limit (RLIMIT_FSIZE) on the command's process, which the kernel enforces
on every write as a quota would.
"""

from __future__ import annotations

import os
import resource
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.certs import make_bundle
from tests.reliability.support import (
    EXIT_INVALID,
    EXIT_OK,
    Certdesk,
    certificate_count,
    check_certificate_rows,
    fill_up,
    integrity,
    query,
    tmpfs,
)

pytestmark = pytest.mark.slow
STORED, MORE = 100, 500


@pytest.fixture
def bundles(tmp_path: Path) -> tuple[Path, Path]:
    stored, more = tmp_path / "stored.pem", tmp_path / "more.pem"
    stored.write_text(make_bundle(STORED, prefix="stored"))
    more.write_text(make_bundle(MORE, prefix="more"))
    return stored, more


def _assert_intact(database: Path, fingerprints: list[str]) -> None:
    assert integrity(database) == "ok"
    assert check_certificate_rows(database) == fingerprints
    assert query(database, "SELECT COUNT(*) FROM audit_entry WHERE action = 'import'") == [(len(fingerprints),)]


def test_a_full_disk_refuses_writes_and_keeps_what_was_stored(
    certdesk: Certdesk, tmp_path: Path, bundles: tuple[Path, Path]
) -> None:
    stored, more = bundles
    with tmpfs(tmp_path / "small", "4m") as folder:
        on_disk = Certdesk(certdesk.home, folder / "certdesk.db")
        database = on_disk.database
        assert on_disk("scope", "create", "acme").code == EXIT_OK
        assert on_disk("cert", "import", "acme", str(stored)).code == EXIT_OK
        fingerprints = check_certificate_rows(database)

        # Another program (the window, say) holds the database open: its -wal and -shm files exist,
        # so the command opens it and runs out of space while writing its transaction.
        keeper = sqlite3.connect(database)
        try:
            keeper.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # an empty WAL: any write needs new space
            filler = fill_up(folder)
            assert shutil.disk_usage(folder).free == 0
            for command in (("cert", "import", "acme", str(more)), ("scope", "create", "globex")):
                run = on_disk(*command)
                run.assert_clean()
                assert run.code == EXIT_INVALID, (command, run.code, run.err)
                last_line = run.err.splitlines()[-1]  # after the progress lines
                assert last_line.startswith(f"Cannot write to the database {database}: the disk is full.")
                assert "nothing is half-written" in run.err
                _assert_intact(database, fingerprints)
            assert len(on_disk("cert", "list", "acme", "--json").json()) == STORED  # reading still works
        finally:
            keeper.close()

        # Nobody holds it open: SQLite cannot even make the -shm file it needs to open the database.
        filler.unlink()
        filler = fill_up(folder)
        for command in (("cert", "list", "acme"), ("cert", "import", "acme", str(more))):
            run = on_disk(*command)
            run.assert_clean()
            assert run.code == EXIT_INVALID, (command, run.code, run.err)
            assert run.err.startswith(f"Cannot open the database {database}:"), run.err
            assert "full" in run.err, run.err
            assert "Nothing was changed" in run.err

        # Space freed, the same import goes through.
        filler.unlink()
        _assert_intact(database, fingerprints)
        again = on_disk("cert", "import", "acme", str(more), "--json")
        assert again.json()["added"] == MORE
        assert certificate_count(database) == STORED + MORE
        assert integrity(database) == "ok"


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_file_size_limit_stops_an_import_cleanly(with_scope: Certdesk, bundles: tuple[Path, Path]) -> None:
    """The write-ahead log may grow by 200 KB only: the 500-certificate transaction cannot be written."""
    stored, more = bundles
    assert with_scope("cert", "import", "acme", str(stored)).code == EXIT_OK
    database = with_scope.database
    fingerprints = check_certificate_rows(database)
    limit = _file_size_limit(os.path.getsize(database) + 200_000)

    run = with_scope("cert", "import", "acme", str(more), preexec=limit)

    run.assert_clean()
    assert run.code == EXIT_INVALID, run.err
    # A write cut short is "disk full" to SQLite; one refused outright (EFBIG) is an I/O error.
    assert "the disk is full" in run.err or "input/output error" in run.err, run.err
    assert "nothing is half-written" in run.err
    _assert_intact(database, fingerprints)

    again = with_scope("cert", "import", "acme", str(more), "--json")
    assert again.json()["added"] == MORE
