"""Create, view, edit, delete, list and import certificates in a scope."""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import peewee

from certdesk.domain.errors import Conflict, InUse, InvalidCertificate, InvalidInput, NotFound, StaleWrite
from certdesk.domain.names import (
    clean_name,
    derive_identifier,
    format_tags,
    sort_name,
    validate_description,
    validate_identifier,
    validate_name,
    validate_tags,
)
from certdesk.domain.scopes import ScopePath, resolve_reference
from certdesk.domain.x509 import ChainReport, analyse, describe, load_certificates
from certdesk.services.audit import audit_row, record
from certdesk.services.clock import Clock
from certdesk.services.scopes import find_scope
from certdesk.services.views import (
    CertificateDetail,
    CertificateDraft,
    CertificateEdit,
    CertificateQuery,
    CertificateRow,
    ConnectorUse,
    DeleteOutcome,
    ImportOutcome,
    Refusal,
    SortKey,
)
from certdesk.store.connection import others_commit_stamp, serialise_scope_imports
from certdesk.store.models import (
    AuditEntry,
    Certificate,
    Connector,
    Scope,
    db,
    fetch_raw,
    fetch_tuples,
    insert_rows,
)

IMPORT_BATCH = 500
Progress = Callable[[int, int], None]

_SORT_COLUMNS: dict[SortKey, Any] = {
    SortKey.NAME: Certificate.sort_name,
    SortKey.IDENTIFIER: Certificate.identifier,
    SortKey.SUBJECT: Certificate.subject_cn,
    SortKey.ISSUER: Certificate.issuer_cn,
    SortKey.EXPIRES: Certificate.not_after,
    SortKey.CHAIN: Certificate.chain_length,
    SortKey.SCOPE: Scope.path,
}
_ROW_COLUMNS = (
    Certificate.id,
    Scope.path,
    Certificate.identifier,
    Certificate.name,
    Certificate.subject_cn,
    Certificate.issuer_cn,
    Certificate.not_after,
    Certificate.sha256,
    Certificate.chain_length,
    Certificate.tags,
    Certificate.description,
    Certificate.created_at,
    Certificate.updated_at,
)
_FINGERPRINT = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2})+:?$")
_HEX = re.compile(r"^[0-9a-f]+$")
MIN_FINGERPRINT_PREFIX = 8  # shorter hex would match fingerprints by chance ("2024" in one in ten)


def search_text(name: str, identifier: str, tags: dict[str, str], report: ChainReport) -> str:
    """The lower-cased text the list filter matches: names, tags, subjects, issuers (fingerprints apart)."""
    words = [name, identifier, format_tags(tags)]
    for member in report.members:
        words += [member.subject, member.issuer]
    return "\n".join(words).lower()


def _like(column: Any, pattern: str) -> Any:
    return peewee.NodeList((column, peewee.SQL("LIKE"), peewee.Value(pattern), peewee.SQL("ESCAPE '\\'")))


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _term_condition(term: str) -> Any:
    """A filter word matches the searchable text anywhere, or the SHA-256 fingerprint from its start."""
    lowered = term.lower()
    condition = _like(Certificate.search_text, f"%{_escape_like(lowered)}%")
    digits = lowered.replace(":", "") if _FINGERPRINT.match(lowered) else lowered
    if len(digits) >= MIN_FINGERPRINT_PREFIX and _HEX.match(digits):
        condition = condition | _like(Certificate.sha256, f"{digits}%")
    return condition


class CertificateService:
    def __init__(self, clock: Clock, actor: str) -> None:
        self.clock = clock
        self.actor = actor

    # --- reading -----------------------------------------------------------------------------

    def _filtered(self, query: CertificateQuery) -> Any:
        if query.include_parents:
            paths = [str(path) for path in query.scope.ancestors()]
            found = dict(fetch_tuples(Scope.select(Scope.path, Scope.id).where(Scope.path.in_(paths))))
            if str(query.scope) not in found:
                find_scope(query.scope)
            condition = Certificate.scope.in_(list(found.values()))
        else:
            condition = Certificate.scope == find_scope(query.scope).id
        select = Certificate.select(*_ROW_COLUMNS).join(Scope).where(condition)
        for term in query.text.split():
            select = select.where(_term_condition(term))
        if query.expiring_within_days is not None:
            limit = self.clock.now() + timedelta(days=query.expiring_within_days)
            select = select.where(Certificate.not_after <= limit)
        return select

    def count(self, query: CertificateQuery) -> int:
        return int(self._filtered(query).count())

    def rows(self, query: CertificateQuery, offset: int = 0, limit: int | None = None) -> list[CertificateRow]:
        """The list's rows in order, a page at a time; filtered and sorted by the database."""
        column = _SORT_COLUMNS[query.sort]
        order = [column.desc() if query.descending else column.asc(), Certificate.id]
        select = self._filtered(query).order_by(*order)
        if limit is not None:
            select = select.limit(limit).offset(offset)
        elif offset:
            select = select.offset(offset)
        records = fetch_raw(select)  # converted by hand below: peewee's per-column path is the list's cost
        users = self._users_of([record[0] for record in records]) if records else {}
        viewer = query.scope
        parse_path = _path_cache()
        result = []
        for (cert_id, path, identifier, name, subject_cn, issuer_cn, not_after, sha256, chain, tags,
             description, created_at, updated_at) in records:  # fmt: skip
            scope_path = parse_path(path)
            reference = identifier if scope_path == viewer else _prefixed(scope_path, identifier)
            result.append(
                CertificateRow(
                    scope_path,
                    identifier,
                    name,
                    reference,
                    subject_cn,
                    issuer_cn,
                    _instant(not_after),
                    sha256,
                    chain,
                    {} if tags in ("{}", None) else json.loads(tags),
                    users.get(cert_id, ()),
                    description,
                    _instant(created_at),
                    _instant(updated_at),
                )
            )
        return result

    def position_of(self, query: CertificateQuery, scope: ScopePath | str, identifier: str) -> int | None:
        """Where a certificate stands in the query's order (None when the query hides it)."""
        column = _SORT_COLUMNS[query.sort]
        found = fetch_tuples(
            self._filtered(query)
            .where((Scope.path == str(scope)) & (Certificate.identifier == identifier))
            .select(column, Certificate.id)
        )
        if not found:
            return None
        value, cert_id = found[0]
        ahead = column > value if query.descending else column < value
        before = ahead | ((column == value) & (Certificate.id < cert_id))
        return int(self._filtered(query).where(before).count())

    def _users_of(self, certificate_ids: Sequence[int]) -> dict[int, tuple[ConnectorUse, ...]]:
        """The connectors using each certificate; connectors are few, so one query serves a page."""
        users: dict[int, list[ConnectorUse]] = {}
        wanted = set(certificate_ids)
        select = (
            Connector.select(Connector.certificate, Scope.path, Connector.identifier, Connector.name)
            .join(Scope)
            .where(Connector.certificate.is_null(False))
        )
        if len(wanted) <= 500:
            select = select.where(Connector.certificate.in_(list(wanted)))
        for cert_id, path, identifier, name in fetch_tuples(select):
            if cert_id in wanted:
                users.setdefault(cert_id, []).append(ConnectorUse(ScopePath.parse(path), identifier, name))
        return {key: tuple(value) for key, value in users.items()}

    def get(self, scope: ScopePath | str, identifier: str) -> CertificateDetail:
        """A certificate by identifier, or by `org.id` / `account.id` seen from `scope`."""
        return self._detail(self._find(scope, identifier))

    def _find(self, scope: ScopePath | str, reference: str) -> Certificate:
        viewer = ScopePath.parse(scope) if isinstance(scope, str) else scope
        ref = resolve_reference(reference, viewer)
        row: Certificate | None = (
            Certificate.select(Certificate, Scope)
            .join(Scope)
            .where((Scope.path == str(ref.scope)) & (Certificate.identifier == ref.identifier))
            .first()
        )
        if row is None:
            find_scope(ref.scope)
            raise NotFound(f"No certificate '{ref.identifier}' in {ref.scope.level.value} '{ref.scope}'.")
        return row

    def _detail(self, row: Certificate) -> CertificateDetail:
        report = analyse(row.pem, self.clock.now())
        users = self._users_of([row.id]).get(row.id, ())
        return CertificateDetail(
            scope=ScopePath.parse(row.scope.path),
            identifier=row.identifier,
            name=row.name,
            description=row.description,
            tags=dict(row.tags),
            report=report,
            used_by=users,
            version=row.version,
            created_at=row.created_at,
            created_by=row.created_by,
            updated_at=row.updated_at,
            updated_by=row.updated_by,
        )

    def identifiers(self, scope: ScopePath | str) -> set[str]:
        select = Certificate.select(Certificate.identifier).where(Certificate.scope == find_scope(scope).id)
        return {identifier for (identifier,) in fetch_tuples(select)}

    def suggest_identifier(self, scope: ScopePath | str, name: str) -> str:
        """The identifier the wizard proposes for a name: derived, and free in the scope."""
        return derive_identifier(name, self.identifiers(scope))

    # --- writing -----------------------------------------------------------------------------

    def create(self, scope: ScopePath | str, draft: CertificateDraft) -> CertificateDetail:
        name = validate_name(draft.name)
        description = validate_description(draft.description)
        tags = validate_tags(draft.tags)
        now = self.clock.now()
        report = analyse(draft.pem, now)
        with db.atomic():
            scope_row = find_scope(scope)
            scope_path = ScopePath.parse(scope_row.path)
            taken = self.identifiers(scope_path)
            if draft.identifier:
                identifier = validate_identifier(draft.identifier)
                if identifier in taken:
                    raise Conflict(f"A certificate with identifier '{identifier}' already exists in {scope_path}.")
            else:
                identifier = derive_identifier(name, taken)
            twin = (
                Certificate.select(Certificate.identifier)
                .where((Certificate.scope == scope_row.id) & (Certificate.sha256 == report.leaf.sha256))
                .where(Certificate.pem == report.pem)
                .first()
            )
            if twin is not None:
                raise Conflict(f"The same certificate is already stored in {scope_path} as '{twin.identifier}'.")
            fields = self._fields(name, identifier, description, tags, report)
            try:
                row = Certificate.create(
                    scope=scope_row, version=1, created_at=now, created_by=self.actor,
                    updated_at=now, updated_by=self.actor, **fields,
                )  # fmt: skip
            except peewee.IntegrityError:
                raise Conflict(
                    f"A certificate with identifier '{identifier}' already exists in {scope_path}."
                ) from None
            record(
                at=now, actor=self.actor, action="create", entity="certificate", scope=scope_path,
                identifier=identifier, summary=f"Created certificate {name}", after=_snapshot(fields),
            )  # fmt: skip
        return self._detail(row)

    @staticmethod
    def _fields(
        name: str, identifier: str, description: str, tags: dict[str, str], report: ChainReport
    ) -> dict[str, Any]:
        leaf = report.leaf
        return {
            "identifier": identifier,
            "name": name,
            "sort_name": sort_name(name),
            "description": description,
            "tags": tags,
            "pem": report.pem,
            "subject": leaf.subject,
            "subject_cn": leaf.subject_cn,
            "issuer": leaf.issuer,
            "issuer_cn": leaf.issuer_cn,
            "not_before": leaf.not_before,
            "not_after": min(member.not_after for member in report.members),
            "sha256": leaf.sha256,
            "chain_length": len(report.members),
            "is_ca": leaf.is_ca,
            "search_text": search_text(name, identifier, tags, report),
        }

    def update(
        self,
        scope: ScopePath | str,
        identifier: str,
        edit: CertificateEdit,
        expected_version: int | None = None,
    ) -> CertificateDetail:
        """Apply an edit; with `expected_version`, refuse to overwrite someone else's change."""
        now = self.clock.now()
        report = analyse(edit.pem, now) if edit.pem is not None else None
        name = validate_name(edit.name) if edit.name is not None else None
        description = validate_description(edit.description) if edit.description is not None else None
        with db.atomic():
            row = self._find(scope, identifier)
            scope_path = ScopePath.parse(row.scope.path)
            if expected_version is not None and row.version != expected_version:
                raise self._stale(row, scope_path)
            stored = analyse(row.pem, now)  # once: it describes both the state before and, unless replaced, after
            before = _snapshot(self._fields(row.name, row.identifier, row.description, dict(row.tags), stored))
            fields = self._fields(
                name if name is not None else row.name,
                row.identifier,
                description if description is not None else row.description,
                validate_tags(edit.tags) if edit.tags is not None else dict(row.tags),
                report if report is not None else stored,
            )
            updated = (
                Certificate.update(version=row.version + 1, updated_at=now, updated_by=self.actor, **fields)
                .where((Certificate.id == row.id) & (Certificate.version == row.version))
                .execute()
            )
            if updated != 1:
                raise self._stale(Certificate.get_by_id(row.id), scope_path)
            after = _snapshot(fields)
            changed = sorted(key for key in after if after[key] != before.get(key))
            record(
                at=now, actor=self.actor, action="update", entity="certificate", scope=scope_path,
                identifier=row.identifier,
                summary=f"Updated certificate {fields['name']}: {', '.join(changed) or 'no change'}",
                before=before, after=after,
            )  # fmt: skip
        return self._detail(Certificate.get_by_id(row.id))

    @staticmethod
    def _stale(row: Certificate, scope_path: ScopePath) -> StaleWrite:
        return StaleWrite(
            f"Certificate '{row.name}' in {scope_path} was changed by {row.updated_by} at "
            f"{row.updated_at:%Y-%m-%d %H:%M:%S} UTC after you opened it. Reload it and apply "
            "your change again."
        )

    def delete(self, scope: ScopePath | str, identifier: str, force: bool = False) -> DeleteOutcome:
        """Delete a certificate; one in use is refused unless forced, which detaches its users."""
        now = self.clock.now()
        with db.atomic():
            row = self._find(scope, identifier)
            scope_path = ScopePath.parse(row.scope.path)
            users = self._users_of([row.id]).get(row.id, ())
            if users and not force:
                raise InUse(f"Certificate '{row.name}' ({scope_path}/{row.identifier})", [str(u) for u in users])
            if users:
                reason = (
                    f"Its SSL/TLS certificate '{row.name}' ({scope_path}/{row.identifier}) was deleted "
                    f"on {now:%Y-%m-%d %H:%M} UTC by {self.actor}; choose another certificate."
                )
                attached = fetch_tuples(
                    Connector.select(Scope.path, Connector.identifier, Connector.needs_attention,
                                     Connector.attention_reason)
                    .join(Scope).where(Connector.certificate == row.id).order_by(Connector.id)
                )  # fmt: skip
                Connector.update(
                    certificate=None, needs_attention=True, attention_reason=reason,
                    version=Connector.version + 1, updated_at=now, updated_by=self.actor,
                ).where(Connector.certificate == row.id).execute()  # fmt: skip
                for path, connector_id, attention, old_reason in attached:
                    record(
                        at=now, actor=self.actor, action="detach", entity="connector",
                        scope=ScopePath.parse(path), identifier=connector_id, summary=reason,
                        before={"certificate": f"{scope_path}/{row.identifier}", "needs_attention": attention,
                                "attention_reason": old_reason},
                        after={"certificate": None, "needs_attention": True, "attention_reason": reason},
                    )  # fmt: skip
            before = {"name": row.name, "sha256": row.sha256, "pem": row.pem, "tags": row.tags}
            row.delete_instance()
            record(
                at=now, actor=self.actor, action="force-delete" if users else "delete", entity="certificate",
                scope=scope_path, identifier=row.identifier,
                summary=f"Deleted certificate {row.name}"
                + (f", detaching {len(users)} connector(s)" if users else ""),
                before=before,
            )  # fmt: skip
        return DeleteOutcome(scope_path, row.identifier, row.name, users)

    def import_sources(
        self,
        scope: ScopePath | str,
        sources: Iterable[tuple[str, bytes]],
        progress: Progress | None = None,
        cancelled: Callable[[], bool] | None = None,
        total_hint: int = 0,
    ) -> ImportOutcome:
        """Import every certificate found, one certificate each; duplicates in the scope skipped.

        Each source (file) is one transaction: a source is imported whole or not at all, and a
        cancel stops before the next source, undoing the one under way.
        """
        outcome = ImportOutcome()
        scope_row = find_scope(scope)
        scope_path = ScopePath.parse(scope_row.path)
        select = Certificate.select(Certificate.sha256).where(Certificate.scope == scope_row.id)
        known: set[str] = set()
        taken: set[str] = set()
        stamp: int | None = None
        done = 0
        for label, data in sources:
            if cancelled is not None and cancelled():
                outcome.cancelled = True
                break
            try:
                # A queue emptied as it goes: each parsed certificate is freed once described, which
                # keeps a 100,000-certificate import at a fifth of the memory.
                queue = deque(load_certificates(data))
            except InvalidInput as error:
                outcome.refused.append(Refusal(label, error.message.splitlines()[-1]))
                continue
            now = self.clock.now()
            pending: list[dict[str, Any]] = []
            audits: list[dict[str, Any]] = []
            added: list[str] = []
            duplicates = 0
            try:
                with db.atomic() as transaction:
                    # Read what the scope holds under the write lock (BEGIN IMMEDIATE): another process
                    # importing at the same time cannot slip the same certificate in between.
                    serialise_scope_imports(scope_row.id)
                    latest = others_commit_stamp()
                    if stamp is None or latest != stamp:
                        known, taken = {sha for (sha,) in fetch_tuples(select)}, self.identifiers(scope_path)
                        stamp = latest
                    source_known, source_taken = set(known), set(taken)  # kept only if the source commits
                    while queue:
                        certificate = queue.popleft()
                        if cancelled is not None and done % 200 == 0 and cancelled():
                            transaction.rollback()
                            outcome.cancelled = True
                            break
                        done += 1
                        if progress is not None and done % 100 == 0:  # before a duplicate can skip it
                            progress(done, max(total_hint, done))
                        info = describe(certificate)
                        if info.sha256 in source_known:
                            duplicates += 1
                            continue
                        source_known.add(info.sha256)
                        name = clean_name(info.display_name, fallback=f"Certificate {info.sha256[:12]}")
                        identifier = derive_identifier(name, source_taken)
                        source_taken.add(identifier)
                        fields = self._fields(name, identifier, "", {}, ChainReport(members=(info,)))
                        pending.append({
                            "scope": scope_row.id, "version": 1, "created_at": now, "created_by": self.actor,
                            "updated_at": now, "updated_by": self.actor, **fields,
                        })  # fmt: skip
                        audits.append(
                            audit_row(now, self.actor, "import", "certificate", scope_path, identifier,
                                      f"Imported certificate {name} from {label}", after=_snapshot(fields))
                        )  # fmt: skip
                        added.append(identifier)
                        if len(pending) >= IMPORT_BATCH:
                            _flush(pending, audits)
                    else:
                        if cancelled is not None and cancelled():  # asked for while this source was read
                            transaction.rollback()
                            outcome.cancelled = True
                        else:
                            _flush(pending, audits)
            except InvalidCertificate as error:
                outcome.refused.append(Refusal(label, error.message.splitlines()[-1]))
                continue
            if outcome.cancelled:
                break
            known, taken = source_known, source_taken
            outcome.added.extend(added)
            outcome.duplicates += duplicates
        if progress is not None:
            progress(done, max(total_hint, done))
        return outcome

    def latest_change_id(self) -> int:
        """The newest audit entry's id (0 for none): where a window starts watching for others' changes."""
        return int(AuditEntry.select(peewee.fn.MAX(AuditEntry.id)).scalar() or 0)

    def recent_changes(self, since_id: int) -> list[tuple[Any, ...]]:
        """Audit entries after `since_id` (id, scope, entity, actor): how a window notices others."""
        return fetch_tuples(
            AuditEntry.select(AuditEntry.id, AuditEntry.scope_path, AuditEntry.entity, AuditEntry.actor)
            .where(AuditEntry.id > since_id)
            .order_by(AuditEntry.id)
        )


def _flush(pending: list[dict[str, Any]], audits: list[dict[str, Any]]) -> None:
    if pending:
        insert_rows(Certificate, pending)
        insert_rows(AuditEntry, audits)
        pending.clear()
        audits.clear()


def _snapshot(fields: dict[str, Any]) -> dict[str, Any]:
    """What the audit trail keeps of a certificate: everything but the derived search and sort text."""
    snapshot = {key: value for key, value in fields.items() if key not in {"search_text", "sort_name"}}
    for key in ("not_before", "not_after"):
        snapshot[key] = snapshot[key].isoformat()
    return snapshot


def _instant(value: Any) -> datetime:
    """A stored instant read raw: ISO text from the driver, or already a datetime."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _prefixed(scope: ScopePath, identifier: str) -> str:
    return f"{'account' if len(scope.parts) == 1 else 'org'}.{identifier}"


def _path_cache() -> Callable[[str], ScopePath]:
    cache: dict[str, ScopePath] = {}

    def parse(path: str) -> ScopePath:
        found = cache.get(path)
        if found is None:
            found = cache[path] = ScopePath(tuple(path.split("/")))
        return found

    return parse
