"""Names, descriptions and tags in any script, bidi text, control characters, 10,000 characters.

Each is stored and shown back exactly, or refused by the domain's own rule (the oracle here is
certdesk.domain.names, so the tests follow the rule as it evolves); never a crash. Through the real
command (JSON round trip) and through the services.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certdesk.domain.errors import InvalidInput
from certdesk.domain.names import parse_tags, validate_description, validate_name
from certdesk.domain.scopes import ScopePath
from certdesk.services.certificates import CertificateService
from certdesk.services.scopes import ScopeService
from certdesk.services.views import CertificateDraft, CertificateQuery
from tests.helpers.certs import make_certificate, shared_key
from tests.reliability.support import EXIT_INVALID, EXIT_OK, Certdesk

SAMPLES: dict[str, str] = {
    "hebrew": "אישור שורש של החברה",
    "arabic-digits": "شهادة الجذر ٢٠٢٦",
    "rtl-override": "invoice\u202egpj.exe",
    "bidi-isolates": "\u2067שלום\u2069 world",
    "mixed-bidi": "abc \u05d0\u05d1\u05d2 123 \u0627\u0644",
    "emoji-zwj": "👩‍💻 team 🔐 ok",
    "combining": "e\u0301le\u0300ve cafe\u0301",
    "cjk": "証明書 루트 인증서",
    "zero-width": "a\u200bb\u200dc\u2060d",
    "bom": "\ufeffbom first",
    "padded": "   padded on both sides   ",
    "astral": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𓂀",
    "newline": "two\nlines",
    "tab": "tab\there",
    "carriage-return": "carriage\rreturn",
    "bell": "bell\x07ring",
    "escape": "colour \x1b[31mred\x1b[0m",
    "del": "del\x7fete",
    "c1": "next\x85line",
    "line-separator": "line\u2028separator",
    "empty": "",
    "blank": "   ",
    "long-ascii": "x" * 10_000,
    "long-hebrew": "א" * 10_000,
    "long-emoji": "🔐" * 10_000,
    "at-the-name-limit": "n" * 128,
    "past-the-name-limit": "n" * 129,
}


def _oracle(name: str, description: str, tag: str) -> tuple[str | None, dict[str, object]]:
    """What the domain says of these values, in the order `cert add` checks them: (refusal, stored values)."""
    try:
        tags = parse_tags([tag])
        return None, {"name": validate_name(name), "description": validate_description(description), "tags": tags}
    except InvalidInput as error:
        return error.message, {}


# Every sample goes through the services below; these (a process each) through the command too.
THROUGH_THE_COMMAND = (
    "mixed-bidi", "rtl-override", "bidi-isolates", "emoji-zwj", "combining", "bom", "padded", "astral",
    "newline", "escape", "c1", "empty", "long-hebrew", "past-the-name-limit",
)  # fmt: skip


# --- through the real command ---------------------------------------------------------------------------------------


def _add(certdesk: Certdesk, tmp_path: Path, name: str, description: str, tag: str) -> tuple[str, str] | None:
    """`cert add` with these values (a new certificate each time), checked against the oracle: (id, name) or None."""
    refusal, stored = _oracle(name, description, tag)
    pem = tmp_path / f"cert{next(_COUNTER)}.pem"
    pem.write_text(_pem())
    added = certdesk(
        "cert", "add", "acme", "--name", name, "--description", description, "--tag", tag, "--file", str(pem),
        "--json",
    )  # fmt: skip
    added.assert_clean()
    if refusal is not None:
        assert added.code == EXIT_INVALID, added.out
        assert added.err.strip() == refusal
        assert added.out == ""
        return None
    assert added.code == EXIT_OK, added.err
    detail = added.json()  # read back from the database, not echoed from the arguments
    assert {key: detail[key] for key in ("name", "description", "tags")} == stored
    return str(detail["identifier"]), str(detail["name"])


@pytest.mark.slow
def test_texts_through_the_command(with_scope: Certdesk, tmp_path: Path) -> None:
    """Each sample as name, description and tag value at once; where that is refused, in the description alone."""
    expected: dict[str, str] = {}
    for text in (SAMPLES[sample] for sample in THROUGH_THE_COMMAND):
        added = _add(with_scope, tmp_path, text, text, f"label:{text}") or _add(
            with_scope, tmp_path, "Plain", text, "p"
        )
        if added is not None:
            expected[added[0]] = added[1]
    listed = {row["identifier"]: row["name"] for row in with_scope("cert", "list", "acme", "--json").json()}
    assert listed == expected
    [identifier] = [key for key, name in listed.items() if name == SAMPLES["mixed-bidi"]]
    shown = with_scope("cert", "show", "acme", identifier)  # the human form prints it too
    assert shown.code == EXIT_OK, shown.err
    assert f"{SAMPLES['mixed-bidi']} (acme/{identifier})" in shown.out


@pytest.mark.slow
def test_bytes_that_are_not_utf8_are_refused_and_quoted_safely(with_scope: Certdesk) -> None:
    text = os.fsdecode(b"bad \xff\xfe bytes")  # what the command's argv holds: lone surrogates
    name = with_scope("scope", "create", "acme/eng", "--name", text)  # re-encoded to the raw bytes on the way
    name.assert_clean()
    assert name.code == EXIT_INVALID
    assert name.err.startswith("Invalid name:")

    identifier = with_scope("scope", "create", f"acme/{text}")
    identifier.assert_clean()
    assert identifier.code == EXIT_INVALID
    assert "\\udcff" in identifier.err  # quoted escaped, so the message itself can be printed and logged
    assert [scope["path"] for scope in with_scope("scope", "list", "--json").json()] == ["acme"]


@pytest.mark.slow
def test_scope_names_through_the_command(certdesk: Certdesk) -> None:
    samples = ("hebrew", "rtl-override", "long-hebrew", "bell")
    for index, sample in enumerate(samples):
        text = SAMPLES[sample]
        run = certdesk("scope", "create", f"team{index}", "--name", text, "--description", text)
        run.assert_clean()
        refusal, stored = _oracle(text, text, "plain")
        if refusal is not None:
            assert run.code == EXIT_INVALID
            assert run.err.strip() == refusal
        else:
            assert run.code == EXIT_OK, run.err
    listed = {
        scope["path"]: (scope["name"], scope["description"]) for scope in certdesk("scope", "list", "--json").json()
    }
    for index, sample in enumerate(samples):
        refusal, stored = _oracle(SAMPLES[sample], SAMPLES[sample], "plain")
        assert listed.get(f"team{index}") == (None if refusal else (stored["name"], stored["description"]))


@pytest.mark.slow
def test_a_name_the_terminal_cannot_encode_is_printed_escaped(with_scope: Certdesk) -> None:
    assert with_scope("scope", "create", "acme/il", "--name", SAMPLES["hebrew"]).code == EXIT_OK
    run = with_scope("scope", "list", env={"PYTHONUTF8": "0", "PYTHONIOENCODING": "cp1252"})
    run.assert_clean()
    assert run.code == EXIT_OK, run.err


# --- through the services -------------------------------------------------------------------------------------------

SPECIAL = (
    "\x00\x07\t\n\r\x1b\x7f\x85\u00a0\u200b\u200d\u200e\u200f\u2028\u2029\u202a\u202e\u2066\u2069\ufeff\ud800\udcff"
)
TEXT = st.one_of(
    st.text(st.one_of(st.characters(), st.sampled_from(SPECIAL)), max_size=300),
    st.builds(lambda piece, times: (piece * times)[:10_000], st.text(min_size=1, max_size=3), st.integers(1, 10_000)),
    st.sampled_from(sorted(SAMPLES.values())),
)
TEXT_PROPERTIES = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@given(name=TEXT, description=TEXT)
@TEXT_PROPERTIES
def test_certificate_text_through_the_services(
    certificates: CertificateService, scopes: ScopeService, name: str, description: str
) -> None:
    scope = f"text{next(_COUNTER)}"
    scopes.create(scope)
    draft = CertificateDraft(name=name, pem=_pem(), description=description)
    refusal, stored = _oracle(name, description, "plain")
    if refusal is not None:
        with pytest.raises(InvalidInput) as caught:
            certificates.create(scope, draft)
        assert caught.value.message == refusal
        assert certificates.count(CertificateQuery(scope=ScopePath.parse(scope))) == 0
        return
    expected = (stored["name"], stored["description"])
    detail = certificates.create(scope, draft)
    assert (detail.name, detail.description) == expected
    again = certificates.get(scope, detail.identifier)
    assert (again.name, again.description) == expected
    [row] = certificates.rows(CertificateQuery(scope=again.scope))
    assert row.name == expected[0]


@given(name=TEXT, description=TEXT)
@TEXT_PROPERTIES
def test_scope_text_through_the_services(scopes: ScopeService, name: str, description: str) -> None:
    path = f"scope{next(_COUNTER)}"
    refusal, stored = _oracle(name, description, "plain")
    if refusal is not None:
        with pytest.raises(InvalidInput) as caught:
            scopes.create(path, name, description)
        assert caught.value.message == refusal
        assert path not in {str(view.path) for view in scopes.list()}
        return
    scopes.create(path, name, description)
    [view] = [view for view in scopes.list() if str(view.path) == path]
    assert (view.name, view.description) == (stored["name"], stored["description"])


@pytest.mark.parametrize(
    "tags",
    [{"k": "bad\udcff"}, {"k\x00": "v"}, {"x" * 10_000: "v"}, {"": "empty key"}],
    ids=["lone-surrogate", "nul-in-key", "10000-character-key", "empty-key"],
)
def test_tags_given_to_the_service_follow_the_domain_rule(
    certificates: CertificateService, scopes: ScopeService, tags: dict[str, str]
) -> None:
    scopes.create("tagged")
    with pytest.raises(InvalidInput):
        certificates.create("tagged", CertificateDraft(name="Tagged", pem=_pem(), tags=tags))


_COUNTER = itertools.count()


def _pem() -> str:
    return make_certificate(f"text {next(_COUNTER)}", key=shared_key("text-inputs")).pem
