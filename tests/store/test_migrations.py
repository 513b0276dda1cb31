"""Schema versions: numbered steps, a backup before migrating, all or nothing, no downgrade (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import peewee
import pytest

from certdesk.domain.errors import DatabaseError
from certdesk.store.connection import close_db, describe_url, init_db, open_database
from certdesk.store.migrations import SCHEMA_VERSION, STEPS, Step, migrate, read_version
from certdesk.store.models import Scope, db
from tests.helpers.postgres import CleanDatabase

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _add_notes_table(database: peewee.Database) -> None:
    database.execute_sql("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")


def _add_scope_colour(database: peewee.Database) -> None:
    database.execute_sql("ALTER TABLE scope ADD COLUMN colour TEXT NOT NULL DEFAULT 'blue'")


def _fail(database: peewee.Database) -> None:
    database.execute_sql("ALTER TABLE no_such_table ADD COLUMN x TEXT")


@pytest.fixture
def sqlite_path(empty_database_url: str) -> Path | None:
    """Where migrate() may take its backup: the SQLite file, or None on PostgreSQL."""
    return describe_url(empty_database_url).sqlite_path


@pytest.fixture
def unmigrated(empty_database_url: str) -> Iterator[peewee.Database]:
    """A database at version 1 holding one scope, opened without migrating it further."""
    init_db(empty_database_url)
    Scope.create(path="acme", level="account", identifier="acme", name="Acme", created_at=NOW, updated_at=NOW)
    close_db()
    init_db(empty_database_url, migrate_schema=False)
    yield db.obj
    close_db()


@pytest.fixture
def empty(empty_database_url: str) -> Iterator[peewee.Database]:
    """A database with no tables, opened without migrating it."""
    init_db(empty_database_url, migrate_schema=False)
    yield db.obj
    close_db()


def _backups(path: Path | None) -> list[Path]:
    return [] if path is None else sorted(path.parent.glob(f"{path.name}.v*.bak"))


def _read(path: Path, sql: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def _columns(table: str) -> set[str]:
    return {column.name for column in db.get_columns(table)}


def test_steps_define_the_schema_version() -> None:
    assert len(STEPS) == SCHEMA_VERSION
    assert SCHEMA_VERSION >= 1


def test_an_empty_database_is_at_version_zero(empty: peewee.Database, sqlite_path: Path | None) -> None:
    assert read_version(empty) == 0
    assert migrate(empty, sqlite_path) == 0
    assert read_version(empty) == SCHEMA_VERSION
    assert not _backups(sqlite_path)  # nothing to back up in a new database


def test_migrating_runs_each_new_step_and_records_the_version(
    unmigrated: peewee.Database, sqlite_path: Path | None
) -> None:
    steps: tuple[Step, ...] = (*STEPS, _add_notes_table, _add_scope_colour)
    found = migrate(unmigrated, sqlite_path, steps)

    assert found == SCHEMA_VERSION
    assert read_version(unmigrated) == SCHEMA_VERSION + 2
    assert "note" in unmigrated.get_tables()
    assert "colour" in _columns("scope")
    assert unmigrated.execute_sql("SELECT path, colour FROM scope").fetchall() == [("acme", "blue")]


def test_migrating_again_is_a_no_op(unmigrated: peewee.Database, sqlite_path: Path | None) -> None:
    steps: tuple[Step, ...] = (*STEPS, _add_notes_table)
    migrate(unmigrated, sqlite_path, steps)
    assert migrate(unmigrated, sqlite_path, steps) == SCHEMA_VERSION + 1
    assert len(_backups(sqlite_path)) == (1 if sqlite_path else 0)


@pytest.mark.sqlite_only("the backup copies the SQLite file; a PostgreSQL server is backed up by its operator")
def test_a_backup_of_the_old_version_is_taken_before_migrating(unmigrated: peewee.Database, sqlite_path: Path) -> None:
    migrate(unmigrated, sqlite_path, (*STEPS, _add_scope_colour))

    [backup] = _backups(sqlite_path)
    assert backup.name.startswith(f"{sqlite_path.name}.v{SCHEMA_VERSION}-")
    # The copy is the database as it was: the old version, the old columns, the same rows.
    assert _read(backup, "SELECT value FROM schema_meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]
    assert _read(backup, "SELECT path, name FROM scope") == [("acme", "Acme")]
    assert "colour" not in {row[1] for row in _read(backup, "PRAGMA table_info(scope)")}
    assert backup.stat().st_mode == sqlite_path.stat().st_mode


def test_a_failing_migration_leaves_the_database_as_it_was(
    unmigrated: peewee.Database, sqlite_path: Path | None
) -> None:
    # Step 2 succeeds on its own, step 3 fails: neither may stay.
    steps: tuple[Step, ...] = (*STEPS, _add_notes_table, _fail)
    with pytest.raises(peewee.DatabaseError, match="no_such_table"):
        migrate(unmigrated, sqlite_path, steps)

    assert read_version(unmigrated) == SCHEMA_VERSION
    assert "note" not in unmigrated.get_tables()
    assert [scope.path for scope in Scope.select()] == ["acme"]
    assert len(_backups(sqlite_path)) == (1 if sqlite_path else 0)

    # Once the step is fixed, the same database migrates cleanly.
    assert migrate(unmigrated, sqlite_path, (*STEPS, _add_notes_table, _add_scope_colour)) == SCHEMA_VERSION
    assert read_version(unmigrated) == SCHEMA_VERSION + 2


def test_a_failing_first_step_leaves_a_new_database_empty(empty: peewee.Database, sqlite_path: Path | None) -> None:
    with pytest.raises(peewee.DatabaseError):
        migrate(empty, sqlite_path, (STEPS[0], _fail))
    assert db.get_tables() == []
    assert read_version(empty) == 0


def test_a_newer_version_is_refused_without_change(unmigrated: peewee.Database, sqlite_path: Path | None) -> None:
    migrate(unmigrated, sqlite_path, (*STEPS, _add_notes_table))
    backups_before = _backups(sqlite_path)

    with pytest.raises(DatabaseError, match="newer certdesk") as caught:
        migrate(unmigrated, sqlite_path, STEPS)

    assert f"schema version {SCHEMA_VERSION + 1}" in caught.value.message
    assert f"knows up to {SCHEMA_VERSION}" in caught.value.message
    assert read_version(unmigrated) == SCHEMA_VERSION + 1
    assert "note" in unmigrated.get_tables()
    assert _backups(sqlite_path) == backups_before


def test_foreign_tables_are_refused_by_migrate(empty: peewee.Database, sqlite_path: Path | None) -> None:
    db.execute_sql("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(DatabaseError, match="not certdesk's"):
        migrate(empty, sqlite_path)
    assert db.get_tables() == ["invoices"]


@pytest.mark.postgres
def test_a_team_database_two_clients_open_at_once_is_migrated_once(postgres_certdesk: CleanDatabase) -> None:
    """Workstations opening a new team database together all succeed; the tables are made once.

    PostgreSQL only: it is what a team shares, and the advisory lock in migrate() is PostgreSQL's.
    """
    errors: list[BaseException] = []
    opened = threading.Barrier(4)

    with postgres_certdesk.empty_schema() as url:

        def open_and_migrate() -> None:
            try:
                database, _ = open_database(url, migrate_schema=False)
                try:
                    opened.wait(timeout=10)
                    migrate(database, None)
                finally:
                    database.close()
            except BaseException as error:  # reported below, on the test's thread
                errors.append(error)

        workers = [threading.Thread(target=open_and_migrate) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert errors == []
        init_db(url, migrate_schema=False)
        try:
            assert read_version(db.obj) == SCHEMA_VERSION
            assert db.execute_sql("SELECT count(*) FROM schema_meta").fetchone() == (1,)
        finally:
            close_db()
