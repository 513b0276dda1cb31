"""The connector service end to end: keyring secrets, certificate use, tests and renewal on OpenBao."""

from __future__ import annotations

import pytest

from certdesk.domain.connectors import INVALID_URL, NEGATIVE_INTERVAL, ROOT_TOKEN_RULE, AuthMethod, VaultSettings
from certdesk.domain.errors import Conflict, InUse, InvalidInput, NotFound
from certdesk.services.certificates import CertificateService
from certdesk.services.connectors import ConnectorDraft, ConnectorService
from certdesk.services.scopes import ScopeService
from certdesk.services.views import CertificateDraft
from certdesk.store.models import MODELS, db
from tests.conftest import SettableClock
from tests.helpers.keyrings import MemoryKeyring
from tests.helpers.openbao import (
    OpenBaoServer,
    create_periodic_token,
    create_policy,
    enable_kv,
    read_write_policy,
    unique_name,
)

pytestmark = pytest.mark.vault


@pytest.fixture
def trusted(acme: ScopeService, certificates: CertificateService, openbao: OpenBaoServer) -> str:
    """The OpenBao root CA stored at the account, as a project connector refers to it."""
    certificates.create("acme", CertificateDraft(name="Vault Root CA", identifier="vault_root", pem=openbao.ca_pem))
    return "account.vault_root"


def draft(server: OpenBaoServer, certificate: str | None, token: str | None, **settings: object) -> ConnectorDraft:
    base = {"url": server.url, "engine": "secret", "engine_version": 2}
    base.update(settings)
    return ConnectorDraft(name="Vault prod", settings=VaultSettings(**base), certificate=certificate, token=token)  # type: ignore[arg-type]


def _every_stored_value() -> str:
    """Every row of every table as text, on SQLite or PostgreSQL alike."""
    return "\n".join(repr(row) for model in MODELS for row in db.execute(model.select()).fetchall())


def test_create_keeps_the_token_in_the_keyring_only(
    connectors: ConnectorService, trusted: str, openbao: OpenBaoServer, memory_keyring: MemoryKeyring
) -> None:
    kv = enable_kv(openbao.admin, unique_name("kv"), 2)
    token = create_periodic_token(
        openbao.admin, create_policy(openbao.admin, unique_name("p"), read_write_policy(kv, 2))
    ).token
    view = connectors.create("acme/eng/payments", draft(openbao, trusted, token))
    assert view.identifier == "Vault_prod"
    assert view.certificate is not None
    assert view.certificate.reference == "account.vault_root"
    assert view.has_secret
    assert list(memory_keyring.store.values()) == [token]
    dump = _every_stored_value()
    assert token not in dump
    assert "token_ref" in dump  # only the reference is stored


def test_certificate_use_blocks_deletion_until_forced(
    connectors: ConnectorService, certificates: CertificateService, trusted: str, openbao: OpenBaoServer
) -> None:
    connectors.create("acme/eng/payments", draft(openbao, trusted, openbao.root_token, renewal_minutes=0))
    with pytest.raises(InUse, match="Vault prod"):
        certificates.delete("acme", "vault_root")
    assert [str(use) for use in certificates.get("acme", "vault_root").used_by] == [
        "Vault prod (acme/eng/payments/Vault_prod)"
    ]
    certificates.delete("acme", "vault_root", force=True)
    view = connectors.get("acme/eng/payments", "Vault_prod")
    assert view.certificate is None
    assert view.needs_attention
    assert "was deleted" in view.attention_reason


def test_certificate_choices_are_grouped_from_own_scope_up(
    connectors: ConnectorService, certificates: CertificateService, trusted: str, openbao: OpenBaoServer
) -> None:
    certificates.create(
        "acme/eng",
        CertificateDraft(name="Eng CA", pem=openbao.tls.chain_pem.split("-----END")[0] + "-----END CERTIFICATE-----\n"),
    )
    choices = connectors.certificate_choices("acme/eng/payments")
    assert [choice.reference for choice in choices] == ["org.Eng_CA", "account.vault_root"]
    assert [choice.reference for choice in connectors.certificate_choices("acme")] == ["vault_root"]
    with pytest.raises(NotFound):  # a higher scope never sees a lower one's certificate
        connectors.create("acme", draft(openbao, "Eng_CA", "t"))
    with pytest.raises(InvalidInput, match="no organization above"):
        connectors.create("acme", draft(openbao, "org.x", "t"))


def test_rules_checked_before_the_server(connectors: ConnectorService, trusted: str, openbao: OpenBaoServer) -> None:
    with pytest.raises(InvalidInput, match=INVALID_URL):
        connectors.create("acme/eng", draft(openbao, None, "t", url="ftp://vault"))
    with pytest.raises(InvalidInput, match=NEGATIVE_INTERVAL):
        connectors.create("acme/eng", draft(openbao, None, "t", renewal_minutes=-1))
    with pytest.raises(InvalidInput, match="needs a token"):
        connectors.create("acme/eng", draft(openbao, None, None))


def test_saving_a_root_token_with_an_interval_is_refused(
    connectors: ConnectorService, trusted: str, openbao: OpenBaoServer
) -> None:
    with pytest.raises(InvalidInput) as refused:
        connectors.create("acme/eng/payments", draft(openbao, trusted, openbao.root_token, renewal_minutes=10))
    assert refused.value.message == ROOT_TOKEN_RULE
    assert openbao.root_token not in refused.value.message
    view = connectors.create("acme/eng/payments", draft(openbao, trusted, openbao.root_token, renewal_minutes=0))
    assert view.settings.renewal_minutes == 0


def test_saved_connector_test_and_renewal_are_recorded(
    connectors: ConnectorService, trusted: str, openbao: OpenBaoServer, clock: SettableClock
) -> None:
    kv = enable_kv(openbao.admin, unique_name("kv"), 2)
    policy = create_policy(openbao.admin, unique_name("rw"), read_write_policy(kv, 2))
    token = create_periodic_token(openbao.admin, policy).token
    connectors.create("acme/eng", draft(openbao, "account.vault_root", token, engine=kv, renewal_minutes=10))
    report = connectors.test("acme/eng", "Vault_prod")
    assert report.ok, report.verdict
    view = connectors.get("acme/eng", "Vault_prod")
    assert view.last_test_ok is True
    assert view.last_test_summary == report.verdict
    assert connectors.due_for_renewal() == [(view.scope, "Vault_prod")]
    ok, message = connectors.renew("acme/eng", "Vault_prod")
    assert ok, message
    assert connectors.due_for_renewal() == []
    assert connectors.get("acme/eng", "Vault_prod").last_renewal_ok is True


def test_missing_secret_on_this_workstation_is_said(
    connectors: ConnectorService, trusted: str, openbao: OpenBaoServer, memory_keyring: MemoryKeyring
) -> None:
    connectors.create("acme/eng", draft(openbao, "account.vault_root", openbao.root_token, renewal_minutes=0))
    memory_keyring.store.clear()  # another workstation of a team: the database is shared, the keyring is not
    view = connectors.get("acme/eng", "Vault_prod")
    assert not view.has_secret
    assert view.needs_attention
    assert "not stored in this workstation's keyring" in view.attention_reason
    report = connectors.test("acme/eng", "Vault_prod")
    assert "No token is stored" in report.verdict


def test_edit_keeps_the_stored_token_and_delete_forgets_it(
    connectors: ConnectorService, trusted: str, openbao: OpenBaoServer, memory_keyring: MemoryKeyring
) -> None:
    connectors.create("acme/eng", draft(openbao, "account.vault_root", openbao.root_token, renewal_minutes=0))
    version = connectors.get("acme/eng", "Vault_prod").version
    edited = draft(openbao, None, None, renewal_minutes=0, read_only=True)
    view = connectors.update("acme/eng", "Vault_prod", edited, expected_version=version)
    assert view.settings.read_only
    assert view.certificate is None
    assert view.has_secret
    with pytest.raises(Conflict):
        connectors.update("acme/eng", "Vault_prod", edited, expected_version=version)
    connectors.delete("acme/eng", "Vault_prod")
    assert memory_keyring.store == {}
    assert connectors.in_scope("acme/eng") == []


def test_approle_secret_id_is_stored_and_used(
    connectors: ConnectorService, trusted: str, openbao: OpenBaoServer
) -> None:
    from tests.helpers.openbao import enable_approle

    kv = enable_kv(openbao.admin, unique_name("kv"), 2)
    policy = create_policy(openbao.admin, unique_name("rw"), read_write_policy(kv, 2))
    role = enable_approle(openbao.admin, unique_name("role"), (policy,))
    settings = VaultSettings(
        url=openbao.url, auth=AuthMethod.APPROLE, role_id=role.role_id, renewal_minutes=10, engine=kv
    )
    created = connectors.create(
        "acme/eng",
        ConnectorDraft(name="By role", settings=settings, certificate="account.vault_root", secret_id=role.secret_id),
    )
    assert created.renews
    report = connectors.test("acme/eng", created.identifier)
    assert report.ok, report.verdict
    ok, message = connectors.renew("acme/eng", created.identifier)
    assert ok, message
