"""Scope paths and references across scopes: a lower scope may use a higher one's entity, never the reverse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certdesk.domain.errors import InvalidInput
from certdesk.domain.names import RESERVED_WORDS
from certdesk.domain.scopes import EntityRef, ScopeLevel, ScopePath, resolve_reference
from tests.domain import DOMAIN_PROPERTIES

ACME = ScopePath.parse("acme")
ENG = ScopePath.parse("acme/eng")
PAYMENTS = ScopePath.parse("acme/eng/payments")
SEARCH = ScopePath.parse("acme/eng/search")
OPS = ScopePath.parse("acme/ops")
OPS_INFRA = ScopePath.parse("acme/ops/infra")
GLOBEX = ScopePath.parse("globex")
GLOBEX_ENG = ScopePath.parse("globex/eng")
ONLY_ALLOWED = "The identifier can hold only letters, digits, underscores and dollar signs."
ALL_SCOPES = [ACME, ENG, PAYMENTS, SEARCH, OPS, OPS_INFRA, GLOBEX, GLOBEX_ENG]


def message_of(call: object, *args: object) -> str:
    with pytest.raises(InvalidInput) as caught:
        call(*args)  # type: ignore[operator]
    return str(caught.value)


# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts", "level"),
    [
        ("acme", ("acme",), ScopeLevel.ACCOUNT),
        ("acme/eng", ("acme", "eng"), ScopeLevel.ORGANIZATION),
        ("acme/eng/payments", ("acme", "eng", "payments"), ScopeLevel.PROJECT),
        (" /acme/eng/ ", ("acme", "eng"), ScopeLevel.ORGANIZATION),
        ("_a$/B_2", ("_a$", "B_2"), ScopeLevel.ORGANIZATION),
    ],
)
def test_parse_scope_paths(text: str, parts: tuple[str, ...], level: ScopeLevel) -> None:
    path = ScopePath.parse(text)

    assert path.parts == parts
    assert path.level is level
    assert path.identifier == parts[-1]
    assert str(path) == "/".join(parts)
    assert ScopePath.parse(str(path)) == path


def test_level_labels() -> None:
    assert [level.label for level in ScopeLevel] == ["Account", "Organization", "Project"]


def test_navigation_up_the_tree() -> None:
    assert PAYMENTS.parent == ENG
    assert ENG.parent == ACME
    assert ACME.parent is None
    assert PAYMENTS.account == ACME
    assert PAYMENTS.organization == ENG
    assert ENG.organization == ENG
    assert ACME.organization is None
    assert PAYMENTS.ancestors() == [PAYMENTS, ENG, ACME]
    assert ACME.ancestors() == [ACME]


def test_child_is_validated() -> None:
    assert ACME.child("eng") == ENG
    assert ENG.child("payments") == PAYMENTS
    assert "at most three parts" in message_of(PAYMENTS.child, "deeper")
    assert (
        message_of(ACME.child, "org")
        == "Invalid identifier 'org': 'org' is a reserved word and cannot be an identifier."
    )


def test_is_within() -> None:
    assert PAYMENTS.is_within(PAYMENTS)
    assert PAYMENTS.is_within(ENG)
    assert PAYMENTS.is_within(ACME)
    assert not ENG.is_within(PAYMENTS)
    assert not PAYMENTS.is_within(OPS)
    assert not PAYMENTS.is_within(GLOBEX)
    assert not ScopePath.parse("acmecorp").is_within(ACME)


@pytest.mark.parametrize("text", ["", "   ", "/", "//"])
def test_empty_scope_is_refused(text: str) -> None:
    assert message_of(ScopePath.parse, text) == (
        "Invalid scope: give a path such as acme, acme/eng or acme/eng/payments."
    )


def test_too_deep_scope_is_refused_and_quoted_short() -> None:
    message = message_of(ScopePath.parse, "a/b/c/d" + "/x" * 5000)

    assert message.startswith("Invalid scope 'a/b/c/d/x/x/x")
    assert message.endswith(
        "': a scope is an account, an organization or a project, "
        "so a path has at most three parts (account/organization/project)."
    )
    assert len(message) < 250


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("acme//eng", "Invalid identifier '': The identifier cannot be empty."),
        ("acme/1eng", "Invalid identifier '1eng': The identifier must start with a letter or an underscore."),
        (
            "acme/my-org",
            "Invalid identifier 'my-org': " + ONLY_ALLOWED,
        ),
        ("account", "Invalid identifier 'account': 'account' is a reserved word and cannot be an identifier."),
        ("acme/org", "Invalid identifier 'org': 'org' is a reserved word and cannot be an identifier."),
        (
            "acme/\u202eeng",
            "Invalid identifier '\\u202eeng': " + ONLY_ALLOWED,
        ),
    ],
)
def test_scope_with_an_invalid_part_is_refused(text: str, message: str) -> None:
    assert message_of(ScopePath.parse, text) == message


@given(st.text(max_size=60))
@DOMAIN_PROPERTIES
def test_any_scope_text_is_parsed_or_refused(text: str) -> None:
    try:
        path = ScopePath.parse(text)
    except InvalidInput as error:
        str(error).encode("utf-8")
        return
    assert 1 <= len(path.parts) <= 3
    assert ScopePath.parse(str(path)) == path


# --- references --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "viewer", "scope"),
    [
        ("root_ca", PAYMENTS, PAYMENTS),
        ("org.root_ca", PAYMENTS, ENG),
        ("account.root_ca", PAYMENTS, ACME),
        ("root_ca", ENG, ENG),
        ("org.root_ca", ENG, ENG),
        ("account.root_ca", ENG, ACME),
        ("root_ca", ACME, ACME),
        ("account.root_ca", ACME, ACME),
        ("  org.root_ca  ", OPS_INFRA, OPS),
    ],
)
def test_references_resolve_to_the_viewer_or_a_scope_above(reference: str, viewer: ScopePath, scope: ScopePath) -> None:
    resolved = resolve_reference(reference, viewer)

    assert resolved == EntityRef(scope, "root_ca")
    assert viewer.is_within(resolved.scope)


def test_account_scope_cannot_reach_down_to_an_organization() -> None:
    assert message_of(resolve_reference, "org.root_ca", ACME) == (
        "Invalid reference 'org.root_ca': the account scope acme has no organization above it."
    )


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("project.x", "Invalid reference 'project.x': write an identifier, org.identifier or account.identifier."),
        ("eng.x", "Invalid reference 'eng.x': write an identifier, org.identifier or account.identifier."),
        ("Org.x", "Invalid reference 'Org.x': write an identifier, org.identifier or account.identifier."),
        ("org.", "Invalid identifier '': The identifier cannot be empty."),
        ("", "Invalid identifier '': The identifier cannot be empty."),
        (
            "org.a.b",
            "Invalid identifier 'a.b': " + ONLY_ALLOWED,
        ),
        ("org.class", "Invalid identifier 'class': 'class' is a reserved word and cannot be an identifier."),
        (
            "acme/eng/x",
            "Invalid identifier 'acme/eng/x': " + ONLY_ALLOWED,
        ),
    ],
)
def test_malformed_references_are_refused(reference: str, message: str) -> None:
    assert message_of(resolve_reference, reference, PAYMENTS) == message


def test_reference_message_quotes_hostile_text_safely() -> None:
    message = message_of(resolve_reference, "x\ud800." + "y" * 10_000, PAYMENTS)

    message.encode("utf-8")
    assert len(message) < 250


@pytest.mark.parametrize(
    ("entity", "viewer", "written"),
    [
        (EntityRef(PAYMENTS, "c"), PAYMENTS, "c"),
        (EntityRef(ENG, "c"), PAYMENTS, "org.c"),
        (EntityRef(ACME, "c"), PAYMENTS, "account.c"),
        (EntityRef(ENG, "c"), ENG, "c"),
        (EntityRef(ACME, "c"), ENG, "account.c"),
        (EntityRef(ACME, "c"), ACME, "c"),
    ],
)
def test_written_from_a_scope_below(entity: EntityRef, viewer: ScopePath, written: str) -> None:
    assert entity.written_from(viewer) == written
    assert resolve_reference(written, viewer) == entity


@pytest.mark.parametrize(
    ("entity", "viewer"),
    [
        (EntityRef(PAYMENTS, "c"), ENG),  # a higher scope cannot use a lower one's entity
        (EntityRef(PAYMENTS, "c"), ACME),
        (EntityRef(ENG, "c"), ACME),
        (EntityRef(PAYMENTS, "c"), SEARCH),  # nor a sibling's
        (EntityRef(OPS, "c"), PAYMENTS),
        (EntityRef(GLOBEX, "c"), PAYMENTS),  # nor another account's
    ],
)
def test_written_from_is_refused_where_the_entity_is_not_visible(entity: EntityRef, viewer: ScopePath) -> None:
    assert message_of(entity.written_from, viewer) == (
        f"'c' in {entity.scope} cannot be used from {viewer}: "
        "a scope can use only what belongs to it or to the scopes above it."
    )


IDENTIFIERS = st.from_regex(r"[a-z_][a-z0-9_$]{0,8}", fullmatch=True).filter(lambda text: text not in RESERVED_WORDS)


@given(st.sampled_from(ALL_SCOPES), st.sampled_from(ALL_SCOPES), IDENTIFIERS)
@DOMAIN_PROPERTIES
def test_references_round_trip_exactly_when_the_entity_is_visible(
    home: ScopePath, viewer: ScopePath, identifier: str
) -> None:
    entity = EntityRef(home, identifier)
    visible = viewer.is_within(home)

    try:
        written = entity.written_from(viewer)
    except InvalidInput:
        assert not visible
        return
    assert visible
    assert resolve_reference(written, viewer) == entity


@given(st.sampled_from(ALL_SCOPES), st.text(max_size=40))
@DOMAIN_PROPERTIES
def test_any_reference_resolves_at_or_above_the_viewer_or_is_refused(viewer: ScopePath, reference: str) -> None:
    try:
        resolved = resolve_reference(reference, viewer)
    except InvalidInput as error:
        str(error).encode("utf-8")
        return
    assert viewer.is_within(resolved.scope)
    assert resolved.written_from(viewer) in {reference.strip(), resolved.identifier}
