"""Open the database named by a URL, once, before any window exists."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import peewee
from playhouse.db_url import connect

from certdesk.domain.errors import DatabaseError, InvalidInput
from certdesk.store.migrations import migrate, refuse_foreign_tables
from certdesk.store.models import db

BUSY_TIMEOUT_MS = 15_000
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": BUSY_TIMEOUT_MS,
    "synchronous": "normal",
    "cache_size": -32_000,
}


@dataclass(frozen=True)
class DatabaseInfo:
    """What the status bar and `--json` say about the open database (no password)."""

    url: str
    kind: str
    display: str
    sqlite_path: Path | None


def sqlite_url(path: Path) -> str:
    """The URL of an SQLite file; an absolute path gives the four-slash form."""
    return f"sqlite:///{path}"


def describe_url(url: str) -> DatabaseInfo:
    """Check a database URL and describe it without its password."""
    if "://" not in url:  # a bare file path is an SQLite database
        url = sqlite_url(Path(url).expanduser().absolute())
    parsed = urlparse(url)
    scheme = parsed.scheme.split("+")[0]
    if scheme == "sqlite":
        # As in SQLAlchemy and peewee: sqlite:///relative.db, sqlite:////absolute/file.db
        raw_path = unquote(url.split("://", 1)[1])
        raw_path = raw_path[1:] if raw_path.startswith("/") else raw_path
        if not raw_path or raw_path == ":memory:":
            raise InvalidInput("Invalid database URL: give a file, as sqlite:////absolute/path/to/file.db.")
        path = Path(raw_path).expanduser().absolute()
        return DatabaseInfo(sqlite_url(path), "sqlite", str(path), path)
    if scheme in {"postgres", "postgresql", "psycopg3"}:
        host = parsed.hostname or "localhost"
        port = f":{parsed.port}" if parsed.port else ""
        user = f"{parsed.username}@" if parsed.username else ""
        return DatabaseInfo(url, "postgresql", f"postgresql://{user}{host}{port}{parsed.path}", None)
    raise InvalidInput(
        f"Invalid database URL '{parsed.scheme}://…': use sqlite:///path/to/file.db or "
        "postgresql://user@host:port/database."
    )


def init_db(url: str, *, migrate_schema: bool = True) -> DatabaseInfo:
    """Open the database at `url`, bind the models to it and bring its schema up to date."""
    info = describe_url(url)
    if info.sqlite_path is not None:
        database: peewee.Database = _open_sqlite(info.sqlite_path)
    else:
        database = _open_postgres(info)
    db.initialize(database)
    if migrate_schema:
        try:
            migrate(database, info.sqlite_path)
        except DatabaseError:
            database.close()
            raise
        except (peewee.DatabaseError, sqlite3.DatabaseError) as error:
            database.close()
            raise DatabaseError(_explain(error, info)) from None
    return info


def close_db() -> None:
    if db.obj is not None and not db.is_closed():
        db.close()


def _open_sqlite(path: Path) -> peewee.SqliteDatabase:
    if path.exists() and not path.is_file():
        raise DatabaseError(f"Cannot open the database {path}: it is not a file.")
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                raise DatabaseError(
                    f"Cannot open the database {path}: the file is not a certdesk database "
                    "(it is not an SQLite file). Nothing was changed."
                )
        _refuse_foreign_sqlite(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseError(f"Cannot create the folder for the database {path}: {error.strerror}.") from None
    database = peewee.SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        database.connect()
    except (peewee.DatabaseError, peewee.OperationalError) as error:
        raise DatabaseError(_explain(error, describe_url(sqlite_url(path)))) from None
    return database


def _refuse_foreign_sqlite(path: Path) -> None:
    """Look at an existing file's tables before the pragmas (WAL mode) change anything in it."""
    try:
        probe = sqlite3.connect(str(path))
        try:
            query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!'"
            tables = {name for (name,) in probe.execute(query)}
        finally:
            probe.close()
    except sqlite3.DatabaseError:
        return  # a damaged file: the regular open below explains it
    try:
        refuse_foreign_tables(tables)
    except DatabaseError as error:
        raise DatabaseError(f"Cannot open the database {path}: {error.message} Nothing was changed.") from None


def _open_postgres(info: DatabaseInfo) -> peewee.Database:
    url = info.url.replace("psycopg3://", "postgresql://", 1)
    try:
        database: peewee.Database = connect(url, prefer_psycopg3=True)
        database.connect()
    except peewee.ImproperlyConfigured:
        raise DatabaseError("PostgreSQL needs the psycopg driver: install certdesk's postgres extra.") from None
    except (peewee.DatabaseError, peewee.OperationalError) as error:
        raise DatabaseError(_explain(error, info)) from None
    return database


def _explain(error: Exception, info: DatabaseInfo) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered:
        reason = "the file is not a certdesk database or is damaged"
    elif "readonly" in lowered or "read-only" in lowered:
        reason = "the database is read-only"
    elif "disk" in lowered and "full" in lowered:
        reason = "the disk is full"
    elif "unable to open" in lowered:
        reason = "the file cannot be opened (check the folder exists and is writable)"
    else:
        reason = text
    return f"Cannot open the database {info.display}: {reason}. Nothing was changed."
