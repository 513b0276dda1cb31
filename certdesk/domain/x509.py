"""X.509 analysis: read PEM, DER or PKCS#7 input, describe each certificate and the chain."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from certdesk.domain.errors import InvalidCertificate, PrivateKeyRefused
from certdesk.domain.names import shorten_for_message

# A marker line of a PEM block. Labels hold no dash, so the scan is linear even on hostile input.
_MARKER = re.compile(rb"-----(BEGIN|END) ([^\r\n-]{0,64})-----")
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"X.509 CERTIFICATE"}
_PKCS7_LABELS = {b"PKCS7", b"PKCS #7 SIGNED DATA", b"CMS"}
# Any key block, whatever its flavour: PKCS#8, RSA, EC, ENCRYPTED, OPENSSH, PGP ... PRIVATE KEY BLOCK.
_PRIVATE_KEY = re.compile(rb"-----(?:BEGIN|END) [^\r\n-]{0,64}PRIVATE KEY", re.IGNORECASE)
# The DER of an OBJECT IDENTIFIER 1.2.840.113549.1.7 (PKCS#7), less its last arc.
_PKCS7_OID_PREFIX = bytes.fromhex("06092a864886f70d0107")
# What cryptography raises for a certificate it cannot read; not all of them are ValueError.
_UNREADABLE = (
    ValueError,
    TypeError,
    OverflowError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


@dataclass(frozen=True)
class CertificateInfo:
    """What a person needs to know about one certificate."""

    subject: str
    subject_cn: str
    issuer: str
    issuer_cn: str
    serial: str
    not_before: datetime
    not_after: datetime
    sha256: str
    sha1: str
    is_ca: bool
    key_type: str
    key_size: int | None
    signature_algorithm: str
    san: tuple[str, ...]
    pem: str

    @property
    def display_name(self) -> str:
        """The subject's common name, or the whole subject when it has none."""
        return self.subject_cn or self.subject or self.sha256[:16]

    def validity_at(self, now: datetime) -> str:
        """`expired`, `not yet valid` or `valid` at the given instant."""
        if now > self.not_after:
            return "expired"
        if now < self.not_before:
            return "not yet valid"
        return "valid"


@dataclass(frozen=True)
class ChainReport:
    """A certificate or chain as stored: its members leaf first, and what a person should know."""

    members: tuple[CertificateInfo, ...]
    warnings: tuple[str, ...] = field(default=())
    is_chain: bool = False

    @property
    def leaf(self) -> CertificateInfo:
        return self.members[0]

    @property
    def pem(self) -> str:
        return "".join(member.pem for member in self.members)


def load_certificates(data: bytes | str) -> list[x509.Certificate]:
    """Read every certificate in PEM text, a DER file or a PKCS#7 bundle, in the order given.

    Raises InvalidCertificate with the standard first line and a precise second line, or
    PrivateKeyRefused when a private key is present (the key itself is never echoed).
    """
    raw = _as_bytes(data)
    if not raw.strip():
        raise InvalidCertificate("The input is empty.")
    if b"-----BEGIN" in raw or b"-----END" in raw:
        if raw[:1] == b"\x30":  # a DER file may hold a marker inside a field (a subject, say)
            try:
                return _load_der(raw)
            except InvalidCertificate:
                pass
        return _load_pem(raw)
    return _load_der(raw)


def _as_bytes(data: bytes | str) -> bytes:
    if not isinstance(data, str):
        return bytes(data)
    if not data.strip():
        return b""
    try:
        return data.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no bytes stand for: keep it, it cannot be base64
        return data.encode("utf-8", "surrogatepass")


def _load_pem(raw: bytes) -> list[x509.Certificate]:
    if _PRIVATE_KEY.search(raw):
        raise PrivateKeyRefused()
    certificates: list[x509.Certificate] = []
    open_marker: re.Match[bytes] | None = None
    open_line = 0
    last_end = 0
    counted_to, line = 0, 1  # line numbers are counted incrementally to stay linear
    for marker in _MARKER.finditer(raw):
        kind, label = marker.group(1), marker.group(2)
        line += raw.count(b"\n", counted_to, marker.start())
        counted_to = marker.start()
        if kind == b"BEGIN":
            if open_marker is not None:
                raise InvalidCertificate(
                    f"The block that starts on line {open_line} has no END line "
                    f"before the next BEGIN line on line {line} (the PEM text is truncated)."
                )
            open_marker, open_line = marker, line
            continue
        if open_marker is None:
            raise InvalidCertificate(f"Line {line} has an END line without a BEGIN line.")
        if label != open_marker.group(2):
            raise InvalidCertificate(
                f"The block that starts on line {open_line} as "
                f"{_label_text(open_marker.group(2))} ends on line {line} as "
                f"{_label_text(label)}."
            )
        body = raw[open_marker.end() : marker.start()]
        certificates.extend(_decode_block(label, body, open_line, len(certificates)))
        open_marker = None
        last_end = marker.end()
    if open_marker is not None:
        raise InvalidCertificate(
            f"The block that starts on line {open_line} has no END line (the PEM text is truncated)."
        )
    if not certificates:
        raise InvalidCertificate("No certificate was found: there is no BEGIN CERTIFICATE block.")
    if not _is_blank_or_comments(raw[last_end:]):
        line = raw.count(b"\n", 0, last_end) + 1
        raise InvalidCertificate(f"Unexpected text follows the last certificate (after line {line}).")
    return certificates


def _label_text(label: bytes) -> str:
    return shorten_for_message(label.decode("ascii", "replace"), 64)


def _quoted(text: str, limit: int = 80) -> str:
    """Certificate text in a warning: a subject may hold line breaks or terminal escapes."""
    return shorten_for_message(text, limit)


def _is_blank_or_comments(text: bytes) -> bool:
    return all(not line.strip() or line.lstrip().startswith(b"#") for line in text.splitlines())


def _decode_block(label: bytes, body: bytes, line: int, before: int) -> list[x509.Certificate]:
    name = _label_text(label)
    if label not in _CERT_LABELS and label not in _PKCS7_LABELS:
        raise InvalidCertificate(
            f"The block on line {line} is a {name} block; only CERTIFICATE blocks (or a PKCS7 bundle) are accepted."
        )
    lines = body.split(b"\n")
    if any(b":" in text for text in lines[:3]):  # RFC 1421 headers are not part of a certificate
        raise InvalidCertificate(f"The {name} block on line {line} has headers; it is not a plain certificate.")
    try:
        der = base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidCertificate(
            f"The {name} block on line {line} is not valid base64 (a character is wrong or missing)."
        ) from None
    if label in _PKCS7_LABELS:
        return _load_pkcs7_der(der, f"The {name} bundle on line {line}")
    try:
        return [x509.load_der_x509_certificate(der)]
    except _UNREADABLE as error:
        raise InvalidCertificate(f"Certificate {before + 1} (line {line}) does not parse: {_reason(error)}.") from None


def _load_der(raw: bytes) -> list[x509.Certificate]:
    if raw[:1] != b"\x30":
        raise InvalidCertificate(
            "No certificate was found: the input is neither PEM text (BEGIN CERTIFICATE) nor a DER or PKCS#7 file."
        )
    try:
        return [x509.load_der_x509_certificate(raw)]
    except _UNREADABLE as cert_error:
        if _is_pkcs7_content_info(raw):  # then the PKCS#7 reader says best what is wrong
            return _load_pkcs7_der(raw, "The PKCS#7 bundle")
        if _is_der_private_key(raw):
            raise PrivateKeyRefused() from None
        raise InvalidCertificate(f"The binary input is not a DER certificate: {_reason(cert_error)}.") from None


def _is_pkcs7_content_info(raw: bytes) -> bool:
    """True when the outer SEQUENCE starts with a PKCS#7 content type (1.2.840.113549.1.7.x)."""
    if len(raw) < 2:
        return False
    start = 2 + (raw[1] & 0x7F if raw[1] & 0x80 else 0)
    return raw[start : start + len(_PKCS7_OID_PREFIX)] == _PKCS7_OID_PREFIX


def _is_der_private_key(raw: bytes) -> bool:
    try:
        serialization.load_der_private_key(raw, password=None, unsafe_skip_rsa_key_validation=True)
    except TypeError:  # an encrypted key, and no password was given: still a key
        return True
    except _UNREADABLE:
        return False
    return True


def _load_pkcs7_der(der: bytes, what: str) -> list[x509.Certificate]:
    try:
        certificates = pkcs7.load_der_pkcs7_certificates(der)
    except _UNREADABLE as error:
        if isinstance(error, ValueError) and "no certificate" in str(error).lower():
            raise InvalidCertificate(f"{what} holds no certificate.") from None
        raise InvalidCertificate(f"{what} does not parse: {_reason(error)}.") from None
    if not certificates:
        raise InvalidCertificate(f"{what} holds no certificate.")
    return list(certificates)


def _reason(error: Exception) -> str:
    text = str(error).strip().rstrip(".")
    # cryptography's ASN.1 errors are long and technical; keep the first clause for a person.
    return (text.split("\n")[0][:200]) or type(error).__name__


def describe(certificate: x509.Certificate) -> CertificateInfo:
    """Extract what a person reads about a certificate; refuses one whose fields do not parse."""
    return _describe_or_refuse(certificate, "A certificate")


def _describe_or_refuse(certificate: x509.Certificate, what: str) -> CertificateInfo:
    try:
        return _describe(certificate)
    except _UNREADABLE as error:
        raise InvalidCertificate(f"{what} has a field that does not parse: {_reason(error)}.") from None


def _describe(certificate: x509.Certificate) -> CertificateInfo:
    subject, issuer = certificate.subject, certificate.issuer
    is_ca = False
    san: tuple[str, ...] = ()
    for extension in certificate.extensions:
        value = extension.value
        if isinstance(value, x509.BasicConstraints):
            is_ca = value.ca
        elif isinstance(value, x509.SubjectAlternativeName):
            san = tuple(_general_name(name) for name in value)
    key_type, key_size = _key_of(certificate)
    oid = certificate.signature_algorithm_oid
    return CertificateInfo(
        subject=subject.rfc4514_string(),
        subject_cn=_common_name(subject),
        issuer=issuer.rfc4514_string(),
        issuer_cn=_common_name(issuer),
        serial=_serial_hex(certificate.serial_number),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        sha1=certificate.fingerprint(hashes.SHA1()).hex(),  # noqa: S303 - a fingerprint, not security
        is_ca=is_ca,
        key_type=key_type,
        key_size=key_size,
        signature_algorithm=getattr(oid, "_name", None) or oid.dotted_string,
        san=san,
        pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    )


def _serial_hex(number: int) -> str:
    """The serial's bytes as the certificate holds them (two's complement when it is negative)."""
    if number < 0:  # RFC 5280 forbids it, but old certificates have them
        return _colon_hex(number.to_bytes(((-number - 1).bit_length() + 8) // 8, "big", signed=True))
    return _colon_hex(number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big"))


def _colon_hex(data: bytes) -> str:
    return ":".join(f"{byte:02X}" for byte in data)


def format_fingerprint(hex_digest: str) -> str:
    """`ab12...` as `AB:12:...`, the way browsers and openssl print fingerprints."""
    return _colon_hex(bytes.fromhex(hex_digest))


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not values:
        return ""
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _general_name(name: x509.GeneralName) -> str:
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    if isinstance(name, x509.IPAddress):
        return f"IP:{name.value}"
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"URI:{name.value}"
    if isinstance(name, x509.DirectoryName):
        return f"DirName:{name.value.rfc4514_string()}"
    if isinstance(name, x509.RegisteredID):
        return f"RID:{name.value.dotted_string}"
    return f"othername:{name.type_id.dotted_string}" if isinstance(name, x509.OtherName) else str(name)


def _key_of(certificate: x509.Certificate) -> tuple[str, int | None]:
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return ("unsupported", None)
    if isinstance(key, rsa.RSAPublicKey):
        return ("RSA", key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return (f"EC {key.curve.name}", key.key_size)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ("Ed25519", 256)
    if isinstance(key, ed448.Ed448PublicKey):
        return ("Ed448", 456)
    if isinstance(key, dsa.DSAPublicKey):
        return ("DSA", key.key_size)
    return (type(key).__name__, None)


def analyse(data: bytes | str, now: datetime) -> ChainReport:
    """Read a certificate or chain and report it leaf first, with the warnings a person needs."""
    loaded = load_certificates(data)
    return analyse_certificates(loaded, now)


def analyse_certificates(loaded: Sequence[x509.Certificate], now: datetime) -> ChainReport:
    """Order, check and describe certificates that were already loaded."""
    warnings: list[str] = []
    unique: list[x509.Certificate] = []
    seen: dict[bytes, int] = {}
    described: dict[int, CertificateInfo] = {}
    for position, certificate in enumerate(loaded, 1):
        digest = certificate.fingerprint(hashes.SHA256())
        if digest in seen:
            warnings.append(f"Certificate {position} is a duplicate of certificate {seen[digest]}; it is kept once.")
            continue
        seen[digest] = position
        unique.append(certificate)
        # Describe before ordering: ordering reads names, and a name that does not parse is a refusal.
        described[id(certificate)] = _describe_or_refuse(certificate, f"Certificate {position}")

    ordered, is_chain = _order_chain(unique)
    if is_chain and ordered != unique:
        warnings.append("The certificates were given out of order; they are kept leaf first.")
    members = [described[id(certificate)] for certificate in ordered]
    if is_chain:
        warnings.extend(_link_warnings(ordered, members))
    else:  # a lone root, or a bundle of roots, is checked as the top of a chain would be
        warnings.extend(_self_signature_warnings(ordered, members))
        if len(ordered) > 1 and not all(_is_self_issued(c) for c in ordered):
            warnings.append(
                "The certificates do not form a single chain; they are kept as a bundle in the order given."
            )
    if is_chain or len(ordered) == 1:
        top, top_info = ordered[-1], members[-1]
        if not _is_self_issued(top):
            warnings.append(
                f"The issuer of '{_quoted(top_info.display_name)}' ({_quoted(top_info.issuer, 200)}) "
                "is not included; a client also needs that issuer to trust this chain."
            )
    for position, (certificate, info) in enumerate(zip(ordered, members, strict=True), 1):
        which = f"Certificate {position} ('{_quoted(info.display_name)}')"
        if certificate.serial_number <= 0:
            warnings.append(
                f"{which} has a serial number that is zero or negative, which RFC 5280 forbids; "
                "some software refuses such certificates."
            )
        state = info.validity_at(now)
        if state == "expired":
            warnings.append(f"{which} expired on {info.not_after:%Y-%m-%d %H:%M} UTC.")
        elif state == "not yet valid":
            warnings.append(f"{which} is not valid before {info.not_before:%Y-%m-%d %H:%M} UTC.")
    return ChainReport(members=tuple(members), warnings=tuple(warnings), is_chain=is_chain)


def _is_self_issued(certificate: x509.Certificate) -> bool:
    return certificate.issuer == certificate.subject


def _order_chain(certificates: list[x509.Certificate]) -> tuple[list[x509.Certificate], bool]:
    """Put certificates that form one issuer path leaf first; say whether they do."""
    if len(certificates) < 2:
        return certificates, False
    by_subject: dict[x509.Name, list[x509.Certificate]] = {}
    for certificate in certificates:
        by_subject.setdefault(certificate.subject, []).append(certificate)
    issuers_of_others = {
        id(issuer)
        for certificate in certificates
        if not _is_self_issued(certificate)
        for issuer in by_subject.get(certificate.issuer, ())
    }
    leaves = [c for c in certificates if id(c) not in issuers_of_others]
    if len(leaves) != 1:
        return certificates, False
    path, in_path = [leaves[0]], {id(leaves[0])}  # a set keeps a long chain linear
    while len(path) < len(certificates):
        current = path[-1]
        if _is_self_issued(current):
            break
        candidates = [c for c in by_subject.get(current.issuer, ()) if id(c) not in in_path]
        if len(candidates) != 1:
            break
        path.append(candidates[0])
        in_path.add(id(candidates[0]))
    if len(path) != len(certificates):
        return certificates, False
    return path, True


def _link_warnings(ordered: list[x509.Certificate], members: list[CertificateInfo]) -> list[str]:
    warnings: list[str] = []
    for position in range(len(ordered)):
        certificate = ordered[position]
        issuer = ordered[position + 1] if position + 1 < len(ordered) else None
        if issuer is None and _is_self_issued(certificate):
            issuer = certificate
        if issuer is None:
            continue
        verdict = _signed_by(certificate, issuer)
        if verdict is None:
            warnings.append(_unchecked_warning(position + 1, members[position]))
        elif not verdict:
            signer = "itself" if issuer is certificate else f"'{_quoted(members[position + 1].display_name)}'"
            warnings.append(
                f"The signature of certificate {position + 1} ('{_quoted(members[position].display_name)}') "
                f"does not verify against {signer}."
            )
        elif issuer is not certificate and not members[position + 1].is_ca:
            warnings.append(
                f"Certificate {position + 2} ('{_quoted(members[position + 1].display_name)}') signs another "
                "certificate but is not marked as a CA."
            )
    return warnings


def _self_signature_warnings(certificates: list[x509.Certificate], members: list[CertificateInfo]) -> list[str]:
    warnings: list[str] = []
    for position, (certificate, info) in enumerate(zip(certificates, members, strict=True), 1):
        if not _is_self_issued(certificate):
            continue
        verdict = _signed_by(certificate, certificate)
        if verdict is None:
            warnings.append(_unchecked_warning(position, info))
        elif not verdict:
            warnings.append(
                f"The signature of certificate {position} ('{_quoted(info.display_name)}') does not verify "
                "against itself."
            )
    return warnings


MAX_RSA_EXPONENT = 2**32  # real keys use 65537; a huge exponent makes one check take milliseconds


def _signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool | None:
    """Whether the issuer's key verifies the signature; None when it was not checked (a hostile key)."""
    try:
        key = issuer.public_key()
        if isinstance(key, rsa.RSAPublicKey) and key.public_numbers().e > MAX_RSA_EXPONENT:
            return None
        certificate.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _unchecked_warning(position: int, info: CertificateInfo) -> str:
    return (
        f"The signature of certificate {position} ('{_quoted(info.display_name)}') was not checked: its "
        "issuer's RSA key has an unusual public exponent (over 2^32), as no real CA key does."
    )


def to_der(pem: str) -> list[bytes]:
    """The DER bytes of each certificate in stored PEM."""
    return [c.public_bytes(serialization.Encoding.DER) for c in load_certificates(pem)]


def to_pkcs7(pem: str, encoding: serialization.Encoding = serialization.Encoding.DER) -> bytes:
    """A PKCS#7 (.p7b) bundle of the certificates in stored PEM."""
    return pkcs7.serialize_certificates(load_certificates(pem), encoding)


def to_pem_text(data: bytes | str) -> str:
    """Any accepted input (PEM, DER, PKCS#7) as the PEM text of its certificates, in order."""
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in load_certificates(data))
