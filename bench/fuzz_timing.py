"""Time certdesk.domain.x509.analyse on hostile inputs of about 1 MB: `python -m bench.fuzz_timing [--runs N]`.

The budget is one second per megabyte (CPU time of this process, the median of a few runs), for
input a person can paste or drop on the window. The tests under tests/fuzz only check that each of
these is accepted or refused; the time is measured here, where a slow machine reads a figure and a
verdict instead of a flaky test failing. Exit code 1 when an input is over budget.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a file: python bench/fuzz_timing.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from certdesk.domain.errors import InvalidCertificate, PrivateKeyRefused
from certdesk.domain.x509 import analyse
from tests.fuzz.der import OCTET_STRING, Node, nested, nested_indefinite, parse, tlv
from tests.fuzz.hostile import MEGABYTE, megabyte_inputs
from tests.helpers.certs import make_bundle, make_certificate, shared_key

BUDGET_S_PER_MB = 1.0
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _with_extension(der: bytes, value: bytes) -> bytes:
    """The certificate with its first extension's value replaced by `value` (lengths kept right; signature broken)."""
    tree = parse(der)
    assert tree.children is not None
    assert tree.children[0].children is not None
    extensions = next(node for node in tree.children[0].children if node.tag == b"\xa3")
    assert extensions.children is not None
    assert extensions.children[0].children is not None
    extension = extensions.children[0].children[0]
    assert extension.children is not None
    extension.children[-1] = Node(bytes([OCTET_STRING]), value=value)
    return tree.encode()


def _big_exponent_bundle(size: int) -> bytes:
    """Self-signed-looking RSA certificates whose public exponent is as long as the modulus (3071 bits).

    OpenSSL accepts such keys up to 3072-bit moduli; checking a signature with one costs a full
    modular exponentiation, where e = 65537 costs 17 multiplications.
    """
    signer = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    modulus = signer.public_key().public_numbers().n
    rng = random.Random(3071)
    exponent = (1 << 3070) | rng.getrandbits(3070) | 1
    key = rsa.RSAPublicNumbers(exponent, modulus).public_key()
    now = datetime.now(UTC)
    parts: list[bytes] = []
    index = 0
    while sum(len(part) for part in parts) < size:
        name = _name(f"big exponent {index:05d}")
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key)
            .serial_number(index + 1).not_valid_before(now).not_valid_after(now + timedelta(days=30))
            .sign(signer, hashes.SHA256())
        )  # fmt: skip
        parts.append(certificate.public_bytes(serialization.Encoding.PEM))
        index += 1
    return b"".join(parts)


def _name_cycle_bundle(size: int) -> bytes:
    """Certificates naming each other as issuer in a cycle (A by B, B by A, many of each): hard to put in order."""
    key = shared_key("bench-cycle")
    now = datetime.now(UTC)
    parts: list[bytes] = []
    index = 0
    while sum(len(part) for part in parts) < size:
        subject, issuer = ("cycle A", "cycle B") if index % 2 else ("cycle B", "cycle A")
        certificate = (
            x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
            .public_key(key.public_key()).serial_number(index + 1).not_valid_before(now)
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256())
        )  # fmt: skip
        parts.append(certificate.public_bytes(serialization.Encoding.PEM))
        index += 1
    return b"".join(parts)


def inputs() -> dict[str, Callable[[], bytes | str]]:
    rng = random.Random(1)
    noise = rng.randbytes(MEGABYTE)
    leaf = make_certificate("bench leaf", dns_names=("bench.test",)).der
    bundle = make_bundle(1_900, prefix="bench fuzz").encode()  # about 1 MB of PEM

    def megabyte_pkcs7() -> bytes:
        certificates = x509.load_pem_x509_certificates(bundle)
        return pkcs7.serialize_certificates(certificates, serialization.Encoding.DER)

    return {
        **megabyte_inputs(noise, leaf),
        "SEQUENCE nested 200,000 deep": lambda: nested(200_000),
        "indefinite SEQUENCE 260,000 deep": lambda: nested_indefinite(260_000),
        "headers claiming 2 GB each": lambda: b"\x30\x84\x7f\xff\xff\xff" * (MEGABYTE // 6),
        "nesting 200,000 deep inside an extension": lambda: _with_extension(leaf, nested(200_000)),
        "a 1 MB extension value": lambda: _with_extension(leaf, tlv(OCTET_STRING, noise)),
        "1,900 valid certificates (PEM)": lambda: bundle,
        "1,900 valid certificates (PKCS#7 DER)": megabyte_pkcs7,
        "1,900 certificates, then a private key": lambda: (
            bundle + b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        ),
        "certificates naming each other in a cycle": lambda: _name_cycle_bundle(MEGABYTE),
        "RSA keys with 3071-bit public exponents": lambda: _big_exponent_bundle(MEGABYTE),
        "the same, as PKCS#7 DER": lambda: pkcs7.serialize_certificates(
            x509.load_pem_x509_certificates(_big_exponent_bundle(MEGABYTE)), serialization.Encoding.DER
        ),
        "text of lone surrogates": lambda: "".join(chr(0xD800 + rng.randrange(0x800)) for _ in range(MEGABYTE // 3)),
        "NUL bytes": lambda: b"\x00" * MEGABYTE,
    }


def outcome(data: bytes | str) -> str:
    try:
        report = analyse(data, NOW)
    except PrivateKeyRefused:
        return "refused: private key"
    except InvalidCertificate as error:
        return "refused: " + error.detail[:60]
    return f"accepted: {len(report.members)} certificates, {len(report.warnings)} warnings"


def measure(data: bytes | str, runs: int) -> tuple[float, float, str]:
    """Median CPU and wall seconds of `runs` analyses, and what the analysis said."""
    cpu, wall, said = [], [], ""
    for _ in range(runs):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        said = outcome(data)
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    return statistics.median(cpu), statistics.median(wall), said


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_timing", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="analyses per input; the median counts (default 3)")
    parser.add_argument("--only", metavar="TEXT", default="", help="only the inputs whose name holds TEXT")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # damaged but loadable fields make cryptography warn
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, load {load}")
    header = f"{'input':<44} {'MB':>5} {'cpu s':>7} {'wall s':>7} {'s/MB':>6}  verdict  outcome"
    print(header)
    print("-" * (len(header) + 30))
    over = []
    for name, build in inputs().items():
        if args.only.lower() not in name.lower():
            continue
        data = build()
        size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data) / MEGABYTE
        cpu, wall, said = measure(data, args.runs)
        per_megabyte = cpu / max(size, 1e-9)
        verdict = "PASS" if per_megabyte <= BUDGET_S_PER_MB else "OVER"
        if verdict == "OVER":
            over.append(name)
        figures = f"{size:>5.2f} {cpu:>7.3f} {wall:>7.3f} {per_megabyte:>6.3f}"
        print(f"{name:<44} {figures}  {verdict:<7}  {said}", flush=True)
    print(f"\nBudget: {BUDGET_S_PER_MB:.1f} s of CPU per MB. Over budget: {', '.join(over) or 'none'}.")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
