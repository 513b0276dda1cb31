"""The peewee models: scopes, certificates, connectors and the audit trail."""

from __future__ import annotations

from typing import Any, cast

import peewee

from certdesk.store.fields import JsonField, UtcDateTimeField

db = peewee.DatabaseProxy()


def fetch_tuples(query: Any) -> list[tuple[Any, ...]]:
    """Run a select and return plain tuples: the fast path for long lists (typed for mypy)."""
    return cast(list[tuple[Any, ...]], list(query.tuples()))


def fetch_raw(query: Any) -> list[tuple[Any, ...]]:
    """Run a select and return the driver's rows as they are, skipping peewee's per-column conversion.

    For the hottest path only (listing 100,000 rows): the caller converts the few columns it needs.
    """
    cursor = db.execute(query)
    try:
        return cast(list[tuple[Any, ...]], cursor.fetchall())
    finally:
        cursor.close()


def insert_rows(model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many rows with one prepared statement run by executemany.

    A 500-row `insert_many` builds one statement with thousands of placeholders, which costs more
    than the database's work; a prepared statement repeated by the driver does not.
    """
    if not rows:
        return
    names = list(rows[0])
    fields = [model._meta.fields[name] for name in names]
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    placeholders = ", ".join([db.param] * len(fields))
    # Only the model's own table and column names go into the text; every value is a parameter.
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({placeholders})'  # noqa: S608
    values = [tuple(field.db_value(row[name]) for field, name in zip(fields, names, strict=True)) for row in rows]
    cursor = db.cursor()
    try:
        cursor.executemany(sql, values)
    finally:
        cursor.close()


class BaseModel(peewee.Model):
    id: Any

    class Meta:
        database = db
        legacy_table_names = False


class SchemaMeta(BaseModel):
    """Key/value facts about the database itself, such as its schema version."""

    key = peewee.CharField(primary_key=True, max_length=64)
    value = peewee.TextField()


class Scope(BaseModel):
    """An account, an organization or a project; `path` is `acme`, `acme/eng`, `acme/eng/pay`."""

    path = peewee.CharField(max_length=400, unique=True)
    parent = peewee.ForeignKeyField("self", null=True, backref="children", on_delete="RESTRICT")
    level = peewee.CharField(max_length=16)
    identifier = peewee.CharField(max_length=128)
    name = peewee.CharField(max_length=128)
    description = peewee.TextField(default="")
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()


class Certificate(BaseModel):
    """A named certificate or chain in a scope, with the leaf's parsed fields kept for listing."""

    scope = peewee.ForeignKeyField(Scope, backref="certificates", on_delete="RESTRICT")
    identifier = peewee.CharField(max_length=128)
    name = peewee.CharField(max_length=128)
    sort_name = peewee.CharField(max_length=128, default="")  # name.casefold(): lists sort as people read
    description = peewee.TextField(default="")
    tags = JsonField(default=dict)
    pem = peewee.TextField()
    subject = peewee.TextField()
    subject_cn = peewee.TextField()
    issuer = peewee.TextField()
    issuer_cn = peewee.TextField()
    not_before = UtcDateTimeField()
    not_after = UtcDateTimeField(index=True)
    sha256 = peewee.CharField(max_length=64)
    chain_length = peewee.IntegerField()
    is_ca = peewee.BooleanField()
    search_text = peewee.TextField()  # lower-cased words the filter matches, kept in one column
    version = peewee.IntegerField(default=1)
    created_at = UtcDateTimeField()
    created_by = peewee.CharField(max_length=128)
    updated_at = UtcDateTimeField()
    updated_by = peewee.CharField(max_length=128)

    class Meta:
        indexes = (
            (("scope", "identifier"), True),
            (("scope", "sha256"), False),
            (("scope", "name"), False),
            (("scope", "sort_name"), False),
        )


class Connector(BaseModel):
    """A connector (today: HashiCorp Vault) that may trust one certificate; no secret in here."""

    scope = peewee.ForeignKeyField(Scope, backref="connectors", on_delete="RESTRICT")
    identifier = peewee.CharField(max_length=128)
    name = peewee.CharField(max_length=128)
    description = peewee.TextField(default="")
    tags = JsonField(default=dict)
    kind = peewee.CharField(max_length=32)
    settings = JsonField(default=dict)
    certificate = peewee.ForeignKeyField(Certificate, null=True, backref="connectors", on_delete="SET NULL")
    certificate_id: Any
    needs_attention = peewee.BooleanField(default=False)
    attention_reason = peewee.TextField(default="")
    last_test_at = UtcDateTimeField(null=True)
    last_test_ok = peewee.BooleanField(null=True)
    last_test_summary = peewee.TextField(default="")
    last_renewal_at = UtcDateTimeField(null=True)
    last_renewal_ok = peewee.BooleanField(null=True)
    last_renewal_message = peewee.TextField(default="")
    version = peewee.IntegerField(default=1)
    created_at = UtcDateTimeField()
    created_by = peewee.CharField(max_length=128)
    updated_at = UtcDateTimeField()
    updated_by = peewee.CharField(max_length=128)

    class Meta:
        indexes = ((("scope", "identifier"), True),)


class AuditEntry(BaseModel):
    """Who did what, when, with the state before and after."""

    at = UtcDateTimeField(index=True)
    actor = peewee.CharField(max_length=128)
    action = peewee.CharField(max_length=32)
    entity = peewee.CharField(max_length=32)
    scope_path = peewee.CharField(max_length=400)
    identifier = peewee.CharField(max_length=128)
    summary = peewee.TextField(default="")
    before = JsonField(null=True)
    after = JsonField(null=True)


MODELS: tuple[type[BaseModel], ...] = (SchemaMeta, Scope, Certificate, Connector, AuditEntry)
