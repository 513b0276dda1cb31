"""`certdesk db copy`: an inventory from SQLite to a real PostgreSQL server and back, verified, all or nothing."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from certdesk import cli
from certdesk.cli import db as cli_db
from certdesk.domain.connectors import AuthMethod, VaultSettings
from certdesk.domain.errors import CertdeskError
from certdesk.services import transfer
from certdesk.services.certificates import CertificateService
from certdesk.services.connectors import ConnectorDraft, ConnectorService
from certdesk.services.scopes import ScopeService
from certdesk.services.secrets import SecretStore
from certdesk.services.vault import VaultGateway
from certdesk.services.views import CertificateDraft, CertificateEdit
from certdesk.store.connection import close_db, init_db, sqlite_url
from certdesk.store.models import MODELS, AuditEntry, Certificate, Scope, db
from tests.helpers.certs import make_bundle, make_certificate, make_pki
from tests.helpers.keyrings import MemoryKeyring
from tests.helpers.postgres import PostgresServer, closed_port_url

pytestmark = pytest.mark.postgres

TOKEN = "hvs.copy-test-token-0123456789"
SECRET_ID = "approle-secret-id-0123456789"


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_db(*argv: str) -> Run:
    """`certdesk db ...` in-process, through cli_db's own parser and handlers, with the CLI's error mapping."""
    parser = argparse.ArgumentParser(prog="certdesk")
    cli_db.add_parsers(parser.add_subparsers(dest="area"), argparse.ArgumentParser)
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    try:
        code = cli_db.HANDLERS[(args.area, args.action)](args, None, out, err)  # type: ignore[arg-type]
    except CertdeskError as error:
        code = cli.report_error(error, err)
    return Run(code, out.getvalue(), err.getvalue())


@contextmanager
def opened(url: str) -> Iterator[None]:
    """A database opened in-process for a `with` block, the models bound to it."""
    init_db(url)
    try:
        yield
    finally:
        close_db()


def build_inventory(url: str, keyring: MemoryKeyring) -> None:
    """Scopes at three levels, certificates made, imported, edited and deleted, two connectors, their audit."""
    clock = _Clock()
    init_db(url)
    try:
        scopes, certificates = ScopeService(clock, "alice"), CertificateService(clock, "alice")
        connectors = ConnectorService(clock, "alice", SecretStore(keyring), VaultGateway(clock))
        scopes.create("acme", "Acme Inc", "The account")
        scopes.create("acme/eng", "Engineering")
        scopes.create("acme/eng/payments", "Payments")
        scopes.create("other", "Other Ltd")
        root = make_certificate("Acme Root CA", is_ca=True, days=3650)
        certificates.create("acme", CertificateDraft(name="Root CA", pem=root.pem, identifier="root_ca"))
        pki = make_pki(prefix="copy test")
        certificates.create(
            "acme/eng",
            CertificateDraft(name="Eng chain", pem=pki.chain_pem, identifier="eng_chain", tags={"env": "prod"}),
        )
        certificates.create("other", CertificateDraft(name="Gone soon", pem=make_certificate("gone").pem))
        certificates.import_sources("acme/eng/payments", [("bundle.pem", make_bundle(40, prefix="copy").encode())])
        certificates.update("acme/eng", "eng_chain", CertificateEdit(name="Engineering chain", tags={"équipe": "é"}))
        certificates.delete("other", "Gone_soon")
        connectors.create(
            "acme/eng/payments",
            ConnectorDraft(
                name="Vault prod",
                settings=VaultSettings(url="https://vault.acme.test:8200", renewal_minutes=0),
                certificate="account.root_ca",
                token=TOKEN,
            ),
        )
        connectors.create(
            "acme/eng",
            ConnectorDraft(
                name="Vault approle",
                settings=VaultSettings(url="https://vault2.acme.test", auth=AuthMethod.APPROLE, role_id="role-1"),
                secret_id=SECRET_ID,
            ),
        )
    finally:
        close_db()


def every_row(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows as the models read them, in id order: what two equal inventories share."""
    init_db(url)
    try:
        return {
            model._meta.table_name: [
                tuple(row) for row in model.select().order_by(*model._meta.get_primary_keys()).tuples()
            ]
            for model in MODELS
        }
    finally:
        close_db()


@pytest.fixture
def source(tmp_path: Path, memory_keyring: MemoryKeyring) -> str:
    url = sqlite_url(tmp_path / "source.db")
    build_inventory(url, memory_keyring)
    return url


def test_round_trip_sqlite_to_postgresql_and_back_keeps_everything(
    source: str, postgres_database: str, tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "PARAMETERS_PER_BATCH", 200)  # several batches per table, at test size
    keyring_before = dict(memory_keyring.store)
    back = sqlite_url(tmp_path / "back" / "copy.db")

    there = run_db("db", "copy", "--from", source, "--to", postgres_database, "--json")
    again = run_db("db", "copy", "--from", postgres_database, "--to", back, "--json")

    assert (there.code, again.code) == (0, 0), there.err + again.err
    first, second = json.loads(there.out), json.loads(again.out)
    assert first["fingerprint"] == second["fingerprint"]
    counts = {table["table"]: table["rows"] for table in first["tables"]}
    assert counts == {"scope": 4, "certificate": 42, "connector": 2, "audit_entry": 51}
    original = every_row(source)
    assert every_row(postgres_database) == original
    assert every_row(back) == original
    # Secrets never travel: the keyring is untouched and no database holds a secret, only references.
    assert memory_keyring.store == keyring_before
    for url in (postgres_database, back):
        text = repr(every_row(url))
        assert TOKEN not in text
        assert SECRET_ID not in text
        assert "token_ref" in text


def test_the_copy_is_a_working_team_database(
    source: str, postgres_database: str, memory_keyring: MemoryKeyring
) -> None:
    assert run_db("db", "copy", "--from", source, "--to", postgres_database).code == 0
    clock = _Clock()
    with opened(postgres_database):
        connectors = ConnectorService(clock, "bob", SecretStore(memory_keyring), VaultGateway(clock))
        view = connectors.get("acme/eng/payments", "Vault_prod")
        assert view.has_secret  # the copied reference finds the secret in this workstation's keyring
        assert view.certificate is not None
        assert view.certificate.reference == "account.root_ca"
        # New rows take ids after the copied ones (the sequences were moved past them).
        ScopeService(clock, "bob").create("acme/ops", "Operations")
        certificates = CertificateService(clock, "bob")
        certificates.create("acme/ops", CertificateDraft(name="Ops", pem=make_certificate("ops").pem))
        assert certificates.get("acme/eng", "eng_chain").name == "Engineering chain"
        assert Certificate.select().count() == 43
        assert AuditEntry.select().order_by(AuditEntry.id.desc()).first().actor == "bob"


def test_the_text_report_names_each_table(source: str, postgres_database: str) -> None:
    result = run_db("db", "copy", "--from", source, "--to", postgres_database)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"Copied the inventory from {Path(source[len('sqlite:///') :])} to {postgres_database}."
    assert [line.split()[0] for line in lines[1:5]] == ["scope", "certificate", "connector", "audit_entry"]
    assert lines[-1].startswith("Verified: every table's row count and SHA-256 fingerprint match.")
    assert "keyring" in result.err


def test_a_target_that_holds_an_inventory_is_refused(
    source: str, postgres_database: str, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    assert run_db("db", "copy", "--from", source, "--to", postgres_database).code == 0
    before = every_row(postgres_database)

    second = run_db("db", "copy", "--from", source, "--to", postgres_database)
    assert second.code == 4
    assert "already holds an inventory (4 scope rows, 42 certificate rows" in second.err
    assert every_row(postgres_database) == before

    other = sqlite_url(tmp_path / "other.db")
    build_inventory(other, memory_keyring)
    into_sqlite = run_db("db", "copy", "--from", postgres_database, "--to", other)
    assert into_sqlite.code == 4
    assert "already holds an inventory" in into_sqlite.err


def test_a_target_certdesk_opened_but_left_empty_is_accepted(source: str, postgres_database: str) -> None:
    with opened(postgres_database):  # certdesk creates its schema when it first opens a database
        assert Scope.select().count() == 0
    assert run_db("db", "copy", "--from", source, "--to", postgres_database).code == 0


def test_a_target_holding_other_tables_is_refused(
    source: str, postgres_server: PostgresServer, postgres_database: str
) -> None:
    with postgres_server.admin(postgres_database.rsplit("/", 1)[1]) as admin:
        admin.execute("CREATE TABLE invoices (id integer PRIMARY KEY)")
    result = run_db("db", "copy", "--from", source, "--to", postgres_database)
    assert result.code == 3
    assert "holds tables that are not certdesk's" in result.err


def _target_tables(server: PostgresServer, url: str) -> list[str]:
    with server.admin(url.rsplit("/", 1)[1]) as admin:
        return [name for (name,) in admin.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]


def test_an_interrupted_copy_leaves_the_target_as_it_was(
    source: str, postgres_server: PostgresServer, postgres_database: str, tmp_path: Path
) -> None:
    def interrupt(table: str, rows: int) -> None:
        if table == "certificate":
            raise KeyboardInterrupt  # Ctrl+C in the middle of the certificates

    with pytest.raises(KeyboardInterrupt):
        transfer.copy_inventory(source, postgres_database, progress=interrupt)
    assert _target_tables(postgres_server, postgres_database) == []  # not even the schema stayed

    fresh = tmp_path / "never.db"
    with pytest.raises(KeyboardInterrupt):
        transfer.copy_inventory(source, sqlite_url(fresh), progress=interrupt)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("never")) == []


def test_a_copy_that_does_not_match_is_rolled_back(
    source: str, postgres_server: PostgresServer, postgres_database: str
) -> None:
    """A real fault: the target rewrites what it is given (a trigger), so what it holds differs from the source."""
    with opened(postgres_database):
        db.execute_sql(
            "CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "NEW.name := upper(NEW.name); RETURN NEW; END $$"
        )
        db.execute_sql("CREATE TRIGGER shout BEFORE INSERT ON certificate FOR EACH ROW EXECUTE FUNCTION shout()")

    result = run_db("db", "copy", "--from", source, "--to", postgres_database)

    assert result.code == 3
    assert "did not match the source and was undone" in result.err
    assert "certificate: the same 42 rows, but their SHA-256 fingerprints differ" in result.err
    assert "The target is as it was." in result.err
    assert all(rows == [] for table, rows in every_row(postgres_database).items() if table != "schema_meta")


def test_a_row_the_target_refuses_undoes_the_whole_copy(source: str, postgres_database: str) -> None:
    """SQLite keeps a name longer than the column allows; PostgreSQL refuses it, midway through the copy."""
    with opened(source):
        db.execute_sql("UPDATE certificate SET name = ? WHERE identifier = 'root_ca'", ("n" * 200,))

    result = run_db("db", "copy", "--from", source, "--to", postgres_database)

    assert result.code == 3
    assert "failed and was undone: value too long" in result.err
    assert all(rows == [] for table, rows in every_row(postgres_database).items() if table != "schema_meta")


def test_unusable_sources_are_refused(tmp_path: Path, postgres_database: str) -> None:
    missing = run_db("db", "copy", "--from", str(tmp_path / "missing.db"), "--to", postgres_database)
    assert (missing.code, "there is no such file" in missing.err) == (3, True)
    assert not (tmp_path / "missing.db").exists()

    empty = sqlite_url(tmp_path / "empty.db")
    init_db(empty, migrate_schema=False)
    close_db()
    nothing = run_db("db", "copy", "--from", empty, "--to", postgres_database)
    assert (nothing.code, "holds no certdesk inventory" in nothing.err) == (3, True)

    same = run_db("db", "copy", "--from", postgres_database, "--to", postgres_database + "?connect_timeout=5")
    assert same.code == 3
    assert "are the same database" in same.err


def test_a_target_server_that_cannot_be_reached_is_explained_without_password(source: str) -> None:
    target = closed_port_url().replace("postgres@", "postgres:hunter2@")
    result = run_db("db", "copy", "--from", source, "--to", target)
    assert result.code == 3
    assert "connection refused" in result.err
    assert "hunter2" not in result.err


def test_the_certdesk_command_copies_without_opening_its_default_database(
    source: str, postgres_database: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "CERTDESK_LOG_DIR": str(home / "logs"),
           "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"}  # fmt: skip
    completed = subprocess.run(
        [sys.executable, "-m", "certdesk", "db", "copy", "--from", source, "--to", postgres_database, "--json"],
        capture_output=True, text=True, env=env, cwd=home, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["verified"] is True
    assert not (home / "data").exists()  # the default database was never created
