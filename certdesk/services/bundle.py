"""The set of services the window and the CLI are handed by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from certdesk.domain.errors import CertdeskError
from certdesk.services.certificates import CertificateService
from certdesk.services.connectors import ConnectorService
from certdesk.services.scopes import ScopeService
from certdesk.store.connection import DatabaseInfo, explain_fault


@dataclass
class Services:
    scopes: ScopeService
    certificates: CertificateService
    connectors: ConnectorService
    database_display: str
    database: DatabaseInfo | None = field(default=None, repr=False)

    def explain(self, error: Exception) -> CertdeskError | None:
        """A fault the database reported while working (disk full, read-only...), in a person's words."""
        if isinstance(error, CertdeskError):
            return error
        return explain_fault(error, self.database) if self.database is not None else None
