"""Fuzz certdesk.domain.x509.analyse: whatever the input, it reports or refuses (InvalidCertificate,
PrivateKeyRefused), and never raises anything else.

tests/domain/test_x509_properties.py already flips, cuts, inserts and shuffles bytes and PEM lines.
Here: damage by structure (a certificate's DER tree edited, then re-encoded with consistent lengths, so
the parser gets past the outer layers), ASN.1 nested thousands deep where any DER is allowed, 1 MB
inputs, and text no encoding can hold. Time per input is measured by bench/fuzz_timing.py, not here.
"""

from __future__ import annotations

import copy
import ipaddress
import random
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz import FUZZ
from tests.fuzz.der import NULL, OCTET_STRING, SEQUENCE, SET, Node, nested, nested_indefinite, parse, tlv
from tests.fuzz.hostile import MEGABYTE, SHARED_KINDS, megabyte_inputs, pem
from tests.helpers.analysis import accepts_or_refuses
from tests.helpers.certs import make_bundle, make_certificate, make_pki, new_key, shared_key

# Damaged certificates that still load can carry a negative serial or an over-long country name,
# which cryptography accepts with a warning; under test is what analyse() does next.
pytestmark = [
    pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Attribute's length must be:UserWarning"),
    pytest.mark.filterwarnings("ignore:PKCS#7 certificates could not be parsed as DER:UserWarning"),
]
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _rich_certificate() -> bytes:
    """A certificate using most of what describe() reads: every kind of alternative name, policies, constraints."""
    key, issuer_key = shared_key("fuzz-rich"), shared_key("fuzz-issuer")
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "rich.example.test"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certdesk fuzz"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IL"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "pki@example.test"),
        ]
    )
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "-----BEGIN CERTIFICATE----- in a name")])
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("rich.example.test"),
            x509.IPAddress(ipaddress.ip_address("2001:db8::1")),
            x509.RFC822Name("pki@example.test"),
            x509.UniformResourceIdentifier("https://example.test/pki"),
            x509.DirectoryName(name),
            x509.RegisteredID(x509.ObjectIdentifier("1.2.3.4.5")),
            x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), b"\x0c\x05hello"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(0x1234567890ABCDEF)
        .not_valid_before(datetime(2025, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2035, 1, 1, tzinfo=UTC))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=2), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.CertificatePolicies(
                [x509.PolicyInformation(x509.ObjectIdentifier("2.23.140.1.2.1"), ["https://example.test/cps"])]
            ),
            critical=False,
        )
        .add_extension(
            x509.NameConstraints(permitted_subtrees=[x509.DNSName("example.test")], excluded_subtrees=None),
            critical=True,
        )
        .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4.99"), b"\x04\x02hi"), False)
    )
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@lru_cache(maxsize=1)
def samples() -> dict[str, bytes]:
    chain = make_pki(prefix="fuzz")
    members = [chain.server.certificate, chain.intermediate.certificate, chain.root.certificate]
    return {
        "leaf": chain.server.der,
        "root": chain.root.der,
        "rsa": make_certificate("fuzz rsa", key=new_key("rsa")).der,
        "rich": _rich_certificate(),
        "p7b": pkcs7.serialize_certificates(members, serialization.Encoding.DER),
    }


SAMPLE = st.sampled_from(["leaf", "root", "rsa", "rich", "p7b"])


def _as_given(der: bytes, armour: str) -> bytes:
    if armour == "pem":
        return pem(der)
    if armour == "pkcs7-pem":
        return pem(der, "PKCS7")
    return der


ARMOUR = st.sampled_from(["der", "der", "pem", "pkcs7-pem"])

# --- damage by structure ----------------------------------------------------------------------------------------------

EDITS = [
    "value",
    "tag",
    "drop",
    "duplicate",
    "swap",
    "insert",
    "wrap",
    "deep",
    "long-length",
    "huge-integer",
    "empty",
    "oid",
    "null",
]


def _edit(node: Node, edit: str, data: st.DataObject) -> None:
    children = node.children
    if edit == "value":
        node.children, node.value = None, data.draw(st.binary(max_size=80), label="value")
    elif edit == "tag":
        node.tag = bytes([data.draw(st.integers(0, 255), label="tag")])
        if node.tag[0] & 0x1F == 0x1F:
            node.tag += b"\x81\x01"  # a complete high tag number
    elif edit == "drop" and children:
        del children[data.draw(st.integers(0, len(children) - 1), label="dropped")]
    elif edit == "duplicate" and children:
        at = data.draw(st.integers(0, len(children) - 1), label="duplicated")
        children.insert(at, copy.deepcopy(children[at]))
    elif edit == "swap" and children and len(children) > 1:
        first, second = data.draw(st.permutations(range(len(children))), label="order")[:2]
        children[first], children[second] = children[second], children[first]
    elif edit == "insert" and children is not None:
        tag = bytes([data.draw(st.integers(0, 0x1E), label="inserted tag")])
        extra = Node(tag, value=data.draw(st.binary(max_size=40), label="inserted value"))
        children.insert(data.draw(st.integers(0, len(children)), label="inserted at"), extra)
    elif edit == "wrap":
        inner = copy.deepcopy(node)
        node.tag, node.children, node.value, node.encapsulated = bytes([SEQUENCE]), [inner], b"", False
    elif edit == "deep":
        depth = data.draw(st.integers(1, 3000), label="depth")
        nested_tag = data.draw(st.sampled_from([SEQUENCE, SET, 0xA0, OCTET_STRING]), label="nested tag")
        node.children, node.value = None, nested(depth, tag=nested_tag)
    elif edit == "long-length":
        node.long_length = data.draw(st.integers(1, 3), label="extra length octets")
    elif edit == "huge-integer":
        node.tag, node.children = b"\x02", None
        node.value = data.draw(st.binary(min_size=1, max_size=600), label="integer")
    elif edit == "empty":
        node.children, node.value = None, b""
    elif edit == "oid":
        node.tag, node.children = b"\x06", None
        node.value = data.draw(st.binary(max_size=30), label="oid")
    elif edit == "null":
        node.tag, node.children, node.value = bytes([NULL]), None, b""


@given(SAMPLE, ARMOUR, st.data())
@FUZZ
def test_structure_edits(sample: str, armour: str, data: st.DataObject) -> None:
    tree = parse(samples()[sample])
    nodes = tree.walk()
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        node = nodes[data.draw(st.integers(0, len(nodes) - 1), label="node")]
        _edit(node, data.draw(st.sampled_from(EDITS), label="edit"), data)

    accepts_or_refuses(_as_given(tree.encode(), armour))


# --- deep nesting -----------------------------------------------------------------------------------------------------


def _tbs(tree: Node) -> list[Node]:
    assert tree.children is not None
    tbs = tree.children[0].children
    assert tbs is not None
    return tbs


def _nest_in(sample: bytes, where: str, deep: bytes) -> bytes:
    """Put `deep` where a certificate allows arbitrary DER, keeping every length around it right."""
    tree = parse(sample)
    tbs = _tbs(tree)
    offset = 1 if tbs[0].tag == b"\xa0" else 0  # the explicit version field, when present
    if where == "extension":
        extensions = next(node for node in tbs if node.tag == b"\xa3")
        assert extensions.children is not None
        assert extensions.children[0].children is not None
        for extension in extensions.children[0].children:
            assert extension.children is not None
            extension.children[-1] = Node(bytes([OCTET_STRING]), value=deep)
    elif where == "subject-value":
        attribute = tbs[offset + 4].walk()[2]  # Name > RDN SET > AttributeTypeAndValue
        assert attribute.children is not None
        attribute.children[1] = Node(b"", value=deep, raw=True)
    elif where == "key-parameters":
        algorithm = tbs[offset + 5].walk()[1]  # SubjectPublicKeyInfo > AlgorithmIdentifier
        assert algorithm.children is not None
        algorithm.children[1:] = [Node(b"", value=deep, raw=True)]
    elif where == "signature-algorithm":
        assert tree.children is not None
        oid = Node(b"\x06", value=b"\x2a\x86\x48\xce\x3d\x04\x03\x02")  # ecdsa-with-SHA256
        tree.children[1] = Node(bytes([SEQUENCE]), children=[oid, Node(b"", value=deep, raw=True)])
    return tree.encode()


@given(
    st.sampled_from(["leaf", "rsa", "rich"]),
    st.sampled_from(["extension", "subject-value", "key-parameters", "signature-algorithm"]),
    st.sampled_from(["sequence", "set", "context", "indefinite"]),
    st.integers(1, 5000),
    ARMOUR,
)
@FUZZ
def test_deep_nesting_where_any_der_is_allowed(sample: str, where: str, kind: str, depth: int, armour: str) -> None:
    deep = {
        "sequence": lambda: nested(depth),
        "set": lambda: nested(depth, tag=SET),
        "context": lambda: nested(depth, tag=0xA0),
        "indefinite": lambda: nested_indefinite(depth),
    }[kind]()

    accepts_or_refuses(_as_given(_nest_in(samples()[sample], where, deep), armour))


@given(st.sampled_from(["sequence", "set", "indefinite", "lying"]), st.integers(1, 200_000), ARMOUR)
@settings(FUZZ, max_examples=max(30, FUZZ.max_examples // 2))
def test_deep_nesting_as_the_whole_input(kind: str, depth: int, armour: str) -> None:
    if kind == "lying":  # every header claims more than the input holds
        data = b"\x30\x84\x7f\xff\xff\xff" * depth
    elif kind == "indefinite":
        data = nested_indefinite(depth)
    else:
        data = nested(depth, tag=SET if kind == "set" else SEQUENCE)

    accepts_or_refuses(_as_given(data, armour))


# --- enormous inputs --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _bundle_pem() -> bytes:
    return make_bundle(1_900, prefix="fuzz bundle").encode()  # about 1 MB of valid certificates


def _megabyte(kind: str, seed: int) -> bytes | str:
    rng = random.Random(seed)
    noise = rng.randbytes(MEGABYTE)
    leaf = samples()["leaf"]
    builders: dict[str, Callable[[], bytes | str]] = {
        **megabyte_inputs(noise, leaf),
        "bundle": _bundle_pem,
        "bundle-then-private-key": lambda: _bundle_pem() + pem(b"\0\0\0", "PRIVATE KEY"),
        "huge-extension": lambda: _nest_in(leaf, "extension", tlv(OCTET_STRING, noise)),
        "surrogates": lambda: "".join(chr(0xD800 + rng.randrange(0x800)) for _ in range(MEGABYTE // 16)) * 16,
        "nuls": lambda: b"\x00" * MEGABYTE,
    }
    return builders[kind]()


MEGABYTE_KINDS = [*SHARED_KINDS, "bundle", "bundle-then-private-key", "huge-extension", "surrogates", "nuls"]


@pytest.mark.parametrize("kind", MEGABYTE_KINDS)
def test_one_megabyte_inputs(kind: str) -> None:
    data = _megabyte(kind, seed=len(kind))
    assert len(data) >= MEGABYTE - 64

    accepts_or_refuses(data)


# --- text no encoding can hold ----------------------------------------------------------------------------------------

ODD_CHARACTERS = st.sampled_from(["\ud800", "\udfff", "\udc80", "\x00", "\u202e", "\ufeff", "\u2028", "é", "😀"])
PIECES = st.sampled_from(
    ["-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n", "-----BEGIN PKCS7-----\n", "MIIB", "\n", "#"]
)


@given(st.lists(st.one_of(ODD_CHARACTERS, PIECES, st.text(max_size=8)), max_size=60))
@FUZZ
def test_text_with_surrogates_and_nuls(pieces: list[str]) -> None:
    accepts_or_refuses("".join(pieces))


@given(SAMPLE, st.integers(0, 10**6), ODD_CHARACTERS)
@FUZZ
def test_an_odd_character_inside_pem_text(sample: str, at: int, character: str) -> None:
    text = pem(samples()[sample]).decode()
    at %= len(text) + 1

    accepts_or_refuses(text[:at] + character + text[at:])


def test_the_samples_are_valid_to_begin_with() -> None:
    for name, der in samples().items():
        assert accepts_or_refuses(der) is not None, name
    assert parse(samples()["rich"]).encode() == samples()["rich"]
