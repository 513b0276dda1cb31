"""A database the person may not write: a clear refusal, exit 3, and nothing left behind that outlives the fault.

Root ignores permission bits, so as root the command runs through `setpriv --bounding-set=-all`
(still the files' owner, without capabilities); as a normal user it runs as it is.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.certs import make_bundle
from tests.reliability.support import (
    EXIT_INVALID,
    EXIT_OK,
    Certdesk,
    certificate_count,
    companions,
    folder_state,
    integrity,
    remount,
    tmpfs,
    unprivileged_prefix,
)

pytestmark = pytest.mark.slow
READS = (("scope", "list"), ("cert", "list", "acme", "--json"))


@pytest.fixture
def filled(with_scope: Certdesk, tmp_path: Path) -> Certdesk:
    """`acme` with 20 certificates, closed; and a bundle of 30 more in `more.pem` beside the home."""
    first = tmp_path / "first.pem"
    first.write_text(make_bundle(20, prefix="stored"))
    assert with_scope("cert", "import", "acme", str(first)).code == 0
    (tmp_path / "more.pem").write_text(make_bundle(30, prefix="more"))
    assert companions(with_scope.database) == []
    return with_scope


def _writes(tmp_path: Path) -> tuple[tuple[str, ...], ...]:
    return (
        ("scope", "create", "globex"),
        ("cert", "import", "acme", str(tmp_path / "more.pem")),
        ("cert", "delete", "acme", "stored_000001"),
    )


def _each_refused(certdesk: Certdesk, commands: tuple[tuple[str, ...], ...], prefix: list[str]) -> list[str]:
    folder = certdesk.database.parent
    before = folder_state(folder)
    messages = []
    for command in commands:
        run = certdesk(*command, prefix=prefix)
        run.assert_clean()
        assert run.code == EXIT_INVALID, (command, run.code, run.err)
        assert str(certdesk.database) in run.err
        messages.append(run.err.strip())
        assert folder_state(folder) == before, command
    return messages


@pytest.fixture
def restore_modes(filled: Certdesk) -> Iterator[None]:
    folder = filled.database.parent
    yield
    folder.chmod(0o755)
    if filled.database.exists():
        filled.database.chmod(0o644)


@pytest.mark.usefixtures("restore_modes")
def test_a_read_only_file_is_refused_before_sqlite_touches_it(filled: Certdesk, tmp_path: Path) -> None:
    prefix = unprivileged_prefix()
    filled.database.chmod(0o444)

    for message in _each_refused(filled, READS + _writes(tmp_path), prefix):
        assert "the file is read-only for you" in message
        assert "Nothing was changed" in message
    assert companions(filled.database) == []

    # Write access given back, the very next write works: no read-only -wal or -shm was left to block it.
    filled.database.chmod(0o644)
    created = filled("scope", "create", "globex", prefix=prefix)
    assert created.code == EXIT_OK, created.err
    assert certificate_count(filled.database) == 20


@pytest.mark.usefixtures("restore_modes")
def test_an_unreadable_file_is_refused(filled: Certdesk) -> None:
    prefix = unprivileged_prefix()
    filled.database.chmod(0o000)

    for message in _each_refused(filled, READS, prefix):
        assert "the file cannot be read by you" in message


@pytest.mark.usefixtures("restore_modes")
def test_a_read_only_folder_is_refused(filled: Certdesk, tmp_path: Path) -> None:
    """The file may be written, but SQLite cannot create its -wal and -shm files beside it."""
    prefix = unprivileged_prefix()
    filled.database.parent.chmod(0o555)

    for message in _each_refused(filled, READS + _writes(tmp_path), prefix):
        assert message.startswith(f"Cannot open the database {filled.database}:")
        assert "Nothing was changed" in message
    assert integrity(filled.database) == "ok"


@pytest.mark.usefixtures("restore_modes")
def test_a_read_only_companion_file_is_explained(filled: Certdesk, tmp_path: Path) -> None:
    """A -shm file left read-only by another program: SQLite refuses the write; certdesk says so and keeps the rows."""
    prefix = unprivileged_prefix()
    database = filled.database
    Path(f"{database}-wal").write_bytes(b"")
    shm = Path(f"{database}-shm")
    shm.write_bytes(bytes(32 * 1024))
    shm.chmod(0o444)

    for command in _writes(tmp_path):
        run = filled(*command, prefix=prefix)
        run.assert_clean()
        assert run.code == EXIT_INVALID, (command, run.err)
        assert run.err.startswith(f"Cannot write to the database {database}:") or run.err.startswith(
            f"Cannot open the database {database}:"
        ), run.err
        assert "read-only" in run.err
    shm.chmod(0o644)
    assert integrity(database) == "ok"
    assert certificate_count(database) == 20


def test_an_immutable_file_is_refused_even_to_root(filled: Certdesk, tmp_path: Path) -> None:
    """`chattr +i`: no process may write the file, whatever its capabilities."""
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("chattr is not installed")
    made = subprocess.run([chattr, "+i", str(filled.database)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"this filesystem or user cannot make a file immutable: {made.stderr.strip()}")
    try:
        for message in _each_refused(filled, READS + _writes(tmp_path), []):
            assert "the file is read-only for you" in message
        assert companions(filled.database) == []
    finally:
        subprocess.run([chattr, "-i", str(filled.database)], check=True)
    assert integrity(filled.database) == "ok"
    assert certificate_count(filled.database) == 20


def test_a_read_only_filesystem_is_refused(filled: Certdesk, tmp_path: Path) -> None:
    """A real read-only mount (root only): the database copied onto a tmpfs that is then remounted read-only."""
    with tmpfs(tmp_path / "mount", "8m") as folder:
        database = folder / "certdesk.db"
        shutil.copyfile(filled.database, database)
        remount(folder, "ro")
        on_mount = Certdesk(filled.home, database)

        for message in _each_refused(on_mount, READS + _writes(tmp_path), []):
            assert "the file is read-only for you" in message
            assert "Nothing was changed" in message
        assert companions(database) == []
        remount(folder, "rw")  # SQLite itself cannot read a WAL database on a read-only mount without its -shm
        assert integrity(database) == "ok"
        assert certificate_count(database) == 20


@pytest.mark.usefixtures("restore_modes")
def test_a_read_only_database_can_still_be_copied_from(filled: Certdesk, tmp_path: Path) -> None:
    """`db copy` only reads its source: a read-only file (an archived copy, say) is accepted there."""
    prefix = unprivileged_prefix()
    filled.database.chmod(0o444)
    target = tmp_path / "copy.db"

    copied = filled("db", "copy", "--from", str(filled.database), "--to", str(target), "--json", prefix=prefix)

    copied.assert_clean()
    assert copied.code == EXIT_OK, copied.err
    assert certificate_count(target) == 20
    assert integrity(filled.database) == "ok"
