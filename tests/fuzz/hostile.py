"""Hostile inputs of about 1 MB, shared by the fuzz tests (refused or not?) and bench/fuzz_timing.py (how fast?)."""

from __future__ import annotations

import base64
from collections.abc import Callable

MEGABYTE = 1 << 20


def pem(der: bytes, label: str = "CERTIFICATE") -> bytes:
    """DER wrapped as a PEM block with the given label."""
    return f"-----BEGIN {label}-----\n".encode() + base64.encodebytes(der) + f"-----END {label}-----\n".encode()


def megabyte_inputs(noise: bytes, leaf: bytes) -> dict[str, Callable[[], bytes]]:
    """Builders of about 1 MB each, from 1 MB of random bytes and one certificate's DER."""
    base64_noise = noise[: MEGABYTE * 3 // 4]
    return {
        "random bytes": lambda: noise,
        "random bytes behind a DER header": lambda: b"\x30\x83" + (MEGABYTE - 5).to_bytes(3, "big") + noise[5:],
        "PEM block of random base64": lambda: pem(base64_noise),
        "one 1 MB base64 line": lambda: (
            b"-----BEGIN CERTIFICATE-----\n" + base64.b64encode(base64_noise) + b"\n-----END CERTIFICATE-----\n"
        ),
        "BEGIN lines only": lambda: b"-----BEGIN CERTIFICATE-----\n" * (MEGABYTE // 28),
        "empty BEGIN/END pairs": lambda: b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n" * (MEGABYTE // 54),
        "dashes": lambda: b"-" * MEGABYTE,
        "'-----BEGIN ' repeated": lambda: b"-----BEGIN " * (MEGABYTE // 11),
        "1 MB comment, then a certificate": lambda: b"# " + b"x" * MEGABYTE + b"\n" + pem(leaf),
        "a certificate, then 1 MB of comment lines": lambda: pem(leaf) + b"# comment line\n" * (MEGABYTE // 15),
        "a certificate, then 1 MB of garbage": lambda: pem(leaf) + noise,
        "DER with 1 MB trailing": lambda: leaf + noise,
    }


SHARED_KINDS = list(megabyte_inputs(b"", b""))  # their names, without building anything
