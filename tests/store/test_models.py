"""The models' constraints, foreign keys, transactions and column types, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import peewee
import pytest

from certdesk.store.connection import DatabaseInfo
from certdesk.store.fields import to_iso
from certdesk.store.models import MODELS, AuditEntry, Certificate, Connector, SchemaMeta, Scope, db

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _scope(path: str) -> Scope:
    parent = Scope.get(Scope.path == path.rsplit("/", 1)[0]) if "/" in path else None
    level = ("account", "organization", "project")[path.count("/")]
    identifier = path.rsplit("/", 1)[-1]
    return Scope.create(
        path=path, parent=parent, level=level, identifier=identifier, name=identifier, created_at=NOW, updated_at=NOW
    )


def _certificate(scope: Any, identifier: str, sha256: str = "ab" * 32) -> Certificate:
    return Certificate.create(
        scope=scope, identifier=identifier, name=identifier, pem="-----BEGIN CERTIFICATE-----", subject="CN=x",
        subject_cn="x", issuer="CN=x", issuer_cn="x", not_before=NOW, not_after=NOW + timedelta(days=30),
        sha256=sha256, chain_length=1, is_ca=False, search_text=identifier, created_at=NOW, created_by="t",
        updated_at=NOW, updated_by="t",
    )  # fmt: skip


def _connector(scope: Scope, identifier: str, certificate: Certificate | None = None) -> Connector:
    return Connector.create(
        scope=scope, identifier=identifier, name=identifier, kind="vault", certificate=certificate,
        created_at=NOW, created_by="t", updated_at=NOW, updated_by="t",
    )  # fmt: skip


def _stored_created_at(scope: Scope) -> object:
    """The column's text as the database holds it (no conversion by the field)."""
    return db.execute(Scope.select(Scope.created_at).where(Scope.id == scope.id)).fetchone()[0]


def test_every_model_is_bound_to_the_one_proxy(database: DatabaseInfo) -> None:
    assert {model._meta.database for model in MODELS} == {db}
    assert set(MODELS) == {SchemaMeta, Scope, Certificate, Connector, AuditEntry}


def test_scope_paths_are_unique(database: DatabaseInfo) -> None:
    _scope("acme")
    with pytest.raises(peewee.IntegrityError):
        _scope("acme")


def test_certificate_identifier_is_unique_within_a_scope_only(database: DatabaseInfo) -> None:
    acme, other = _scope("acme"), _scope("other")
    _certificate(acme, "root")
    with pytest.raises(peewee.IntegrityError):
        _certificate(acme, "root", sha256="cd" * 32)
    _certificate(other, "root")
    assert Certificate.select().where(Certificate.identifier == "root").count() == 2


def test_connector_identifier_is_unique_within_a_scope_only(database: DatabaseInfo) -> None:
    acme, other = _scope("acme"), _scope("other")
    _connector(acme, "vault")
    with pytest.raises(peewee.IntegrityError):
        _connector(acme, "vault")
    _connector(other, "vault")
    assert Connector.select().count() == 2


def test_foreign_keys_are_enforced(database: DatabaseInfo) -> None:
    with pytest.raises(peewee.IntegrityError):
        _certificate(4242, "orphan")
    assert Certificate.select().count() == 0


def test_a_scope_that_holds_rows_cannot_be_deleted_by_the_database(database: DatabaseInfo) -> None:
    acme = _scope("acme")
    _scope("acme/eng")
    with pytest.raises(peewee.IntegrityError):
        acme.delete_instance()
    assert Scope.select().count() == 2

    other = _scope("other")
    _certificate(other, "root")
    with pytest.raises(peewee.IntegrityError):
        other.delete_instance()
    assert Scope.get_or_none(Scope.path == "other") is not None


def test_deleting_a_certificate_clears_it_from_connectors(database: DatabaseInfo) -> None:
    acme = _scope("acme")
    certificate = _certificate(acme, "root")
    connector = _connector(acme, "vault", certificate)
    certificate.delete_instance()
    assert Connector.get_by_id(connector.id).certificate is None


def test_a_transaction_that_fails_midway_leaves_nothing(database: DatabaseInfo) -> None:
    def write_scope_and_two_certificates() -> None:
        with db.atomic():
            acme = _scope("acme")
            _certificate(acme, "root")
            _certificate(acme, "root", sha256="cd" * 32)  # breaks the unique identifier

    with pytest.raises(peewee.IntegrityError):
        write_scope_and_two_certificates()
    assert Scope.select().count() == 0
    assert Certificate.select().count() == 0


def test_a_transaction_rolls_back_on_any_exception(database: DatabaseInfo) -> None:
    def write_then_fail() -> None:
        with db.atomic():
            _scope("acme")
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        write_then_fail()
    assert Scope.select().count() == 0


def test_utc_datetimes_round_trip_as_aware_utc(database: DatabaseInfo) -> None:
    paris = timezone(timedelta(hours=1))
    local = datetime(2026, 3, 1, 13, 0, 0, 123456, tzinfo=paris)
    scope = Scope.create(path="acme", level="account", identifier="acme", name="A", created_at=local, updated_at=NOW)
    assert _stored_created_at(scope) == "2026-03-01T12:00:00.123456+00:00"
    loaded = Scope.get_by_id(scope.id).created_at
    assert loaded == local
    assert loaded.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(database: DatabaseInfo) -> None:
    with pytest.raises(ValueError, match="aware"):
        Scope.create(
            path="acme", level="account", identifier="acme", name="A", created_at=datetime(2026, 1, 1), updated_at=NOW
        )
    assert Scope.select().count() == 0


def test_stored_instants_sort_as_time() -> None:
    instants = [
        datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(999, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5))),  # 05:00 UTC
        datetime(2026, 1, 1, tzinfo=UTC),
    ]
    assert sorted(instants, key=to_iso) == sorted(instants)


def test_comparing_an_instant_column_with_a_datetime(database: DatabaseInfo) -> None:
    acme = _scope("acme")
    _certificate(acme, "soon")
    later = _certificate(acme, "later", sha256="cd" * 32)
    Certificate.update(not_after=NOW + timedelta(days=400)).where(Certificate.id == later.id).execute()
    found = Certificate.select().where(Certificate.not_after <= NOW + timedelta(days=31))
    assert [row.identifier for row in found] == ["soon"]


def test_json_fields_round_trip(database: DatabaseInfo) -> None:
    acme = _scope("acme")
    connector = _connector(acme, "vault")
    Connector.update(tags={"env": "prod", "équipe": "paiements"}, settings={"url": "https://v", "n": [1, 2]}).where(
        Connector.id == connector.id
    ).execute()
    loaded = Connector.get_by_id(connector.id)
    assert loaded.tags == {"env": "prod", "équipe": "paiements"}
    assert loaded.settings == {"url": "https://v", "n": [1, 2]}
    assert _connector(acme, "plain").tags == {}
    entry = AuditEntry.create(
        at=NOW, actor="t", action="create", entity="scope", scope_path="acme", identifier="acme", before=None,
        after={"name": "Acme"},
    )  # fmt: skip
    loaded_entry = AuditEntry.get_by_id(entry.id)
    assert loaded_entry.before is None
    assert loaded_entry.after == {"name": "Acme"}


def test_an_instant_before_the_year_1000_is_stored_padded_and_read_back(database: DatabaseInfo) -> None:
    """A certificate's GeneralizedTime may hold such a year; the row must still load."""
    ancient = datetime(999, 1, 1, tzinfo=UTC)
    scope = Scope.create(path="acme", level="account", identifier="acme", name="A", created_at=ancient, updated_at=NOW)
    assert _stored_created_at(scope) == "0999-01-01T00:00:00.000000+00:00"
    assert Scope.get_by_id(scope.id).created_at == ancient
