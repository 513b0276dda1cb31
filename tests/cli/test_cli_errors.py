"""How `certdesk` fails: the exit code of each error class, a clear message, never a traceback."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

from certdesk import __version__
from certdesk.domain.errors import INVALID_CERTIFICATE
from tests.cli.conftest import Cli, World
from tests.helpers.certs import make_certificate

EXIT_INTERNAL, EXIT_USAGE, EXIT_INVALID, EXIT_CONFLICT, EXIT_NOT_FOUND = 1, 2, 3, 4, 5


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- invalid input (3) -------------------------------------------------------------------------


def test_private_key_is_refused_and_never_echoed(cli: Cli) -> None:
    issued = make_certificate("with key")
    key_pem = issued.key_pem()
    refused = cli("cert", "add", "acme", "--name", "Keyed", "--file", "-", stdin=issued.pem + key_pem)
    assert refused.code == EXIT_INVALID
    assert refused.err_lines[0] == "Invalid request: the input contains a PRIVATE KEY block."
    key_body = "".join(key_pem.splitlines()[1:-1])
    for chunk in (key_body[i : i + 16] for i in range(0, len(key_body), 16)):
        assert chunk not in refused.err
        assert chunk not in refused.out
    assert [row["identifier"] for row in cli("cert", "list", "acme", "--json").json()] == ["root_ca"]


def test_invalid_certificate_gives_the_standard_line_then_the_cause(cli: Cli, home: Path) -> None:
    garbage = cli("cert", "add", "acme", "--name", "Garbage", "--file", "-", stdin="hello, I am not a certificate\n")
    assert garbage.code == EXIT_INVALID
    assert garbage.err_lines[0] == INVALID_CERTIFICATE
    assert "neither PEM text" in garbage.err_lines[1]

    truncated = make_certificate("cut short").pem.splitlines()[:-1]
    (home / "cut.pem").write_text("\n".join(truncated) + "\n")
    cut = cli("cert", "edit", "acme", "root_ca", "--file", str(home / "cut.pem"))
    assert cut.code == EXIT_INVALID
    assert cut.err_lines == [
        INVALID_CERTIFICATE,
        "The block that starts on line 1 has no END line (the PEM text is truncated).",
    ]

    missing = cli("cert", "add", "acme", "--name", "Nothing", "--file", str(home / "absent.pem"))
    assert missing.code == EXIT_INVALID
    assert missing.err.strip() == f"Cannot read {home / 'absent.pem'}: no such file."


def test_other_invalid_input(cli: Cli, home: Path) -> None:
    upward = cli("cert", "show", "acme", "org.eng_chain")
    assert upward.code == EXIT_INVALID
    assert "has no organization above it" in upward.err

    chain_as_der = cli("cert", "export", "acme/eng", "eng_chain", "--format", "der")
    assert chain_as_der.code == EXIT_INVALID
    assert "is a chain of 3" in chain_as_der.err
    assert chain_as_der.raw == b""

    (home / "junk.pem").write_text("junk\n")
    nothing_imported = cli("cert", "import", "acme", str(home / "junk.pem"), str(home / "absent.crt"))
    assert nothing_imported.code == EXIT_INVALID
    assert nothing_imported.out == "Imported into acme: 0 added, 0 duplicates skipped, 2 refused.\n"
    assert f"Refused {home / 'absent.crt'}: Cannot read" in nothing_imported.err


# --- usage (2) ---------------------------------------------------------------------------------


def test_usage_errors(cli: Cli) -> None:
    no_name = cli("cert", "add", "acme", "--file", "-")
    assert no_name.code == EXIT_USAGE
    assert no_name.err.startswith("usage: certdesk cert add")
    assert "--name" in no_name.err

    negative = cli("cert", "list", "acme", "--expiring-within", "-3")
    assert negative.code == EXIT_USAGE
    assert "cannot be negative" in negative.err

    nothing_to_do = cli("cert", "edit", "acme", "root_ca")
    assert nothing_to_do.code == EXIT_USAGE
    assert nothing_to_do.err.startswith("certdesk: error: Nothing to change: give --name, --description,")

    version = cli("--version")
    assert (version.code, version.out) == (0, f"certdesk {__version__}\n")


# --- not found (5) -----------------------------------------------------------------------------


def test_not_found(cli: Cli, home: Path) -> None:
    certificate = cli("cert", "show", "acme/eng/payments", "account.nope", "--json")
    assert (certificate.code, certificate.out) == (EXIT_NOT_FOUND, "")
    assert certificate.err.strip() == "No certificate 'nope' in account 'acme'."

    scope = cli("cert", "list", "acme/ops", "--json")
    assert (scope.code, scope.out) == (EXIT_NOT_FOUND, "")
    assert scope.err.strip() == "The organization 'acme/ops' does not exist."

    (home / "one.pem").write_text(make_certificate("one").pem)
    for args in (
        ("cert", "import", "globex", str(home / "one.pem")),
        ("cert", "delete", "acme/eng", "nope", "--force"),
    ):
        result = cli(*args)
        assert result.code == EXIT_NOT_FOUND, args
        assert len(result.err_lines) == 1, result.err


# --- the database ------------------------------------------------------------------------------


def test_default_database_is_created_under_the_user_data_folder(home: Path) -> None:
    cli = Cli(home, database=None)
    assert cli("scope", "create", "acme").code == 0
    default = home / "data" / "certdesk" / "certdesk.db"
    assert default.is_file()
    assert [s["path"] for s in cli("scope", "list", "--json").json()] == ["acme"]


def test_database_option_takes_a_url_and_wins_over_the_environment(empty_cli: Cli, home: Path) -> None:
    chosen = home / "chosen" / "team.db"
    created = empty_cli("--database", f"sqlite:///{chosen}", "scope", "create", "acme")
    assert created.code == 0
    assert chosen.is_file()
    assert empty_cli.database is not None
    assert not empty_cli.database.exists()  # CERTDESK_DATABASE was set, and not used


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(cli: Cli, home: Path) -> None:
    notes = home / "notes.db"
    notes.write_text("These are my notes, not a database.\n" * 50)
    before = _digest(notes)
    refused = cli("--database", str(notes), "scope", "list")
    assert refused.code == EXIT_INVALID
    assert refused.err_lines == [
        f"Cannot open the database {notes}: the file is not a certdesk database (it is not an SQLite file). "
        "Nothing was changed."
    ]
    assert _digest(notes) == before

    foreign = home / "music.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE songs (title TEXT)")
    connection.close()
    before = _digest(foreign)
    via_environment = cli("scope", "list", env={"CERTDESK_DATABASE": str(foreign)})
    assert via_environment.code == EXIT_INVALID
    assert "not certdesk's" in via_environment.err
    assert _digest(foreign) == before
    assert sorted(p.name for p in home.iterdir() if p.name.startswith(("notes", "music"))) == ["music.db", "notes.db"]


# --- internal errors (1) -----------------------------------------------------------------------


def test_an_internal_error_prints_one_line_and_logs_the_details(cli: Cli, world: World) -> None:
    assert cli.database is not None
    with sqlite3.connect(cli.database) as connection:  # a damaged schema: a bug's worth of surprise
        connection.execute("DROP TABLE audit_entry")
    connection.close()

    failed = cli("cert", "add", "acme", "--name", "Edge", "--file", "-", stdin=make_certificate("edge").pem)
    assert failed.code == EXIT_INTERNAL
    assert failed.out == ""
    assert len(failed.err_lines) == 1
    match = re.fullmatch(r"certdesk: internal error\. Details are in (.+)\.", failed.err_lines[0])
    assert match, failed.err
    log = Path(match.group(1))
    assert log.parent == cli.log_dir
    details = log.read_text()
    assert "internal error running certdesk cert add" in details
    assert "Traceback" in details
    assert "audit_entry" in details
