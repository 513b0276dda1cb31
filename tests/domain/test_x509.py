"""X.509 analysis: what is accepted, how it is described and ordered, and what is refused and why."""

from __future__ import annotations

import base64
import hashlib
import itertools
import traceback
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from certdesk.domain.errors import INVALID_CERTIFICATE, InvalidCertificate, InvalidInput, PrivateKeyRefused
from certdesk.domain.x509 import (
    CertificateInfo,
    ChainReport,
    analyse,
    analyse_certificates,
    describe,
    format_fingerprint,
    load_certificates,
    to_der,
    to_pem_text,
    to_pkcs7,
)
from tests.helpers.certs import Issued, Pki, make_bundle, make_certificate, make_pki, new_key

NOW = datetime.now(UTC)
ROOT_CN = "certdesk test Root CA"
INTERMEDIATE_CN = "certdesk test Intermediate CA"
OUT_OF_ORDER = "The certificates were given out of order; they are kept leaf first."
NOT_ONE_CHAIN = "The certificates do not form a single chain; they are kept as a bundle in the order given."


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="module")
def other_pki() -> Pki:
    return make_pki(host="other.example", prefix="other")


def refusal(data: bytes | str) -> InvalidCertificate:
    """The InvalidCertificate that analysing `data` raises, checked for the standard shape."""
    with pytest.raises(InvalidCertificate) as caught:
        analyse(data, NOW)
    error = caught.value
    first, second = str(error).split("\n")
    assert first == INVALID_CERTIFICATE
    assert second == error.detail
    return error


def pem_of(der: bytes, label: str = "CERTIFICATE") -> str:
    body = base64.encodebytes(der).decode("ascii")
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n"


def names(report: ChainReport) -> list[str]:
    return [member.subject_cn for member in report.members]


def build(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    *,
    serial: int = 1000,
) -> x509.Certificate:
    """A bare self-signed certificate with any subject and key type."""
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2124, 1, 1, tzinfo=UTC))
        .sign(key, algorithm)
    )


# --- accepted input and how it is described -------------------------------------------------


def test_single_certificate_is_described_field_by_field(pki: Pki) -> None:
    report = analyse(pki.server.pem, NOW)

    assert report.is_chain is False
    assert len(report.members) == 1
    leaf = report.leaf
    assert leaf.subject == "O=certdesk tests,CN=localhost"
    assert leaf.subject_cn == "localhost"
    assert leaf.issuer == f"O=certdesk tests,CN={INTERMEDIATE_CN}"
    assert leaf.issuer_cn == INTERMEDIATE_CN
    assert leaf.sha256 == hashlib.sha256(pki.server.der).hexdigest()
    assert leaf.sha1 == hashlib.sha1(pki.server.der).hexdigest()
    assert leaf.is_ca is False
    assert (leaf.key_type, leaf.key_size) == ("EC secp256r1", 256)
    assert leaf.signature_algorithm == "ecdsa-with-SHA256"
    assert leaf.san == ("DNS:localhost", "IP:127.0.0.1")
    assert leaf.not_before == pki.server.certificate.not_valid_before_utc
    assert leaf.not_after - leaf.not_before == timedelta(days=30)
    assert leaf.pem == pki.server.pem
    assert report.pem == pki.server.pem
    assert leaf.display_name == "localhost"
    # The only thing to know: the intermediate that issued it is not part of the input.
    assert report.warnings == (
        f"The issuer of 'localhost' (O=certdesk tests,CN={INTERMEDIATE_CN}) is not included; "
        "a client also needs that issuer to trust this chain.",
    )


def test_a_self_signed_root_has_nothing_to_warn_about(pki: Pki) -> None:
    report = analyse(pki.root.pem, NOW)

    assert report.warnings == ()
    assert report.leaf.is_ca is True
    assert report.leaf.subject == report.leaf.issuer == f"O=certdesk tests,CN={ROOT_CN}"


@pytest.mark.parametrize(
    ("serial", "expected"),
    [(1, "01"), (0x0102AB, "01:02:AB"), (0x80, "80"), (2**159 - 1, ":".join(["7F"] + ["FF"] * 19))],
)
def test_serial_is_written_as_colon_separated_hex(serial: int, expected: str) -> None:
    issued = make_certificate("serial", serial=serial)

    assert analyse(issued.pem, NOW).leaf.serial == expected


def test_key_types_and_signature_algorithms_are_named() -> None:
    rsa_report = analyse(make_certificate("rsa", key=new_key("rsa")).pem, NOW)
    ed_certificate = build(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ed")]), ed25519.Ed25519PrivateKey.generate()
    )
    ed_info = describe(ed_certificate)

    assert (rsa_report.leaf.key_type, rsa_report.leaf.key_size) == ("RSA", 2048)
    assert rsa_report.leaf.signature_algorithm == "sha256WithRSAEncryption"
    assert (ed_info.key_type, ed_info.key_size, ed_info.signature_algorithm) == ("Ed25519", 256, "ed25519")


def test_a_certificate_without_common_name_is_shown_by_its_subject() -> None:
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "No CN Ltd")])
    info = describe(build(subject, new_key()))

    assert info.subject_cn == ""
    assert info.display_name == "O=No CN Ltd"


def test_unicode_and_right_to_left_names_are_kept_exactly() -> None:
    common_name = "שלום עולם — Zürich 東京 🔐"
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    report = analyse(pem_of(build(subject, new_key()).public_bytes(serialization.Encoding.DER)), NOW)

    assert report.leaf.subject_cn == common_name
    assert report.leaf.display_name == common_name


def test_hostile_subject_is_kept_but_quoted_safely_in_warnings() -> None:
    common_name = "evil\nCertificate 9 is fine.\x1b[31m\u202e"
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "someone else")])
    key = new_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2021, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )

    report = analyse(certificate.public_bytes(serialization.Encoding.DER), NOW)

    assert report.leaf.subject_cn == common_name  # described as it is
    shown = "evil\\u000aCertificate 9 is fine.\\u001b[31m\\u202e"
    assert report.warnings == (
        f"The issuer of '{shown}' (CN=someone else) is not included; "
        "a client also needs that issuer to trust this chain.",
        f"Certificate 1 ('{shown}') expired on 2021-01-01 00:00 UTC.",
    )


def test_validity_at_and_fingerprint_format(pki: Pki) -> None:
    info = describe(pki.server.certificate)

    assert info.validity_at(info.not_before) == "valid"
    assert info.validity_at(info.not_after) == "valid"
    assert info.validity_at(info.not_before - timedelta(seconds=1)) == "not yet valid"
    assert info.validity_at(info.not_after + timedelta(seconds=1)) == "expired"
    assert format_fingerprint("ab12ff") == "AB:12:FF"
    assert format_fingerprint(info.sha1).replace(":", "").lower() == info.sha1


def test_der_file_is_read_like_its_pem(pki: Pki) -> None:
    from_der = analyse(pki.server.der, NOW)

    assert from_der == analyse(pki.server.pem, NOW)
    assert from_der.leaf.pem == pki.server.pem


def test_der_whose_subject_holds_a_pem_marker_is_still_der() -> None:
    issued = make_certificate("-----BEGIN CERTIFICATE-----")

    assert analyse(issued.der, NOW).leaf.subject_cn == "-----BEGIN CERTIFICATE-----"


@pytest.mark.parametrize("encoding", [serialization.Encoding.DER, serialization.Encoding.PEM])
def test_pkcs7_bundle_is_read_and_put_leaf_first(pki: Pki, encoding: serialization.Encoding) -> None:
    bundle = pkcs7.serialize_certificates(
        [pki.root.certificate, pki.server.certificate, pki.intermediate.certificate], encoding
    )
    if encoding is serialization.Encoding.PEM:
        assert bundle.startswith(b"-----BEGIN PKCS7-----")

    report = analyse(bundle, NOW)

    assert report.is_chain is True
    assert names(report) == ["localhost", INTERMEDIATE_CN, ROOT_CN]
    assert report.pem == pki.chain_pem


def test_pkcs7_pem_text_with_annotation_is_read(pki: Pki) -> None:
    bundle = pkcs7.serialize_certificates([pki.root.certificate], serialization.Encoding.PEM).decode()

    report = analyse("Exported from the corporate CA portal\n\n" + bundle, NOW)

    assert names(report) == [ROOT_CN]


def test_crlf_line_endings_and_bytes_input_are_accepted(pki: Pki) -> None:
    report = analyse(pki.chain_pem.replace("\n", "\r\n").encode(), NOW)

    assert names(report) == ["localhost", INTERMEDIATE_CN, ROOT_CN]
    assert report.warnings == ()


# --- chains and bundles ------------------------------------------------------------------------


def test_chain_in_order_is_kept_without_warnings(pki: Pki) -> None:
    report = analyse(pki.chain_pem, NOW)

    assert report.is_chain is True
    assert names(report) == ["localhost", INTERMEDIATE_CN, ROOT_CN]
    assert report.warnings == ()
    assert report.pem == pki.chain_pem


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_chain_out_of_order_is_reordered_leaf_first_with_a_warning(pki: Pki, order: tuple[int, ...]) -> None:
    parts = [pki.server.pem, pki.intermediate.pem, pki.root.pem]

    report = analyse("".join(parts[index] for index in order), NOW)

    assert names(report) == ["localhost", INTERMEDIATE_CN, ROOT_CN]
    assert report.pem == pki.chain_pem
    expected = () if order == (0, 1, 2) else (OUT_OF_ORDER,)
    assert report.warnings == expected


def test_bundle_of_unrelated_roots_is_legitimate_and_keeps_its_order() -> None:
    report = analyse(make_bundle(4, prefix="root"), NOW)

    assert report.is_chain is False
    assert report.warnings == ()
    assert names(report) == ["root 000000", "root 000001", "root 000002", "root 000003"]


def test_certificates_that_do_not_form_one_chain_are_a_bundle_with_a_warning(pki: Pki, other_pki: Pki) -> None:
    report = analyse(other_pki.server.pem + pki.server.pem, NOW)

    assert report.is_chain is False
    assert names(report) == ["other.example", "localhost"]
    assert report.warnings == (NOT_ONE_CHAIN,)


def test_missing_issuer_is_a_warning_naming_the_top_certificate(pki: Pki) -> None:
    report = analyse(pki.intermediate.pem + pki.server.pem, NOW)

    assert report.is_chain is True
    assert names(report) == ["localhost", INTERMEDIATE_CN]
    assert report.warnings == (
        OUT_OF_ORDER,
        f"The issuer of '{INTERMEDIATE_CN}' (O=certdesk tests,CN={ROOT_CN}) is not included; "
        "a client also needs that issuer to trust this chain.",
    )


def test_duplicate_members_are_kept_once_with_a_warning(pki: Pki) -> None:
    text = pki.server.pem + pki.intermediate.pem + pki.server.pem + pki.root.pem + pki.intermediate.pem

    report = analyse(text, NOW)

    assert names(report) == ["localhost", INTERMEDIATE_CN, ROOT_CN]
    assert report.warnings == (
        "Certificate 3 is a duplicate of certificate 1; it is kept once.",
        "Certificate 5 is a duplicate of certificate 2; it is kept once.",
    )


def test_wrong_signature_on_a_link_is_a_warning(pki: Pki) -> None:
    # Names the real intermediate as its issuer, but was signed by an impostor's key.
    impostor = Issued(pki.intermediate.certificate, new_key())
    forged = make_certificate("forged.example", issuer=impostor)

    report = analyse(forged.pem + pki.intermediate.pem + pki.root.pem, NOW)

    assert report.is_chain is True
    assert names(report) == ["forged.example", INTERMEDIATE_CN, ROOT_CN]
    assert report.warnings == (
        f"The signature of certificate 1 ('forged.example') does not verify against '{INTERMEDIATE_CN}'.",
    )


def test_self_signed_root_with_a_broken_signature_is_a_warning(pki: Pki) -> None:
    der = bytearray(pki.root.der)
    der[-1] ^= 0x01  # the last byte of the ECDSA signature

    report = analyse(bytes(der), NOW)

    assert report.warnings == (f"The signature of certificate 1 ('{ROOT_CN}') does not verify against itself.",)


def test_issuer_that_is_not_a_ca_is_a_warning(pki: Pki) -> None:
    below_leaf = make_certificate("below.example", issuer=pki.server)

    report = analyse(below_leaf.pem + pki.chain_pem, NOW)

    assert names(report) == ["below.example", "localhost", INTERMEDIATE_CN, ROOT_CN]
    assert report.warnings == ("Certificate 2 ('localhost') signs another certificate but is not marked as a CA.",)


def test_expired_certificate_is_a_warning_with_its_date() -> None:
    old = make_certificate(
        "old.example",
        not_before=datetime(2020, 1, 1, tzinfo=UTC),
        not_after=datetime(2021, 6, 30, 12, 30, tzinfo=UTC),
    )

    report = analyse(old.pem, NOW)

    assert report.leaf.validity_at(NOW) == "expired"
    assert report.warnings == ("Certificate 1 ('old.example') expired on 2021-06-30 12:30 UTC.",)


def test_not_yet_valid_certificate_is_a_warning_with_its_date() -> None:
    future = make_certificate(
        "future.example",
        not_before=datetime(2090, 1, 1, 8, 15, tzinfo=UTC),
        not_after=datetime(2091, 1, 1, tzinfo=UTC),
    )

    report = analyse(future.pem, NOW)

    assert report.warnings == ("Certificate 1 ('future.example') is not valid before 2090-01-01 08:15 UTC.",)


def test_expired_member_of_a_chain_is_numbered_in_chain_order(pki: Pki) -> None:
    old_intermediate = make_certificate(
        "old intermediate",
        issuer=pki.root,
        is_ca=True,
        not_before=datetime(2020, 1, 1, tzinfo=UTC),
        not_after=datetime(2021, 1, 1, tzinfo=UTC),
    )
    leaf = make_certificate("leaf.example", issuer=old_intermediate)

    report = analyse(pki.root.pem + leaf.pem + old_intermediate.pem, NOW)

    assert names(report) == ["leaf.example", "old intermediate", ROOT_CN]
    assert report.warnings == (OUT_OF_ORDER, "Certificate 2 ('old intermediate') expired on 2021-01-01 00:00 UTC.")


def test_analyse_certificates_takes_loaded_certificates(pki: Pki) -> None:
    loaded = load_certificates(pki.root.pem + pki.intermediate.pem + pki.server.pem)

    report = analyse_certificates(loaded, NOW)

    assert [c.subject for c in loaded] == [
        pki.root.certificate.subject,
        pki.intermediate.certificate.subject,
        pki.server.certificate.subject,
    ]
    assert names(report) == ["localhost", INTERMEDIATE_CN, ROOT_CN]


def test_negative_serial_is_accepted_with_a_warning() -> None:
    der = bytearray(make_certificate("negative", serial=5).der)
    at = der.find(b"\x02\x01\x05")  # INTEGER 5, the serial
    assert at > 0
    assert der.find(b"\x02\x01\x05", at + 1) == -1
    der[at + 2] = 0x85  # now -123

    with pytest.warns(CryptographyDeprecationWarning):
        report = analyse(bytes(der), NOW)

    assert report.leaf.serial == "85"
    assert (
        "Certificate 1 ('negative') has a serial number that is zero or negative, which RFC 5280 forbids; "
        "some software refuses such certificates."
    ) in report.warnings


# --- export ----------------------------------------------------------------------------------


def test_to_der_and_to_pkcs7_round_trip(pki: Pki) -> None:
    assert to_der(pki.chain_pem) == [pki.server.der, pki.intermediate.der, pki.root.der]
    for encoding in (serialization.Encoding.DER, serialization.Encoding.PEM):
        bundle = to_pkcs7(pki.chain_pem, encoding)
        assert {c.subject for c in load_certificates(bundle)} == {
            pki.server.certificate.subject,
            pki.intermediate.certificate.subject,
            pki.root.certificate.subject,
        }
        assert analyse(bundle, NOW).pem == pki.chain_pem
    with pytest.raises(InvalidCertificate):
        to_der("not a certificate")


def test_to_pem_text_turns_any_accepted_input_into_pem(pki: Pki) -> None:
    bundle = pkcs7.serialize_certificates([pki.server.certificate, pki.root.certificate], serialization.Encoding.DER)

    assert to_pem_text(pki.server.der) == pki.server.pem
    assert to_pem_text("Note\n" + pki.chain_pem) == pki.chain_pem
    assert sorted(to_pem_text(bundle).split("-----END CERTIFICATE-----\n")) == sorted(
        ["", pki.server.pem.split("-----END")[0], pki.root.pem.split("-----END")[0]]
    )
    with pytest.raises(PrivateKeyRefused):
        to_pem_text(pki.server.pem + pki.server.key_pem())


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["", b"", " \n\t\r\n ", b"   \n\n", "\n" * 1000])
def test_empty_or_whitespace_input_is_refused(data: str | bytes) -> None:
    assert refusal(data).detail == "The input is empty."


@pytest.mark.parametrize(
    "data",
    ["hello world", b"\xde\xad\xbe\xef" * 100, "MIIBkTCB+wIJAKHHIG...", "\ud800\udfff lone surrogates", "\u00a0é"],
)
def test_text_that_is_neither_pem_nor_der_is_refused(data: str | bytes) -> None:
    assert refusal(data).detail == (
        "No certificate was found: the input is neither PEM text (BEGIN CERTIFICATE) nor a DER or PKCS#7 file."
    )


def test_binary_garbage_that_looks_like_der_is_refused() -> None:
    assert refusal(b"\x30\x82\x01\x00" + b"\x00" * 300).detail.startswith("The binary input is not a DER certificate: ")


def test_der_with_trailing_bytes_is_refused(pki: Pki) -> None:
    assert refusal(pki.server.der + b"\x00").detail.startswith("The binary input is not a DER certificate: ")


def test_pkcs7_without_certificates_is_refused() -> None:
    # ContentInfo(signedData, SignedData(version 1, no digests, data, no certificates, no signers))
    empty = bytes.fromhex("302306092a864886f70d010702a01630140201013100300b06092a864886f70d0107013100")

    assert refusal(empty).detail == "The PKCS#7 bundle holds no certificate."
    assert refusal(pem_of(empty, "PKCS7")).detail == "The PKCS7 bundle on line 1 holds no certificate."


def test_pem_without_certificate_block_is_refused() -> None:
    assert refusal("-----BEGIN X-Y-----\nabc\n-----END X-Y-----\n").detail == (
        "No certificate was found: there is no BEGIN CERTIFICATE block."
    )


def test_truncated_pem_is_refused(pki: Pki) -> None:
    cut = pki.server.pem[: pki.server.pem.index("-----END")]

    assert refusal(cut).detail == "The block that starts on line 1 has no END line (the PEM text is truncated)."
    assert refusal(cut[:100]).detail == "The block that starts on line 1 has no END line (the PEM text is truncated)."


def test_truncated_block_followed_by_another_is_refused_with_both_lines(pki: Pki) -> None:
    first = pki.server.pem.splitlines(keepends=True)
    text = "".join(first[:-1]) + pki.root.pem  # the server block lost its END line

    assert refusal(text).detail == (
        f"The block that starts on line 1 has no END line before the next BEGIN line on line {len(first)} "
        "(the PEM text is truncated)."
    )


def test_block_with_its_middle_cut_out_does_not_parse(pki: Pki) -> None:
    lines = pki.server.pem.splitlines(keepends=True)
    text = pki.root.pem + "".join(lines[:3] + lines[-1:])

    detail = refusal(text).detail
    assert detail.startswith(f"Certificate 2 (line {pki.root.pem.count(chr(10)) + 1}) does not parse: ")


def test_bad_base64_is_refused(pki: Pki) -> None:
    lines = pki.server.pem.splitlines(keepends=True)
    lines[2] = "!" + lines[2][1:]
    text = pki.root.pem + "".join(lines)

    assert refusal(text).detail == (
        f"The CERTIFICATE block on line {pki.root.pem.count(chr(10)) + 1} is not valid base64 "
        "(a character is wrong or missing)."
    )


def test_garbage_after_the_last_certificate_is_refused(pki: Pki) -> None:
    end_line = pki.chain_pem.count("\n")

    detail = refusal(pki.chain_pem + "\n# fine\nthis is not a comment\n").detail

    assert detail == f"Unexpected text follows the last certificate (after line {end_line})."


def test_comments_and_blank_lines_after_the_last_certificate_are_accepted(pki: Pki) -> None:
    report = analyse(pki.chain_pem + "\n\n   # end of the bundle\n\t\n#\n", NOW)

    assert names(report) == ["localhost", INTERMEDIATE_CN, ROOT_CN]


def test_annotation_text_before_each_block_is_accepted(pki: Pki) -> None:
    text = (
        "Certificate chain\n"
        " 0 s:CN = localhost\n   i:CN = certdesk test Intermediate CA\n"
        + pki.server.pem
        + "subject=CN = intermediate — Zwischenzertifikat\n"
        "issuer=CN = root\n" + pki.intermediate.pem + "0 root, starting with a zero\n" + pki.root.pem
    )

    report = analyse(text, NOW)

    assert names(report) == ["localhost", INTERMEDIATE_CN, ROOT_CN]
    assert report.warnings == ()


def test_annotation_starting_like_der_is_still_pem(pki: Pki) -> None:
    assert names(analyse("0 s:/CN=root\n" + pki.root.pem, NOW)) == [ROOT_CN]


def test_annotation_with_lone_surrogate_is_accepted(pki: Pki) -> None:
    assert names(analyse("note \udc80\ud800\n" + pki.root.pem, NOW)) == [ROOT_CN]


def test_certificate_request_block_is_refused(pki: Pki) -> None:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "csr")]))
        .sign(pki.server.key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )

    assert refusal(request).detail == (
        "The block on line 1 is a CERTIFICATE REQUEST block; only CERTIFICATE blocks (or a PKCS7 bundle) are accepted."
    )


@pytest.mark.parametrize("label", ["PUBLIC KEY", "X509 CRL", "TRUSTED CERTIFICATE"])
def test_other_non_certificate_blocks_are_refused(pki: Pki, label: str) -> None:
    text = pki.root.pem + pem_of(b"\x30\x00", label)

    assert refusal(text).detail == (
        f"The block on line {pki.root.pem.count(chr(10)) + 1} is a {label} block; "
        "only CERTIFICATE blocks (or a PKCS7 bundle) are accepted."
    )


def test_block_ending_with_another_label_is_refused(pki: Pki) -> None:
    text = pki.root.pem.replace("-----END CERTIFICATE-----", "-----END X509 CRL-----")

    last = pki.root.pem.count("\n")

    assert refusal(text).detail == f"The block that starts on line 1 as CERTIFICATE ends on line {last} as X509 CRL."


def test_end_line_without_begin_is_refused(pki: Pki) -> None:
    lines = pki.root.pem.splitlines()[1:]  # the BEGIN line is lost

    assert refusal("\n".join(lines)).detail == f"Line {len(lines)} has an END line without a BEGIN line."


def test_odd_block_label_is_quoted_safely() -> None:
    assert refusal("-----BEGIN CERT\x1b[2J-----\nAAAA\n-----END CERT\x1b[2J-----\n").detail == (
        "The block on line 1 is a CERT\\u001b[2J block; only CERTIFICATE blocks (or a PKCS7 bundle) are accepted."
    )


def test_block_with_rfc1421_headers_is_refused(pki: Pki) -> None:
    text = pki.root.pem.replace("-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n", 1)

    assert refusal(text).detail == "The CERTIFICATE block on line 1 has headers; it is not a plain certificate."


def test_unsupported_version_is_refused_not_crashing(pki: Pki) -> None:
    der = bytearray(pki.root.der)
    at = der.find(bytes.fromhex("a003020102"))  # [0] EXPLICIT INTEGER 2 (v3)
    der[at + 4] = 5

    assert refusal(bytes(der)).detail == "The binary input is not a DER certificate: 5 is not a valid X509 version."
    assert refusal(pem_of(bytes(der))).detail == "Certificate 1 (line 1) does not parse: 5 is not a valid X509 version."


def test_duplicate_extension_is_refused_not_crashing(pki: Pki) -> None:
    der = bytearray(pki.root.der)
    at = der.find(bytes.fromhex("0603551d0e"))  # the subject key identifier's OID ...
    der[at + 4] = 0x13  # ... now that of basic constraints, which the certificate already has

    assert refusal(bytes(der)).detail == (
        "Certificate 1 has a field that does not parse: Duplicate 2.5.29.19 extension found."
    )
    with pytest.raises(InvalidCertificate, match="A certificate has a field that does not parse"):
        describe(x509.load_der_x509_certificate(bytes(der)))


def test_name_that_does_not_decode_is_refused_also_in_a_bundle(pki: Pki) -> None:
    issued = make_certificate("zzzz")
    der = bytearray(issued.der)
    der[der.find(b"zzzz")] = 0xFF  # the issuer's UTF8String is no longer UTF-8
    broken = pem_of(bytes(der))

    assert refusal(broken).detail.startswith("Certificate 1 has a field that does not parse: ")
    assert refusal(pki.root.pem + broken).detail.startswith("Certificate 2 has a field that does not parse: ")


def test_refusals_are_invalid_input_for_the_cli() -> None:
    error = refusal("garbage")

    assert isinstance(error, InvalidInput)
    assert error.exit_code == 3
    assert error.message == str(error)


# --- private keys --------------------------------------------------------------------------------


def key_texts() -> dict[str, str]:
    ec_key = new_key()
    rsa_key = new_key("rsa")
    pkcs8 = serialization.PrivateFormat.PKCS8
    traditional = serialization.PrivateFormat.TraditionalOpenSSL
    none = serialization.NoEncryption()
    pem = serialization.Encoding.PEM
    return {
        "pkcs8": ec_key.private_bytes(pem, pkcs8, none).decode(),
        "ec": ec_key.private_bytes(pem, traditional, none).decode(),
        "rsa": rsa_key.private_bytes(pem, traditional, none).decode(),
        "encrypted": ec_key.private_bytes(pem, pkcs8, serialization.BestAvailableEncryption(b"secret")).decode(),
        "openssh": ec_key.private_bytes(pem, serialization.PrivateFormat.OpenSSH, none).decode(),
        "pgp": (
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGSecretKeyMaterialQQ==\n"
            "-----END PGP PRIVATE KEY BLOCK-----\n"
        ),
        "lowercase": "-----BEGIN private key-----\nMIGHAgEAMBMGByqGSM49SecretKeyMaterial\n-----END private key-----\n",
    }


KEYS = key_texts()


def key_material(key_text: str) -> list[str]:
    return [line for line in key_text.splitlines() if line and not line.startswith("-----")]


def assert_key_refused(data: str | bytes, key_text: str) -> None:
    with pytest.raises(PrivateKeyRefused) as caught:
        analyse(data, NOW)
    shown = "".join(traceback.format_exception(caught.value))
    for line in key_material(key_text):
        assert line not in shown
    assert str(caught.value) == (
        "Invalid request: the input contains a PRIVATE KEY block.\n"
        "certdesk stores only public certificates; remove the private key and try again. The key was not stored."
    )


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_private_key_with_a_certificate_is_refused_without_echoing_it(pki: Pki, kind: str) -> None:
    assert_key_refused(pki.server.pem + KEYS[kind], KEYS[kind])
    assert_key_refused(KEYS[kind] + pki.server.pem, KEYS[kind])
    assert_key_refused(KEYS[kind], KEYS[kind])


def test_private_key_is_refused_whatever_else_is_wrong(pki: Pki) -> None:
    key = KEYS["pkcs8"]
    headless = "\n".join(key.splitlines()[1:]) + "\n"  # pasted without its BEGIN line

    assert_key_refused(pki.server.pem[:200] + key, key)
    assert_key_refused(headless, key)
    assert_key_refused(pki.server.pem + "garbage\n" + key, key)


@pytest.mark.parametrize(
    "encryption",
    [serialization.NoEncryption(), serialization.BestAvailableEncryption(b"secret")],
    ids=["plain", "encrypted"],
)
def test_der_private_key_is_refused(encryption: serialization.KeySerializationEncryption) -> None:
    der = new_key().private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, encryption)

    with pytest.raises(
        PrivateKeyRefused, match=r"^Invalid request: the input contains a PRIVATE KEY block\.\n"
    ) as caught:
        analyse(der, NOW)
    assert der.hex() not in str(caught.value)


# --- hostile sizes -------------------------------------------------------------------------------

TWENTY_MB = 20 * 1024 * 1024
BEGIN_LINE = b"-----BEGIN CERTIFICATE-----\n"
END_LINE = b"\n-----END CERTIFICATE-----\n"

# Built only when the test runs, so that the session does not hold them all at once.
HOSTILE = {
    "garbage": (lambda: b"\xde\xad\xbe\xef" * (TWENTY_MB // 4), "No certificate was found: the input is neither PEM"),
    "der-like": (lambda: b"\x30" * TWENTY_MB, "The binary input is not a DER certificate: "),
    "begin-lines": (
        lambda: BEGIN_LINE * (TWENTY_MB // len(BEGIN_LINE)),
        "The block that starts on line 1 has no END line before the next BEGIN line on line 2 ",
    ),
    "begin-no-newline": (
        lambda: b"-----BEGIN " * (TWENTY_MB // 11),
        "The block that starts on line 1 has no END line before the next BEGIN line on line 1 ",
    ),
    "endless-block": (
        lambda: BEGIN_LINE + b"QUFB" * (TWENTY_MB // 4),
        "The block that starts on line 1 has no END line (the PEM text is truncated).",
    ),
    "huge-block": (
        lambda: BEGIN_LINE + b"QUFB" * (TWENTY_MB // 4) + END_LINE,
        "Certificate 1 (line 1) does not parse: ",
    ),
    "end-lines": (lambda: END_LINE * (TWENTY_MB // len(END_LINE)), "Line 2 has an END line without a BEGIN line."),
    "dashes": (
        lambda: b"-" * TWENTY_MB + b"-----BEGIN",
        "No certificate was found: there is no BEGIN CERTIFICATE block.",
    ),
    "long-label": (
        lambda: b"-----BEGIN " + b"A" * TWENTY_MB,
        "No certificate was found: there is no BEGIN CERTIFICATE",
    ),
    "text-lines": (lambda: b"hello world\n" * (TWENTY_MB // 12), "No certificate was found: the input is neither PEM"),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_huge_hostile_input_is_refused(kind: str) -> None:
    make, detail = HOSTILE[kind]

    assert refusal(make()).detail.startswith(detail)


def test_describe_returns_the_dataclass(pki: Pki) -> None:
    info = describe(pki.intermediate.certificate)

    assert isinstance(info, CertificateInfo)
    assert info.is_ca is True
    assert info.subject_cn == INTERMEDIATE_CN
