"""Reaching a server and checking its TLS chain, with causes a person can act on."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from cryptography import x509

from certdesk.domain.x509 import CertificateInfo, describe, load_certificates

# OpenSSL's verify codes (include/openssl/x509_vfy.h) that have a cause a person can act on.
_NOT_YET_VALID, _EXPIRED = 9, 10
_SELF_SIGNED_LEAF, _SELF_SIGNED_IN_CHAIN, _NO_LOCAL_ISSUER, _NO_ISSUER = 18, 19, 20, 2
_LEAF_NOT_SIGNED = 21
_HOSTNAME_MISMATCH, _IP_MISMATCH = 62, 64


@dataclass
class Endpoint:
    scheme: str
    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        parsed = urlparse(url)
        scheme = parsed.scheme or "https"
        return cls(scheme, parsed.hostname or "", parsed.port or (443 if scheme == "https" else 80))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class ReachResult:
    ok: bool
    detail: str
    presented: list[x509.Certificate] = field(default_factory=list)
    health: dict[str, Any] = field(default_factory=dict)


def trust_context(trust_pem: str | None) -> ssl.SSLContext:
    """A verifying context that trusts exactly the selected chain (any member is an anchor), or the system."""
    if trust_pem:
        context = ssl.create_default_context(cadata=trust_pem)
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    else:
        context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _unverified_context() -> ssl.SSLContext:
    # Only to read the chain the server presents and its public health status: no credential is
    # ever sent over this context.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def reach(endpoint: Endpoint, timeout: float) -> ReachResult:
    """Open a connection, read the presented chain, and ask /v1/sys/health what state Vault is in."""
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout):
            pass
    except socket.gaierror:
        return ReachResult(False, f"The host name '{endpoint.host}' cannot be resolved.")
    except ConnectionRefusedError:
        return ReachResult(False, f"Nothing is listening on {endpoint} (connection refused).")
    except TimeoutError:
        return ReachResult(False, f"{endpoint} did not answer within {timeout:g} seconds.")
    except OSError as error:
        return ReachResult(False, f"{endpoint} cannot be reached: {error.strerror or error}.")

    connection: http.client.HTTPConnection
    if endpoint.scheme == "https":
        connection = http.client.HTTPSConnection(
            endpoint.host, endpoint.port, timeout=timeout, context=_unverified_context()
        )
    else:
        connection = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=timeout)
    presented: list[x509.Certificate] = []
    try:
        connection.connect()
        if isinstance(connection.sock, ssl.SSLSocket):
            presented = presented_chain(connection.sock)
        connection.request("GET", "/v1/sys/health", headers={"Accept": "application/json"})
        response = connection.getresponse()
        body = response.read(65536)
    except TimeoutError:
        return ReachResult(False, f"{endpoint} accepted the connection but did not answer within {timeout:g} seconds.")
    except ssl.SSLError as error:
        return ReachResult(False, f"{endpoint} does not speak TLS as expected: {error.reason or error}.")
    except (OSError, http.client.HTTPException) as error:
        return ReachResult(False, f"{endpoint} closed the connection: {type(error).__name__}.", presented)
    finally:
        connection.close()
    try:
        health = json.loads(body)
    except ValueError:
        return ReachResult(
            False, f"{endpoint} answered HTTP {response.status}, but not as a Vault server would.", presented
        )
    if not isinstance(health, dict):
        return ReachResult(False, f"{endpoint} answered, but not as a Vault server would.", presented)
    return _health_verdict(health, presented)


def _health_verdict(health: dict[str, Any], presented: list[x509.Certificate]) -> ReachResult:
    version = health.get("version", "?")
    if not health.get("initialized", True):
        return ReachResult(False, f"Vault {version} answered but is not initialised yet.", presented, health)
    if health.get("sealed", False):
        return ReachResult(False, f"Vault {version} answered but is sealed: unseal it first.", presented, health)
    role = "a standby node" if health.get("standby") else "active"
    return ReachResult(True, f"Vault {version} answered: initialised, unsealed, {role}.", presented, health)


def presented_chain(sock: ssl.SSLSocket) -> list[x509.Certificate]:
    """The certificates the server sent, leaf first (all of them where Python allows)."""
    getter = getattr(sock, "get_unverified_chain", None) or getattr(
        getattr(sock, "_sslobj", None), "get_unverified_chain", None
    )
    chain: list[x509.Certificate] = []
    if getter is not None:
        for item in getter() or []:
            der = item if isinstance(item, bytes) else item.public_bytes(ssl._ssl.ENCODING_DER)  # type: ignore[attr-defined]
            chain.append(x509.load_der_x509_certificate(der))
    if not chain:
        der = sock.getpeercert(binary_form=True)
        if der:
            chain.append(x509.load_der_x509_certificate(der))
    return chain


def verify_tls(
    endpoint: Endpoint, trust_pem: str | None, presented: list[x509.Certificate], timeout: float, now: datetime
) -> tuple[bool, str]:
    """Handshake as a strict client would; on failure, say why in words a person can act on."""
    context = trust_context(trust_pem)
    try:
        with (
            socket.create_connection((endpoint.host, endpoint.port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=endpoint.host),
        ):
            pass
    except ssl.SSLCertVerificationError as error:
        return False, explain_verify_error(error, endpoint, trust_pem, presented, now)
    except ssl.SSLError as error:
        return False, f"The TLS handshake with {endpoint} failed: {error.reason or error}."
    except TimeoutError:
        return False, f"The TLS handshake with {endpoint} did not finish within {timeout:g} seconds."
    except OSError as error:
        return False, f"{endpoint} cannot be reached for the TLS check: {error.strerror or error}."
    anchor = "the selected certificate" if trust_pem else "the system trust store"
    return True, f"The server's certificate chain verifies against {anchor}, and its name matches {endpoint.host}."


def explain_verify_error(
    error: ssl.SSLCertVerificationError,
    endpoint: Endpoint,
    trust_pem: str | None,
    presented: list[x509.Certificate],
    now: datetime,
) -> str:
    code = getattr(error, "verify_code", None)
    members = [describe(c) for c in presented]
    leaf = members[0] if members else None
    trusted = [describe(c) for c in load_certificates(trust_pem)] if trust_pem else []
    anchor = "the selected certificate" if trust_pem else "the system trust store"
    if code in (_EXPIRED, _NOT_YET_VALID) and members:
        for member in members:
            if member.not_after < now:
                return (
                    f"Expired: the server's certificate '{member.display_name}' expired on "
                    f"{member.not_after:%Y-%m-%d %H:%M} UTC."
                )
            if member.not_before > now:
                return (
                    f"Not yet valid: the server's certificate '{member.display_name}' is valid only from "
                    f"{member.not_before:%Y-%m-%d %H:%M} UTC."
                )
    if code in (_HOSTNAME_MISMATCH, _IP_MISMATCH) and leaf is not None:
        names = ", ".join(leaf.san) or f"CN={leaf.subject_cn}"
        return (
            f"Hostname mismatch: the server's certificate is for {names}, not for '{endpoint.host}'. "
            "Use a URL with one of those names, or reissue the certificate."
        )
    if leaf is not None and (code == _SELF_SIGNED_LEAF or (len(members) == 1 and leaf.subject == leaf.issuer)):
        return (
            f"Self-signed server certificate: the server presents '{leaf.display_name}', signed by itself, "
            f"and {anchor} does not include it. Select a certificate that holds it, or give the server a "
            "certificate signed by a CA you trust."
        )
    if leaf is not None and code in (_NO_LOCAL_ISSUER, _NO_ISSUER, _SELF_SIGNED_IN_CHAIN, _LEAF_NOT_SIGNED):
        trusted_subjects = {member.subject for member in trusted}
        top = members[-1]
        if len(members) == 1 and leaf.issuer not in trusted_subjects:
            return (
                f"Missing intermediate or unknown issuer: the server sent only its own certificate, and its "
                f"issuer '{leaf.issuer}' is not in {anchor}. If that issuer is an intermediate of your CA, "
                "configure the server to send its intermediate certificate (or add the intermediate to the "
                "selected certificate); otherwise the server is signed by a CA you do not trust."
            )
        return (
            f"Unknown issuer: the server presented a chain ending at '{top.display_name}' issued by "
            f"'{top.issuer}', which {anchor} does not contain. Select the certificate of that CA."
        )
    reason = getattr(error, "verify_message", None) or str(error)
    return f"The server's certificate does not verify against {anchor}: {reason}."


def chain_summary(presented: list[x509.Certificate]) -> tuple[CertificateInfo, ...]:
    return tuple(describe(certificate) for certificate in presented)
