"""The real `certdesk` command with test knobs, for faults a test cannot wait for or a release it cannot install.

`python -m tests.reliability.variant_certdesk --database FILE COMMAND...`, with
- CERTDESK_TEST_EXTRA_STEPS: schema steps after today's last one, comma-separated (`note`, `colour`,
  `fail`): the command as a later release would be;
- CERTDESK_TEST_BUSY_TIMEOUT_MS: how long to wait for another writer's lock, instead of 15 seconds.
"""

from __future__ import annotations

import functools
import os
import sys

import peewee

from certdesk import app
from certdesk.store import connection, migrations


def add_note_table(database: peewee.Database) -> None:
    database.execute_sql("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")


def add_scope_colour(database: peewee.Database) -> None:
    database.execute_sql("ALTER TABLE scope ADD COLUMN colour TEXT NOT NULL DEFAULT 'blue'")


def fail_halfway(database: peewee.Database) -> None:
    database.execute_sql("UPDATE scope SET name = name || ' (migrated)'")  # a change that must not stay
    database.execute_sql("ALTER TABLE no_such_table ADD COLUMN x TEXT")


EXTRA_STEPS = {"note": add_note_table, "colour": add_scope_colour, "fail": fail_halfway}


def main() -> int:
    names = [name for name in os.environ.get("CERTDESK_TEST_EXTRA_STEPS", "").split(",") if name]
    if names:
        steps = (*migrations.STEPS, *(EXTRA_STEPS[name] for name in names))
        # `migrate` binds its default steps when it is defined: hand the longer list to the caller instead.
        connection.migrate = functools.partial(migrations.migrate, steps=steps)  # type: ignore[attr-defined]
    busy = os.environ.get("CERTDESK_TEST_BUSY_TIMEOUT_MS")
    if busy:
        connection.BUSY_TIMEOUT_MS = int(busy)
        connection.SQLITE_PRAGMAS["busy_timeout"] = int(busy)
    return app.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
