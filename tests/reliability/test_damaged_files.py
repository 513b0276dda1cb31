"""A file that is not a database, or a database cut short or damaged mid-file: a clear message, nothing overwritten."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.certs import make_bundle
from tests.reliability.support import EXIT_INVALID, EXIT_OK, Certdesk, companions, digest, folder_state, query

pytestmark = pytest.mark.slow
PAGE = 4096
COMMANDS = (
    ("scope", "list", "--json"),
    ("cert", "show", "acme", "damaged_000100", "--json"),
    ("scope", "create", "globex"),
)


def _not_sqlite(path: Path) -> None:
    path.write_bytes(b"# my notes\nthis is not a database at all, and it is longer than sixteen bytes\n" * 50)


def _random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(64 * 1024))


def _png(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(5000))


def _zeros(path: Path) -> None:
    path.write_bytes(bytes(PAGE * 4))


def _header_only(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + random.Random(3).randbytes(PAGE * 3))


NOT_DATABASES: dict[str, Callable[[Path], None]] = {
    "text": _not_sqlite,
    "random-bytes": _random_bytes,
    "png": _png,
    "zeros": _zeros,
    "sqlite-header-then-noise": _header_only,
}


def _refused_untouched(certdesk: Certdesk, commands: tuple[tuple[str, ...], ...] = COMMANDS) -> list[str]:
    """Run each command; each must refuse with exit 3 and a sentence, and leave the folder as it was."""
    folder = certdesk.database.parent
    before = folder_state(folder)
    messages = []
    for command in commands:
        run = certdesk(*command)
        run.assert_clean()
        assert run.code == EXIT_INVALID, (command, run.code, run.err)
        assert run.out == ""
        assert str(certdesk.database) in run.err
        messages.append(run.err.strip())
        assert folder_state(folder) == before, command
        assert companions(certdesk.database) == []
    return messages


@pytest.mark.parametrize("kind", sorted(NOT_DATABASES))
def test_a_file_that_is_not_a_database_is_refused_and_kept(certdesk: Certdesk, kind: str) -> None:
    NOT_DATABASES[kind](certdesk.database)

    for message in _refused_untouched(certdesk):
        assert message.startswith(f"Cannot open the database {certdesk.database}:")
        assert "Nothing was changed" in message


@pytest.fixture(scope="module")
def real_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed database holding 2,000 certificates in `acme`: some hundreds of pages."""
    folder = tmp_path_factory.mktemp("real")
    home = folder / "home"
    home.mkdir()
    certdesk = Certdesk(home, folder / "real.db")
    bundle = folder / "bundle.pem"
    bundle.write_text(make_bundle(2_000, prefix="damaged"))
    assert certdesk("scope", "create", "acme").code == 0
    assert certdesk("cert", "import", "acme", str(bundle)).code == 0
    assert companions(certdesk.database) == []
    assert query(certdesk.database, "PRAGMA page_size") == [(PAGE,)]
    return certdesk.database


def test_a_truncated_database_is_refused_and_kept(certdesk: Certdesk, real_database: Path) -> None:
    """The first 4 KB of a real database: a valid header, then nothing."""
    certdesk.database.write_bytes(real_database.read_bytes()[:PAGE])

    for message in _refused_untouched(certdesk):
        assert "not a certdesk database or is damaged" in message


def test_a_database_cut_in_half_is_refused_or_read_but_never_overwritten(
    certdesk: Certdesk, real_database: Path
) -> None:
    data = real_database.read_bytes()
    certdesk.database.write_bytes(data[: len(data) // 2])
    before = digest(certdesk.database)

    for command in COMMANDS:
        run = certdesk(*command)
        run.assert_clean()
        assert run.code in (EXIT_OK, EXIT_INVALID), (command, run.err)
        if run.code == EXIT_INVALID:
            assert str(certdesk.database) in run.err
        assert digest(certdesk.database) == before
    assert companions(certdesk.database) == []


def _damage_pages(data: bytes, first: int, count: int) -> bytes:
    noise = random.Random(first).randbytes(count * PAGE)
    return data[: first * PAGE] + noise + data[(first + count) * PAGE :]


def test_damaged_pages_mid_file_give_a_clear_message(certdesk: Certdesk, real_database: Path) -> None:
    """Random bytes over pages in the middle (certificate rows): readers that reach them say so and change nothing."""
    data = real_database.read_bytes()
    middle = len(data) // PAGE // 2
    certdesk.database.write_bytes(_damage_pages(data, middle, 20))
    before = digest(certdesk.database)

    codes = {}
    for command in (*COMMANDS, ("cert", "list", "acme", "--json"), ("cert", "list", "acme")):
        run = certdesk(*command)
        run.assert_clean()
        codes[command] = run.code
        assert run.code in (EXIT_OK, EXIT_INVALID), (command, run.code, run.err)
        if run.code == EXIT_INVALID:
            assert run.err.startswith(f"The database {certdesk.database} is damaged"), run.err
            assert "Restore it from a backup copy" in run.err
        if run.code != EXIT_OK or command[1] in ("list", "show"):
            # A write that never reaches a damaged page (a new scope) may succeed; nothing else changes the file.
            assert digest(certdesk.database) == before, command
        before = digest(certdesk.database)
    # Listing every certificate of the scope must read the damaged rows: that one cannot succeed.
    assert codes[("cert", "list", "acme", "--json")] == EXIT_INVALID
    assert companions(certdesk.database) == []


def test_an_import_into_a_damaged_database_writes_nothing(
    certdesk: Certdesk, real_database: Path, tmp_path: Path
) -> None:
    data = real_database.read_bytes()
    certdesk.database.write_bytes(_damage_pages(data, len(data) // PAGE // 2, 20))
    before = digest(certdesk.database)
    bundle = tmp_path / "more.pem"
    bundle.write_text(make_bundle(50, prefix="more"))

    run = certdesk("cert", "import", "acme", str(bundle))

    run.assert_clean()
    assert run.code == EXIT_INVALID, run.err
    assert "is damaged" in run.err
    assert digest(certdesk.database) == before
    assert companions(certdesk.database) == []
