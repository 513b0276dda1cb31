"""Column types shared by the models: UTC instants and JSON documents stored as portable text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import peewee


class UtcDateTimeField(peewee.TextField):
    """An aware UTC instant stored as sortable ISO-8601 text (`2026-12-04T15:58:49.000000+00:00`).

    Text sorts and compares the same on SQLite and PostgreSQL and parses back with the fast
    `datetime.fromisoformat`, which matters when listing 100,000 rows.
    """

    def db_value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("UtcDateTimeField takes aware datetimes only")
            return to_iso(value)
        return value

    def python_value(self, value: Any) -> Any:
        return datetime.fromisoformat(value) if isinstance(value, str) else value


def to_iso(value: datetime) -> str:
    """The stored text of an instant: fixed width, so text order is time order."""
    # isoformat, unlike strftime("%Y"), pads years before 1000 to four digits (a certificate's
    # GeneralizedTime can hold one), so the text still sorts and parses back.
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class JsonField(peewee.TextField):
    """A small JSON document (tags, connector settings, audit snapshots) kept as text."""

    def db_value(self, value: Any) -> Any:
        return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)

    def python_value(self, value: Any) -> Any:
        return None if value is None else json.loads(value)
