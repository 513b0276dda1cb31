"""Two imports of the same certificates into one scope at once: each certificate is stored once."""

from __future__ import annotations

import threading

from certdesk.domain.scopes import ScopePath
from certdesk.services.certificates import CertificateService
from certdesk.services.scopes import ScopeService
from certdesk.services.session import end_thread_session
from certdesk.services.views import CertificateQuery, ImportOutcome
from tests.helpers.certs import make_bundle


def test_simultaneous_imports_store_each_certificate_once(
    scopes: ScopeService, certificates: CertificateService
) -> None:
    scopes.create("acme")
    bundle = make_bundle(300, prefix="race").encode()
    start = threading.Barrier(2)
    outcomes: list[ImportOutcome] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            outcomes.append(certificates.import_sources("acme", [("race.pem", bundle)]))
        except BaseException as error:  # reported below: a thread's failure must fail the test
            errors.append(error)
        finally:
            end_thread_session()  # each thread used its own connection

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(len(outcome.added) for outcome in outcomes) == [0, 300]
    assert sorted(outcome.duplicates for outcome in outcomes) == [0, 300]
    assert certificates.count(CertificateQuery(ScopePath.parse("acme"))) == 300
