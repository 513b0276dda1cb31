"""The OpenBao fixtures do what the connector tests will rely on: real TLS outcomes and working credentials."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import hvac
import pytest
import requests

from tests.helpers.certs import LOOPBACK, Pki, ServerTls, self_signed_tls, valid_tls
from tests.helpers.openbao import (
    OpenBaoServer,
    OpenBaoStartError,
    SilentServer,
    create_non_renewable_token,
    create_periodic_token,
    create_policy,
    create_token,
    enable_approle,
    enable_kv,
    hvac_client,
    read_only_policy,
    read_write_policy,
    start_openbao,
    unique_name,
    write_agent_sink,
)

pytestmark = pytest.mark.vault


def handshake(port: int, cafile: str, server_hostname: str = LOOPBACK, timeout: float = 5) -> str:
    """A verifying TLS handshake trusting only `cafile`; returns the peer's common name."""
    context = ssl.create_default_context(cafile=cafile)
    with (
        socket.create_connection((LOOPBACK, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        peer = tls.getpeercert() or {}
    return dict(pair for rdn in peer.get("subject", ()) for pair in rdn)["commonName"]


def verification_error(port: int, cafile: str, server_hostname: str = LOOPBACK) -> ssl.SSLCertVerificationError:
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        handshake(port, cafile, server_hostname)
    return caught.value


# --- TLS cases ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", [LOOPBACK, "localhost"])
def test_valid_chain_verifies_against_the_root_alone(openbao: OpenBaoServer, openbao_pki: Pki, host: str) -> None:
    # Trusting only the root works only because the server sends the intermediate along.
    assert openbao.ca_pem == openbao_pki.root.pem
    assert handshake(openbao.port, openbao.ca_file, host) == "localhost"


def test_valid_server_answers_health(openbao: OpenBaoServer) -> None:
    with openbao.client() as client:
        health = client.sys.read_health_status(method="GET")
    assert health["initialized"] is True
    assert health["sealed"] is False


def test_missing_intermediate_fails_against_root_and_passes_with_intermediate(
    openbao_missing_intermediate: OpenBaoServer, openbao_pki: Pki
) -> None:
    server = openbao_missing_intermediate
    error = verification_error(server.port, server.ca_file)
    assert error.verify_message == "unable to get local issuer certificate"
    with server.client(verify=server.ca_file) as client, pytest.raises(requests.exceptions.SSLError):
        client.sys.read_health_status(method="GET")

    both = server.write_ca_file("root-and-intermediate.pem", openbao_pki.root.pem + openbao_pki.intermediate.pem)
    handshake(server.port, both)
    with server.client(verify=both) as client:
        assert client.sys.read_health_status(method="GET")["sealed"] is False


def test_expired_certificate_fails_verification(openbao_expired: OpenBaoServer) -> None:
    error = verification_error(openbao_expired.port, openbao_expired.ca_file)
    assert error.verify_message == "certificate has expired"
    with openbao_expired.client() as client, pytest.raises(requests.exceptions.SSLError, match="expired"):
        client.sys.read_health_status(method="GET")


@pytest.mark.parametrize(
    ("host", "message"),
    [("localhost", "Hostname mismatch"), (LOOPBACK, "IP address mismatch")],
)
def test_wrong_host_certificate_fails_verification(openbao_wrong_host: OpenBaoServer, host: str, message: str) -> None:
    error = verification_error(openbao_wrong_host.port, openbao_wrong_host.ca_file, host)
    assert error.verify_message.startswith(message)


def test_self_signed_certificate_fails_unless_pinned(openbao_self_signed: OpenBaoServer, openbao_pki: Pki) -> None:
    server = openbao_self_signed
    other_root = server.write_ca_file("unrelated-root.pem", openbao_pki.root.pem)
    assert verification_error(server.port, other_root).verify_message == "self-signed certificate"
    handshake(server.port, server.ca_file)  # the CA file is the certificate itself
    with server.client() as client:
        assert client.sys.read_health_status(method="GET")["initialized"] is True


def test_admin_listener_sets_up_a_server_whose_certificate_is_broken(openbao_expired: OpenBaoServer) -> None:
    mount = enable_kv(openbao_expired.admin, unique_name("kv"), version=1)
    assert f"{mount}/" in openbao_expired.admin.sys.list_mounted_secrets_engines()["data"]


# --- Engines and credentials ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_kv_write_and_read(openbao: OpenBaoServer, version: int) -> None:
    mount = enable_kv(openbao.admin, unique_name(f"kv{version}"), version)
    with openbao.client() as client:
        if version == 1:
            client.secrets.kv.v1.create_or_update_secret("app/db", {"password": "s3cret"}, mount_point=mount)
            data = client.secrets.kv.v1.read_secret("app/db", mount_point=mount)["data"]
        else:
            client.secrets.kv.v2.create_or_update_secret("app/db", {"password": "s3cret"}, mount_point=mount)
            read = client.secrets.kv.v2.read_secret_version("app/db", mount_point=mount, raise_on_deleted_version=True)
            data = read["data"]["data"]
    assert data == {"password": "s3cret"}


def test_root_token_has_root_policy(openbao: OpenBaoServer) -> None:
    with openbao.client() as client:
        assert "root" in client.auth.token.lookup_self()["data"]["policies"]


def test_periodic_token_is_renewable_and_writes(openbao: OpenBaoServer) -> None:
    mount = enable_kv(openbao.admin, unique_name("kv"), version=2)
    policy = create_policy(openbao.admin, unique_name("rw"), read_write_policy(mount, 2))
    token = create_periodic_token(openbao.admin, policy, period="1h")
    with openbao.client(token.token) as client:
        data = client.auth.token.lookup_self()["data"]
        assert data["renewable"] is True
        assert data["period"] == 3600
        assert policy in data["policies"]
        assert "root" not in data["policies"]
        client.secrets.kv.v2.create_or_update_secret("x", {"k": "v"}, mount_point=mount)
        assert client.auth.token.renew_self()["auth"]["lease_duration"] == 3600


def test_non_renewable_token(openbao: OpenBaoServer) -> None:
    token = create_non_renewable_token(openbao.admin, "default", ttl="10m")
    assert token.renewable is False
    with openbao.client(token.token) as client:
        data = client.auth.token.lookup_self()["data"]
    assert data["renewable"] is False
    assert 0 < data["ttl"] <= 600


def test_token_without_write_can_read_but_not_write(openbao: OpenBaoServer) -> None:
    mount = enable_kv(openbao.admin, unique_name("kv"), version=1)
    openbao.admin.secrets.kv.v1.create_or_update_secret("present", {"k": "v"}, mount_point=mount)
    policy = create_policy(openbao.admin, unique_name("ro"), read_only_policy(mount, 1))
    token = create_token(openbao.admin, (policy,), ttl="10m")
    with openbao.client(token.token) as client:
        assert client.secrets.kv.v1.read_secret("present", mount_point=mount)["data"] == {"k": "v"}
        with pytest.raises(hvac.exceptions.Forbidden):
            client.secrets.kv.v1.create_or_update_secret("new", {"k": "v"}, mount_point=mount)


def test_approle_credentials_log_in(openbao: OpenBaoServer) -> None:
    policy = create_policy(openbao.admin, unique_name("approle"), read_only_policy("nothing", 1))
    role = enable_approle(openbao.admin, unique_name("role"), (policy,), mount=unique_name("approle"))
    with openbao.client(token="") as client:
        login = client.auth.approle.login(role.role_id, role.secret_id, mount_point=role.mount)
        assert policy in login["auth"]["policies"]
        assert client.auth.token.lookup_self()["data"]["meta"]["role_name"] == role.role_name


def test_agent_sink_token_works(openbao: OpenBaoServer, tmp_path: Path) -> None:
    token = create_periodic_token(openbao.admin, "default")
    sink = write_agent_sink(tmp_path / "agent" / "token", token.token)
    assert sink.read_text() == token.token
    assert sink.stat().st_mode & 0o777 == 0o640
    with openbao.client(sink.read_text()) as client:
        assert client.auth.token.lookup_self()["data"]["accessor"] == token.accessor


# --- Servers that fail in other ways ----------------------------------------------------------------------------------


def test_closed_port_refuses(closed_port: int) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((LOOPBACK, closed_port), timeout=2).close()


def test_silent_server_times_out(silent_server: SilentServer, openbao_pki: Pki, tmp_path: Path) -> None:
    cafile = tmp_path / "root.pem"
    cafile.write_text(openbao_pki.root.pem)
    with pytest.raises(TimeoutError):
        handshake(silent_server.port, str(cafile), timeout=0.2)
    with (
        hvac_client(silent_server.url, "unused", verify=str(cafile), timeout=0.2) as client,
        pytest.raises(requests.exceptions.Timeout),
    ):
        client.sys.read_health_status(method="GET")


def test_factory_server_is_stopped_and_reaped(
    openbao_factory: Callable[[ServerTls], OpenBaoServer], openbao_pki: Pki
) -> None:
    server = openbao_factory(self_signed_tls())
    assert server.startup_seconds < 10
    server.stop()
    assert server.process.returncode is not None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((LOOPBACK, server.port), timeout=2).close()
    server.stop()  # idempotent, and the fixture's own teardown calls it again


def test_start_failure_reports_the_log_and_reaps(tmp_path: Path, openbao_pki: Pki) -> None:
    good = valid_tls(openbao_pki)
    other_key = self_signed_tls().key_pem  # does not match the leaf
    with pytest.raises(OpenBaoStartError, match=r"(?s)bao exited with 1 .*--- bao log ---.*private key"):
        start_openbao(tmp_path, good.chain_pem, other_key, good.ca_pem)
