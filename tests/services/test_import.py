"""CertificateService.import_sources: one certificate each, duplicates skipped, refusals, cancel, progress."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from certdesk.domain.scopes import ScopePath
from certdesk.services.certificates import CertificateService
from certdesk.services.scopes import ScopeService
from certdesk.services.views import CertificateDraft, CertificateQuery, SortKey
from certdesk.store.models import Certificate
from tests.conftest import SettableClock
from tests.helpers.certs import make_bundle, make_certificate, make_pki
from tests.services.conftest import audit_entries

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
ACME = ScopePath.parse("acme")


def _stored(scope: str = "acme") -> list[str]:
    from certdesk.store.models import Scope

    query = Certificate.select(Certificate.identifier).join(Scope).where(Scope.path == scope).order_by(Certificate.id)
    return [row.identifier for row in query]


def _broken_san_certificate(common_name: str) -> bytes:
    """A signed certificate that loads, but whose SubjectAltName extension does not parse."""
    issued = make_certificate(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(issued.certificate.subject)
        .issuer_name(issued.certificate.subject)
        .public_key(issued.key.public_key())
        .serial_number(7)
        .not_valid_before(issued.certificate.not_valid_before_utc)
        .not_valid_after(issued.certificate.not_valid_after_utc)
        .add_extension(
            x509.UnrecognizedExtension(x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x04\x03bad"), critical=False
        )
    )
    from cryptography.hazmat.primitives import hashes

    return builder.sign(issued.key, hashes.SHA256()).public_bytes(Encoding.PEM)


def _year_999_der() -> bytes:
    """A certificate whose notBefore is GeneralizedTime 0999-01-01 (cryptography reads it; builders refuse it)."""
    issued = make_certificate(
        "ancient", not_before=datetime(1950, 1, 1, tzinfo=UTC), not_after=datetime(2040, 1, 1, tzinfo=UTC)
    )
    der = bytearray(issued.der)
    old, new = b"\x17\x0d500101000000Z", b"\x18\x0f09990101000000Z"
    at = der.index(old)
    der[at : at + len(old)] = new

    def grow(position: int) -> None:  # a SEQUENCE that encloses the time grows by two bytes
        assert der[position] == 0x30
        if der[position + 1] == 0x82:
            der[position + 2 : position + 4] = (int.from_bytes(der[position + 2 : position + 4], "big") + 2).to_bytes(
                2, "big"
            )
        else:
            der[position + 1] += 2

    grow(0)  # Certificate
    grow(4)  # TBSCertificate
    grow(at - 2)  # Validity
    return bytes(der)


def test_every_certificate_found_becomes_one_certificate(
    acme: ScopeService, certificates: CertificateService, clock: SettableClock
) -> None:
    clock.fixed = T0
    pki = make_pki(host="api.example")
    single = make_certificate("single.example")
    p7b = pkcs7.serialize_certificates([make_certificate("p7-one").certificate, make_certificate("p7-two").certificate],
                                       Encoding.DER)  # fmt: skip
    outcome = certificates.import_sources(
        "acme",
        [("chain.pem", pki.chain_pem.encode()), ("single.der", single.der), ("bundle.p7b", p7b)],
    )
    # A PKCS#7 bundle is a SET: its certificates come back in encoding order, not the order given.
    assert outcome.added[:4] == ["api_example", "certdesk_test_Intermediate_CA", "certdesk_test_Root_CA",
                                 "single_example"]  # fmt: skip
    assert sorted(outcome.added[4:]) == ["p7_one", "p7_two"]
    assert (outcome.duplicates, outcome.refused, outcome.cancelled) == (0, [], False)
    assert outcome.summary() == "6 added, 0 duplicates skipped."
    assert _stored() == outcome.added
    row = Certificate.get(Certificate.identifier == "certdesk_test_Root_CA")
    assert (row.name, row.chain_length, row.is_ca, row.created_by, row.created_at) == (
        "certdesk test Root CA", 1, True, "tester", T0
    )  # fmt: skip
    assert row.pem == pki.root.pem
    # Imported certificates are found like any other.
    query = CertificateQuery(ACME, text="api.example", sort=SortKey.NAME)
    assert [r.identifier for r in certificates.rows(query)] == ["api_example"]


def test_each_imported_certificate_is_audited(
    acme: ScopeService, certificates: CertificateService, clock: SettableClock
) -> None:
    clock.fixed = T0
    issued = make_certificate("audited.example")
    certificates.import_sources("acme/eng", [("audited.pem", issued.pem.encode())])
    [entry] = audit_entries(action="import")
    assert (entry.at, entry.actor, entry.entity, entry.scope_path, entry.identifier) == (
        T0, "tester", "certificate", "acme/eng", "audited_example"
    )  # fmt: skip
    assert entry.summary == "Imported certificate audited.example from audited.pem"
    assert entry.before is None
    assert entry.after["pem"] == issued.pem
    assert entry.after["name"] == "audited.example"


def test_imported_names_avoid_taken_identifiers(acme: ScopeService, certificates: CertificateService) -> None:
    certificates.create("acme", CertificateDraft("web", make_certificate("other").pem))
    outcome = certificates.import_sources(
        "acme", [("a.pem", make_certificate("web").pem.encode()), ("b.pem", make_certificate("web").pem.encode())]
    )
    assert outcome.added == ["web_2", "web_3"]


def test_duplicates_are_skipped_and_counted(acme: ScopeService, certificates: CertificateService) -> None:
    stored = make_certificate("already.example")
    certificates.create("acme", CertificateDraft("Already", stored.pem))
    fresh = make_certificate("fresh.example")
    other_scope = make_certificate("elsewhere.example")
    certificates.create("acme/eng", CertificateDraft("Elsewhere", other_scope.pem))

    outcome = certificates.import_sources(
        "acme",
        [
            ("one.pem", (stored.pem + fresh.pem + fresh.pem).encode()),  # in the scope; twice in one source
            ("two.der", fresh.der),  # already imported by the first source of this import
            ("three.pem", other_scope.pem.encode()),  # only in another scope: not a duplicate here
        ],
    )
    assert outcome.added == ["fresh_example", "elsewhere_example"]
    assert outcome.duplicates == 3
    assert outcome.summary() == "2 added, 3 duplicates skipped."
    assert _stored() == ["Already", "fresh_example", "elsewhere_example"]

    again = certificates.import_sources("acme", [("again.pem", (fresh.pem + stored.pem).encode())])
    assert (again.added, again.duplicates) == ([], 2)


def test_refused_sources_are_listed_and_write_nothing(acme: ScopeService, certificates: CertificateService) -> None:
    good = make_certificate("good.example")
    with_key = make_certificate("keyed.example")
    half = make_certificate("half.example")
    before_broken = make_certificate("before-broken.example")
    outcome = certificates.import_sources(
        "acme",
        [
            ("notes.txt", b"just some words"),
            ("keyed.pem", (with_key.pem + with_key.key_pem()).encode()),
            ("truncated.pem", (half.pem + "-----BEGIN CERTIFICATE-----\nMIIB\n").encode()),
            ("broken-field.pem", before_broken.pem.encode() + _broken_san_certificate("broken.example")),
            ("good.pem", good.pem.encode()),
        ],
    )
    assert outcome.added == ["good_example"]
    assert [refusal.source for refusal in outcome.refused] == [
        "notes.txt", "keyed.pem", "truncated.pem", "broken-field.pem"
    ]  # fmt: skip
    reasons = [refusal.reason for refusal in outcome.refused]
    assert "neither PEM text" in reasons[0]
    assert "private key" in reasons[1]
    assert "has no END line" in reasons[2]
    assert "does not parse" in reasons[3]
    assert outcome.summary() == "1 added, 0 duplicates skipped, 4 refused."
    # Nothing from a refused source, not even the valid certificates before the bad one.
    assert _stored() == ["good_example"]
    assert [entry.identifier for entry in audit_entries(action="import")] == ["good_example"]


def test_a_refused_source_does_not_make_its_certificates_duplicates(
    acme: ScopeService, certificates: CertificateService
) -> None:
    first = make_certificate("first.example")
    outcome = certificates.import_sources(
        "acme",
        [
            ("broken.pem", first.pem.encode() + _broken_san_certificate("x")),
            ("retry.pem", first.pem.encode()),
        ],
    )
    assert (outcome.added, outcome.duplicates) == (["first_example"], 0)


def test_progress_is_reported(acme: ScopeService, certificates: CertificateService) -> None:
    calls: list[tuple[int, int]] = []
    bundle = make_bundle(230, prefix="progress")
    outcome = certificates.import_sources(
        "acme", [("big.pem", bundle.encode()), ("small.pem", make_certificate("s").pem.encode())],
        progress=lambda done, total: calls.append((done, total)), total_hint=231,
    )  # fmt: skip
    assert len(outcome.added) == 231
    assert calls[-1] == (231, 231)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert {total for _, total in calls} == {231}
    assert calls[0][0] < 231  # reported while the import was under way, not only at the end


def test_cancel_before_any_source(acme: ScopeService, certificates: CertificateService) -> None:
    outcome = certificates.import_sources(
        "acme", [("a.pem", make_certificate("a").pem.encode())], cancelled=lambda: True
    )
    assert outcome.cancelled
    assert outcome.added == []
    assert outcome.summary() == "Import cancelled: 0 added, 0 duplicates skipped."
    assert _stored() == []


@pytest.mark.parametrize("size", [150, 450])
def test_cancel_undoes_the_source_under_way_and_keeps_those_done(
    acme: ScopeService, certificates: CertificateService, size: int
) -> None:
    cancel = {"requested": False}

    def progress(done: int, total: int) -> None:
        if done >= 100:  # the person presses Cancel while the big file is being read
            cancel["requested"] = True

    first = make_bundle(3, prefix="first")
    big = make_bundle(size, prefix="big")
    outcome = certificates.import_sources(
        "acme",
        [("first.pem", first.encode()), ("big.pem", big.encode()), ("never.pem", make_certificate("n").pem.encode())],
        progress=progress,
        cancelled=lambda: cancel["requested"],
    )
    assert outcome.cancelled
    assert outcome.added == ["first_000000", "first_000001", "first_000002"]
    assert _stored() == outcome.added
    assert len(audit_entries(action="import")) == 3
    assert outcome.summary().startswith("Import cancelled: 3 added")


def test_a_large_source_is_written_whole(acme: ScopeService, certificates: CertificateService) -> None:
    outcome = certificates.import_sources("acme", [("large.pem", make_bundle(1100, prefix="large").encode())])
    assert len(outcome.added) == 1100
    assert certificates.count(CertificateQuery(ACME)) == 1100
    assert len(audit_entries(action="import")) == 1100


def test_a_certificate_dated_before_the_year_1000_can_be_opened_after_import(
    acme: ScopeService, certificates: CertificateService
) -> None:
    outcome = certificates.import_sources("acme", [("ancient.der", _year_999_der())])
    assert outcome.added == ["ancient"]
    detail = certificates.get("acme", "ancient")
    assert detail.report.leaf.not_before == datetime(999, 1, 1, tzinfo=UTC)
    assert certificates.delete("acme", "ancient").identifier == "ancient"


def test_import_into_an_unknown_scope(scopes: ScopeService, certificates: CertificateService) -> None:
    from certdesk.domain.errors import NotFound

    with pytest.raises(NotFound):
        certificates.import_sources("ghost", [("a.pem", make_certificate("a").pem.encode())])


def test_progress_is_reported_while_skipping_duplicates(acme: ScopeService, certificates: CertificateService) -> None:
    bundle = make_bundle(250, prefix="again").encode()
    certificates.import_sources("acme", [("first.pem", bundle)])
    calls: list[int] = []
    outcome = certificates.import_sources("acme", [("again.pem", bundle)], progress=lambda done, _: calls.append(done))
    assert (outcome.added, outcome.duplicates) == ([], 250)
    assert calls == [100, 200, 250]
