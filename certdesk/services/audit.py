"""Writing the audit trail: who did what, when, with the state before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from certdesk.domain.scopes import ScopePath
from certdesk.store.models import AuditEntry


def audit_row(
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    scope: ScopePath,
    identifier: str,
    summary: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One audit entry as a row, for insert_many when an import writes thousands."""
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "entity": entity,
        "scope_path": str(scope),
        "identifier": identifier,
        "summary": summary,
        "before": before,
        "after": after,
    }


def record(**fields: Any) -> None:
    """Write one audit entry inside the caller's transaction."""
    AuditEntry.insert(audit_row(**fields)).execute()
