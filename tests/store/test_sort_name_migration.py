"""Schema version 2: names sort without regard to case, also in a database made by version 1."""

from __future__ import annotations

from certdesk.domain.scopes import ScopePath
from certdesk.services.certificates import CertificateService
from certdesk.services.scopes import ScopeService
from certdesk.services.views import CertificateDraft, CertificateQuery, SortKey
from certdesk.store.migrations import SCHEMA_VERSION, migrate, read_version
from certdesk.store.models import db
from tests.helpers.certs import make_certificate


def _names(certificates: CertificateService, descending: bool = False) -> list[str]:
    query = CertificateQuery(ScopePath.parse("acme"), sort=SortKey.NAME, descending=descending)
    return [row.name for row in certificates.rows(query)]


def test_names_sort_as_people_read_them(scopes: ScopeService, certificates: CertificateService) -> None:
    scopes.create("acme")
    for name in ("zebra CA", "Apple CA", "Émile CA", "banana CA"):
        certificates.create("acme", CertificateDraft(name=name, pem=make_certificate(name).pem))
    assert _names(certificates) == ["Apple CA", "banana CA", "Émile CA", "zebra CA"]
    assert _names(certificates, descending=True) == ["zebra CA", "Émile CA", "banana CA", "Apple CA"]


def test_version_2_fills_the_sort_names_of_a_version_1_database(
    scopes: ScopeService, certificates: CertificateService
) -> None:
    assert SCHEMA_VERSION >= 2
    scopes.create("acme")
    for name in ("zebra CA", "Apple CA"):
        certificates.create("acme", CertificateDraft(name=name, pem=make_certificate(name).pem))
    database = db.obj
    # Make it the database version 1 wrote: no sort_name column, version 1.
    database.execute_sql("DROP INDEX certificate_scope_id_sort_name")
    database.execute_sql("ALTER TABLE certificate DROP COLUMN sort_name")
    database.execute_sql("UPDATE schema_meta SET value = '1' WHERE key = 'schema_version'")
    assert read_version(database) == 1

    assert migrate(database, None) == 1
    assert read_version(database) == SCHEMA_VERSION
    assert _names(certificates) == ["Apple CA", "zebra CA"]
    assert "certificate_scope_id_sort_name" in {index.name for index in database.get_indexes("certificate")}
