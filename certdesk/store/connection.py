"""Open the database named by a URL, once, before any window exists."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

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
POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "psycopg3"})
POSTGRES_CONNECT_TIMEOUT_S = 10
# The certificate filter writes `LIKE ... ESCAPE '\'`, which needs standard strings (the default since
# PostgreSQL 9.1); asking for them at connection start costs no round trip and survives a server set otherwise.
POSTGRES_SESSION_OPTIONS = "-c standard_conforming_strings=on"


@dataclass(frozen=True)
class DatabaseInfo:
    """What the status bar and `--json` say about the open database: `display` never holds a password."""

    url: str = field(repr=False)  # what certdesk connects with: may hold a PostgreSQL password
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
    if scheme in POSTGRES_SCHEMES:
        try:
            port = f":{parsed.port}" if parsed.port else ""
        except ValueError:
            raise InvalidInput("Invalid database URL: the port must be a number from 1 to 65535.") from None
        if not parsed.path.strip("/"):
            raise InvalidInput("Invalid database URL: name the database, as postgresql://user@host:5432/certdesk.")
        host = parsed.hostname or "localhost"
        user = f"{unquote(parsed.username)}@" if parsed.username else ""
        return DatabaseInfo(url, "postgresql", f"postgresql://{user}{host}{port}{parsed.path}", None)
    raise InvalidInput(
        f"Invalid database URL '{parsed.scheme}://…': use sqlite:///path/to/file.db or "
        "postgresql://user@host:port/database."
    )


def open_database(
    url: str, *, migrate_schema: bool = True, must_exist: bool = False
) -> tuple[peewee.Database, DatabaseInfo]:
    """Open the database at `url` on its own, without binding the models to it (as `db copy` needs two).

    With `must_exist` (a source to read from), an SQLite file that is not there is refused instead of created,
    and one that is read-only for this user is accepted.
    """
    info = describe_url(url)
    if info.sqlite_path is not None:
        if must_exist and not info.sqlite_path.exists():
            raise DatabaseError(f"Cannot open the database {info.display}: there is no such file.")
        database: peewee.Database = _open_sqlite(info.sqlite_path, writable=not must_exist)
    else:
        database = _open_postgres(info)
    if migrate_schema:
        migrate_or_explain(database, info)
    return database, info


def init_db(url: str, *, migrate_schema: bool = True) -> DatabaseInfo:
    """Open the database at `url`, bind the models to it and bring its schema up to date."""
    database, info = open_database(url, migrate_schema=False)
    db.initialize(database)
    if migrate_schema:
        migrate_or_explain(database, info)
    return info


def migrate_or_explain(database: peewee.Database, info: DatabaseInfo) -> None:
    """Bring the schema up to date; on failure close the database and say why in a sentence."""
    try:
        migrate(database, info.sqlite_path)
    except DatabaseError:
        database.close()
        raise
    except (peewee.DatabaseError, sqlite3.DatabaseError) as error:
        database.close()
        raise DatabaseError(explain(error, info)) from None


def close_db() -> None:
    if db.obj is not None and not db.is_closed():
        db.close()


def _open_sqlite(path: Path, writable: bool = True) -> peewee.SqliteDatabase:
    """Open an SQLite file; one only read from (a copy's source, `writable=False`) may be read-only."""
    if path.exists() and not path.is_file():
        raise DatabaseError(f"Cannot open the database {path}: it is not a file.")
    if path.exists() and not os.access(path, os.R_OK | (os.W_OK if writable else 0)):
        # Opened all the same, SQLite would leave -wal and -shm files as read-only as the database, and
        # they would keep it unwritable even after write access to the file itself is given back.
        access = "is read-only for you" if os.access(path, os.R_OK) else "cannot be read by you"
        raise DatabaseError(
            f"Cannot open the database {path}: the file {access}, and certdesk needs to read and write it. "
            "Ask for access, or work on a copy. Nothing was changed."
        )
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
    # Every certdesk transaction writes, most after reading (is the identifier free? the certificate
    # stored?): BEGIN IMMEDIATE takes the write lock first, so a second writer waits its turn (busy
    # timeout) and then reads what the first wrote. A deferred BEGIN would fail at once with "database
    # is locked" when it turns from reading to writing, or let both writers act on the same stale read.
    database = peewee.SqliteDatabase(
        str(path), pragmas=SQLITE_PRAGMAS, timeout=BUSY_TIMEOUT_MS / 1000, lock_type="IMMEDIATE"
    )
    try:
        database.connect()
    except (peewee.DatabaseError, peewee.OperationalError) as error:
        raise DatabaseError(explain(error, describe_url(sqlite_url(path)))) from None
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
    """Connect through psycopg 3 (peewee's psycopg3 adapter); the URL's query may add libpq parameters."""
    url = info.url.replace("psycopg3://", "postgresql://", 1)
    given = dict(parse_qsl(urlparse(url).query))
    options = f"{given['options']} {POSTGRES_SESSION_OPTIONS}" if "options" in given else POSTGRES_SESSION_OPTIONS
    extra = {
        "options": options,
        "connect_timeout": given.get("connect_timeout", str(POSTGRES_CONNECT_TIMEOUT_S)),
        "application_name": given.get("application_name", "certdesk"),
    }
    try:
        database: peewee.Database = connect(
            url, unquote_password=True, unquote_user=True, prefer_psycopg3=True, **extra
        )
        database.connect()
    except peewee.ImproperlyConfigured:
        raise DatabaseError("PostgreSQL needs the psycopg driver: pip install 'psycopg[binary]'.") from None
    except (peewee.DatabaseError, peewee.OperationalError) as error:
        raise DatabaseError(explain(error, info)) from None
    return database


def explain(error: Exception, info: DatabaseInfo) -> str:
    """A sentence for a person about a failed open or query, never holding the URL's password."""
    return f"Cannot open the database {info.display}: {_reason(error, info)}. Nothing was changed."


def _reason(error: Exception, info: DatabaseInfo) -> str:
    text = _without_password(" ".join(str(error).split()), info) or type(error).__name__
    lowered = text.lower()
    if info.kind == "postgresql":
        return _postgres_reason(text, lowered, info)
    if "not a database" in lowered or "malformed" in lowered:
        return "the file is not a certdesk database or is damaged"
    if "readonly" in lowered or "read-only" in lowered:
        return "the database is read-only"
    if "disk" in lowered and "full" in lowered:
        return "the disk is full"
    if "unable to open" in lowered:
        return "the file cannot be opened (check the folder exists and is writable)"
    if "disk i/o error" in lowered:
        return "the disk reported an input/output error (is it full, or failing?)"
    return text


def _postgres_reason(text: str, lowered: str, info: DatabaseInfo) -> str:
    parsed = urlparse(info.url)
    server = f"{parsed.hostname or 'localhost'}:{parsed.port or 5432}"
    user = unquote(parsed.username) if parsed.username else "(your login name)"
    name = parsed.path.strip("/")
    if "connection refused" in lowered:
        return f"no PostgreSQL server accepts connections at {server} (connection refused); check the host and port"
    if "password authentication failed" in lowered or "authentication failed" in lowered:
        return f"the server refused the password of user '{user}'; check the user name and password"
    if "no password supplied" in lowered or "password is required" in lowered:
        return f"the server asks a password of user '{user}' and none was given (add it to ~/.pgpass or PGPASSWORD)"
    if "does not exist" in lowered and "database" in lowered:
        return f"there is no database '{name}' on {server}; create it first (createdb {name})"
    if "does not exist" in lowered and "role" in lowered:
        return f"there is no user '{user}' on {server}"
    if "timeout" in lowered or "timed out" in lowered:
        return f"the server at {server} did not answer in time"
    if "translate host name" in lowered or "name or service not known" in lowered:
        return f"the host name '{parsed.hostname}' cannot be resolved"
    if "permission denied" in lowered:
        return f"user '{user}' lacks a permission certdesk needs ({text})"
    return text


def _without_password(text: str, info: DatabaseInfo) -> str:
    password = urlparse(info.url).password
    for secret in {password, unquote(password or "")} - {None, ""}:
        text = text.replace(str(secret), "***")
    return text


# --- faults met while a command runs, and writers taking turns ---------------------------------------------------

# SQLite result codes (Python 3.11+ names them on the error) for faults of the file, the disk or another
# writer: things a person can act on. Any other error (a wrong query) is a bug and passes through.
_SQLITE_FAULTS = (
    ("SQLITE_READONLY", "readonly database", "read-only"),
    ("SQLITE_FULL", "database or disk is full", "full"),
    ("SQLITE_BUSY", "database is locked", "busy"),
    ("SQLITE_LOCKED", "database table is locked", "busy"),
    ("SQLITE_CORRUPT", "disk image is malformed", "damaged"),
    ("SQLITE_NOTADB", "file is not a database", "damaged"),
    ("SQLITE_IOERR", "disk i/o error", "i/o"),
    ("SQLITE_CANTOPEN", "unable to open database file", "cannot-open"),
)


@contextmanager
def database_faults_explained(info: DatabaseInfo) -> Iterator[None]:
    """Turn a fault met while a command runs (read-only file, full disk, damaged pages...) into a DatabaseError."""
    try:
        yield
    except (peewee.DatabaseError, sqlite3.DatabaseError) as error:
        fault = _sqlite_fault(error)
        if fault is None:
            raise
        raise DatabaseError(_fault_message(fault, info)) from None


def _sqlite_fault(error: BaseException) -> str | None:
    """The kind of fault behind an error, looking through peewee's wrapper and a failed rollback after it."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        name = str(getattr(current, "sqlite_errorname", ""))
        text = str(current).lower()
        for code, words, fault in _SQLITE_FAULTS:
            if name.startswith(code) or words in text:
                return fault
        pending += [current.__cause__, current.__context__]
        pending += [arg for arg in current.args if isinstance(arg, BaseException)]
    return None


def _fault_message(fault: str, info: DatabaseInfo) -> str:
    where = info.display
    undone = "The change under way was undone; nothing is half-written."
    return {
        "read-only": f"Cannot write to the database {where}: the file, its folder or a -wal or -shm file next to "
        "it is read-only. Nothing was written. Ask for write access, or work on a copy.",
        "full": f"Cannot write to the database {where}: the disk is full. {undone} Free some space and try again.",
        "busy": f"The database {where} is busy: another program kept it locked for more than "
        f"{BUSY_TIMEOUT_MS // 1000} seconds. {undone} Try again when it is done.",
        "damaged": f"The database {where} is damaged: SQLite found pages it cannot read. Nothing more was "
        "written to it. Restore it from a backup copy.",
        "i/o": f"Cannot read or write the database {where}: the disk reported an input/output error. {undone} "
        "Check the disk and try again.",
        "cannot-open": f"Cannot use the database {where}: a file next to it cannot be created (is the folder "
        f"read-only?). {undone}",
    }[fault]


def explain_fault(error: BaseException, info: DatabaseInfo) -> DatabaseError | None:
    """The DatabaseError a person should see for a fault met while working, or None when it is not one."""
    if not isinstance(error, (peewee.DatabaseError, sqlite3.DatabaseError)):
        return None
    fault = _sqlite_fault(error)
    return DatabaseError(_fault_message(fault, info)) if fault is not None else None


def others_commit_stamp() -> int | None:
    """A number that changes when another connection commits to the database (SQLite's data_version).

    None where the database cannot tell: then assume something changed.
    """
    if isinstance(db.obj, peewee.SqliteDatabase):
        return int(db.execute_sql("PRAGMA data_version").fetchone()[0])
    return None


IMPORT_LOCK_CLASS = 0x63657274  # "cert": the first key of certdesk's advisory locks


def serialise_scope_imports(scope_id: int) -> None:
    """Make imports into one scope take turns on PostgreSQL, as BEGIN IMMEDIATE does on SQLite.

    Held until the transaction ends; without it two imports could both find a certificate new.
    """
    if isinstance(db.obj, peewee.PostgresqlDatabase):
        db.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", (IMPORT_LOCK_CLASS, scope_id))
