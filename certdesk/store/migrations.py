"""Schema versions: one migration step per version, a backup before migrating, no downgrades."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import peewee

from certdesk.domain.errors import DatabaseError
from certdesk.store.models import MODELS, SchemaMeta

Step = Callable[[peewee.Database], None]
# Any fixed number: PostgreSQL clients that migrate (or copy into) one database take turns on this lock.
POSTGRES_SCHEMA_LOCK = 0x63657274  # "cert"


# Steps and reads name their database explicitly (SchemaManager, `execute(database)`), never through the
# models' binding: `db copy` migrates a target while the application's proxy points elsewhere, and
# rebinding the models (`bind_ctx`) would redirect other threads' queries for the while.


def _create_v1(database: peewee.Database) -> None:
    for model in MODELS:  # in dependency order: a table before those that refer to it
        peewee.SchemaManager(model, database).create_all(safe=False)


def _add_sort_name_v2(database: peewee.Database) -> None:
    """Certificates sort by name without regard to case: a `sort_name` column, filled and indexed.

    Version 1 creates tables from today's models, so a new database already has the column: the
    step adds it only where it is missing, then fills every row whose sort name is still empty.
    """
    from certdesk.domain.names import sort_name
    from certdesk.store.models import Certificate  # the model of today: only its id and name are read

    if "sort_name" not in {column.name for column in database.get_columns("certificate")}:
        database.execute_sql("ALTER TABLE certificate ADD COLUMN sort_name VARCHAR(128) NOT NULL DEFAULT ''")  # type: ignore[no-untyped-call]
    rows = Certificate.select(Certificate.id, Certificate.name).where(Certificate.sort_name == "").tuples()
    values = [(sort_name(name), certificate_id) for certificate_id, name in rows.execute(database)]
    if values:  # one prepared statement for every row: 100,000 rows take a second, not a minute
        cursor = database.cursor()  # type: ignore[no-untyped-call]
        param = database.param
        cursor.executemany(f"UPDATE certificate SET sort_name = {param} WHERE id = {param}", values)  # noqa: S608
        cursor.close()
    database.execute_sql(  # type: ignore[no-untyped-call]
        "CREATE INDEX IF NOT EXISTS certificate_scope_id_sort_name ON certificate (scope_id, sort_name)"
    )


# Version N is reached by running STEPS[N - 1]; append, never edit, a released step.
STEPS: tuple[Step, ...] = (_create_v1, _add_sort_name_v2)
SCHEMA_VERSION = len(STEPS)


def refuse_foreign_tables(tables: set[str]) -> None:
    """Refuse a database that holds tables but not certdesk's schema_meta: it belongs to someone else."""
    if tables and "schema_meta" not in tables:
        raise DatabaseError("This database holds tables that are not certdesk's; certdesk will not touch it.")


def read_version(database: peewee.Database) -> int:
    """The schema version stored in the database; 0 for an empty database."""
    tables = set(database.get_tables())
    refuse_foreign_tables(tables)
    if "schema_meta" not in tables:
        return 0
    row = SchemaMeta.select(SchemaMeta.value).where(SchemaMeta.key == "schema_version").tuples().first(database)
    return int(row[0]) if row else 0


def lock_schema(database: peewee.Database) -> None:
    """On PostgreSQL, wait for any other client migrating the same database; held until the transaction ends.

    Two workstations may open a new team database at the same moment: without the lock both would
    create the tables and one would fail. SQLite needs nothing here: its writers are serialised anyway.
    """
    if isinstance(database, peewee.PostgresqlDatabase):
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (POSTGRES_SCHEMA_LOCK,))  # type: ignore[no-untyped-call]


def migrate(database: peewee.Database, sqlite_path: Path | None, steps: tuple[Step, ...] = STEPS) -> int:
    """Bring the schema to the newest version; return the version it was at."""
    target = len(steps)
    found = read_version(database)
    _refuse_newer(found, target)
    if found == target:
        return found
    if found > 0 and sqlite_path is not None:
        backup_sqlite(database, sqlite_path, found)
    # All steps in one transaction: a step that fails leaves the database at the version it had.
    with writing(database):
        lock_schema(database)
        now = read_version(database)  # another client may have migrated while we waited for the lock
        _refuse_newer(now, target)
        for version in range(now + 1, target + 1):
            steps[version - 1](database)
            SchemaMeta.delete().where(SchemaMeta.key == "schema_version").execute(database)
            # as_rowcount: the insert is built from the proxy's database, which may be another engine
            # (RETURNING on PostgreSQL, not on SQLite); a row count reads the same on both.
            SchemaMeta.insert(key="schema_version", value=str(version)).as_rowcount().execute(database)
    return found


def writing(database: peewee.Database) -> Any:
    """A transaction that writes from its start: on SQLite, BEGIN IMMEDIATE takes the write lock at once.

    A deferred transaction that reads and then writes cannot wait for another writer (SQLite answers
    "database is locked" at once); an immediate one waits for the busy timeout like any write.
    """
    if isinstance(database, peewee.SqliteDatabase):
        return database.atomic(lock_type="IMMEDIATE")
    return database.atomic()


def _refuse_newer(found: int, target: int) -> None:
    if found > target:
        raise DatabaseError(
            f"This database was written by a newer certdesk (schema version {found}; this certdesk "
            f"knows up to {target}). Update certdesk to open it. Nothing was changed."
        )


def backup_sqlite(database: peewee.Database, path: Path, version: int) -> Path:
    """Copy the SQLite file (consistently, through SQLite's backup API) before migrating it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.v{version}-{stamp}.bak")
    connection: sqlite3.Connection = database.connection()  # type: ignore[no-untyped-call]
    destination = sqlite3.connect(str(target))
    try:
        connection.backup(destination)
    except sqlite3.Error as error:
        destination.close()
        target.unlink(missing_ok=True)
        raise DatabaseError(f"Cannot back up the database before migrating it: {error}.") from None
    destination.close()
    shutil.copymode(path, target)
    return target
