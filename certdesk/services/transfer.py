"""Copy a whole inventory between databases (SQLite to PostgreSQL and back), verified, all or nothing.

The copy reads the source in one consistent snapshot and writes the target in one transaction, keeping every
row's id so references between rows still hold. Before it commits, it reads the target back and compares, table
by table, the row count and a SHA-256 digest of the rows with those of the source; on any difference, or any
error or interruption, the transaction is rolled back and the target is left as it was. Connector secrets are
not in any database (they stay in the OS keyring); their references are copied like any other setting.

Queries name their database (`query.bind(database)`) rather than rebinding the models, so nothing else that
uses the models through the application's proxy is redirected while a copy runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

import peewee

from certdesk.domain.errors import CertdeskError, Conflict, DatabaseError, InvalidInput
from certdesk.store.connection import DatabaseInfo, describe_url, explain, open_database
from certdesk.store.fields import to_iso
from certdesk.store.migrations import SCHEMA_VERSION, lock_schema, migrate, read_version, writing
from certdesk.store.models import AuditEntry, BaseModel, Certificate, Connector, SchemaMeta, Scope, fetch_tuples

# Rows per INSERT: each row binds one parameter per column, and PostgreSQL takes at most 65,535 parameters
# per statement (SQLite 32,766); 20,000 leaves room and keeps the statements few.
PARAMETERS_PER_BATCH = 20_000
# Parents before children, the order the foreign keys need; schema_meta is handled on its own.
COPIED: tuple[type[BaseModel], ...] = (Scope, Certificate, Connector, AuditEntry)
Progress = Callable[[str, int], None]


class CopyMismatch(DatabaseError):
    """What the target holds after the copy differs from the source: the copy was rolled back."""


@dataclass(frozen=True)
class TableCopy:
    """One table copied: its rows and the SHA-256 digest of their values, the same in source and target."""

    table: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class CopyReport:
    source: str
    target: str
    tables: tuple[TableCopy, ...]

    @property
    def fingerprint(self) -> str:
        """One SHA-256 over every table's digest: equal for two databases holding the same inventory."""
        digest = hashlib.sha256()
        for table in self.tables:
            digest.update(f"{table.table} {table.rows} {table.sha256}\n".encode())
        return digest.hexdigest()

    def rows(self, table: str) -> int:
        return next(copied.rows for copied in self.tables if copied.table == table)


def copy_inventory(source_url: str, target_url: str, progress: Progress | None = None) -> CopyReport:
    """Copy everything in the source database into the target, which must hold no inventory yet."""
    source_info, target_info = describe_url(source_url), describe_url(target_url)
    if _identity(source_info) == _identity(target_info):
        raise InvalidInput(f"The source and the target are the same database ({source_info.display}).")
    created = target_info.sqlite_path is not None and not target_info.sqlite_path.exists()
    source, _ = open_database(source_url, migrate_schema=False, must_exist=True)
    try:
        _check_source(source, source_info)
        target, _ = open_database(target_url, migrate_schema=False)
        try:
            return _copy(source, source_info, target, target_info, progress)
        except BaseException:
            target.close()
            if created and target_info.sqlite_path is not None:
                _remove_sqlite_files(target_info.sqlite_path)  # we made it: leave no empty file behind
            raise
        finally:
            target.close()
    finally:
        source.close()


def _identity(info: DatabaseInfo) -> tuple[Any, ...]:
    if info.sqlite_path is not None:
        return ("sqlite", info.sqlite_path.resolve())
    parsed = urlparse(info.url)
    options = dict(parse_qsl(parsed.query)).get("options", "")  # may choose another schema (search_path)
    return ("postgresql", (parsed.hostname or "localhost").lower(), parsed.port or 5432, parsed.path, options)


def _check_source(source: peewee.Database, info: DatabaseInfo) -> None:
    try:
        version = read_version(source)
    except DatabaseError as error:
        raise DatabaseError(f"Cannot copy from {info.display}: {error.message}") from None
    except peewee.DatabaseError as error:
        raise DatabaseError(explain(error, info)) from None
    if version == 0:
        raise DatabaseError(f"Cannot copy from {info.display}: it holds no certdesk inventory.")
    if version != SCHEMA_VERSION:
        raise DatabaseError(
            f"Cannot copy from {info.display}: its schema version is {version} and this certdesk's is "
            f"{SCHEMA_VERSION}. Open it with the certdesk that matches, then copy. Nothing was changed."
        )


def _copy(
    source: peewee.Database,
    source_info: DatabaseInfo,
    target: peewee.Database,
    target_info: DatabaseInfo,
    progress: Progress | None,
) -> CopyReport:
    try:
        with _snapshot(source), writing(target):
            lock_schema(target)  # no other client migrates or copies into the target meanwhile
            _prepare_target(target, target_info)
            copied = [_copy_table(model, source, target, progress) for model in COPIED]
            _copy_settings(source, target)
            _restart_sequences(target)
            _verify(copied, target, source_info, target_info)
    except CertdeskError:
        raise
    except peewee.DatabaseError as error:
        raise DatabaseError(
            f"The copy into {target_info.display} failed and was undone: {_reason(error)}. The target is as it was."
        ) from None
    return CopyReport(source_info.display, target_info.display, tuple(copied))


def _snapshot(database: peewee.Database) -> Any:
    """A read transaction that sees one state of the source, whatever others write meanwhile."""
    if isinstance(database, peewee.PostgresqlDatabase):
        return database.atomic(isolation_level="REPEATABLE READ")
    # SQLite: a read transaction in WAL mode is a snapshot; DEFERRED, as it need not block the source's writers.
    return database.atomic(lock_type="DEFERRED")


def _prepare_target(target: peewee.Database, info: DatabaseInfo) -> None:
    """Create the schema in an empty target; refuse one that holds an inventory or others' tables."""
    try:
        version = read_version(target)
    except DatabaseError as error:
        raise DatabaseError(f"Cannot copy into {info.display}: {error.message} Nothing was changed.") from None
    if version == 0:
        migrate(target, None)
        return
    if version != SCHEMA_VERSION:
        raise DatabaseError(
            f"Cannot copy into {info.display}: it has certdesk's schema version {version}, not {SCHEMA_VERSION}. "
            "Nothing was changed."
        )
    held = {model._meta.table_name: model.select().bind(target).count() for model in COPIED}
    if any(held.values()):
        listed = ", ".join(f"{count} {table.replace('_', ' ')} rows" for table, count in held.items() if count)
        raise Conflict(
            f"Cannot copy into {info.display}: it already holds an inventory ({listed}). "
            "certdesk copies only into an empty database. Nothing was changed."
        )


def _fields(model: type[BaseModel]) -> list[peewee.Field]:
    return list(model._meta.sorted_fields)


def _batches(model: type[BaseModel], database: peewee.Database) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows in id order, a batch at a time (keyset pagination: steady memory at any size)."""
    fields = _fields(model)
    size = max(1, PARAMETERS_PER_BATCH // len(fields))
    last = None
    while True:
        query = model.select(*fields).order_by(model.id).limit(size)
        if last is not None:
            query = query.where(model.id > last)
        rows = fetch_tuples(query.bind(database))
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _copy_table(
    model: type[BaseModel], source: peewee.Database, target: peewee.Database, progress: Progress | None
) -> TableCopy:
    fields = _fields(model)
    table = model._meta.table_name
    digest, count = hashlib.sha256(), 0
    for rows in _batches(model, source):
        for row in rows:
            digest.update(_canonical(row))
        if model is Scope:  # a parent before its children, whatever their ids
            depth = fields.index(Scope.path)
            rows = sorted(rows, key=lambda row: str(row[depth]).count("/"))
        # as_rowcount: no RETURNING of the ids, which we give ourselves
        model.insert_many(rows, fields=fields).as_rowcount().bind(target).execute()
        count += len(rows)
        if progress is not None:
            progress(table, count)
    return TableCopy(table, count, digest.hexdigest())


def _copy_settings(source: peewee.Database, target: peewee.Database) -> None:
    """schema_meta rows other than the version, which the target's own migration wrote."""
    others = SchemaMeta.select(SchemaMeta.key, SchemaMeta.value).where(SchemaMeta.key != "schema_version")
    rows = list(others.tuples().bind(source))
    if rows:
        SchemaMeta.insert_many(rows, fields=[SchemaMeta.key, SchemaMeta.value]).as_rowcount().bind(target).execute()


def _restart_sequences(target: peewee.Database) -> None:
    """PostgreSQL hands out ids from sequences, which explicit ids do not advance: move them past the copy."""
    if not isinstance(target, peewee.PostgresqlDatabase):
        return  # SQLite takes the next id from the table itself
    fn = peewee.fn
    for model in COPIED:
        # SELECT setval(pg_get_serial_sequence('scope', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM scope
        sequence = fn.pg_get_serial_sequence(model._meta.table_name, "id")
        model.select(fn.setval(sequence, fn.COALESCE(fn.MAX(model.id), 0) + 1, False)).bind(target).scalar()


def _verify(
    copied: list[TableCopy], target: peewee.Database, source_info: DatabaseInfo, target_info: DatabaseInfo
) -> None:
    """Read the target back, in the copy's transaction, and compare each table with the source."""
    differences = []
    for expected, model in zip(copied, COPIED, strict=True):
        digest, count = hashlib.sha256(), 0
        for rows in _batches(model, target):
            for row in rows:
                digest.update(_canonical(row))
            count += len(rows)
        if count != expected.rows:
            differences.append(f"{expected.table}: {expected.rows} rows in the source, {count} in the target")
        elif digest.hexdigest() != expected.sha256:
            differences.append(f"{expected.table}: the same {count} rows, but their SHA-256 fingerprints differ")
    if differences:
        raise CopyMismatch(
            f"The copy from {source_info.display} into {target_info.display} did not match the source and was "
            f"undone ({'; '.join(differences)}). The target is as it was."
        )


def _canonical(row: tuple[Any, ...]) -> bytes:
    """A row's values as the models read them, in one spelling whichever database they came from."""
    return (json.dumps([_plain(value) for value in row], ensure_ascii=False, sort_keys=True) + "\n").encode()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_iso(value)
    return value


def _reason(error: peewee.DatabaseError) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _remove_sqlite_files(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with suppress(FileNotFoundError):
            leftover.unlink()
