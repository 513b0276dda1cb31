"""Fixtures for the service tests: connectors made directly with the model (no connector service yet)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from certdesk.store.connection import DatabaseInfo
from certdesk.store.models import AuditEntry, Certificate, Connector, Scope

AddConnector = Callable[..., Connector]


@pytest.fixture
def add_connector(database: DatabaseInfo) -> AddConnector:
    """Store a Vault connector in a scope, optionally trusting a certificate given as (scope, identifier)."""

    def add(scope: str, identifier: str, uses: tuple[str, str] | None = None, name: str | None = None) -> Connector:
        certificate = None
        if uses is not None:
            certificate = (
                Certificate.select()
                .join(Scope)
                .where((Scope.path == uses[0]) & (Certificate.identifier == uses[1]))
                .get()
            )
        now = datetime(2026, 1, 1, tzinfo=UTC)
        return Connector.create(
            scope=Scope.get(Scope.path == scope), identifier=identifier, name=name or identifier, kind="vault",
            settings={"url": "https://vault.example:8200"}, certificate=certificate,
            created_at=now, created_by="setup", updated_at=now, updated_by="setup",
        )  # fmt: skip

    return add


def audit_entries(**where: str) -> list[AuditEntry]:
    """The audit entries matching the given fields, oldest first."""
    query = AuditEntry.select().order_by(AuditEntry.id)
    for field, value in where.items():
        query = query.where(getattr(AuditEntry, field) == value)
    return list(query)
