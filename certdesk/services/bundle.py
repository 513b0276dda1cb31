"""The set of services the window and the CLI are handed by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from certdesk.services.certificates import CertificateService
from certdesk.services.connectors import ConnectorService
from certdesk.services.scopes import ScopeService


@dataclass
class Services:
    scopes: ScopeService
    certificates: CertificateService
    connectors: ConnectorService
    database_display: str
