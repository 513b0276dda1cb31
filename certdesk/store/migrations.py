"""Schema versions: one migration step per version, a backup before migrating, no downgrades."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import peewee

from certdesk.domain.errors import DatabaseError
from certdesk.store.models import MODELS, SchemaMeta

Step = Callable[[peewee.Database], None]


def _create_v1(database: peewee.Database) -> None:
    database.create_tables(MODELS)


# Version N is reached by running STEPS[N - 1]; append, never edit, a released step.
STEPS: tuple[Step, ...] = (_create_v1,)
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
    row = SchemaMeta.get_or_none(SchemaMeta.key == "schema_version")
    return int(row.value) if row else 0


def migrate(database: peewee.Database, sqlite_path: Path | None, steps: tuple[Step, ...] = STEPS) -> int:
    """Bring the schema to the newest version; return the version it was at."""
    target = len(steps)
    found = read_version(database)
    if found > target:
        raise DatabaseError(
            f"This database was written by a newer certdesk (schema version {found}; this certdesk "
            f"knows up to {target}). Update certdesk to open it. Nothing was changed."
        )
    if found == target:
        return found
    if found > 0 and sqlite_path is not None:
        backup_sqlite(database, sqlite_path, found)
    # All steps in one transaction: a step that fails leaves the database at the version it had.
    with database.atomic():
        for version in range(found + 1, target + 1):
            steps[version - 1](database)
            SchemaMeta.delete().where(SchemaMeta.key == "schema_version").execute()
            SchemaMeta.create(key="schema_version", value=str(version))
    return found


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
