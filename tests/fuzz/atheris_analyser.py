"""Coverage-guided fuzzing of certdesk.domain.x509.analyse with atheris (libFuzzer), for longer than the suite.

    .venv/bin/pip install atheris        # Linux x86-64 wheels; elsewhere it builds with clang
    .venv/bin/python tests/fuzz/atheris_analyser.py -max_total_time=60 [CORPUS_FOLDER ...]

With no corpus folder, the valid inputs the hypothesis fuzzers start from (PEM, DER, PKCS#7, a
certificate using every kind of name and several extensions) are written to a temporary one. Half
the mutations edit the DER structure (tests/fuzz/der.py) and re-encode it with consistent lengths,
so libFuzzer gets past the outer SEQUENCEs; the others are libFuzzer's own byte mutations. The first
byte of an input chooses how it is given: bytes, text (Latin-1), or text that may hold lone surrogates.

A finding is any exception other than InvalidCertificate or PrivateKeyRefused: libFuzzer writes the
input to crash-<sha1> and stops. Replay one with `python tests/fuzz/atheris_analyser.py crash-<sha1>`.
"""

from __future__ import annotations

import contextlib
import copy
import random
import sys
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import atheris  # noqa: E402 - after the path set-up above

with atheris.instrument_imports(include=["certdesk"]):
    from certdesk.domain.errors import InvalidCertificate, PrivateKeyRefused
    from certdesk.domain.x509 import analyse

from tests.fuzz.der import SEQUENCE, nested, parse  # noqa: E402

NOW = datetime(2030, 1, 1, tzinfo=UTC)
AS_BYTES, AS_LATIN1_TEXT, AS_UTF16_TEXT = 0, 1, 2


def given_as(data: bytes) -> bytes | str:
    """The input as analyse() gets it, chosen by the first byte."""
    if not data:
        return b""
    mode, body = data[0] % 3, data[1:]
    if mode == AS_LATIN1_TEXT:
        return body.decode("latin-1")
    if mode == AS_UTF16_TEXT:
        return body[: len(body) // 2 * 2].decode("utf-16-le", "surrogatepass")
    return body


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(InvalidCertificate, PrivateKeyRefused):  # the two answers allowed besides a report
        analyse(given_as(data), NOW)


def _structure_edit(der: bytes, rng: random.Random) -> bytes | None:
    """One random edit of the DER tree, re-encoded; None when the input is not DER this reader understands."""
    try:
        tree = parse(der)
    except ValueError:
        return None
    nodes = tree.walk()
    node = rng.choice(nodes)
    edit = rng.randrange(8)
    if edit == 0:
        node.children, node.value = None, rng.randbytes(rng.randrange(64))
    elif edit == 1:
        node.tag = bytes([rng.randrange(0x1F)])
    elif edit == 2 and node.children:
        del node.children[rng.randrange(len(node.children))]
    elif edit == 3 and node.children:
        at = rng.randrange(len(node.children))
        node.children.insert(at, copy.deepcopy(node.children[at]))
    elif edit == 4:
        node.tag, node.children, node.value = bytes([SEQUENCE]), [copy.deepcopy(node)], b""
    elif edit == 5:
        node.children, node.value = None, nested(rng.randrange(1, 2000), tag=rng.choice([0x30, 0x31, 0xA0]))
    elif edit == 6:
        node.long_length = rng.randrange(1, 3)
    else:
        node.tag, node.children, node.value = b"\x02", None, rng.randbytes(rng.randrange(1, 520))
    return tree.encode()


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    if data and data[0] % 3 == AS_BYTES and rng.random() < 0.5:
        edited = _structure_edit(data[1:], rng)
        if edited is not None and len(edited) + 1 <= max_size:
            return data[:1] + edited
    mutated: bytes = atheris.Mutate(data, max_size)
    return mutated


def write_seeds(folder: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs7

    from tests.fuzz.test_analyser_fuzz import samples
    from tests.helpers.certs import make_pki

    chain = make_pki(prefix="atheris")
    members = [chain.server.certificate, chain.intermediate.certificate, chain.root.certificate]
    seeds = {f"der-{name}": bytes([AS_BYTES]) + der for name, der in samples().items()}
    seeds["pem-chain"] = bytes([AS_BYTES]) + chain.chain_pem.encode()
    seeds["pem-chain-text"] = bytes([AS_LATIN1_TEXT]) + chain.chain_pem.encode()
    seeds["p7b-pem"] = bytes([AS_BYTES]) + pkcs7.serialize_certificates(members, serialization.Encoding.PEM)
    seeds["key"] = bytes([AS_BYTES]) + chain.server.key_pem().encode()
    for name, data in seeds.items():
        (folder / name).write_bytes(data)


def main() -> None:
    warnings.simplefilter("ignore")  # cryptography warns of damaged-but-loadable fields; not findings
    argv = list(sys.argv)
    if not any(not arg.startswith("-") for arg in argv[1:]):  # no corpus folder or input file given
        seed_folder = Path(tempfile.mkdtemp(prefix="certdesk-atheris-"))
        write_seeds(seed_folder)
        argv.append(str(seed_folder))
        print(f"Seed corpus: {seed_folder}", file=sys.stderr)
    atheris.Setup(argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
