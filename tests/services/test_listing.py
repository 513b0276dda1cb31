"""CertificateService reads for the list: rows(), count(), position_of() with CertificateQuery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from certdesk.domain.errors import NotFound
from certdesk.domain.scopes import ScopePath
from certdesk.domain.x509 import format_fingerprint
from certdesk.services.certificates import CertificateService
from certdesk.services.scopes import ScopeService
from certdesk.services.views import CertificateDraft, CertificateEdit, CertificateQuery, CertificateRow, SortKey
from tests.conftest import SettableClock
from tests.helpers.certs import make_certificate
from tests.services.conftest import AddConnector

PAYMENTS = ScopePath.parse("acme/eng/payments")
ENG = ScopePath.parse("acme/eng")
ACME = ScopePath.parse("acme")
BASE = datetime(2026, 6, 1, tzinfo=UTC)


def _add(service: CertificateService, scope: str, name: str, pem: str, **extra: object) -> None:
    service.create(scope, CertificateDraft(name, pem, **extra))  # type: ignore[arg-type]


def _ids(rows: list[CertificateRow]) -> list[str]:
    return [row.identifier for row in rows]


@pytest.fixture
def sortable(acme: ScopeService, certificates: CertificateService) -> CertificateService:
    """Three certificates whose order differs for every sort key (all six orders of three)."""
    root_z = make_certificate("issuer-z", is_ca=True, days=3650)
    root_m = make_certificate("issuer-root", is_ca=True, days=3650)
    inter_m = make_certificate("issuer-m", issuer=root_m, is_ca=True, days=3000)
    # name, identifier, subject, issuer, expires (days), chain length
    alpha = make_certificate("host-b", issuer=root_z, days=90)  # Alpha   a_one   host-b issuer-z 90  2
    bravo = make_certificate("host-c", days=30)  #                 Bravo   c_three host-c host-c   30  1
    charlie = make_certificate("host-a", issuer=inter_m, days=10)  # Charlie b_two host-a issuer-m 10  3
    # Inserted in an order none of the sorts gives ascending or descending by accident of id.
    _add(certificates, "acme/eng/payments", "Bravo", bravo.pem, identifier="c_three")
    _add(certificates, "acme/eng/payments", "Charlie", charlie.pem + inter_m.pem + root_m.pem, identifier="b_two")
    _add(certificates, "acme/eng/payments", "Alpha", alpha.pem + root_z.pem, identifier="a_one")
    return certificates


@pytest.mark.parametrize(
    ("key", "ascending"),
    [
        (SortKey.NAME, ["a_one", "c_three", "b_two"]),
        (SortKey.IDENTIFIER, ["a_one", "b_two", "c_three"]),
        (SortKey.SUBJECT, ["b_two", "a_one", "c_three"]),
        (SortKey.ISSUER, ["c_three", "b_two", "a_one"]),
        (SortKey.EXPIRES, ["b_two", "c_three", "a_one"]),
        (SortKey.CHAIN, ["c_three", "a_one", "b_two"]),
    ],
)
def test_sorting_by_each_key_both_ways(sortable: CertificateService, key: SortKey, ascending: list[str]) -> None:
    up = sortable.rows(CertificateQuery(PAYMENTS, sort=key))
    down = sortable.rows(CertificateQuery(PAYMENTS, sort=key, descending=True))
    assert _ids(up) == ascending
    assert _ids(down) == ascending[::-1]


def test_the_sort_keys_really_give_different_orders(sortable: CertificateService) -> None:
    orders = {tuple(_ids(sortable.rows(CertificateQuery(PAYMENTS, sort=key)))) for key in SortKey}
    assert len(orders) == 6  # SCOPE ties here, so it falls back to insertion order: one of the six


def test_rows_carry_the_listed_fields(sortable: CertificateService) -> None:
    row = next(r for r in sortable.rows(CertificateQuery(PAYMENTS)) if r.identifier == "b_two")
    assert (row.scope, row.name, row.reference, row.subject_cn, row.issuer_cn, row.chain_length) == (
        PAYMENTS, "Charlie", "b_two", "host-a", "issuer-m", 3
    )  # fmt: skip
    assert not row.inherited
    assert row.used_by == ()
    assert len(row.sha256) == 64


def test_sorting_by_scope_and_parents(acme: ScopeService, certificates: CertificateService) -> None:
    _add(certificates, "acme/eng/payments", "Mid", make_certificate("p").pem, identifier="proj")
    _add(certificates, "acme", "Mid", make_certificate("a").pem, identifier="acct")
    _add(certificates, "acme/eng", "Mid", make_certificate("o").pem, identifier="org_cert")
    query = CertificateQuery(PAYMENTS, include_parents=True, sort=SortKey.SCOPE)
    assert _ids(certificates.rows(query)) == ["acct", "org_cert", "proj"]
    descending = CertificateQuery(PAYMENTS, include_parents=True, sort=SortKey.SCOPE, descending=True)
    assert _ids(certificates.rows(descending)) == ["proj", "org_cert", "acct"]


def test_include_parents_shows_org_and_account_references(acme: ScopeService, certificates: CertificateService) -> None:
    acme.create("acme/ops")
    acme.create("acme/eng/web")
    acme.create("beta")
    _add(certificates, "acme", "Account root", make_certificate("1").pem, identifier="root")
    _add(certificates, "acme/eng", "Org root", make_certificate("2").pem, identifier="root")
    _add(certificates, "acme/eng/payments", "Own", make_certificate("3").pem, identifier="own")
    # Neither a sibling, a sibling project nor another account shows up.
    _add(certificates, "acme/ops", "Ops", make_certificate("4").pem, identifier="ops")
    _add(certificates, "acme/eng/web", "Web", make_certificate("5").pem, identifier="web")
    _add(certificates, "beta", "Beta", make_certificate("6").pem, identifier="beta")

    project = certificates.rows(CertificateQuery(PAYMENTS, include_parents=True))
    assert [(row.reference, str(row.scope), row.inherited) for row in project] == [
        ("account.root", "acme", True),
        ("org.root", "acme/eng", True),
        ("own", "acme/eng/payments", False),
    ]
    organization = certificates.rows(CertificateQuery(ENG, include_parents=True))
    assert [row.reference for row in organization] == ["account.root", "root"]
    account = certificates.rows(CertificateQuery(ACME, include_parents=True))
    assert [row.reference for row in account] == ["root"]
    assert certificates.count(CertificateQuery(PAYMENTS, include_parents=True)) == 3
    assert _ids(certificates.rows(CertificateQuery(PAYMENTS))) == ["own"]
    assert certificates.count(CertificateQuery(PAYMENTS)) == 1


def test_listing_an_unknown_scope(acme: ScopeService, certificates: CertificateService) -> None:
    for include_parents in (False, True):
        query = CertificateQuery(ScopePath.parse("acme/eng/ghost"), include_parents=include_parents)
        with pytest.raises(NotFound, match="project 'acme/eng/ghost' does not exist"):
            certificates.rows(query)
        with pytest.raises(NotFound):
            certificates.count(query)


def test_rows_show_the_connectors_using_each_certificate(
    acme: ScopeService, certificates: CertificateService, add_connector: AddConnector
) -> None:
    _add(certificates, "acme", "Used", make_certificate("u").pem, identifier="used")
    _add(certificates, "acme", "Idle", make_certificate("i").pem, identifier="idle")
    add_connector("acme/eng", "vault", uses=("acme", "used"), name="Eng Vault")
    rows = {row.identifier: row for row in certificates.rows(CertificateQuery(ENG, include_parents=True))}
    assert [str(use) for use in rows["used"].used_by] == ["Eng Vault (acme/eng/vault)"]
    assert rows["idle"].used_by == ()


# --- the text filter ------------------------------------------------------------------------


@pytest.fixture
def searchable(acme: ScopeService, certificates: CertificateService) -> CertificateService:
    issuer = make_certificate("Globex Issuing CA", is_ca=True, organization="Globex")
    web = make_certificate("www.initech.example", issuer=issuer, organization="Initech")
    _add(certificates, "acme", "Web front", web.pem, identifier="web_front", tags={"env": "prod", "team": "edge"})
    _add(certificates, "acme", "Mail relay", make_certificate("smtp.example", organization=None).pem,
         identifier="mail", tags={"env": "staging"})  # fmt: skip
    _add(certificates, "acme", "Globex Issuing CA", issuer.pem, identifier="globex_ca")
    return certificates


def _matching(service: CertificateService, text: str) -> list[str]:
    query = CertificateQuery(ACME, text=text)
    found = _ids(service.rows(query))
    assert service.count(query) == len(found)
    return sorted(found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["globex_ca", "mail", "web_front"]),
        ("mail RELAY", ["mail"]),  # name, any case, every word must match
        ("web_front", ["web_front"]),  # identifier
        ("env:prod", ["web_front"]),  # tag as written
        ("team:edge", ["web_front"]),
        ("staging", ["mail"]),  # tag value
        ("initech", ["web_front"]),  # subject organization
        ("CN=smtp.example", ["mail"]),  # subject as written
        ("globex", ["globex_ca", "web_front"]),  # issuer of the web certificate, subject of the CA
        ("globex prod", ["web_front"]),
        ("nothing-like-this", []),
    ],
)
def test_the_filter_matches_names_identifiers_tags_subjects_and_issuers(
    searchable: CertificateService, text: str, expected: list[str]
) -> None:
    assert _matching(searchable, text) == expected


def test_the_filter_matches_the_sha256_fingerprint_in_any_form(searchable: CertificateService) -> None:
    digest = searchable.get("acme", "mail").report.leaf.sha256
    colon = format_fingerprint(digest)
    assert ":" in colon
    assert _matching(searchable, digest) == ["mail"]
    assert _matching(searchable, digest.upper()) == ["mail"]
    assert _matching(searchable, colon) == ["mail"]
    assert _matching(searchable, colon.lower()) == ["mail"]
    assert _matching(searchable, colon[:23]) == ["mail"]  # the first 8 bytes, as a person copies them


def test_like_wildcards_in_the_filter_are_literal(acme: ScopeService, certificates: CertificateService) -> None:
    _add(certificates, "acme", "100% sure", make_certificate("one").pem, identifier="sure")
    _add(certificates, "acme", "1000 percent", make_certificate("two").pem, identifier="percent")
    _add(certificates, "acme", "a_b", make_certificate("three").pem, identifier="underscore")
    _add(certificates, "acme", "axb", make_certificate("four").pem, identifier="cross")
    _add(certificates, "acme", "c:\\certs", make_certificate("five").pem, identifier="backslash")
    _add(certificates, "acme", "c:xcerts", make_certificate("six").pem, identifier="nobackslash")
    assert _matching(certificates, "100%") == ["sure"]
    assert _matching(certificates, "a_b") == ["underscore"]
    assert _matching(certificates, "%") == ["sure"]
    assert _matching(certificates, "_") == ["underscore"]  # no derived identifier here holds one
    assert _matching(certificates, "c:\\certs") == ["backslash"]


def test_the_filter_follows_edits(acme: ScopeService, certificates: CertificateService) -> None:
    _add(certificates, "acme", "Before", make_certificate("x").pem, identifier="cert")
    certificates.update("acme", "cert", CertificateEdit(name="After", tags={"owner": "zoe"}))
    assert _matching(certificates, "before") == []
    assert _matching(certificates, "after owner:zoe") == ["cert"]


# --- expiry ---------------------------------------------------------------------------------


def test_expiring_within_days_uses_the_clock(
    acme: ScopeService, certificates: CertificateService, clock: SettableClock
) -> None:
    def valid_until(days: int) -> str:
        return make_certificate(
            f"d{days}", not_before=BASE - timedelta(days=400), not_after=BASE + timedelta(days=days)
        ).pem

    _add(certificates, "acme", "Expired", valid_until(-5), identifier="expired")
    _add(certificates, "acme", "Ten", valid_until(10), identifier="ten")
    _add(certificates, "acme", "Thirty", valid_until(30), identifier="thirty")
    _add(certificates, "acme", "Ninety", valid_until(90), identifier="ninety")

    def expiring(days: int) -> list[str]:
        query = CertificateQuery(ACME, expiring_within_days=days, sort=SortKey.EXPIRES)
        assert certificates.count(query) == len(certificates.rows(query))
        return _ids(certificates.rows(query))

    clock.fixed = BASE
    assert expiring(30) == ["expired", "ten", "thirty"]  # the boundary is included; expired ones need action too
    assert expiring(29) == ["expired", "ten"]
    assert expiring(0) == ["expired"]
    clock.fixed = BASE + timedelta(days=61)
    assert expiring(29) == ["expired", "ten", "thirty", "ninety"]
    assert _ids(certificates.rows(CertificateQuery(ACME, sort=SortKey.EXPIRES))) == [
        "expired", "ten", "thirty", "ninety"
    ]  # fmt: skip


def test_expiry_of_a_chain_is_its_earliest_member(
    acme: ScopeService, certificates: CertificateService, clock: SettableClock
) -> None:
    clock.fixed = BASE
    root = make_certificate(
        "short root", is_ca=True, not_before=BASE - timedelta(days=1), not_after=BASE + timedelta(days=5)
    )
    leaf = make_certificate(
        "long leaf", issuer=root, not_before=BASE - timedelta(days=1), not_after=BASE + timedelta(days=300)
    )
    _add(certificates, "acme", "Chain", leaf.pem + root.pem, identifier="chain")
    [row] = certificates.rows(CertificateQuery(ACME, expiring_within_days=7))
    assert row.not_after == BASE + timedelta(days=5)


# --- paging ---------------------------------------------------------------------------------


def test_paging_is_consistent_with_count(acme: ScopeService, certificates: CertificateService) -> None:
    for index in range(11):
        tag = "even" if index % 2 == 0 else "odd"
        _add(certificates, "acme", f"Cert {index:02d}", make_certificate(f"c{index}").pem, tags={"parity": tag})
    for query in (
        CertificateQuery(ACME),
        CertificateQuery(ACME, text="parity:even", descending=True),
        CertificateQuery(ACME, sort=SortKey.EXPIRES),
    ):
        everything = certificates.rows(query)
        total = certificates.count(query)
        assert total == len(everything)
        pages = [certificates.rows(query, offset=offset, limit=4) for offset in range(0, total, 4)]
        assert [len(page) for page in pages] == [min(4, total - offset) for offset in range(0, total, 4)]
        assert [row for page in pages for row in page] == everything
        assert certificates.rows(query, offset=total, limit=4) == []
        assert certificates.rows(query, offset=3) == everything[3:]
    assert certificates.count(CertificateQuery(ACME, text="parity:even")) == 6


def test_position_of_matches_the_row_order(sortable: CertificateService) -> None:
    for key in SortKey:
        for descending in (False, True):
            query = CertificateQuery(PAYMENTS, sort=key, descending=descending)
            order = _ids(sortable.rows(query))
            assert [sortable.position_of(query, PAYMENTS, ident) for ident in order] == list(range(len(order)))
    hidden = CertificateQuery(PAYMENTS, text="host-a")
    assert sortable.position_of(hidden, PAYMENTS, "a_one") is None
