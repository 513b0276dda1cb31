"""Opening the database: URLs, SQLite pragmas, files certdesk must refuse without touching, PostgreSQL errors."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pytest

from certdesk.domain.errors import DatabaseError, InvalidInput
from certdesk.store.connection import BUSY_TIMEOUT_MS, DatabaseInfo, close_db, describe_url, init_db, sqlite_url
from certdesk.store.migrations import SCHEMA_VERSION
from certdesk.store.models import SchemaMeta, db
from tests.helpers.postgres import PostgresServer, closed_port_url


def _pragma(name: str) -> object:
    return db.execute_sql(f"PRAGMA {name}").fetchone()[0]


@pytest.mark.sqlite_only("PRAGMA settings")
def test_sqlite_pragmas_are_set(database: DatabaseInfo) -> None:
    assert _pragma("journal_mode") == "wal"
    assert _pragma("foreign_keys") == 1
    assert _pragma("busy_timeout") == BUSY_TIMEOUT_MS


@pytest.mark.sqlite_only("PRAGMA settings")
def test_pragmas_hold_on_a_connection_opened_by_another_thread(database: DatabaseInfo) -> None:
    """A background worker gets its own connection: it needs foreign keys and the timeout too."""
    seen: dict[str, object] = {}

    def read_pragmas() -> None:
        try:
            seen["foreign_keys"] = _pragma("foreign_keys")
            seen["busy_timeout"] = _pragma("busy_timeout")
            seen["journal_mode"] = _pragma("journal_mode")
        finally:
            db.close()

    worker = threading.Thread(target=read_pragmas)
    worker.start()
    worker.join()
    assert seen == {"foreign_keys": 1, "busy_timeout": BUSY_TIMEOUT_MS, "journal_mode": "wal"}


@pytest.mark.sqlite_only("the database file's journal mode")
def test_the_file_itself_is_in_wal_mode(database: DatabaseInfo, db_path: Path) -> None:
    close_db()
    connection = sqlite3.connect(db_path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        connection.close()


def test_new_database_is_created_with_the_current_schema(
    database: DatabaseInfo, database_backend: str, db_path: Path
) -> None:
    assert database.kind == database_backend
    if database_backend == "sqlite":
        assert database.sqlite_path == db_path
        assert db_path.is_file()
    else:
        assert database.sqlite_path is None
    assert set(db.get_tables()) == {"schema_meta", "scope", "certificate", "connector", "audit_entry"}
    assert SchemaMeta.get(SchemaMeta.key == "schema_version").value == str(SCHEMA_VERSION)


def test_missing_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "certdesk.db"
    try:
        init_db(sqlite_url(path))
    finally:
        close_db()
    assert path.is_file()


def test_an_empty_file_becomes_a_new_database(db_path: Path) -> None:
    db_path.touch()
    try:
        init_db(sqlite_url(db_path))
        assert "certificate" in db.get_tables()
    finally:
        close_db()


def test_a_non_sqlite_file_is_refused_and_not_overwritten(db_path: Path) -> None:
    content = b"# my notes\nthis is not a database at all, and it is longer than sixteen bytes\n"
    db_path.write_bytes(content)
    with pytest.raises(DatabaseError, match="not an SQLite file") as caught:
        init_db(sqlite_url(db_path))
    assert str(db_path) in caught.value.message
    assert "Nothing was changed" in caught.value.message
    assert db_path.read_bytes() == content
    assert sorted(p.name for p in db_path.parent.iterdir()) == [db_path.name]


def test_a_tiny_non_sqlite_file_is_refused(db_path: Path) -> None:
    db_path.write_bytes(b"hi")
    with pytest.raises(DatabaseError, match="not an SQLite file"):
        init_db(sqlite_url(db_path))
    assert db_path.read_bytes() == b"hi"


def test_a_damaged_sqlite_file_gives_a_clear_error(db_path: Path) -> None:
    content = b"SQLite format 3\x00" + b"\xff" * 200
    db_path.write_bytes(content)
    with pytest.raises(DatabaseError, match="Cannot open the database") as caught:
        init_db(sqlite_url(db_path))
    close_db()
    assert "not a certdesk database or is damaged" in caught.value.message
    assert db_path.read_bytes() == content


def test_a_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "folder.db"
    folder.mkdir()
    with pytest.raises(DatabaseError, match="it is not a file"):
        init_db(sqlite_url(folder))


def test_an_sqlite_file_with_foreign_tables_is_refused_and_left_as_it_was(db_path: Path) -> None:
    connection = sqlite3.connect(db_path)
    connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
    connection.execute("INSERT INTO invoices (amount) VALUES (12.5)")
    connection.commit()
    connection.close()
    content = db_path.read_bytes()

    with pytest.raises(DatabaseError, match="not certdesk's") as caught:
        init_db(sqlite_url(db_path))
    close_db()

    assert str(db_path) in caught.value.message
    # Not even switched to WAL mode: the file is byte for byte what it was, with no companions.
    assert db_path.read_bytes() == content
    assert sorted(p.name for p in db_path.parent.iterdir()) == [db_path.name]
    connection = sqlite3.connect(db_path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert connection.execute("SELECT amount FROM invoices").fetchall() == [(12.5,)]
    finally:
        connection.close()


def test_a_database_from_a_newer_certdesk_is_refused(db_path: Path) -> None:
    init_db(sqlite_url(db_path))
    SchemaMeta.update(value=str(SCHEMA_VERSION + 5)).where(SchemaMeta.key == "schema_version").execute()
    close_db()

    with pytest.raises(DatabaseError, match="newer certdesk") as caught:
        init_db(sqlite_url(db_path))
    assert f"schema version {SCHEMA_VERSION + 5}" in caught.value.message
    assert db.is_closed()  # the refused database is not left open behind the error

    connection = sqlite3.connect(db_path)
    try:
        stored = connection.execute("SELECT value FROM schema_meta WHERE key = 'schema_version'").fetchone()
    finally:
        connection.close()
    assert stored == (str(SCHEMA_VERSION + 5),)
    assert not list(db_path.parent.glob("*.bak"))


def test_reopening_an_up_to_date_database_keeps_its_data_and_takes_no_backup(db_path: Path) -> None:
    init_db(sqlite_url(db_path))
    SchemaMeta.create(key="marker", value="kept")
    close_db()
    try:
        init_db(sqlite_url(db_path))
        assert SchemaMeta.get(SchemaMeta.key == "marker").value == "kept"
    finally:
        close_db()
    assert not list(db_path.parent.glob("*.bak"))


def test_close_db_closes_and_tolerates_a_second_call(database: DatabaseInfo) -> None:
    assert not db.is_closed()
    close_db()
    assert db.is_closed()
    close_db()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////data/certdesk.db", "/data/certdesk.db"),
        ("sqlite:///data/certdesk%20copy.db", "data/certdesk copy.db"),
    ],
)
def test_describe_sqlite_urls(url: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    info = describe_url(url)
    path = Path(expected) if expected.startswith("/") else tmp_path / expected
    assert info.kind == "sqlite"
    assert info.sqlite_path == path
    assert info.display == str(path)
    assert info.url == sqlite_url(path)


def test_a_bare_path_is_an_sqlite_file(tmp_path: Path) -> None:
    info = describe_url(str(tmp_path / "plain.db"))
    assert info.sqlite_path == tmp_path / "plain.db"


def test_a_postgres_url_is_described_without_its_password() -> None:
    info = describe_url("postgresql://alice:s3cret@db.example:5433/certs")
    assert info.kind == "postgresql"
    assert info.sqlite_path is None
    assert info.display == "postgresql://alice@db.example:5433/certs"
    assert "s3cret" not in info.display


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://", "mysql://root@localhost/certs"])
def test_unusable_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="Invalid database URL"):
        describe_url(url)


# --- PostgreSQL: what a person sees when the server cannot be used ----------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://alice@db.example:5432",
        "postgresql://alice@db.example:5432/",
        "postgresql://db.example:99999/certs",
    ],
)
def test_incomplete_postgres_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="Invalid database URL"):
        describe_url(url)


@pytest.mark.postgres
def test_a_refused_postgres_connection_is_explained_without_the_password(postgres_server: PostgresServer) -> None:
    url = closed_port_url().replace("postgres@", "postgres:s3cret-word@")
    with pytest.raises(DatabaseError, match="connection refused") as caught:
        init_db(url)
    assert caught.value.message.startswith(f"Cannot open the database {describe_url(url).display}: ")
    assert "s3cret-word" not in caught.value.message
    assert caught.value.exit_code == 3


@pytest.mark.postgres
def test_a_wrong_postgres_password_is_explained_without_it(postgres_server: PostgresServer) -> None:
    postgres_server.add_password_user("alice", "right horse")
    url = f"postgresql://alice:wrong%20battery@127.0.0.1:{postgres_server.port}/postgres"
    with pytest.raises(DatabaseError, match="refused the password of user 'alice'") as caught:
        init_db(url)
    assert "wrong" not in caught.value.message
    assert "battery" not in caught.value.message


@pytest.mark.postgres
def test_a_missing_postgres_database_is_named(postgres_server: PostgresServer) -> None:
    with pytest.raises(DatabaseError, match=r"there is no database 'no_such_inventory'.*createdb"):
        init_db(postgres_server.url("no_such_inventory"))


@pytest.mark.postgres
def test_a_url_encoded_postgres_password_opens_the_database(
    postgres_server: PostgresServer, postgres_database: str
) -> None:
    password = "p@ss/w:rd %"
    postgres_server.add_password_user("bob", password)
    name = postgres_database.rsplit("/", 1)[1]
    with postgres_server.admin() as admin:
        admin.execute(f'ALTER DATABASE "{name}" OWNER TO bob')
    info = init_db(f"postgresql://bob:{quote(password, safe='')}@127.0.0.1:{postgres_server.port}/{name}")
    try:
        assert info.display == f"postgresql://bob@127.0.0.1:{postgres_server.port}/{name}"
        assert password not in repr(info)
        assert db.execute_sql("SELECT current_user").fetchone() == ("bob",)
        assert SchemaMeta.get(SchemaMeta.key == "schema_version").value == str(SCHEMA_VERSION)
    finally:
        close_db()


@pytest.mark.postgres
def test_the_command_line_exits_3_on_a_postgres_error_without_the_password(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    postgres_server.add_password_user("alice", "right horse")
    url = f"postgresql://alice:wrong-battery@127.0.0.1:{postgres_server.port}/postgres"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CERTDESK_")}
    completed = subprocess.run(
        [sys.executable, "-m", "certdesk", "--database", url, "scope", "list"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 3, completed.stderr
    assert "refused the password of user 'alice'" in completed.stderr
    assert "wrong-battery" not in completed.stderr + completed.stdout
    assert "Traceback" not in completed.stderr
