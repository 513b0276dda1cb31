"""Identifiers, names, descriptions and tags: the rules, the messages, and hostile text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certdesk.domain.errors import InvalidInput
from certdesk.domain.names import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    RESERVED_WORDS,
    clean_name,
    derive_identifier,
    format_tags,
    identifier_problem,
    name_problem,
    parse_tag,
    parse_tags,
    shorten_for_message,
    validate_description,
    validate_identifier,
    validate_name,
)
from tests.domain import DOMAIN_PROPERTIES

# The rule from the issue, written out independently of the code under test.
RULE = re.compile(r"[a-zA-Z_][0-9a-zA-Z_$]{0,127}")
ISSUE_RESERVED = [
    "or", "and", "eq", "ne", "lt", "gt", "le", "ge", "div", "mod", "not", "null", "true", "false", "new",
    "var", "return", "step", "parallel", "stepGroup", "org", "account", "class", "shellScriptProvisioner",
    "status", "liteEngineTask",
]  # fmt: skip

CONTROL_CHARACTERS = ["\x00", "\x07", "\x08", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9f", "\u2028", "\u2029"]
HOSTILE = ["\ud800", "\udfff", "a\udc80b"]  # lone surrogates: no encoding can store them


def message_of(call: object, *args: object) -> str:
    with pytest.raises(InvalidInput) as caught:
        call(*args)  # type: ignore[operator]
    message = str(caught.value)
    message.encode("utf-8")  # printable and loggable, whatever was typed
    return message


# --- identifiers ---------------------------------------------------------------------------


def test_reserved_words_are_exactly_those_of_the_issue() -> None:
    assert set(ISSUE_RESERVED) == RESERVED_WORDS
    assert len(ISSUE_RESERVED) == 26


@pytest.mark.parametrize(
    "identifier",
    ["a", "_", "A1", "my_cert", "cert$1", "_$", "Z" * 128, "a" + "$" * 127, "Org", "STATUS", "stepgroup", "orgs"],
)
def test_valid_identifiers(identifier: str) -> None:
    assert validate_identifier(identifier) == identifier
    assert identifier_problem(identifier) is None


@pytest.mark.parametrize(
    ("identifier", "problem"),
    [
        ("", "The identifier cannot be empty."),
        ("1cert", "The identifier must start with a letter or an underscore."),
        ("$cert", "The identifier must start with a letter or an underscore."),
        ("a" * 129, "The identifier can be at most 128 characters long."),
        ("my-cert", "The identifier can hold only letters, digits, underscores and dollar signs."),
        ("my cert", "The identifier can hold only letters, digits, underscores and dollar signs."),
        ("café", "The identifier can hold only letters, digits, underscores and dollar signs."),
        ("שלום", "The identifier can hold only letters, digits, underscores and dollar signs."),
        (" cert", "The identifier can hold only letters, digits, underscores and dollar signs."),
        ("cert\n", "The identifier can hold only letters, digits, underscores and dollar signs."),
        ("cert\x00", "The identifier can hold only letters, digits, underscores and dollar signs."),
        ("a.b", "The identifier can hold only letters, digits, underscores and dollar signs."),
    ],
)
def test_invalid_identifiers_say_why(identifier: str, problem: str) -> None:
    assert identifier_problem(identifier) == problem
    assert message_of(validate_identifier, identifier).endswith(f": {problem}")


@pytest.mark.parametrize("word", ISSUE_RESERVED)
def test_reserved_words_are_refused(word: str) -> None:
    assert message_of(validate_identifier, word) == (
        f"Invalid identifier '{word}': '{word}' is a reserved word and cannot be an identifier."
    )


def test_message_quotes_a_long_identifier_shortened() -> None:
    message = message_of(validate_identifier, "x" * 10_000 + "-")

    assert message == f"Invalid identifier '{'x' * 39}…': The identifier can be at most 128 characters long."


def test_message_escapes_control_characters_and_surrogates() -> None:
    message = message_of(validate_identifier, "a\nb\ud800")

    assert message == (
        "Invalid identifier 'a\\u000ab\\ud800': "
        "The identifier can hold only letters, digits, underscores and dollar signs."
    )
    assert "\n" not in message


@given(st.text(max_size=140))
@DOMAIN_PROPERTIES
def test_identifier_rule_matches_the_issue(text: str) -> None:
    valid = RULE.fullmatch(text) is not None and text not in ISSUE_RESERVED

    assert (identifier_problem(text) is None) == valid
    if valid:
        assert validate_identifier(text) == text
    else:
        message_of(validate_identifier, text)


# --- identifiers derived from names ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "identifier"),
    [
        ("Corporate Root CA", "Corporate_Root_CA"),
        ("  api.example.com  ", "api_example_com"),
        ("*.example.com", "example_com"),
        ("2024 root", "_2024_root"),
        ("$money", "_$money"),
        ("Zürich Ünïcödé", "Zurich_Unicode"),
        ("ﬁle", "file"),
        ("שלום עולם", "certificate"),
        ("東京", "certificate"),
        ("", "certificate"),
        ("---", "certificate"),
        ("org", "org_"),
        ("__class__", "class_"),
        ("stepGroup", "stepGroup_"),
    ],
)
def test_derive_identifier_from_a_name(name: str, identifier: str) -> None:
    assert derive_identifier(name) == identifier


def test_derive_identifier_avoids_taken_ones() -> None:
    taken = {"Root_CA", "Root_CA_2", "Root_CA_3"}

    assert derive_identifier("Root CA", taken) == "Root_CA_4"
    assert derive_identifier("Root CA", ["Root_CA"]) == "Root_CA_2"
    assert derive_identifier("Root CA", iter(["Other"])) == "Root_CA"


def test_derived_identifier_of_a_long_name_stays_within_128_characters() -> None:
    long_name = "a" * 10_000
    first = derive_identifier(long_name)
    second = derive_identifier(long_name, {first})

    assert first == "a" * 128
    assert second == "a" * 126 + "_2"


@given(st.text(max_size=300), st.sets(st.text(max_size=130), max_size=5))
@DOMAIN_PROPERTIES
def test_derived_identifier_is_always_valid_and_free(name: str, others: set[str]) -> None:
    base = derive_identifier(name)
    taken = others | {base, base[:126] + "_2"}

    derived = derive_identifier(name, taken)

    assert identifier_problem(base) is None
    assert identifier_problem(derived) is None
    assert derived not in taken


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Corporate Root CA",
        "שלום עולם",  # right-to-left
        "مرحبا \u200fبالعالم",  # Arabic with a right-to-left mark
        "東京 🔐 Zürich",
        "e\u0301",  # a combining accent
        "x" * MAX_NAME_LENGTH,
        "\u202eevil",  # an override character is text, shown as typed
    ],
)
def test_valid_names_are_kept_exactly(name: str) -> None:
    assert validate_name(name) == name
    assert name_problem(name) is None


def test_name_is_stored_stripped_and_measured_stripped() -> None:
    assert validate_name("  Root CA \n") == "Root CA"
    assert validate_name("  " + "x" * MAX_NAME_LENGTH + "  ") == "x" * MAX_NAME_LENGTH


@pytest.mark.parametrize("name", ["", " ", "\t\n", "\u3000"])
def test_empty_names_are_refused(name: str) -> None:
    assert message_of(validate_name, name) == "Invalid name: The name cannot be empty."


@pytest.mark.parametrize(("length", "shown"), [(MAX_NAME_LENGTH + 1, 129), (10_000, 10000)])
def test_long_names_are_refused_with_their_length(length: int, shown: int) -> None:
    assert message_of(validate_name, "n" * length) == (
        f"Invalid name: The name can be at most 128 characters long (it has {shown})."
    )


@pytest.mark.parametrize("character", CONTROL_CHARACTERS + HOSTILE)
def test_names_with_control_characters_are_refused(character: str) -> None:
    assert message_of(validate_name, f"Root{character}CA") == (
        "Invalid name: The name cannot contain control characters or line breaks."
    )


@given(st.text(max_size=200))
@DOMAIN_PROPERTIES
def test_any_name_is_stored_or_refused(name: str) -> None:
    try:
        stored = validate_name(name)
    except InvalidInput as error:
        str(error).encode("utf-8")
        assert name_problem(name) is not None
        return
    assert 1 <= len(stored) <= MAX_NAME_LENGTH
    assert stored == name.strip()
    stored.encode("utf-8")
    assert len(stored.splitlines()) == 1


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("Root\x00CA", "Root CA"),
        ("  Root \n\t CA  ", "Root CA"),
        ("Root\u2028CA\x85", "Root CA"),
        ("שלום", "שלום"),
        ("\x00\x01", "fallback"),
        ("", "fallback"),
        ("x" * 500, "x" * 128),
    ],
)
def test_clean_name_makes_a_valid_name_from_certificate_text(text: str, cleaned: str) -> None:
    assert clean_name(text, "fallback") == cleaned
    assert validate_name(clean_name(text, "fallback")) == cleaned


@given(st.text(max_size=300))
@DOMAIN_PROPERTIES
def test_clean_name_is_always_a_valid_name(text: str) -> None:
    assert name_problem(clean_name(text, "Certificate")) is None


# --- descriptions ------------------------------------------------------------------------------


def test_description_may_span_lines_and_is_stripped() -> None:
    text = "First line\n\tindented second line\r\nthird — שלום"

    assert validate_description(f"  {text}\n") == text
    assert validate_description("") == ""
    assert validate_description("d" * MAX_DESCRIPTION_LENGTH) == "d" * MAX_DESCRIPTION_LENGTH


def test_long_description_is_refused_with_its_length() -> None:
    assert message_of(validate_description, "d" * 10_000) == (
        "Invalid description: it can be at most 1024 characters long (it has 10000)."
    )


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x7f", "\x85", "\u2028", *HOSTILE])
def test_description_with_control_characters_is_refused(character: str) -> None:
    assert message_of(validate_description, f"a{character}b") == (
        "Invalid description: it cannot contain control characters."
    )


# --- tags --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("env", ("env", "")),
        ("env:prod", ("env", "prod")),
        (" env : prod ", ("env", "prod")),
        ("url:https://example.com:8443", ("url", "https://example.com:8443")),
        ("env:", ("env", "")),
        ("owner:שלום", ("owner", "שלום")),
        ("k" * 128 + ":" + "v" * 128, ("k" * 128, "v" * 128)),
    ],
)
def test_parse_tag(text: str, tag: tuple[str, str]) -> None:
    assert parse_tag(text) == tag


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "a tag needs a key, as key or key:value."),
        (":prod", "a tag needs a key, as key or key:value."),
        ("  :  ", "a tag needs a key, as key or key:value."),
        ("k" * 129, "keys and values can be at most 128 characters long."),
        ("env:" + "v" * 10_000, "keys and values can be at most 128 characters long."),
        ("env:a\tb", "it cannot contain control characters."),
        ("env:a\rb", "it cannot contain control characters."),
        ("e\nnv", "it cannot contain control characters."),
        ("env:\x00", "it cannot contain control characters."),
        ("env:\ud800", "it cannot contain control characters."),
    ],
)
def test_invalid_tags_are_refused(text: str, reason: str) -> None:
    message = message_of(parse_tag, text)

    assert message.startswith("Invalid tag '")
    assert message.endswith(f"': {reason}")
    assert len(message) < 200


def test_parse_tags_accepts_lists_and_commas_and_later_keys_win() -> None:
    tags = parse_tags(["env:prod, team:payments", "critical", " , ", "env:staging"])

    assert tags == {"env": "staging", "team": "payments", "critical": ""}
    assert list(tags) == ["env", "team", "critical"]
    assert parse_tags([]) == {}


def test_format_tags_writes_them_as_typed() -> None:
    assert format_tags({"env": "prod", "critical": "", "url": "a:b"}) == "env:prod, critical, url:a:b"


TAG_TEXT = st.text(st.characters(exclude_characters=",:", exclude_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=20)


@given(st.dictionaries(TAG_TEXT.filter(str.strip), TAG_TEXT, max_size=6))
@DOMAIN_PROPERTIES
def test_tags_round_trip_through_their_text(raw: dict[str, str]) -> None:
    tags = parse_tags([format_tags(raw)])

    assert parse_tags([format_tags(tags)]) == tags
    assert set(tags) == {key.strip() for key in raw}


@given(st.lists(st.text(max_size=60), max_size=4))
@DOMAIN_PROPERTIES
def test_any_tag_text_is_parsed_or_refused(texts: list[str]) -> None:
    try:
        tags = parse_tags(texts)
    except InvalidInput as error:
        str(error).encode("utf-8")
        return
    for key, value in tags.items():
        assert key
        assert key == key.strip()
        assert value == value.strip()
        (key + value).encode("utf-8")


def test_shorten_for_message() -> None:
    assert shorten_for_message("short") == "short"
    assert shorten_for_message("x" * 41) == "x" * 39 + "…"
    assert shorten_for_message("a\tb\x85\u2028") == "a\\u0009b\\u0085\\u2028"
    assert shorten_for_message("שלום") == "שלום"
    assert shorten_for_message("\u202eexe.txt") == "\\u202eexe.txt"
    assert shorten_for_message("\u2067x\u2069 \u200f") == "\\u2067x\\u2069 \u200f"  # a mark is harmless
