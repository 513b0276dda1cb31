"""Test Connection, engines and renewal against real OpenBao servers (services layer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from certdesk.domain.connectors import NON_RENEWABLE_RULE, ROOT_TOKEN_RULE, AuthMethod, VaultSettings
from certdesk.services.clock import SystemClock
from certdesk.services.vault import Credentials, StepStatus, TestReport, VaultGateway, VaultProblem
from tests.helpers.certs import Pki, make_pki
from tests.helpers.openbao import (
    OpenBaoServer,
    SilentServer,
    create_non_renewable_token,
    create_periodic_token,
    create_policy,
    enable_approle,
    enable_kv,
    read_only_policy,
    read_write_policy,
    unique_name,
    write_agent_sink,
)

pytestmark = pytest.mark.vault


@pytest.fixture
def gateway() -> VaultGateway:
    return VaultGateway(SystemClock())


@pytest.fixture(scope="module")
def kv2(openbao: OpenBaoServer) -> str:
    return enable_kv(openbao.admin, unique_name("kv2"), 2)


def settings_for(url: str, engine: str = "secret", **changes: object) -> VaultSettings:
    return VaultSettings(url=url, engine=engine, engine_version=2, **changes)  # type: ignore[arg-type]


def status(report: TestReport) -> dict[str, StepStatus]:
    return {step.name: step.status for step in report.steps}


def detail(report: TestReport, name: str) -> str:
    return next(step.detail for step in report.steps if step.name == name)


def test_the_right_certificate_passes_every_step(gateway: VaultGateway, openbao: OpenBaoServer, kv2: str) -> None:
    report = gateway.test(
        settings_for(openbao.url, kv2, renewal_minutes=0), openbao.ca_pem, Credentials(token=openbao.root_token)
    )
    assert report.ok, report.verdict
    assert list(status(report).values()) == [StepStatus.PASSED] * 6
    assert "initialised, unsealed, active" in detail(report, "Reach")
    assert "verifies against the selected certificate" in detail(report, "TLS")
    assert [member.subject_cn for member in report.presented_chain] == [
        "localhost",
        "certdesk vault test Intermediate CA",
    ]
    assert report.verdict == "Connection succeeded: every step passed."
    with openbao.client() as client:
        stored = client.secrets.kv.v2.read_secret_version(
            path="certdesk_validation", mount_point=kv2, raise_on_deleted_version=True
        )
    assert stored["data"]["data"]["checked_by"] == "certdesk"


def test_no_certificate_means_the_system_store_which_does_not_know_a_private_ca(
    gateway: VaultGateway, openbao: OpenBaoServer
) -> None:
    report = gateway.test(settings_for(openbao.url), None, Credentials(token=openbao.root_token))
    assert status(report)["TLS"] is StepStatus.FAILED
    assert "system trust store" in detail(report, "TLS")
    assert status(report)["Authentication"] is StepStatus.SKIPPED
    assert report.verdict.startswith("TLS failed")


def test_a_wrong_ca_is_an_unknown_issuer(gateway: VaultGateway, openbao: OpenBaoServer) -> None:
    other = make_pki(prefix="someone else")
    report = gateway.test(settings_for(openbao.url), other.root.pem, Credentials(token=openbao.root_token))
    assert status(report)["TLS"] is StepStatus.FAILED
    text = detail(report, "TLS")
    assert text.startswith("Unknown issuer")
    assert "certdesk vault test Intermediate CA" in text  # the chain the server presented is named


def test_expired_server_certificate_names_the_date(gateway: VaultGateway, openbao_expired: OpenBaoServer) -> None:
    report = gateway.test(settings_for(openbao_expired.url), openbao_expired.ca_pem, Credentials(token="x"))
    text = detail(report, "TLS")
    assert text.startswith("Expired: the server's certificate 'localhost' expired on")


def test_wrong_host_lists_the_names_the_certificate_holds(
    gateway: VaultGateway, openbao_wrong_host: OpenBaoServer
) -> None:
    report = gateway.test(settings_for(openbao_wrong_host.url), openbao_wrong_host.ca_pem, Credentials(token="x"))
    text = detail(report, "TLS")
    assert text.startswith("Hostname mismatch")
    assert "wrong-host.certdesk.test" in text
    assert "'127.0.0.1'" in text


def test_missing_intermediate_is_named(
    gateway: VaultGateway, openbao_missing_intermediate: OpenBaoServer, openbao_pki: Pki
) -> None:
    server = openbao_missing_intermediate
    report = gateway.test(settings_for(server.url), server.ca_pem, Credentials(token="x"))
    assert "Missing intermediate" in detail(report, "TLS")
    assert len(report.presented_chain) == 1
    with_intermediate = server.ca_pem + openbao_pki.intermediate.pem
    fixed = gateway.test(settings_for(server.url, renewal_minutes=0), with_intermediate, Credentials(token="x"))
    assert status(fixed)["TLS"] is StepStatus.PASSED


def test_self_signed_server_certificate(gateway: VaultGateway, openbao_self_signed: OpenBaoServer) -> None:
    other = make_pki(prefix="unrelated")
    report = gateway.test(settings_for(openbao_self_signed.url), other.root.pem, Credentials(token="x"))
    assert detail(report, "TLS").startswith("Self-signed server certificate")


def test_root_token_with_interval_fails_and_with_zero_passes(
    gateway: VaultGateway, openbao: OpenBaoServer, kv2: str
) -> None:
    credentials = Credentials(token=openbao.root_token)
    report = gateway.test(settings_for(openbao.url, kv2, renewal_minutes=10), openbao.ca_pem, credentials)
    assert detail(report, "Token rules") == ROOT_TOKEN_RULE
    assert report.renewal_fix_offered
    assert not report.ok
    again = gateway.test(settings_for(openbao.url, kv2, renewal_minutes=0), openbao.ca_pem, credentials)
    assert again.ok, again.verdict


def test_non_renewable_token_with_interval_fails(gateway: VaultGateway, openbao: OpenBaoServer, kv2: str) -> None:
    policy = create_policy(openbao.admin, unique_name("rw"), read_write_policy(kv2, 2))
    token = create_non_renewable_token(openbao.admin, policy)
    report = gateway.test(settings_for(openbao.url, kv2), openbao.ca_pem, Credentials(token=token.token))
    assert detail(report, "Token rules") == NON_RENEWABLE_RULE


def test_periodic_token_passes_and_renews(gateway: VaultGateway, openbao: OpenBaoServer, kv2: str) -> None:
    policy = create_policy(openbao.admin, unique_name("rw"), read_write_policy(kv2, 2))
    token = create_periodic_token(openbao.admin, policy, period="30m")
    settings = settings_for(openbao.url, kv2, renewal_minutes=10)
    report = gateway.test(settings, openbao.ca_pem, Credentials(token=token.token))
    assert report.ok, report.verdict
    assert gateway.renew(settings, openbao.ca_pem, Credentials(token=token.token)) == "Renewed for 30 minutes."


def test_bad_token_fails_authentication_without_echoing_it(gateway: VaultGateway, openbao: OpenBaoServer) -> None:
    secret = "s.this-is-not-a-token-1234567890"
    report = gateway.test(settings_for(openbao.url), openbao.ca_pem, Credentials(token=secret))
    assert status(report)["Authentication"] is StepStatus.FAILED
    assert "permission denied" in detail(report, "Authentication")
    assert secret not in repr(report)


def test_approle_and_vault_agent_pass(gateway: VaultGateway, openbao: OpenBaoServer, kv2: str, tmp_path: Path) -> None:
    policy = create_policy(openbao.admin, unique_name("rw"), read_write_policy(kv2, 2))
    role = enable_approle(openbao.admin, unique_name("role"), (policy,))
    approle = settings_for(openbao.url, kv2, auth=AuthMethod.APPROLE, role_id=role.role_id)
    report = gateway.test(approle, openbao.ca_pem, Credentials(secret_id=role.secret_id))
    assert report.ok, report.verdict
    assert status(report)["Token rules"] is StepStatus.SKIPPED
    wrong = gateway.test(approle, openbao.ca_pem, Credentials(secret_id="not-the-secret-id"))
    assert "AppRole login failed" in detail(wrong, "Authentication")

    token = create_periodic_token(openbao.admin, policy)
    sink = write_agent_sink(tmp_path / "agent" / "token", token.token)
    agent = settings_for(openbao.url, kv2, auth=AuthMethod.VAULT_AGENT, sink_path=str(sink))
    assert gateway.test(agent, openbao.ca_pem, Credentials()).ok
    missing = settings_for(openbao.url, kv2, auth=AuthMethod.VAULT_AGENT, sink_path=str(tmp_path / "nope"))
    assert "does not exist" in detail(gateway.test(missing, openbao.ca_pem, Credentials()), "Authentication")


def test_read_only_skips_the_write_and_a_policy_without_write_fails_it(
    gateway: VaultGateway, openbao: OpenBaoServer, kv2: str
) -> None:
    policy = create_policy(openbao.admin, unique_name("ro"), read_only_policy(kv2, 2))
    token = create_periodic_token(openbao.admin, policy)
    writing = gateway.test(settings_for(openbao.url, kv2), openbao.ca_pem, Credentials(token=token.token))
    assert status(writing)["Write and read back"] is StepStatus.FAILED
    assert "permission denied" in detail(writing, "Write and read back")
    read_only = gateway.test(
        settings_for(openbao.url, kv2, read_only=True), openbao.ca_pem, Credentials(token=token.token)
    )
    assert read_only.ok, read_only.verdict
    assert status(read_only)["Write and read back"] is StepStatus.SKIPPED


def test_kv_version_1_and_a_missing_engine(gateway: VaultGateway, openbao: OpenBaoServer) -> None:
    kv1 = enable_kv(openbao.admin, unique_name("kv1"), 1)
    settings = VaultSettings(url=openbao.url, engine=kv1, engine_version=1, renewal_minutes=0, base_path="team/a")
    report = gateway.test(settings, openbao.ca_pem, Credentials(token=openbao.root_token))
    assert report.ok, report.verdict
    assert f"{kv1}/team/a/certdesk_validation" in detail(report, "Write and read back")
    wrong_version = VaultSettings(url=openbao.url, engine=kv1, engine_version=2, renewal_minutes=0)
    assert "KV version 1" in detail(
        gateway.test(wrong_version, openbao.ca_pem, Credentials(token=openbao.root_token)), "Secret engine"
    )
    absent = VaultSettings(url=openbao.url, engine="nothing_here", renewal_minutes=0)
    assert status(gateway.test(absent, openbao.ca_pem, Credentials(token=openbao.root_token)))["Secret engine"] is (
        StepStatus.FAILED
    )


def test_fetch_engines_lists_kv_mounts(gateway: VaultGateway, openbao: OpenBaoServer, kv2: str) -> None:
    engines = gateway.fetch_engines(settings_for(openbao.url), openbao.ca_pem, Credentials(token=openbao.root_token))
    assert (kv2, 2) in engines
    with pytest.raises(VaultProblem, match="No token is stored"):
        gateway.fetch_engines(settings_for(openbao.url), openbao.ca_pem, Credentials())


def test_closed_port_and_silent_server_fail_fast(
    gateway: VaultGateway, closed_port: int, silent_server: SilentServer
) -> None:
    closed = gateway.test(settings_for(f"https://127.0.0.1:{closed_port}"), None, Credentials(token="x"))
    assert "connection refused" in detail(closed, "Reach")
    silent = gateway.test(settings_for(silent_server.url), None, Credentials(token="x"))
    assert "did not answer within" in detail(silent, "Reach")
    assert [s.status for s in silent.steps][1:] == [StepStatus.SKIPPED] * 5
