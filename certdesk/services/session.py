"""Database sessions for worker threads: each thread's connection is closed when its work ends."""

from __future__ import annotations

from certdesk.store.models import db


def end_thread_session() -> None:
    """Close this thread's database connection, if it opened one (peewee keeps one per thread)."""
    if db.obj is not None and not db.is_closed():
        db.close()
