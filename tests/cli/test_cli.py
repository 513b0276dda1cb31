"""Every `certdesk` command, run for real: exit codes, the JSON on stdout, the messages on stderr."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from certdesk.store.models import Certificate, Connector, Scope
from tests.cli.conftest import Cli, World, opened
from tests.helpers.certs import make_bundle, make_certificate

DETAIL_KEYS = {
    "identifier", "name", "description", "tags", "scope", "certificates", "warnings", "used_by",
    "created_at", "updated_at",
}  # fmt: skip
MEMBER_KEYS = {
    "subject", "issuer", "serial", "not_before", "not_after", "sha256", "is_ca", "key_type", "key_size",
    "signature_algorithm", "san",
}  # fmt: skip
ROW_KEYS = {
    "identifier", "reference", "name", "description", "scope", "tags", "used_by", "not_after", "sha256",
    "created_at", "updated_at",
}  # fmt: skip


def _sha256(issued_pem: str) -> str:
    from cryptography.hazmat.primitives import hashes

    return x509.load_pem_x509_certificate(issued_pem.encode()).fingerprint(hashes.SHA256()).hex()


# --- scopes ------------------------------------------------------------------------------------


def test_scope_create_list_and_delete(empty_cli: Cli) -> None:
    created = empty_cli("scope", "create", "acme", "--name", "Acme Inc")
    assert (created.code, created.out) == (0, "Created account acme (Acme Inc).\n")
    assert empty_cli("scope", "create", "acme/eng").code == 0

    scopes = empty_cli("scope", "list", "--json").json()
    assert [(s["path"], s["level"], s["name"]) for s in scopes] == [
        ("acme", "account", "Acme Inc"),
        ("acme/eng", "organization", "eng"),
    ]
    assert scopes[1]["certificates"] == 0

    deleted = empty_cli("scope", "delete", "acme/eng")
    assert (deleted.code, deleted.out) == (0, "Deleted organization acme/eng.\n")


def test_scope_errors(cli: Cli) -> None:
    duplicate = cli("scope", "create", "acme/eng")
    assert duplicate.code == 4
    assert "already exists" in duplicate.err

    orphan = cli("scope", "create", "globex/eng")
    assert orphan.code == 5
    assert "globex" in orphan.err

    too_deep = cli("scope", "create", "acme/eng/payments/extra")
    assert too_deep.code == 3
    assert "at most three parts" in too_deep.err

    not_empty = cli("scope", "delete", "acme/eng")
    assert not_empty.code == 4
    assert "not empty" in not_empty.err

    missing = cli("scope", "delete", "acme/ops")
    assert missing.code == 5
    assert missing.err.strip() == "The organization 'acme/ops' does not exist."


# --- cert add ----------------------------------------------------------------------------------


def test_cert_add_from_stdin_json(cli: Cli, world: World) -> None:
    added = cli(
        "cert", "add", "acme/eng/payments", "--name", "Billing chain", "--identifier", "billing",
        "--description", "The billing gateway", "--tag", "env:prod", "--tag", "pci",
        "--file", "-", "--json", stdin=world.pki.chain_pem,
    )  # fmt: skip
    detail = added.json()
    assert detail.keys() >= DETAIL_KEYS
    assert detail["identifier"] == "billing"
    assert detail["name"] == "Billing chain"
    assert detail["description"] == "The billing gateway"
    assert detail["tags"] == {"env": "prod", "pci": ""}
    assert detail["scope"] == "acme/eng/payments"
    assert detail["used_by"] == []
    assert datetime.fromisoformat(detail["created_at"]) == datetime.fromisoformat(detail["updated_at"])
    members = detail["certificates"]
    assert [m["sha256"] for m in members] == [
        _sha256(world.pki.server.pem), _sha256(world.pki.intermediate.pem), _sha256(world.pki.root.pem)
    ]  # fmt: skip
    for member in members:
        assert member.keys() >= MEMBER_KEYS
    leaf = members[0]
    assert leaf["is_ca"] is False
    assert leaf["key_type"].startswith("EC")
    assert leaf["key_size"] == 256
    assert "DNS:localhost" in leaf["san"]
    assert "IP:127.0.0.1" in leaf["san"]
    assert int(leaf["serial"].replace(":", ""), 16) == world.pki.server.certificate.serial_number
    assert members[2]["is_ca"] is True
    assert isinstance(detail["warnings"], list)


def test_cert_add_from_file_then_duplicates_conflict(cli: Cli, world: World, home: Path) -> None:
    pem_file = home / "edge.pem"
    pem_file.write_text(make_certificate("edge.acme.test", issuer=world.root).pem)
    added = cli("cert", "add", "acme", "--name", "Edge", "--file", str(pem_file))
    assert (added.code, added.out) == (0, "Certificate Edge created successfully\n")

    same_identifier = cli("cert", "add", "acme", "--name", "Other", "--identifier", "root_ca", "--file", "-",
                          stdin=make_certificate("other").pem)  # fmt: skip
    assert same_identifier.code == 4
    assert same_identifier.err.strip() == "A certificate with identifier 'root_ca' already exists in acme."

    same_certificate = cli("cert", "add", "acme", "--name", "Again", "--file", str(pem_file))
    assert same_certificate.code == 4
    assert "already stored in acme as 'Edge'" in same_certificate.err


# --- show and list -----------------------------------------------------------------------------


def test_cert_show_account_and_org_references_from_a_project(cli: Cli, world: World) -> None:
    account = cli("cert", "show", "acme/eng/payments", "account.root_ca", "--json").json()
    assert (account["scope"], account["identifier"], account["name"]) == ("acme", "root_ca", "Root CA")
    assert [m["sha256"] for m in account["certificates"]] == [_sha256(world.root.pem)]

    org = cli("cert", "show", "acme/eng/payments", "org.eng_chain", "--json").json()
    assert (org["scope"], org["identifier"], org["tags"]) == ("acme/eng", "eng_chain", {"env": "prod"})
    assert len(org["certificates"]) == 3

    text = cli("cert", "show", "acme/eng", "eng_chain")
    assert text.code == 0
    assert text.out.startswith("Eng chain (acme/eng/eng_chain)\n")
    assert f"SHA-256:    {_sha256(world.pki.server.pem)}" in text.out
    assert "Used by: no connector" in text.out


def test_cert_list_json_scopes_parents_and_expiry(cli: Cli) -> None:
    own = cli("cert", "list", "acme/eng/payments", "--json").json()
    assert [row["identifier"] for row in own] == ["payments_api"]
    assert own[0].keys() >= ROW_KEYS
    assert "certificates" not in own[0]

    every = cli("cert", "list", "acme/eng/payments", "--include-parents", "--json").json()
    assert sorted((row["reference"], row["scope"]) for row in every) == [
        ("account.root_ca", "acme"),
        ("org.eng_chain", "acme/eng"),
        ("payments_api", "acme/eng/payments"),
    ]

    soon = cli("cert", "list", "acme/eng/payments", "--include-parents", "--expiring-within", "60", "--json").json()
    assert sorted(row["reference"] for row in soon) == ["org.eng_chain", "payments_api"]


def test_cert_list_text(cli: Cli) -> None:
    listed = cli("cert", "list", "acme/eng/payments", "--include-parents")
    assert listed.code == 0
    lines = listed.out.splitlines()
    assert len(lines) == 3
    assert any(line.startswith("account.root_ca") and "Root CA" in line for line in lines)


# --- edit --------------------------------------------------------------------------------------


def test_cert_edit_fields_then_certificate(cli: Cli, world: World) -> None:
    edited = cli(
        "cert", "edit", "acme/eng", "eng_chain", "--name", "Engineering chain", "--description", "Renewed",
        "--tag", "env:staging", "--json",
    ).json()  # fmt: skip
    assert (edited["identifier"], edited["name"], edited["version"]) == ("eng_chain", "Engineering chain", 2)
    assert (edited["description"], edited["tags"]) == ("Renewed", {"env": "staging"})
    assert datetime.fromisoformat(edited["updated_at"]) >= datetime.fromisoformat(edited["created_at"])

    replacement = make_certificate("new-leaf", issuer=world.pki.intermediate)
    new_chain = replacement.pem + world.pki.ca_chain_pem
    replaced = cli("cert", "edit", "acme/eng", "eng_chain", "--file", "-", stdin=new_chain)
    assert (replaced.code, replaced.out) == (0, "Certificate Engineering chain updated successfully\n")
    shown = cli("cert", "show", "acme/eng", "eng_chain", "--json").json()
    assert shown["certificates"][0]["sha256"] == _sha256(replacement.pem)
    assert (shown["name"], shown["tags"], shown["version"]) == ("Engineering chain", {"env": "staging"}, 3)


# --- export and import -------------------------------------------------------------------------


def test_export_pem_der_p7b_and_reimport_counts_duplicates(cli: Cli, world: World, home: Path) -> None:
    pem = cli("cert", "export", "acme", "root_ca")
    assert pem.code == 0
    assert pem.out == world.root.pem

    der = cli("cert", "export", "acme", "root_ca", "--format", "der")
    assert der.code == 0
    assert der.raw == world.root.der

    p7b_file = home / "root.p7b"
    p7b = cli("cert", "export", "acme", "root_ca", "--format", "p7b", "--output", str(p7b_file))
    assert (p7b.code, p7b.out) == (0, "")
    assert f"to {p7b_file}" in p7b.err
    assert [c.public_bytes(serialization.Encoding.DER) for c in pkcs7.load_der_pkcs7_certificates(
        p7b_file.read_bytes())] == [world.root.der]  # fmt: skip

    chain_file = home / "chain.p7b"
    assert cli("cert", "export", "acme/eng", "eng_chain", "--format", "p7b", "--output", str(chain_file)).code == 0
    exported = pkcs7.load_der_pkcs7_certificates(chain_file.read_bytes())
    # PKCS#7 keeps certificates in a DER SET, which has its own order: compare as sets.
    assert {c.public_bytes(serialization.Encoding.PEM).decode() for c in exported} == {
        world.pki.server.pem, world.pki.intermediate.pem, world.pki.root.pem
    }  # fmt: skip

    (home / "root.pem").write_bytes(pem.raw)
    (home / "root.der").write_bytes(der.raw)
    again = cli("cert", "import", "acme", str(home / "root.pem"), str(home / "root.der"), str(p7b_file), "--json")
    assert again.json() == {"scope": "acme", "added": 0, "identifiers": [], "duplicates": 3, "refused": []}


def test_import_folder_counts_added_duplicates_and_refused(cli: Cli, home: Path) -> None:
    folder = home / "incoming"
    (folder / "nested").mkdir(parents=True)
    bundle = make_bundle(4, prefix="incoming")
    first = bundle.split("-----END CERTIFICATE-----\n")[0] + "-----END CERTIFICATE-----\n"
    (folder / "bundle.pem").write_text(bundle)
    (folder / "nested" / "first-again.crt").write_text(first)  # a duplicate of a bundle member
    (folder / "nested" / "single.der").write_bytes(
        x509.load_pem_x509_certificate(make_certificate("der only").pem.encode()).public_bytes(
            serialization.Encoding.DER
        )
    )
    (folder / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n")
    (folder / "notes.txt").write_text("ignored: not a certificate file name")

    result = cli("cert", "import", "acme/eng/payments", str(folder), "--json").json()
    assert result["added"] == 5
    assert result["duplicates"] == 1
    assert sorted(result["identifiers"]) == [
        "der_only", "incoming_000000", "incoming_000001", "incoming_000002", "incoming_000003"
    ]  # fmt: skip
    assert [r["source"] for r in result["refused"]] == [str(folder / "broken.pem")]
    assert "base64" in result["refused"][0]["reason"]

    listed = cli("cert", "list", "acme/eng/payments", "--json").json()
    assert len(listed) == 6


def test_large_import_shows_progress_on_stderr(cli: Cli, home: Path) -> None:
    bundle = home / "large.pem"
    bundle.write_text(make_bundle(450, prefix="large"))
    result = cli("cert", "import", "acme", str(bundle))
    assert result.code == 0
    assert result.out == "Imported into acme: 450 added, 0 duplicates skipped, 0 refused.\n"
    progress = [line for line in result.err_lines if line.startswith("Importing:")]
    assert progress
    assert progress[-1] == "Importing: 450 of about 450 certificates"


# --- delete ------------------------------------------------------------------------------------


def _add_connector(database: Path, scope: str, certificate: str) -> None:
    with opened(database):
        scope_row = Scope.get(Scope.path == scope)
        certificate_row = Certificate.get((Certificate.scope == scope_row) & (Certificate.identifier == certificate))
        now = datetime.now().astimezone()
        Connector.create(
            scope=scope_row, identifier="vault_prod", name="Vault prod", kind="vault",
            certificate=certificate_row, created_at=now, created_by="test", updated_at=now, updated_by="test",
        )  # fmt: skip


def test_delete_in_use_needs_force_which_detaches(cli: Cli) -> None:
    assert cli.database is not None
    _add_connector(cli.database, "acme/eng", "eng_chain")

    refused = cli("cert", "delete", "acme/eng", "eng_chain")
    assert refused.code == 4
    assert "Vault prod (acme/eng/vault_prod)" in refused.err
    assert "force" in refused.err
    assert cli("cert", "show", "acme/eng", "eng_chain", "--json").json()["used_by"] == [
        {"scope": "acme/eng", "identifier": "vault_prod", "name": "Vault prod"}
    ]

    forced = cli("cert", "delete", "acme/eng", "eng_chain", "--force")
    assert (forced.code, forced.out) == (0, "Certificate Eng chain deleted.\n")
    assert "Detached from connector Vault prod (acme/eng/vault_prod)" in forced.err
    with opened(cli.database):
        connector = Connector.get(Connector.identifier == "vault_prod")
        assert connector.certificate_id is None
        assert connector.needs_attention is True

    gone = cli("cert", "show", "acme/eng", "eng_chain")
    assert gone.code == 5
    assert gone.err.strip() == "No certificate 'eng_chain' in organization 'acme/eng'."


def test_delete_unused_certificate(cli: Cli) -> None:
    deleted = cli("cert", "delete", "acme/eng/payments", "payments_api")
    assert (deleted.code, deleted.out, deleted.err) == (0, "Certificate Payments API deleted.\n", "")
    assert cli("cert", "list", "acme/eng/payments", "--json").json() == []
