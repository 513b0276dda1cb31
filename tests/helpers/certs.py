"""Certificate factory for tests and benchmarks: real keys, real signatures, made on the spot."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
LOOPBACK = "127.0.0.1"
WRONG_HOST = "wrong-host.certdesk.test"


@lru_cache(maxsize=8)
def shared_key(label: str = "default") -> ec.EllipticCurvePrivateKey:
    """A P-256 key reused across certificates where the key itself does not matter (fast)."""
    del label
    return ec.generate_private_key(ec.SECP256R1())


def new_key(kind: str = "ec") -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class Issued:
    """A certificate with its private key (tests only: certdesk never stores keys)."""

    certificate: x509.Certificate
    key: PrivateKey

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def write(self, folder: object, stem: str) -> tuple[str, str]:
        """Write `stem.crt` and `stem.key` into a folder; return their paths."""
        from pathlib import Path

        base = Path(str(folder))
        cert_path, key_path = base / f"{stem}.crt", base / f"{stem}.key"
        cert_path.write_text(self.pem)
        key_path.write_text(self.key_pem())
        key_path.chmod(0o600)
        return str(cert_path), str(key_path)


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def make_certificate(
    common_name: str,
    *,
    issuer: Issued | None = None,
    key: PrivateKey | None = None,
    is_ca: bool = False,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    days: int = 365,
    dns_names: tuple[str, ...] = (),
    ip_addresses: tuple[str, ...] = (),
    organization: str | None = "certdesk tests",
    serial: int | None = None,
    path_length: int | None = None,
) -> Issued:
    """Build a certificate; self-signed unless an issuer is given."""
    key = key or new_key()
    now = datetime.now(UTC)
    start = not_before or now - timedelta(minutes=5)
    end = not_after or start + timedelta(days=days)
    subject = _name(common_name, organization)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=path_length if is_ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in ip_addresses]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    signer = issuer.key if issuer else key
    certificate = builder.sign(signer, hashes.SHA256())
    return Issued(certificate, key)


@dataclass
class Pki:
    """A private root CA, an intermediate and a valid server certificate for localhost."""

    root: Issued
    intermediate: Issued
    server: Issued

    @property
    def chain_pem(self) -> str:
        """Leaf, intermediate, root: what a person pastes as a chain."""
        return self.server.pem + self.intermediate.pem + self.root.pem

    @property
    def ca_chain_pem(self) -> str:
        return self.intermediate.pem + self.root.pem


def make_pki(host: str = "localhost", ip: str = "127.0.0.1", prefix: str = "certdesk test") -> Pki:
    root = make_certificate(f"{prefix} Root CA", is_ca=True, days=3650)
    intermediate = make_certificate(f"{prefix} Intermediate CA", issuer=root, is_ca=True, path_length=0)
    server = make_certificate(host, issuer=intermediate, dns_names=(host,), ip_addresses=(ip,), days=30)
    return Pki(root, intermediate, server)


def make_bundle(count: int, prefix: str = "bulk") -> str:
    """`count` distinct self-signed CA certificates as one PEM bundle, quickly (one shared key)."""
    key = shared_key("bundle")
    now = datetime.now(UTC) - timedelta(minutes=5)
    parts = []
    for index in range(count):
        subject = _name(f"{prefix} {index:06d}", "certdesk bench")
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(index + 1)
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=30 + index % 700))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        parts.append(certificate.public_bytes(serialization.Encoding.PEM).decode())
    return "".join(parts)


# TLS material for a test server: what it presents and what a client should trust, valid or broken on purpose.


@dataclass(frozen=True)
class ServerTls:
    """What a server presents (leaf first, then what it sends along) and what a well-configured client trusts."""

    chain_pem: str
    key_pem: str = field(repr=False)
    ca_pem: str

    @property
    def leaf_der(self) -> bytes:
        return x509.load_pem_x509_certificates(self.chain_pem.encode())[0].public_bytes(serialization.Encoding.DER)


def valid_tls(pki: Pki) -> ServerTls:
    """(a) Leaf for localhost/127.0.0.1 from the intermediate, served with the intermediate."""
    return ServerTls(pki.server.pem + pki.intermediate.pem, pki.server.key_pem(), pki.root.pem)


def missing_intermediate_tls(pki: Pki) -> ServerTls:
    """(b) The same leaf served alone: a client trusting only the root cannot build the chain."""
    return ServerTls(pki.server.pem, pki.server.key_pem(), pki.root.pem)


def expired_tls(pki: Pki) -> ServerTls:
    """(c) A leaf that expired yesterday, otherwise valid and served with the intermediate."""
    now = datetime.now(UTC)
    leaf = make_certificate(
        "localhost",
        issuer=pki.intermediate,
        dns_names=("localhost",),
        ip_addresses=(LOOPBACK,),
        not_before=now - timedelta(days=30),
        not_after=now - timedelta(days=1),
    )
    return ServerTls(leaf.pem + pki.intermediate.pem, leaf.key_pem(), pki.root.pem)


def wrong_host_tls(pki: Pki, host: str = WRONG_HOST) -> ServerTls:
    """(d) A valid chain whose leaf names another host only (no localhost, no 127.0.0.1)."""
    leaf = make_certificate(host, issuer=pki.intermediate, dns_names=(host,), days=30)
    return ServerTls(leaf.pem + pki.intermediate.pem, leaf.key_pem(), pki.root.pem)


def self_signed_tls() -> ServerTls:
    """(e) A self-signed leaf for localhost/127.0.0.1; trusting it means pinning this very certificate."""
    leaf = make_certificate("localhost", dns_names=("localhost",), ip_addresses=(LOOPBACK,), days=30)
    return ServerTls(leaf.pem, leaf.key_pem(), leaf.pem)
