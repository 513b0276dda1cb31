"""Create, list, rename and delete scopes: accounts, organizations and projects."""

from __future__ import annotations

import peewee

from certdesk.domain.errors import Conflict, NotFound
from certdesk.domain.names import validate_description, validate_name
from certdesk.domain.scopes import ScopePath
from certdesk.services.audit import record
from certdesk.services.clock import Clock
from certdesk.services.views import ScopeView
from certdesk.store.models import Certificate, Connector, Scope, db, fetch_tuples


def find_scope(path: ScopePath | str) -> Scope:
    """The stored scope at a path, or NotFound naming it."""
    scope_path = ScopePath.parse(path) if isinstance(path, str) else path
    row = Scope.get_or_none(Scope.path == str(scope_path))
    if row is None:
        raise NotFound(f"The {scope_path.level.value} '{scope_path}' does not exist.")
    return row


class ScopeService:
    def __init__(self, clock: Clock, actor: str) -> None:
        self.clock = clock
        self.actor = actor

    def create(self, path: ScopePath | str, name: str | None = None, description: str = "") -> ScopeView:
        scope_path = ScopePath.parse(path) if isinstance(path, str) else path
        display = validate_name(name if name is not None else scope_path.identifier)
        text = validate_description(description)
        now = self.clock.now()
        with db.atomic():
            parent = None
            if scope_path.parent is not None:
                parent_row = Scope.get_or_none(Scope.path == str(scope_path.parent))
                if parent_row is None:
                    raise NotFound(
                        f"Cannot create {scope_path}: the {scope_path.parent.level.value} "
                        f"'{scope_path.parent}' does not exist."
                    )
                parent = parent_row
            if Scope.select().where(Scope.path == str(scope_path)).exists():
                raise Conflict(f"The {scope_path.level.value} '{scope_path}' already exists.")
            try:
                Scope.create(
                    path=str(scope_path),
                    parent=parent,
                    level=scope_path.level.value,
                    identifier=scope_path.identifier,
                    name=display,
                    description=text,
                    created_at=now,
                    updated_at=now,
                )
            except peewee.IntegrityError:
                raise Conflict(f"The {scope_path.level.value} '{scope_path}' already exists.") from None
            record(
                at=now, actor=self.actor, action="create", entity="scope", scope=scope_path,
                identifier=scope_path.identifier, summary=f"Created {scope_path.level.value} {display}",
                after={"name": display, "description": text},
            )  # fmt: skip
        return ScopeView(scope_path, display, text, 0, 0)

    def list(self) -> list[ScopeView]:
        """Every scope, parents before children, with how much each holds."""
        cert_counts = dict(
            fetch_tuples(
                Certificate.select(Certificate.scope, peewee.fn.COUNT(Certificate.id)).group_by(Certificate.scope)
            )
        )
        connector_counts = dict(
            fetch_tuples(Connector.select(Connector.scope, peewee.fn.COUNT(Connector.id)).group_by(Connector.scope))
        )
        rows = fetch_tuples(Scope.select(Scope.id, Scope.path, Scope.name, Scope.description))
        views = [
            ScopeView(
                ScopePath(tuple(path.split("/"))),
                name,
                description,
                cert_counts.get(scope_id, 0),
                connector_counts.get(scope_id, 0),
            )
            for scope_id, path, name, description in rows
        ]
        return sorted(views, key=lambda view: tuple(part.lower() for part in view.path.parts))

    def get(self, path: ScopePath | str) -> ScopeView:
        row = find_scope(path)
        return ScopeView(
            ScopePath.parse(row.path),
            row.name,
            row.description,
            Certificate.select().where(Certificate.scope == row).count(),
            Connector.select().where(Connector.scope == row).count(),
        )

    def rename(self, path: ScopePath | str, name: str) -> ScopeView:
        """Give a scope a new display name; its identifier, and so its path, stays."""
        display = validate_name(name)
        with db.atomic():
            row = find_scope(path)
            before = row.name
            row.name = display
            row.updated_at = self.clock.now()
            row.save()
            scope_path = ScopePath.parse(row.path)
            record(
                at=row.updated_at, actor=self.actor, action="rename", entity="scope", scope=scope_path,
                identifier=scope_path.identifier, summary=f"Renamed {before} to {display}",
                before={"name": before}, after={"name": display},
            )  # fmt: skip
        return self.get(scope_path)

    def delete(self, path: ScopePath | str) -> ScopePath:
        """Delete an empty scope; one that still holds anything is refused, naming what."""
        with db.atomic():
            row = find_scope(path)
            scope_path = ScopePath.parse(row.path)
            held = []
            children = Scope.select().where(Scope.parent == row).count()
            if children:
                kind = "organization" if scope_path.level.value == "account" else "project"
                held.append(f"{children} {kind}{'s' if children != 1 else ''}")
            certificates = Certificate.select().where(Certificate.scope == row).count()
            if certificates:
                held.append(f"{certificates} certificate{'s' if certificates != 1 else ''}")
            connectors = Connector.select().where(Connector.scope == row).count()
            if connectors:
                held.append(f"{connectors} connector{'s' if connectors != 1 else ''}")
            if held:
                raise Conflict(
                    f"The {scope_path.level.value} '{scope_path}' is not empty: it holds "
                    f"{' and '.join(held)}. Delete or move them first."
                )
            row.delete_instance()
            record(
                at=self.clock.now(), actor=self.actor, action="delete", entity="scope", scope=scope_path,
                identifier=scope_path.identifier, summary=f"Deleted {scope_path.level.value} {row.name}",
                before={"name": row.name, "description": row.description},
            )  # fmt: skip
        return scope_path
