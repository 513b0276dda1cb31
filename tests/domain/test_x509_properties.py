"""Property tests: whatever is done to valid certificate input, analysis reports or refuses, never crashes."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from functools import lru_cache

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from hypothesis import given
from hypothesis import strategies as st

from certdesk.domain.errors import PrivateKeyRefused
from certdesk.domain.x509 import analyse, load_certificates
from tests.domain import DOMAIN_PROPERTIES
from tests.helpers.analysis import accepts_or_refuses
from tests.helpers.certs import Pki, make_certificate, make_pki, new_key

# A mutated serial can turn negative, or a country name grow past two letters, which cryptography
# accepts with a warning; what is under test is what analyse() does next, as it runs in the application.
pytestmark = [
    pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Attribute's length must be:UserWarning"),
    pytest.mark.filterwarnings("ignore:PKCS#7 certificates could not be parsed as DER:UserWarning"),
]

NOW = datetime(2030, 1, 1, tzinfo=UTC)
LEAF_FIRST = ["localhost", "certdesk test Intermediate CA", "certdesk test Root CA"]


@lru_cache(maxsize=1)
def pki() -> Pki:
    return make_pki()


@lru_cache(maxsize=1)
def samples() -> dict[str, bytes]:
    """Valid input of every accepted kind, to be damaged."""
    chain = pki()
    certificates = [chain.server.certificate, chain.intermediate.certificate, chain.root.certificate]
    return {
        "pem": chain.server.pem.encode(),
        "chain": chain.chain_pem.encode(),
        "der": chain.server.der,
        "rsa-der": make_certificate("rsa", key=new_key("rsa")).der,
        "p7b-der": pkcs7.serialize_certificates(certificates, serialization.Encoding.DER),
        "p7b-pem": pkcs7.serialize_certificates(certificates, serialization.Encoding.PEM),
    }


SAMPLE_NAMES = ["pem", "chain", "der", "rsa-der", "p7b-der", "p7b-pem"]


@given(st.sampled_from(SAMPLE_NAMES), st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=8))
@DOMAIN_PROPERTIES
def test_byte_flips(name: str, flips: list[tuple[int, int]]) -> None:
    data = bytearray(samples()[name])
    for at, mask in flips:
        data[at % len(data)] ^= mask

    accepts_or_refuses(bytes(data))


@given(st.sampled_from(["der", "rsa-der"]), st.lists(st.tuples(st.integers(0, 40), st.integers(1, 255)), max_size=3))
@DOMAIN_PROPERTIES
def test_byte_flips_in_the_der_header(name: str, flips: list[tuple[int, int]]) -> None:
    # The first bytes hold the lengths, the version, the serial and the signature algorithm:
    # where a flip most often gives a certificate that loads but is not what it claims.
    data = bytearray(samples()[name])
    for at, mask in flips:
        data[at] ^= mask

    accepts_or_refuses(bytes(data))


@given(st.sampled_from(SAMPLE_NAMES), st.integers(0, 10**6))
@DOMAIN_PROPERTIES
def test_truncation(name: str, keep: int) -> None:
    data = samples()[name]

    accepts_or_refuses(data[: keep % len(data)])


@given(st.sampled_from(SAMPLE_NAMES), st.integers(0, 10**6), st.binary(min_size=1, max_size=64))
@DOMAIN_PROPERTIES
def test_insertion(name: str, at: int, inserted: bytes) -> None:
    data = samples()[name]
    at %= len(data) + 1

    accepts_or_refuses(data[:at] + inserted + data[at:])


@given(st.sampled_from(SAMPLE_NAMES), st.integers(0, 10**6), st.integers(1, 200))
@DOMAIN_PROPERTIES
def test_deletion(name: str, at: int, length: int) -> None:
    data = samples()[name]
    at %= len(data)

    accepts_or_refuses(data[:at] + data[at + length :])


@given(st.binary(max_size=4096))
@DOMAIN_PROPERTIES
def test_random_bytes(data: bytes) -> None:
    accepts_or_refuses(data)


@given(st.binary(max_size=2048))
@DOMAIN_PROPERTIES
def test_random_bytes_behind_a_der_header(body: bytes) -> None:
    length = len(body)
    header = b"\x30\x82" + length.to_bytes(2, "big")

    accepts_or_refuses(header + body)


PEM_PIECES = [
    "-----BEGIN CERTIFICATE-----",
    "-----END CERTIFICATE-----",
    "-----BEGIN PKCS7-----",
    "-----END PKCS7-----",
    "-----BEGIN CERTIFICATE REQUEST-----",
    "-----BEGIN",
    "-----END ",
    "MIIB",
    "QUFB",
    "====",
    "Proc-Type: 4,ENCRYPTED",
    "# a comment",
    "\n",
    "\r\n",
    " ",
    "-",
]


@given(st.lists(st.one_of(st.sampled_from(PEM_PIECES), st.text(max_size=12)), max_size=40))
@DOMAIN_PROPERTIES
def test_pem_like_text(pieces: list[str]) -> None:
    accepts_or_refuses("".join(pieces))


@given(st.sampled_from(["pem", "chain", "p7b-pem"]), st.randoms(use_true_random=False))
@DOMAIN_PROPERTIES
def test_line_shuffles(name: str, rng: random.Random) -> None:
    lines = samples()[name].decode().splitlines(keepends=True)
    rng.shuffle(lines)

    accepts_or_refuses("".join(lines))


@given(
    st.sampled_from(["pem", "chain", "p7b-pem"]),
    st.lists(st.tuples(st.sampled_from(["drop", "double", "swap"]), st.integers(0, 10**6)), min_size=1, max_size=4),
)
@DOMAIN_PROPERTIES
def test_line_edits(name: str, edits: list[tuple[str, int]]) -> None:
    lines = samples()[name].decode().splitlines(keepends=True)
    for edit, at in edits:
        if not lines:
            break
        at %= len(lines)
        if edit == "drop":
            del lines[at]
        elif edit == "double":
            lines.insert(at, lines[at])
        else:
            other = (at + 1) % len(lines)
            lines[at], lines[other] = lines[other], lines[at]

    accepts_or_refuses("".join(lines))


@given(st.permutations(range(3)), st.lists(st.sampled_from(range(3)), max_size=3))
@DOMAIN_PROPERTIES
def test_chain_in_any_order_and_with_duplicates_comes_out_leaf_first(order: list[int], duplicates: list[int]) -> None:
    chain = pki()
    parts = [chain.server.pem, chain.intermediate.pem, chain.root.pem]
    given_order = list(order) + duplicates

    report = accepts_or_refuses("".join(parts[index] for index in given_order))

    assert report is not None
    assert [member.subject_cn for member in report.members] == LEAF_FIRST
    out_of_order = "The certificates were given out of order; they are kept leaf first." in report.warnings
    assert out_of_order == (list(order) != [0, 1, 2])
    duplicate_warnings = [w for w in report.warnings if "is a duplicate of certificate" in w]
    assert len(duplicate_warnings) == len(duplicates)


ANNOTATION = st.text(st.characters(exclude_characters="-", exclude_categories=["Cs"]), max_size=80)


@given(ANNOTATION, ANNOTATION)
@DOMAIN_PROPERTIES
def test_annotation_before_blocks_is_accepted(before_first: str, before_second: str) -> None:
    chain = pki()

    report = accepts_or_refuses(before_first + "\n" + chain.server.pem + before_second + "\n" + chain.intermediate.pem)

    assert report is not None
    assert [member.subject_cn for member in report.members] == LEAF_FIRST[:2]


@given(st.text(st.sampled_from(" \t\r\n#abc"), max_size=60))
@DOMAIN_PROPERTIES
def test_trailing_text_is_accepted_only_when_blank_or_comments(trailer: str) -> None:
    blank_or_comments = all(not line.strip() or line.lstrip().startswith("#") for line in trailer.splitlines())

    report = accepts_or_refuses(pki().root.pem + trailer)

    assert (report is not None) == blank_or_comments


@lru_cache(maxsize=1)
def key_pem() -> str:
    return pki().server.key_pem()


@given(st.sampled_from(["pem", "chain", "p7b-pem"]), st.integers(0, 10**6))
@DOMAIN_PROPERTIES
def test_private_key_anywhere_is_refused_without_its_material(name: str, at: int) -> None:
    lines = samples()[name].decode().splitlines(keepends=True)
    at %= len(lines) + 1
    key = key_pem()

    with pytest.raises(PrivateKeyRefused) as caught:
        analyse("".join([*lines[:at], key, *lines[at:]]), NOW)

    for line in key.splitlines()[1:-1]:
        assert line not in str(caught.value)


def test_samples_are_valid_to_begin_with() -> None:
    for name in SAMPLE_NAMES:
        assert load_certificates(samples()[name]), name
