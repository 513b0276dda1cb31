"""Vault connectors: create, edit, delete, test and renew, with secrets in the OS keyring."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import peewee

from certdesk.domain.connectors import (
    AuthMethod,
    VaultSettings,
    token_rule_violation,
    validate_secret,
    validate_settings,
)
from certdesk.domain.errors import Conflict, InvalidInput, NotFound, StaleWrite
from certdesk.domain.names import (
    derive_identifier,
    validate_description,
    validate_identifier,
    validate_name,
    validate_tags,
)
from certdesk.domain.scopes import ScopePath, resolve_reference
from certdesk.services.audit import record
from certdesk.services.clock import Clock
from certdesk.services.scopes import find_scope
from certdesk.services.secrets import SecretStore
from certdesk.services.vault import Credentials, TestReport, VaultGateway, VaultProblem
from certdesk.store.models import Certificate, Connector, Scope, db, fetch_tuples

VAULT = "vault"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CertificateChoice:
    """A certificate a connector may trust, written as the connector's scope refers to it."""

    reference: str
    scope: ScopePath
    identifier: str
    name: str
    subject_cn: str
    not_after: datetime


@dataclass(frozen=True)
class ConnectorDraft:
    """What the dialog or `connector add-vault` hands over. A secret of None keeps the stored one."""

    name: str
    settings: VaultSettings
    identifier: str | None = None
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    certificate: str | None = None  # id, org.id or account.id; None means the system trust store
    token: str | None = field(default=None, repr=False)
    secret_id: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ConnectorView:
    scope: ScopePath
    identifier: str
    name: str
    description: str
    tags: dict[str, str]
    settings: VaultSettings
    certificate: CertificateChoice | None
    needs_attention: bool
    attention_reason: str
    has_secret: bool
    last_test_at: datetime | None
    last_test_ok: bool | None
    last_test_summary: str
    last_renewal_at: datetime | None
    last_renewal_ok: bool | None
    last_renewal_message: str
    version: int
    updated_at: datetime
    updated_by: str

    @property
    def renews(self) -> bool:
        return self.settings.auth.renews and self.settings.renewal_minutes > 0


class ConnectorService:
    def __init__(self, clock: Clock, actor: str, secrets: SecretStore, gateway: VaultGateway) -> None:
        self.clock, self.actor, self.secrets, self.gateway = clock, actor, secrets, gateway

    # --- certificates a connector can use ----------------------------------------------------

    def certificate_choices(self, scope: ScopePath | str) -> list[CertificateChoice]:
        """Certificates visible from a scope: its own, then its organization's, then its account's."""
        viewer = ScopePath.parse(scope) if isinstance(scope, str) else scope
        find_scope(viewer)
        paths = [str(path) for path in viewer.ancestors()]
        rows = fetch_tuples(
            Certificate.select(
                Scope.path, Certificate.identifier, Certificate.name, Certificate.subject_cn, Certificate.not_after
            )
            .join(Scope)
            .where(Scope.path.in_(paths))
            .order_by(Certificate.name, Certificate.id)
        )
        choices = [
            CertificateChoice(
                _ref(ScopePath.parse(path), identifier, viewer),
                ScopePath.parse(path),
                identifier,
                name,
                subject_cn,
                not_after,
            )
            for path, identifier, name, subject_cn, not_after in rows
        ]
        depth = {path: index for index, path in enumerate(paths)}
        return sorted(choices, key=lambda choice: depth[str(choice.scope)])

    def _resolve_certificate(self, viewer: ScopePath, reference: str | None) -> Certificate | None:
        if not reference:
            return None
        ref = resolve_reference(reference, viewer)
        row: Certificate | None = (
            Certificate.select(Certificate.id, Certificate.name)
            .join(Scope)
            .where((Scope.path == str(ref.scope)) & (Certificate.identifier == ref.identifier))
            .first()
        )
        if row is None:
            raise NotFound(
                f"No certificate '{reference}' is visible from {viewer}: use an identifier of this scope, "
                "org.identifier or account.identifier."
            )
        return row

    # --- reading -----------------------------------------------------------------------------

    def in_scope(self, scope: ScopePath | str) -> list[ConnectorView]:
        scope_row = find_scope(scope)
        rows = Connector.select().where(Connector.scope == scope_row.id).order_by(Connector.name, Connector.id)
        return [self._view(row, ScopePath.parse(scope_row.path)) for row in rows]

    def get(self, scope: ScopePath | str, identifier: str) -> ConnectorView:
        row = self._find(scope, identifier)
        return self._view(row, ScopePath.parse(row.scope.path))

    def _find(self, scope: ScopePath | str, identifier: str) -> Connector:
        scope_row = find_scope(scope)
        row: Connector | None = Connector.get_or_none(
            (Connector.scope == scope_row.id) & (Connector.identifier == identifier)
        )
        if row is None:
            raise NotFound(f"No connector '{identifier}' in {scope_row.level} '{scope_row.path}'.")
        return row

    def _view(self, row: Connector, scope: ScopePath) -> ConnectorView:
        settings = VaultSettings.from_json(row.settings)
        certificate = None
        if row.certificate_id is not None:
            cert = Certificate.select(Certificate, Scope).join(Scope).where(Certificate.id == row.certificate_id).get()
            cert_scope = ScopePath.parse(cert.scope.path)
            certificate = CertificateChoice(
                _ref(cert_scope, cert.identifier, scope),
                cert_scope,
                cert.identifier,
                cert.name,
                cert.subject_cn,
                cert.not_after,
            )
        has_secret = self._has_secret(settings, row)  # one keyring lookup: it may be a D-Bus round trip
        return ConnectorView(
            scope=scope,
            identifier=row.identifier,
            name=row.name,
            description=row.description,
            tags=dict(row.tags),
            settings=settings,
            certificate=certificate,
            needs_attention=row.needs_attention or not has_secret,
            attention_reason=row.attention_reason or ("" if has_secret else _missing_secret_note(settings)),
            has_secret=has_secret,
            last_test_at=row.last_test_at,
            last_test_ok=row.last_test_ok,
            last_test_summary=row.last_test_summary,
            last_renewal_at=row.last_renewal_at,
            last_renewal_ok=row.last_renewal_ok,
            last_renewal_message=row.last_renewal_message,
            version=row.version,
            updated_at=row.updated_at,
            updated_by=row.updated_by,
        )

    def _secret_ref(self, row: Connector | None, settings: VaultSettings) -> str:
        stored = dict(row.settings) if row is not None else {}
        key = "token_ref" if settings.auth is AuthMethod.TOKEN else "secret_id_ref"
        return str(stored.get("extra", {}).get(key, ""))

    def _has_secret(self, settings: VaultSettings, row: Connector) -> bool:
        if settings.auth is AuthMethod.VAULT_AGENT:
            return True
        try:
            return bool(self.secrets.get(self._secret_ref(row, settings)))
        except InvalidInput:
            return False
        except Exception:  # a keyring backend failing must not hide the list
            log.warning("keyring lookup failed for connector %s", row.identifier)
            return False

    def credentials(self, scope: ScopePath | str, identifier: str) -> Credentials:
        row = self._find(scope, identifier)
        settings = VaultSettings.from_json(row.settings)
        secret = self.secrets.get(self._secret_ref(row, settings)) or ""
        if settings.auth is AuthMethod.TOKEN:
            return Credentials(token=secret)
        return Credentials(secret_id=secret)

    def trust_pem(self, row: Connector) -> str | None:
        if row.certificate_id is None:
            return None
        pem: str = Certificate.get_by_id(row.certificate_id).pem
        return pem

    # --- writing -----------------------------------------------------------------------------

    def create(self, scope: ScopePath | str, draft: ConnectorDraft) -> ConnectorView:
        draft = self._checked(draft)
        viewer = ScopePath.parse(scope) if isinstance(scope, str) else scope
        settings, name, description = self._validated(draft)
        self._check_token_rules(viewer, settings, draft, None)
        now = self.clock.now()
        secret, reference = self._secret_and_reference(settings, draft, "")
        stored = _with_ref(settings, reference)
        with db.atomic():
            scope_row = find_scope(viewer)
            taken = {
                r
                for (r,) in fetch_tuples(Connector.select(Connector.identifier).where(Connector.scope == scope_row.id))
            }
            identifier = validate_identifier(draft.identifier) if draft.identifier else derive_identifier(name, taken)
            if identifier in taken:
                raise Conflict(f"A connector with identifier '{identifier}' already exists in {viewer}.")
            certificate = self._resolve_certificate(viewer, draft.certificate)
            try:
                row = Connector.create(
                    scope=scope_row,
                    identifier=identifier,
                    name=name,
                    description=description,
                    tags=dict(draft.tags),
                    kind=VAULT,
                    settings=stored.to_json(),
                    certificate=certificate,
                    created_at=now,
                    created_by=self.actor,
                    updated_at=now,
                    updated_by=self.actor,
                )
            except peewee.IntegrityError:
                raise Conflict(f"A connector with identifier '{identifier}' already exists in {viewer}.") from None
            record(
                at=now,
                actor=self.actor,
                action="create",
                entity="connector",
                scope=viewer,
                identifier=identifier,
                summary=f"Created Vault connector {name}",
                after=_audit(row),
            )
            if reference and secret:
                self.secrets.put(reference, secret)  # inside the transaction: no row without its secret
        return self.get(viewer, identifier)

    def update(
        self, scope: ScopePath | str, identifier: str, draft: ConnectorDraft, expected_version: int | None = None
    ) -> ConnectorView:
        draft = self._checked(draft)
        viewer = ScopePath.parse(scope) if isinstance(scope, str) else scope
        settings, name, description = self._validated(draft)
        now = self.clock.now()
        with db.atomic():
            row = self._find(viewer, identifier)
            if expected_version is not None and row.version != expected_version:
                raise StaleWrite(
                    f"Connector '{row.name}' was changed by {row.updated_by} at {row.updated_at:%Y-%m-%d %H:%M:%S} "
                    "UTC after you opened it. Reload it and apply your change again."
                )
            self._check_token_rules(viewer, settings, draft, row)
            before = _audit(row)
            old_settings = VaultSettings.from_json(row.settings)
            kept = self._secret_ref(row, settings) if old_settings.auth is settings.auth else ""
            secret, reference = self._secret_and_reference(settings, draft, kept)
            certificate = self._resolve_certificate(viewer, draft.certificate)
            count = (
                Connector.update(
                    name=name,
                    description=description,
                    tags=dict(draft.tags),
                    settings=_with_ref(settings, reference).to_json(),
                    certificate=certificate,
                    needs_attention=False,
                    attention_reason="",
                    version=row.version + 1,
                    updated_at=now,
                    updated_by=self.actor,
                )
                .where((Connector.id == row.id) & (Connector.version == row.version))
                .execute()
            )
            if count != 1:
                raise StaleWrite(f"Connector '{row.name}' was changed by someone else meanwhile; reload it.")
            fresh = Connector.get_by_id(row.id)
            record(
                at=now,
                actor=self.actor,
                action="update",
                entity="connector",
                scope=viewer,
                identifier=identifier,
                summary=f"Updated Vault connector {name}",
                before=before,
                after=_audit(fresh),
            )
            if secret and reference and settings.auth is not AuthMethod.VAULT_AGENT:
                self.secrets.put(reference, secret)
        if old_settings.auth is not settings.auth:
            self._forget_secrets(row.settings)
        return self.get(viewer, identifier)

    def delete(self, scope: ScopePath | str, identifier: str) -> ConnectorView:
        with db.atomic():
            row = self._find(scope, identifier)
            view = self._view(row, ScopePath.parse(row.scope.path))
            settings_json = dict(row.settings)
            record(
                at=self.clock.now(),
                actor=self.actor,
                action="delete",
                entity="connector",
                scope=view.scope,
                identifier=identifier,
                summary=f"Deleted Vault connector {row.name}",
                before=_audit(row),
            )
            row.delete_instance()
        self._forget_secrets(settings_json)
        return view

    def _forget_secrets(self, settings_json: dict[str, Any]) -> None:
        for key in ("token_ref", "secret_id_ref"):
            reference = (settings_json.get("extra") or {}).get(key)
            if reference:
                self.secrets.delete(str(reference))

    def _validated(self, draft: ConnectorDraft) -> tuple[VaultSettings, str, str]:
        return validate_settings(draft.settings), validate_name(draft.name), validate_description(draft.description)

    def _secret_and_reference(
        self, settings: VaultSettings, draft: ConnectorDraft, kept: str
    ) -> tuple[str | None, str]:
        """The secret typed (if any) and the keyring reference to keep it under; one is required."""
        secret = draft.token if settings.auth is AuthMethod.TOKEN else draft.secret_id
        if settings.auth is AuthMethod.VAULT_AGENT or kept:
            return secret, kept
        if not secret:
            what = "a token" if settings.auth is AuthMethod.TOKEN else "an AppRole Secret Id"
            raise InvalidInput(f"The connector needs {what}.")
        return secret, self.secrets.new_reference("connector")

    @staticmethod
    def _checked(draft: ConnectorDraft) -> ConnectorDraft:
        """The draft with its tags checked and its secrets trimmed and checked (never echoed)."""
        return replace(
            draft,
            tags=validate_tags(draft.tags),
            token=validate_secret(draft.token, "token") if draft.token else None,
            secret_id=validate_secret(draft.secret_id, "Secret Id") if draft.secret_id else None,
        )

    def _check_token_rules(
        self, viewer: ScopePath, settings: VaultSettings, draft: ConnectorDraft, row: Connector | None
    ) -> None:
        """Refuse to save a root or non-renewable token with a renewal interval, when the server can tell."""
        if settings.auth is not AuthMethod.TOKEN or settings.renewal_minutes == 0:
            return
        token = draft.token or (self.secrets.get(self._secret_ref(row, settings)) if row is not None else None)
        if not token:
            return
        try:
            facts = self.gateway.token_facts(settings, self._trust_of(viewer, draft.certificate), token)
        except VaultProblem as problem:
            log.info("token rules not checked at save: %s", problem)
            return
        violation = token_rule_violation(facts[0], facts[1], settings.renewal_minutes, settings.auth)
        if violation:
            raise InvalidInput(violation)

    def _trust_of(self, viewer: ScopePath, reference: str | None) -> str | None:
        """The PEM a connector with this certificate reference trusts (None: the system store)."""
        certificate = self._resolve_certificate(viewer, reference)
        return str(Certificate.get_by_id(certificate.id).pem) if certificate is not None else None

    # --- talking to the server ---------------------------------------------------------------

    def test_draft(self, scope: ScopePath | str, draft: ConnectorDraft, editing: str | None = None) -> TestReport:
        """Test settings before they are saved; secrets not typed again come from the keyring."""
        draft = self._checked(draft)
        viewer = ScopePath.parse(scope) if isinstance(scope, str) else scope
        settings = validate_settings(draft.settings)
        trust = self._trust_of(viewer, draft.certificate)
        stored = self.credentials(viewer, editing) if editing else Credentials()
        credentials = Credentials(token=draft.token or stored.token, secret_id=draft.secret_id or stored.secret_id)
        return self.gateway.test(settings, trust, credentials)

    def test(self, scope: ScopePath | str, identifier: str) -> TestReport:
        """Test a saved connector and remember the verdict (never a secret)."""
        row = self._find(scope, identifier)
        report = self.gateway.test(
            VaultSettings.from_json(row.settings), self.trust_pem(row), self.credentials(scope, identifier)
        )
        Connector.update(
            last_test_at=report.tested_at or self.clock.now(), last_test_ok=report.ok, last_test_summary=report.verdict
        ).where(Connector.id == row.id).execute()
        return report

    def fetch_engines(
        self, scope: ScopePath | str, draft: ConnectorDraft, editing: str | None = None
    ) -> list[tuple[str, int]]:
        draft = self._checked(draft)
        viewer = ScopePath.parse(scope) if isinstance(scope, str) else scope
        settings = replace(draft.settings, url=validate_settings(draft.settings).url)
        trust = self._trust_of(viewer, draft.certificate)
        stored = self.credentials(viewer, editing) if editing else Credentials()
        credentials = Credentials(token=draft.token or stored.token, secret_id=draft.secret_id or stored.secret_id)
        try:
            return self.gateway.fetch_engines(settings, trust, credentials)
        except VaultProblem as problem:
            raise InvalidInput(str(problem)) from None

    def due_for_renewal(self) -> list[tuple[ScopePath, str]]:
        """Connectors whose token should be renewed now."""
        now = self.clock.now()
        due = []
        for row in Connector.select(Connector, Scope).join(Scope).where(Connector.kind == VAULT):
            settings = VaultSettings.from_json(row.settings)
            if not settings.auth.renews or settings.renewal_minutes <= 0:
                continue
            last = row.last_renewal_at
            if last is None or last + timedelta(minutes=settings.renewal_minutes) <= now:
                due.append((ScopePath.parse(row.scope.path), row.identifier))
        return due

    def renew(self, scope: ScopePath | str, identifier: str) -> tuple[bool, str]:
        """Renew one connector's token and record the outcome; failures are reported, not raised."""
        row = self._find(scope, identifier)
        try:
            message = self.gateway.renew(
                VaultSettings.from_json(row.settings), self.trust_pem(row), self.credentials(scope, identifier)
            )
            ok = True
        except VaultProblem as problem:
            ok, message = False, str(problem)
        Connector.update(last_renewal_at=self.clock.now(), last_renewal_ok=ok, last_renewal_message=message).where(
            Connector.id == row.id
        ).execute()
        return ok, message


def _missing_secret_note(settings: VaultSettings) -> str:
    what = "token" if settings.auth is AuthMethod.TOKEN else "AppRole Secret Id"
    return f"The {what} is not stored in this workstation's keyring: edit the connector and enter it."


def _ref(scope: ScopePath, identifier: str, viewer: ScopePath) -> str:
    if scope == viewer:
        return identifier
    return f"{'account' if len(scope.parts) == 1 else 'org'}.{identifier}"


def _with_ref(settings: VaultSettings, reference: str) -> VaultSettings:
    extra = {k: v for k, v in settings.extra.items() if k not in {"token_ref", "secret_id_ref"}}
    if reference:
        extra["token_ref" if settings.auth is AuthMethod.TOKEN else "secret_id_ref"] = reference
    return replace(settings, extra=extra)


def _audit(row: Connector) -> dict[str, Any]:
    """What the audit trail keeps of a connector: settings and references, never a secret."""
    return {
        "name": row.name,
        "description": row.description,
        "tags": row.tags,
        "settings": row.settings,
        "certificate_id": row.certificate_id,
    }
