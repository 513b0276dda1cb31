"""What every command of the CLI shares: exit codes, the parser class, input and JSON output."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TextIO

from certdesk.domain.errors import InvalidInput
from certdesk.services.bundle import Services

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
Handler = Callable[[argparse.Namespace, Services, TextIO, TextIO], int]


class UsageError(Exception):
    """A command line that argparse accepted but that does not make sense."""


class Parser(argparse.ArgumentParser):
    """Usage errors exit 2 with argparse's message, as the CLI contract says."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cycle collector while a command builds large lists (as Mercurial's `nogc`).

    A list of 100,000 rows otherwise triggers collection after collection over objects that
    all stay alive; reference counting still frees everything a command lets go of.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).expanduser().read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"Cannot read {path}: no such file.") from None
    except IsADirectoryError:
        raise InvalidInput(f"Cannot read {path}: it is a folder; give a file.") from None
    except OSError as error:
        raise InvalidInput(f"Cannot read {path}: {error.strerror}.") from None


def dump(document: Any, out: TextIO) -> None:
    # One write of the whole text: json.dump writes in thousands of small pieces, each a system
    # call when the output is unbuffered (PYTHONUNBUFFERED, some CI runners).
    out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def dump_list(items: Iterable[Any], out: TextIO, chunk: int = 2000) -> None:
    """A JSON array with one item per line: readable, and fast (an indent makes json pure Python).

    Items are encoded and written a few thousand at a time, so a 100,000-row list never exists
    as a second copy in memory, and unbuffered output still gets few, large writes.
    """
    encode = item_encoder()
    lines: list[str] = []
    opened = False
    for item in items:
        lines.append(encode(item))
        if len(lines) == chunk:
            out.write(("[\n  " if not opened else ",\n  ") + ",\n  ".join(lines))
            opened, lines = True, []
    if lines:
        out.write(("[\n  " if not opened else ",\n  ") + ",\n  ".join(lines))
        opened = True
    out.write("\n]\n" if opened else "[]\n")


def item_encoder() -> Callable[[Any], str]:
    """Encode one small document on one line, through json's C encoder when it is there.

    `JSONEncoder.encode` builds a new C encoder on every call, which doubles the time of a
    100,000-row list; the module's `c_make_encoder` (None without the C accelerator) is made once.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(ensure_ascii=False).encode

    def refuse(value: Any) -> Any:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    chunks = make(None, refuse, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)
    return lambda item: "".join(chunks(item, 0))
