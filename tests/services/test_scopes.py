"""ScopeService: create, list, rename and delete accounts, organizations and projects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from certdesk.domain.errors import Conflict, InvalidInput, NotFound
from certdesk.domain.scopes import ScopeLevel, ScopePath
from certdesk.services.certificates import CertificateService
from certdesk.services.scopes import ScopeService, find_scope
from certdesk.services.views import CertificateDraft
from certdesk.store.models import AuditEntry, Scope
from tests.conftest import SettableClock
from tests.helpers.certs import make_certificate
from tests.services.conftest import AddConnector, audit_entries

T0 = datetime(2026, 2, 3, 10, 30, tzinfo=UTC)


def test_create_an_account_organization_and_project(scopes: ScopeService, clock: SettableClock) -> None:
    clock.fixed = T0
    account = scopes.create("acme", "Acme Inc", "The company")
    organization = scopes.create("acme/eng", "Engineering")
    project = scopes.create(ScopePath.parse("acme/eng/payments"))

    assert (account.path, account.name, account.description, account.level) == (
        ScopePath(("acme",)), "Acme Inc", "The company", ScopeLevel.ACCOUNT
    )  # fmt: skip
    assert organization.level is ScopeLevel.ORGANIZATION
    assert project.level is ScopeLevel.PROJECT
    assert project.name == "payments"  # no name given: the identifier is the name

    row = find_scope("acme/eng/payments")
    assert row.parent.path == "acme/eng"
    assert (row.level, row.identifier, row.created_at) == ("project", "payments", T0)


def test_create_writes_the_audit_trail(scopes: ScopeService, clock: SettableClock) -> None:
    clock.fixed = T0
    scopes.create("acme", "  Acme Inc  ", "Makers of everything")
    [entry] = audit_entries(entity="scope")
    assert (entry.at, entry.actor, entry.action, entry.scope_path, entry.identifier) == (
        T0, "tester", "create", "acme", "acme"
    )  # fmt: skip
    assert entry.before is None
    assert entry.after == {"name": "Acme Inc", "description": "Makers of everything"}


def test_the_parent_must_exist(scopes: ScopeService) -> None:
    with pytest.raises(NotFound, match="organization 'acme/eng' does not exist"):
        scopes.create("acme/eng/payments")
    scopes.create("acme")
    with pytest.raises(NotFound, match="account 'other' does not exist"):
        scopes.create("other/eng")
    assert [row.path for row in Scope.select()] == ["acme"]
    assert len(audit_entries()) == 1


def test_a_scope_cannot_be_created_twice(acme: ScopeService) -> None:
    with pytest.raises(Conflict, match="organization 'acme/eng' already exists"):
        acme.create("acme/eng", "Another engineering")
    assert find_scope("acme/eng").name == "Engineering"
    assert len(audit_entries(entity="scope")) == 3


@pytest.mark.parametrize(
    ("path", "name", "message"),
    [
        ("acme/eng/pay/extra", None, "at most three parts"),
        ("1acme", None, "must start with a letter"),
        ("org", None, "reserved word"),
        ("acme", "   ", "name cannot be empty"),
        ("acme", "two\nlines", "line breaks"),
    ],
)
def test_invalid_paths_and_names_are_refused(scopes: ScopeService, path: str, name: str | None, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        scopes.create(path, name)
    assert Scope.select().count() == 0


def test_list_puts_parents_first_and_counts_what_each_holds(
    acme: ScopeService, certificates: CertificateService, add_connector: AddConnector
) -> None:
    acme.create("acme/ops", "Operations")
    acme.create("beta", "Beta")
    certificates.create("acme/eng", CertificateDraft("One", make_certificate("one").pem))
    certificates.create("acme/eng", CertificateDraft("Two", make_certificate("two").pem))
    add_connector("acme/eng/payments", "vault")

    listed = [(str(view.path), view.name, view.certificate_count, view.connector_count) for view in acme.list()]
    assert listed == [
        ("acme", "Acme Inc", 0, 0),
        ("acme/eng", "Engineering", 2, 0),
        ("acme/eng/payments", "Payments", 0, 1),
        ("acme/ops", "Operations", 0, 0),
        ("beta", "Beta", 0, 0),
    ]
    view = acme.get("acme/eng")
    assert (view.name, view.certificate_count, view.connector_count) == ("Engineering", 2, 0)


def test_get_an_unknown_scope(scopes: ScopeService) -> None:
    with pytest.raises(NotFound, match="account 'nobody' does not exist"):
        scopes.get("nobody")


def test_rename_changes_the_name_not_the_path(acme: ScopeService, clock: SettableClock) -> None:
    clock.fixed = T0
    renamed = acme.rename("acme/eng", " R&D ")
    assert (str(renamed.path), renamed.name) == ("acme/eng", "R&D")
    assert find_scope("acme/eng").updated_at == T0
    assert find_scope("acme/eng/payments").parent.path == "acme/eng"

    [entry] = audit_entries(action="rename")
    assert (entry.at, entry.actor, entry.scope_path) == (T0, "tester", "acme/eng")
    assert (entry.before, entry.after) == ({"name": "Engineering"}, {"name": "R&D"})


def test_rename_refuses_a_bad_name_and_an_unknown_scope(acme: ScopeService) -> None:
    with pytest.raises(InvalidInput):
        acme.rename("acme", "")
    with pytest.raises(NotFound):
        acme.rename("acme/nope", "Nope")
    assert find_scope("acme").name == "Acme Inc"
    assert not audit_entries(action="rename")


def test_delete_an_empty_scope(acme: ScopeService, clock: SettableClock) -> None:
    clock.fixed = T0
    assert acme.delete("acme/eng/payments") == ScopePath.parse("acme/eng/payments")
    assert Scope.get_or_none(Scope.path == "acme/eng/payments") is None
    [entry] = audit_entries(action="delete")
    assert (entry.at, entry.actor, entry.entity, entry.scope_path) == (T0, "tester", "scope", "acme/eng/payments")
    assert entry.before == {"name": "Payments", "description": ""}


def test_a_scope_with_children_is_not_deleted(acme: ScopeService) -> None:
    acme.create("acme/ops")
    with pytest.raises(Conflict, match="account 'acme' is not empty: it holds 2 organizations"):
        acme.delete("acme")
    with pytest.raises(Conflict, match="it holds 1 project\\."):
        acme.delete("acme/eng")
    assert Scope.select().count() == 4
    assert not audit_entries(action="delete")


def test_a_scope_with_certificates_and_connectors_names_both(
    acme: ScopeService, certificates: CertificateService, add_connector: AddConnector
) -> None:
    certificates.create("acme/eng/payments", CertificateDraft("Root", make_certificate("root").pem))
    add_connector("acme/eng/payments", "vault_a")
    add_connector("acme/eng/payments", "vault_b")
    with pytest.raises(Conflict) as caught:
        acme.delete("acme/eng/payments")
    assert "holds 1 certificate and 2 connectors" in caught.value.message
    assert Scope.get_or_none(Scope.path == "acme/eng/payments") is not None
    assert not AuditEntry.select().where(AuditEntry.action == "delete").exists()


def test_delete_an_unknown_scope(scopes: ScopeService) -> None:
    with pytest.raises(NotFound):
        scopes.delete("ghost")
