"""The analyser's contract, checked the same way by the property tests and the fuzz tests."""

from __future__ import annotations

from datetime import UTC, datetime

from certdesk.domain.errors import INVALID_CERTIFICATE, InvalidCertificate, PrivateKeyRefused
from certdesk.domain.x509 import ChainReport, analyse

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def accepts_or_refuses(data: bytes | str, now: datetime = NOW) -> ChainReport | None:
    """A report that reads back to the same certificates, or one of the domain's two refusals in its
    documented shape (the standard first line, then one line of cause); any other exception fails."""
    refused: PrivateKeyRefused | InvalidCertificate | None = None
    try:
        report = analyse(data, now)
    except (PrivateKeyRefused, InvalidCertificate) as error:
        refused = error
    if isinstance(refused, PrivateKeyRefused):
        assert str(refused).startswith("Invalid request: the input contains a PRIVATE KEY block.")
        return None
    if isinstance(refused, InvalidCertificate):
        first, _, detail = str(refused).partition("\n")
        assert first == INVALID_CERTIFICATE
        assert detail
        assert detail == refused.detail
        assert "\n" not in detail  # one line a person reads, whatever the input held
        return None
    assert isinstance(report, ChainReport)
    assert report.members
    # What would be stored reads back to the same certificates.
    assert [m.sha256 for m in analyse(report.pem, now).members] == [m.sha256 for m in report.members]
    return report
