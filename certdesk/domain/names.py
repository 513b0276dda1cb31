"""Identifiers, names and tags, following the rules Harness uses for its entities."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from certdesk.domain.errors import InvalidInput

IDENTIFIER_PATTERN = re.compile(r"^[a-zA-Z_][0-9a-zA-Z_$]{0,127}$")
MAX_NAME_LENGTH = 128
MAX_DESCRIPTION_LENGTH = 1024
MAX_TAG_PART_LENGTH = 128

RESERVED_WORDS = frozenset(
    {
        "or", "and", "eq", "ne", "lt", "gt", "le", "ge", "div", "mod", "not", "null",
        "true", "false", "new", "var", "return", "step", "parallel", "stepGroup", "org",
        "account", "class", "shellScriptProvisioner", "status", "liteEngineTask",
    }
)  # fmt: skip

# C0 and C1 controls, DEL, the Unicode line and paragraph separators, and lone surrogates (which
# no encoding can store). Right-to-left marks and other format characters are ordinary text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# In a message, quoted text must not reorder the words around it either: bidi embeddings,
# overrides and isolates are escaped there too.
_UNQUOTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_LAYOUT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def identifier_problem(identifier: str) -> str | None:
    """Say what is wrong with an identifier, or None when it is valid."""
    if not identifier:
        return "The identifier cannot be empty."
    if not IDENTIFIER_PATTERN.fullmatch(identifier):  # `$` alone would accept a trailing newline
        if identifier[0].isdigit() or identifier[0] == "$":
            return "The identifier must start with a letter or an underscore."
        if len(identifier) > 128:
            return "The identifier can be at most 128 characters long."
        return "The identifier can hold only letters, digits, underscores and dollar signs."
    if identifier in RESERVED_WORDS:
        return f"'{identifier}' is a reserved word and cannot be an identifier."
    return None


def validate_identifier(identifier: str) -> str:
    """Return the identifier, or raise InvalidInput saying what is wrong with it."""
    problem = identifier_problem(identifier)
    if problem:
        raise InvalidInput(f"Invalid identifier '{shorten_for_message(identifier)}': {problem}")
    return identifier


def derive_identifier(name: str, taken: Iterable[str] = ()) -> str:
    """Make a valid identifier from a name, as Harness does as you type, avoiding `taken`."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^0-9a-zA-Z_$]+", "_", ascii_name.strip()).strip("_") or "certificate"
    if base[0].isdigit() or base[0] == "$":
        base = "_" + base
    base = base[:128]
    if base in RESERVED_WORDS:
        base = base + "_"
    taken_set = taken if isinstance(taken, (set, frozenset)) else set(taken)
    if base not in taken_set:
        return base
    counter = 2
    while True:
        suffix = f"_{counter}"
        candidate = base[: 128 - len(suffix)] + suffix
        if candidate not in taken_set:
            return candidate
        counter += 1


def name_problem(name: str) -> str | None:
    """Say what is wrong with a display name, or None when it is valid."""
    stripped = name.strip()  # the name is stored stripped, so that is what the limit applies to
    if not stripped:
        return "The name cannot be empty."
    if len(stripped) > MAX_NAME_LENGTH:
        return f"The name can be at most {MAX_NAME_LENGTH} characters long (it has {len(stripped)})."
    if _CONTROL.search(stripped):
        return "The name cannot contain control characters or line breaks."
    return None


def validate_name(name: str) -> str:
    """Return the name with surrounding white space removed, or raise InvalidInput."""
    problem = name_problem(name)
    if problem:
        raise InvalidInput(f"Invalid name: {problem}")
    return name.strip()


def clean_name(text: str, fallback: str) -> str:
    """A valid name made from text found in a certificate: control characters become spaces."""
    cleaned = " ".join(_CONTROL.sub(" ", text).split())[:MAX_NAME_LENGTH].strip()
    return cleaned or fallback


def validate_description(description: str) -> str:
    """Return the description, or raise InvalidInput when it is too long or holds control bytes.

    Line breaks and tabs are allowed: a description may span several lines.
    """
    stripped = description.strip()
    if len(stripped) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(
            f"Invalid description: it can be at most {MAX_DESCRIPTION_LENGTH} characters long (it has {len(stripped)})."
        )
    if _CONTROL_BUT_LAYOUT.search(stripped):
        raise InvalidInput("Invalid description: it cannot contain control characters.")
    return stripped


def parse_tag(text: str) -> tuple[str, str]:
    """Parse one `key` or `key:value` tag."""
    key, _, value = text.partition(":")
    key, value = key.strip(), value.strip()
    quoted = shorten_for_message(text)
    if not key:
        raise InvalidInput(f"Invalid tag '{quoted}': a tag needs a key, as key or key:value.")
    for part in (key, value):
        if len(part) > MAX_TAG_PART_LENGTH:
            raise InvalidInput(
                f"Invalid tag '{quoted}': keys and values can be at most {MAX_TAG_PART_LENGTH} characters long."
            )
        if _CONTROL.search(part):
            raise InvalidInput(f"Invalid tag '{quoted}': it cannot contain control characters.")
    return key, value


def parse_tags(texts: Iterable[str]) -> dict[str, str]:
    """Parse tags given one per item or comma-separated (`env:prod, team`); later keys win."""
    tags: dict[str, str] = {}
    for text in texts:
        for piece in text.split(","):
            if piece.strip():
                key, value = parse_tag(piece)
                tags[key] = value
    return tags


def sort_name(name: str) -> str:
    """How a name sorts in a list: without regard to case or accents (`Émile` beside `emile`)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))[:MAX_NAME_LENGTH]


def validate_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Check tags given as a mapping (the window and scripts) by the same rule as typed ones."""
    checked: dict[str, str] = {}
    for key, value in tags.items():
        if any(separator in key for separator in ":,") or "," in value:
            raise InvalidInput(
                f"Invalid tag '{shorten_for_message(key)}': a key cannot hold ':' or ',', nor a value ','."
            )
        parsed_key, parsed_value = parse_tag(f"{key}:{value}" if value else key)
        checked[parsed_key] = parsed_value
    return checked


def format_tags(tags: Mapping[str, str]) -> str:
    """Write tags back the way a person types them."""
    return ", ".join(f"{k}:{v}" if v else k for k, v in tags.items())


def shorten_for_message(text: str, limit: int = 40) -> str:
    """Text a person typed, fit to quote in a message: cut short, control characters escaped.

    A lone surrogate would make the message itself impossible to print or log, and a
    right-to-left override would reorder the words that follow it.
    """
    short = text if len(text) <= limit else text[: limit - 1] + "…"
    return _UNQUOTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", short)
