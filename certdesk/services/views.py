"""The plain dataclasses services take and return; nothing here touches the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from certdesk.domain.scopes import ScopeLevel, ScopePath
from certdesk.domain.x509 import ChainReport


@dataclass(frozen=True)
class ScopeView:
    path: ScopePath
    name: str
    description: str
    certificate_count: int
    connector_count: int

    @property
    def level(self) -> ScopeLevel:
        return self.path.level


@dataclass(frozen=True)
class ConnectorUse:
    """A connector that uses a certificate, named the way a person finds it."""

    scope: ScopePath
    identifier: str
    name: str

    def __str__(self) -> str:
        return f"{self.name} ({self.scope}/{self.identifier})"


@dataclass(frozen=True)
class CertificateDraft:
    """What the wizard or `cert add` hands over to create a certificate."""

    name: str
    pem: str | bytes
    identifier: str | None = None
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CertificateEdit:
    """Changes to a certificate; None leaves a field as it is. The identifier never changes."""

    name: str | None = None
    description: str | None = None
    tags: dict[str, str] | None = None
    pem: str | bytes | None = None


class SortKey(StrEnum):
    NAME = "name"
    IDENTIFIER = "identifier"
    SUBJECT = "subject"
    ISSUER = "issuer"
    EXPIRES = "expires"
    CHAIN = "chain"
    SCOPE = "scope"


@dataclass(frozen=True)
class CertificateQuery:
    """Which certificates a list shows and in what order; filtered and sorted in SQL."""

    scope: ScopePath
    include_parents: bool = False
    text: str = ""
    expiring_within_days: int | None = None
    sort: SortKey = SortKey.NAME
    descending: bool = False


@dataclass(frozen=True)
class CertificateRow:
    """One line of a certificate list: compact, no PEM."""

    scope: ScopePath
    identifier: str
    name: str
    reference: str
    subject_cn: str
    issuer_cn: str
    not_after: datetime
    sha256: str
    chain_length: int
    tags: dict[str, str]
    used_by: tuple[ConnectorUse, ...]
    description: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def inherited(self) -> bool:
        return "." in self.reference


@dataclass(frozen=True)
class CertificateDetail:
    scope: ScopePath
    identifier: str
    name: str
    description: str
    tags: dict[str, str]
    report: ChainReport
    used_by: tuple[ConnectorUse, ...]
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str

    @property
    def pem(self) -> str:
        return self.report.pem


@dataclass(frozen=True)
class Refusal:
    source: str
    reason: str


@dataclass
class ImportOutcome:
    """What an import did: added identifiers, duplicates skipped, sources refused and why."""

    added: list[str] = field(default_factory=list)
    duplicates: int = 0
    refused: list[Refusal] = field(default_factory=list)
    cancelled: bool = False

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{self.duplicates} duplicates skipped"]
        if self.refused:
            parts.append(f"{len(self.refused)} refused")
        text = ", ".join(parts) + "."
        return ("Import cancelled: " + text) if self.cancelled else text


@dataclass(frozen=True)
class DeleteOutcome:
    scope: ScopePath
    identifier: str
    name: str
    detached: tuple[ConnectorUse, ...] = ()
