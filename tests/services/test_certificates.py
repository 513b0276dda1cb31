"""CertificateService writes: create, get, update, delete; conflicts, stale writes, audit, rollback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import peewee
import pytest
from cryptography.hazmat.primitives import hashes

from certdesk.domain.errors import (
    Conflict,
    InUse,
    InvalidCertificate,
    InvalidInput,
    NotFound,
    PrivateKeyRefused,
    StaleWrite,
)
from certdesk.domain.scopes import ScopePath
from certdesk.services.certificates import CertificateService
from certdesk.services.scopes import ScopeService
from certdesk.services.views import CertificateDraft, CertificateEdit, ConnectorUse
from certdesk.store.models import AuditEntry, Certificate, Connector, db
from tests.conftest import SettableClock
from tests.helpers.certs import make_certificate, make_pki
from tests.services.conftest import AddConnector, audit_entries

T0 = datetime(2026, 2, 3, 10, 30, tzinfo=UTC)
T1 = T0 + timedelta(hours=2, minutes=15, seconds=7)


def _fail_audit_when(action: str) -> None:
    """A real fault inside the transaction: the database refuses one kind of audit entry."""
    if isinstance(db.obj, peewee.PostgresqlDatabase):
        db.execute_sql(
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'the disk is full' USING ERRCODE = 'integrity_constraint_violation'; END $$"
        )
        db.execute_sql(
            f"CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entry FOR EACH ROW WHEN (NEW.action = '{action}') "
            "EXECUTE FUNCTION refuse_audit()"
        )
        return
    db.execute_sql(
        f"CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entry WHEN NEW.action = '{action}' "
        "BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"
    )


# --- create and get ---------------------------------------------------------------------------


def test_create_stores_the_parsed_certificate(
    acme: ScopeService, certificates: CertificateService, clock: SettableClock
) -> None:
    clock.fixed = T0
    pki = make_pki(host="pay.example")
    draft = CertificateDraft(
        "Payments chain", pki.chain_pem, identifier="pay_chain", description="Front door", tags={"env": "prod"}
    )
    detail = certificates.create("acme/eng/payments", draft)

    assert (detail.scope, detail.identifier, detail.name, detail.description) == (
        ScopePath.parse("acme/eng/payments"), "pay_chain", "Payments chain", "Front door"
    )  # fmt: skip
    assert detail.tags == {"env": "prod"}
    assert (detail.version, detail.created_by, detail.created_at, detail.updated_at) == (1, "tester", T0, T0)
    assert [member.subject_cn for member in detail.report.members] == [
        "pay.example", "certdesk test Intermediate CA", "certdesk test Root CA"
    ]  # fmt: skip
    assert detail.used_by == ()

    row = Certificate.get(Certificate.identifier == "pay_chain")
    assert row.chain_length == 3
    assert row.sha256 == pki.server.certificate.fingerprint(hashes.SHA256()).hex()
    # The list's expiry is the earliest of the chain: the 30-day server certificate.
    assert row.not_after == pki.server.certificate.not_valid_after_utc
    assert not row.is_ca


def test_get_returns_what_create_stored(acme: ScopeService, certificates: CertificateService) -> None:
    issued = make_certificate("db.internal", dns_names=("db.internal",))
    certificates.create("acme/eng", CertificateDraft("Database", issued.pem, tags={"team": ""}))
    detail = certificates.get("acme/eng", "Database")
    assert detail.name == "Database"
    assert detail.tags == {"team": ""}
    assert detail.pem == issued.pem
    assert detail.report.leaf.san == ("DNS:db.internal",)


def test_the_identifier_is_derived_from_the_name_and_kept_free(
    acme: ScopeService, certificates: CertificateService
) -> None:
    first = certificates.create("acme", CertificateDraft("Internal Root CA", make_certificate("a").pem))
    second = certificates.create("acme", CertificateDraft("Internal Root CA", make_certificate("b").pem))
    third = certificates.create("acme", CertificateDraft("Ça coûte 2€", make_certificate("c").pem))
    assert [first.identifier, second.identifier, third.identifier] == [
        "Internal_Root_CA", "Internal_Root_CA_2", "Ca_coute_2"
    ]  # fmt: skip
    assert certificates.suggest_identifier("acme", "Internal Root CA") == "Internal_Root_CA_3"
    assert certificates.identifiers("acme") == {"Internal_Root_CA", "Internal_Root_CA_2", "Ca_coute_2"}


def test_an_identifier_is_unique_per_scope(acme: ScopeService, certificates: CertificateService) -> None:
    certificates.create("acme/eng", CertificateDraft("Root", make_certificate("a").pem, identifier="root"))
    with pytest.raises(Conflict, match="identifier 'root' already exists in acme/eng"):
        certificates.create("acme/eng", CertificateDraft("Other", make_certificate("b").pem, identifier="root"))
    # The same identifier in another scope is another certificate.
    certificates.create("acme", CertificateDraft("Root", make_certificate("c").pem, identifier="root"))
    assert Certificate.select().where(Certificate.identifier == "root").count() == 2
    assert len(audit_entries(entity="certificate")) == 2


def test_the_same_certificate_twice_in_a_scope_is_refused(acme: ScopeService, certificates: CertificateService) -> None:
    pem = make_certificate("twin").pem
    certificates.create("acme", CertificateDraft("Twin", pem))
    with pytest.raises(Conflict, match="already stored in acme as 'Twin'"):
        certificates.create("acme", CertificateDraft("Twin again", pem))
    certificates.create("acme/eng", CertificateDraft("Twin", pem))  # another scope may hold it too
    assert Certificate.select().count() == 2


@pytest.mark.parametrize(
    ("draft", "error", "message"),
    [
        (CertificateDraft("Bad", "hello"), InvalidCertificate, "not a valid X509 Certificate"),
        (CertificateDraft("", "x"), InvalidInput, "name cannot be empty"),
        (CertificateDraft("Bad id", "x", identifier="9lives"), InvalidInput, "Invalid identifier"),
    ],
)
def test_invalid_drafts_write_nothing(
    acme: ScopeService,
    certificates: CertificateService,
    draft: CertificateDraft,
    error: type[Exception],
    message: str,
) -> None:
    if draft.pem == "x":
        draft = CertificateDraft(draft.name, make_certificate("ok").pem, identifier=draft.identifier)
    with pytest.raises(error, match=message):
        certificates.create("acme", draft)
    assert Certificate.select().count() == 0
    assert not audit_entries(entity="certificate")


def test_a_private_key_is_refused_and_not_stored(acme: ScopeService, certificates: CertificateService) -> None:
    issued = make_certificate("with key")
    with pytest.raises(PrivateKeyRefused) as caught:
        certificates.create("acme", CertificateDraft("Keyed", issued.pem + issued.key_pem()))
    assert "PRIVATE KEY" in caught.value.message
    assert issued.key_pem().splitlines()[1] not in caught.value.message
    assert Certificate.select().count() == 0


def test_create_in_an_unknown_scope(scopes: ScopeService, certificates: CertificateService) -> None:
    with pytest.raises(NotFound, match="account 'ghost' does not exist"):
        certificates.create("ghost", CertificateDraft("X", make_certificate("x").pem))


def test_create_writes_the_audit_trail(
    acme: ScopeService, certificates: CertificateService, clock: SettableClock
) -> None:
    clock.fixed = T0
    issued = make_certificate("audited")
    certificates.create("acme/eng", CertificateDraft("Audited", issued.pem, tags={"env": "dev"}))
    [entry] = audit_entries(entity="certificate")
    assert (entry.at, entry.actor, entry.action, entry.scope_path, entry.identifier) == (
        T0, "tester", "create", "acme/eng", "Audited"
    )  # fmt: skip
    assert entry.before is None
    assert entry.after["name"] == "Audited"
    assert entry.after["tags"] == {"env": "dev"}
    assert entry.after["pem"] == issued.pem
    assert entry.after["not_after"] == issued.certificate.not_valid_after_utc.isoformat()
    assert "search_text" not in entry.after


def test_a_create_whose_audit_fails_leaves_nothing(acme: ScopeService, certificates: CertificateService) -> None:
    _fail_audit_when("create")
    with pytest.raises(peewee.IntegrityError, match="disk is full"):
        certificates.create("acme", CertificateDraft("Lost", make_certificate("lost").pem))
    assert Certificate.select().count() == 0


def test_get_by_reference_from_a_lower_scope(acme: ScopeService, certificates: CertificateService) -> None:
    certificates.create("acme", CertificateDraft("Account root", make_certificate("a").pem, identifier="root"))
    certificates.create("acme/eng", CertificateDraft("Org root", make_certificate("o").pem, identifier="root"))
    assert certificates.get("acme/eng/payments", "account.root").name == "Account root"
    assert certificates.get("acme/eng/payments", "org.root").name == "Org root"
    assert certificates.get("acme/eng", "account.root").scope == ScopePath.parse("acme")
    with pytest.raises(NotFound, match="No certificate 'root' in project 'acme/eng/payments'"):
        certificates.get("acme/eng/payments", "root")
    with pytest.raises(InvalidInput, match="has no organization above it"):
        certificates.get("acme", "org.root")
    with pytest.raises(NotFound, match="organization 'acme/nope' does not exist"):
        certificates.get("acme/nope", "root")


def test_get_lists_the_connectors_that_use_it(
    acme: ScopeService, certificates: CertificateService, add_connector: AddConnector
) -> None:
    certificates.create("acme/eng", CertificateDraft("Shared", make_certificate("s").pem, identifier="shared"))
    add_connector("acme/eng/payments", "pay_vault", uses=("acme/eng", "shared"), name="Payments Vault")
    add_connector("acme/eng", "eng_vault", uses=("acme/eng", "shared"), name="Eng Vault")
    add_connector("acme/eng", "idle")
    used_by = certificates.get("acme/eng", "shared").used_by
    assert sorted(used_by, key=str) == [
        ConnectorUse(ScopePath.parse("acme/eng"), "eng_vault", "Eng Vault"),
        ConnectorUse(ScopePath.parse("acme/eng/payments"), "pay_vault", "Payments Vault"),
    ]


# --- update ---------------------------------------------------------------------------------


def test_update_changes_fields_and_bumps_the_version(
    acme: ScopeService, certificates: CertificateService, clock: SettableClock
) -> None:
    clock.fixed = T0
    old, new = make_certificate("old.example"), make_certificate("new.example")
    certificates.create("acme", CertificateDraft("Gateway", old.pem, identifier="gw", tags={"env": "dev"}))
    clock.fixed = T1
    detail = certificates.update(
        "acme", "gw", CertificateEdit(name="Gateway 2", tags={"env": "prod"}, pem=new.pem), expected_version=1
    )
    assert (detail.identifier, detail.name, detail.tags, detail.version) == ("gw", "Gateway 2", {"env": "prod"}, 2)
    assert detail.report.leaf.subject_cn == "new.example"
    assert (detail.created_at, detail.updated_at, detail.updated_by) == (T0, T1, "tester")
    row = Certificate.get(Certificate.identifier == "gw")
    assert row.subject_cn == "new.example"
    assert "new.example" in row.search_text
    assert "old.example" not in row.search_text
    assert "gateway 2" in row.search_text


def test_update_leaves_fields_not_given_alone(acme: ScopeService, certificates: CertificateService) -> None:
    issued = make_certificate("keep")
    certificates.create("acme", CertificateDraft("Keep", issued.pem, description="As is", tags={"a": "b"}))
    detail = certificates.update("acme", "Keep", CertificateEdit(description="Changed"))
    assert (detail.name, detail.description, detail.tags, detail.pem) == ("Keep", "Changed", {"a": "b"}, issued.pem)


def test_update_writes_before_and_after(
    acme: ScopeService, certificates: CertificateService, clock: SettableClock
) -> None:
    clock.fixed = T0
    certificates.create("acme", CertificateDraft("Gateway", make_certificate("gw").pem, identifier="gw"))
    clock.fixed = T1
    certificates.update("acme", "gw", CertificateEdit(name="Front gateway", tags={"env": "prod"}))
    [entry] = audit_entries(action="update")
    assert (entry.at, entry.actor, entry.scope_path, entry.identifier) == (T1, "tester", "acme", "gw")
    assert (entry.before["name"], entry.after["name"]) == ("Gateway", "Front gateway")
    assert (entry.before["tags"], entry.after["tags"]) == ({}, {"env": "prod"})
    assert entry.summary == "Updated certificate Front gateway: name, tags"


def test_a_stale_update_is_refused_naming_who_changed_it_and_when(
    acme: ScopeService, certificates: CertificateService, clock: SettableClock
) -> None:
    alice = CertificateService(clock, "alice")
    bob = CertificateService(clock, "bob")
    clock.fixed = T0
    alice.create("acme", CertificateDraft("Gateway", make_certificate("gw").pem, identifier="gw"))
    opened = alice.get("acme", "gw")

    clock.fixed = T1
    bob.update("acme", "gw", CertificateEdit(name="Bob's gateway"), expected_version=opened.version)

    clock.fixed = T1 + timedelta(minutes=5)
    with pytest.raises(StaleWrite) as caught:
        alice.update("acme", "gw", CertificateEdit(name="Alice's gateway"), expected_version=opened.version)
    assert "changed by bob at 2026-02-03 12:45:07 UTC" in caught.value.message
    assert isinstance(caught.value, Conflict)

    current = alice.get("acme", "gw")
    assert (current.name, current.version, current.updated_by) == ("Bob's gateway", 2, "bob")
    assert [entry.actor for entry in audit_entries(action="update")] == ["bob"]

    # Reloaded, Alice's change goes through.
    assert alice.update("acme", "gw", CertificateEdit(name="Alice's gateway"), expected_version=2).version == 3


def test_update_refuses_bad_input_without_writing(acme: ScopeService, certificates: CertificateService) -> None:
    certificates.create("acme", CertificateDraft("Gateway", make_certificate("gw").pem, identifier="gw"))
    with pytest.raises(InvalidCertificate):
        certificates.update("acme", "gw", CertificateEdit(pem="-----BEGIN CERTIFICATE-----\nAAAA\n"))
    with pytest.raises(InvalidInput):
        certificates.update("acme", "gw", CertificateEdit(name="\t"))
    with pytest.raises(NotFound):
        certificates.update("acme", "nope", CertificateEdit(name="X"))
    assert certificates.get("acme", "gw").version == 1
    assert not audit_entries(action="update")


def test_an_update_whose_audit_fails_leaves_the_old_row(acme: ScopeService, certificates: CertificateService) -> None:
    certificates.create("acme", CertificateDraft("Gateway", make_certificate("gw").pem, identifier="gw"))
    _fail_audit_when("update")
    with pytest.raises(peewee.IntegrityError):
        certificates.update("acme", "gw", CertificateEdit(name="Renamed"))
    detail = certificates.get("acme", "gw")
    assert (detail.name, detail.version) == ("Gateway", 1)


# --- delete ---------------------------------------------------------------------------------


def test_delete_an_unused_certificate(
    acme: ScopeService, certificates: CertificateService, clock: SettableClock
) -> None:
    clock.fixed = T0
    issued = make_certificate("gone")
    certificates.create("acme/eng", CertificateDraft("Gone", issued.pem, identifier="gone"))
    clock.fixed = T1
    outcome = certificates.delete("acme/eng", "gone")
    assert (outcome.scope, outcome.identifier, outcome.name, outcome.detached) == (
        ScopePath.parse("acme/eng"), "gone", "Gone", ()
    )  # fmt: skip
    assert Certificate.select().count() == 0
    [entry] = audit_entries(action="delete", entity="certificate")
    assert (entry.at, entry.actor, entry.scope_path, entry.identifier) == (T1, "tester", "acme/eng", "gone")
    assert entry.before["pem"] == issued.pem
    assert entry.after is None
    with pytest.raises(NotFound):
        certificates.get("acme/eng", "gone")


def test_a_certificate_in_use_is_not_deleted(
    acme: ScopeService, certificates: CertificateService, add_connector: AddConnector
) -> None:
    certificates.create("acme", CertificateDraft("Root", make_certificate("root").pem, identifier="root"))
    add_connector("acme/eng/payments", "pay_vault", uses=("acme", "root"), name="Payments Vault")
    add_connector("acme/eng", "eng_vault", uses=("acme", "root"), name="Eng Vault")

    with pytest.raises(InUse) as caught:
        certificates.delete("acme", "root")
    assert "used by 2 connectors" in caught.value.message
    assert sorted(caught.value.users) == [
        "Eng Vault (acme/eng/eng_vault)", "Payments Vault (acme/eng/payments/pay_vault)"
    ]  # fmt: skip
    assert Certificate.select().count() == 1
    assert Connector.select().where(Connector.certificate.is_null()).count() == 0
    assert not audit_entries(entity="certificate", action="delete")


def test_a_forced_delete_detaches_the_connectors_and_flags_them(
    acme: ScopeService, certificates: CertificateService, add_connector: AddConnector, clock: SettableClock
) -> None:
    clock.fixed = T0
    certificates.create("acme", CertificateDraft("Root", make_certificate("root").pem, identifier="root"))
    certificates.create("acme", CertificateDraft("Other", make_certificate("other").pem, identifier="other"))
    add_connector("acme/eng/payments", "pay_vault", uses=("acme", "root"), name="Payments Vault")
    add_connector("acme", "bystander", uses=("acme", "other"))

    clock.fixed = T1
    outcome = certificates.delete("acme", "root", force=True)

    assert outcome.detached == (ConnectorUse(ScopePath.parse("acme/eng/payments"), "pay_vault", "Payments Vault"),)
    assert Certificate.get_or_none(Certificate.identifier == "root") is None
    detached = Connector.get(Connector.identifier == "pay_vault")
    assert detached.certificate is None
    assert detached.needs_attention
    assert "'Root' (acme/root) was deleted" in detached.attention_reason
    assert "by tester" in detached.attention_reason
    assert (detached.version, detached.updated_at, detached.updated_by) == (2, T1, "tester")
    bystander = Connector.get(Connector.identifier == "bystander")
    assert bystander.certificate.identifier == "other"
    assert not bystander.needs_attention

    [detach] = audit_entries(action="detach")
    assert (detach.at, detach.actor, detach.entity, detach.scope_path, detach.identifier) == (
        T1, "tester", "connector", "acme/eng/payments", "pay_vault"
    )  # fmt: skip
    assert detach.summary == detached.attention_reason
    assert detach.before == {"certificate": "acme/root", "needs_attention": False, "attention_reason": ""}
    assert detach.after == {"certificate": None, "needs_attention": True, "attention_reason": detach.summary}
    [deletion] = audit_entries(action="force-delete")
    assert (deletion.entity, deletion.identifier, deletion.at) == ("certificate", "root", T1)
    assert "detaching 1 connector" in deletion.summary
    assert deletion.before["name"] == "Root"


def test_a_forced_delete_that_fails_midway_changes_nothing(
    acme: ScopeService, certificates: CertificateService, add_connector: AddConnector
) -> None:
    certificates.create("acme", CertificateDraft("Root", make_certificate("root").pem, identifier="root"))
    add_connector("acme", "vault", uses=("acme", "root"))
    _fail_audit_when("force-delete")  # after the connectors were detached and their entries written

    with pytest.raises(peewee.IntegrityError):
        certificates.delete("acme", "root", force=True)

    assert Certificate.get_or_none(Certificate.identifier == "root") is not None
    connector = Connector.get(Connector.identifier == "vault")
    assert connector.certificate.identifier == "root"
    assert (connector.needs_attention, connector.attention_reason, connector.version) == (False, "", 1)
    assert not AuditEntry.select().where(AuditEntry.action == "detach").exists()


def test_delete_an_unknown_certificate(acme: ScopeService, certificates: CertificateService) -> None:
    with pytest.raises(NotFound, match="No certificate 'ghost' in account 'acme'"):
        certificates.delete("acme", "ghost")


def test_recent_changes_reports_audit_entries_after_an_id(acme: ScopeService, certificates: CertificateService) -> None:
    last = AuditEntry.select(peewee.fn.MAX(AuditEntry.id)).scalar()
    certificates.create("acme/eng", CertificateDraft("New", make_certificate("n").pem))
    changes = certificates.recent_changes(last)
    assert [(scope, entity, actor) for _, scope, entity, actor in changes] == [("acme/eng", "certificate", "tester")]
    assert certificates.recent_changes(changes[-1][0]) == []
