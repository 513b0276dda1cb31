"""A Vault token or AppRole Secret Id never reaches the database file, the logs, `--json` output or an error.

The real command against a real OpenBao server, with a keyring file shared by the subprocesses. After
every run, the SQLite file with its -wal and -shm (kept alive by a watching connection, so the log of
recent transactions is still there to read), the log folder, and everything printed so far are
searched for each secret, as text, base64 and hex. Keyrings that fail put the secrets in their own
error messages, to prove certdesk never repeats them.
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.openbao import (
    OpenBaoServer,
    create_policy,
    enable_approle,
    enable_kv,
    read_write_policy,
    unique_name,
)
from tests.reliability.support import EXIT_INVALID, EXIT_OK, Certdesk, Run

pytestmark = [pytest.mark.vault, pytest.mark.slow]
EXIT_TEST_FAILED = 6
FILE_KEYRING = "tests.helpers.keyrings.FileKeyring"


@dataclass
class Witness:
    """Runs the command and, after each run, looks for every secret everywhere it must not be."""

    certdesk: Certdesk
    keyring_file: Path
    secrets: set[str] = field(default_factory=set)
    printed: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, *args: str, env: dict[str, str] | None = None, keyring: str = FILE_KEYRING) -> Run:
        run = self.certdesk(*args, env={"PYTHON_KEYRING_BACKEND": keyring, **(env or {})})
        run.assert_clean()
        self.printed += [(f"stdout of {args[:2]}", run.out), (f"stderr of {args[:2]}", run.err)]
        self.check()
        return run

    def places(self) -> Iterator[tuple[str, bytes]]:
        database = self.certdesk.database
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            if path.exists():
                yield path.name, path.read_bytes()
        for path in sorted(self.certdesk.log_dir.glob("*")):
            yield f"log {path.name}", path.read_bytes()
        for name, text in self.printed:
            yield name, text.encode("utf-8", "surrogateescape")

    def check(self) -> None:
        for secret in self.secrets:
            forms = {secret.encode(), base64.b64encode(secret.encode()), secret.encode().hex().encode()}
            for place, data in self.places():
                for form in forms:
                    assert form not in data, f"a secret ({len(secret)} characters) is in {place}"

    def keyring(self) -> dict[str, str]:
        return json.loads(self.keyring_file.read_text()) if self.keyring_file.exists() else {}


@pytest.fixture
def witness(certdesk: Certdesk, tmp_path: Path, openbao: OpenBaoServer) -> Iterator[Witness]:
    """acme/eng, with the OpenBao CA stored in acme as `vault_ca`; a watcher keeps the WAL file in place."""
    keyring_file = tmp_path / "keyring.json"
    certdesk.extra_env["CERTDESK_TEST_KEYRING_FILE"] = str(keyring_file)
    ca = tmp_path / "vault-ca.pem"
    ca.write_text(openbao.ca_pem)
    seen = Witness(certdesk, keyring_file)
    assert seen("scope", "create", "acme").code == EXIT_OK
    assert seen("scope", "create", "acme/eng").code == EXIT_OK
    assert seen("cert", "add", "acme", "--name", "Vault CA", "--identifier", "vault_ca", "--file", str(ca)).code == 0
    watcher = sqlite3.connect(certdesk.database)
    watcher.execute("SELECT COUNT(*) FROM scope").fetchall()
    try:
        yield seen
    finally:
        watcher.close()
    seen.check()


def _kv_role(openbao: OpenBaoServer) -> tuple[str, str, str]:
    """A KV v2 engine, and an AppRole whose tokens may write there: (engine, role id, role name)."""
    engine = enable_kv(openbao.admin, unique_name("kv"), 2)
    policy = create_policy(openbao.admin, unique_name("rw"), read_write_policy(engine, 2))
    role = enable_approle(openbao.admin, unique_name("role"), (policy,))
    return engine, role.role_id, role.role_name


def _approle_options(openbao: OpenBaoServer, engine: str, role_id: str) -> list[str]:
    return ["--url", openbao.url, "--auth", "approle", "--role-id", role_id, "--engine", engine]


def test_approle_secret_ids_stay_in_the_keyring(witness: Witness, openbao: OpenBaoServer) -> None:
    engine, role_id, role_name = _kv_role(openbao)
    first = openbao.admin.auth.approle.generate_secret_id(role_name)["data"]["secret_id"]
    witness.secrets.add(first)

    added = witness(
        "connector", "add-vault", "acme/eng", "--name", "By role", "--identifier", "by_role",
        *_approle_options(openbao, engine, role_id), "--secret-id-env", "SECRET_ID",
        "--certificate", "account.vault_ca", "--json", env={"SECRET_ID": first},
    )  # fmt: skip
    assert added.code == EXIT_OK, added.err
    assert added.json()["has_secret"] is True
    assert list(witness.keyring().values()) == [first]  # where it belongs, and only there

    tested = witness("connector", "test", "acme/eng", "by_role", "--json")
    assert tested.code == EXIT_OK, tested.out
    assert json.loads(tested.out)["ok"] is True
    for command in (("show", "acme/eng", "by_role", "--json"), ("show", "acme/eng", "by_role"), ("list", "acme/eng")):
        assert witness("connector", *command).code == EXIT_OK

    # A new Secret Id replaces the old one, in the keyring only.
    second = openbao.admin.auth.approle.generate_secret_id(role_name)["data"]["secret_id"]
    witness.secrets.add(second)
    edited = witness("connector", "edit", "acme/eng", "by_role", "--secret-id-env", "NEW", env={"NEW": second})
    assert edited.code == EXIT_OK, edited.err
    assert list(witness.keyring().values()) == [second]
    assert witness("connector", "test", "acme/eng", "by_role").code == EXIT_OK

    assert witness("connector", "delete", "acme/eng", "by_role").code == EXIT_OK
    assert witness.keyring() == {}


def test_a_wrong_secret_id_is_refused_without_being_repeated(witness: Witness, openbao: OpenBaoServer) -> None:
    engine, role_id, _ = _kv_role(openbao)
    wrong = str(uuid.uuid4())
    witness.secrets.add(wrong)

    added = witness(
        "connector", "add-vault", "acme/eng", "--name", "Wrong role", "--identifier", "wrong_role",
        *_approle_options(openbao, engine, role_id), "--secret-id-env", "SECRET_ID",
        "--certificate", "account.vault_ca", env={"SECRET_ID": wrong},
    )  # fmt: skip
    assert added.code == EXIT_OK, added.err

    tested = witness("connector", "test", "acme/eng", "wrong_role", "--json")
    assert tested.code == EXIT_TEST_FAILED
    assert "AppRole login failed" in json.loads(tested.out)["verdict"]
    shown = witness("connector", "show", "acme/eng", "wrong_role", "--json")  # the verdict is stored: no secret
    assert "AppRole login failed" in shown.json()["last_test"]["verdict"]


@pytest.mark.parametrize(
    "token",
    [
        "hvs." + secrets.token_urlsafe(24),  # well formed, unknown to the server
        "s." + secrets.token_urlsafe(18) + "\r",  # a Windows line end from a file: an invalid header value
        "bad token with spaces " + secrets.token_hex(8),
        "hvs.t\u00f6k\u20acn" + secrets.token_hex(8),  # not Latin-1: no HTTP header can carry it
    ],
    ids=["unknown", "carriage-return", "spaces", "not-latin-1"],
)
def test_a_wrong_token_is_refused_without_being_repeated(witness: Witness, openbao: OpenBaoServer, token: str) -> None:
    engine = enable_kv(openbao.admin, unique_name("kv"), 2)
    witness.secrets.add(token)
    common = ["--url", openbao.url, "--auth", "token", "--token-env", "TOKEN", "--engine", engine]

    added = witness(
        "connector", "add-vault", "acme/eng", "--name", "Wrong token", "--identifier", "wrong_token", *common,
        "--certificate", "account.vault_ca", "--json", env={"TOKEN": token},
    )  # fmt: skip
    assert added.code in (EXIT_OK, EXIT_INVALID), added.err
    if added.code == EXIT_OK:
        tested = witness("connector", "test", "acme/eng", "wrong_token", "--json")
        assert tested.code == EXIT_TEST_FAILED
        assert json.loads(tested.out)["verdict"].startswith("Authentication failed")
        assert witness("connector", "show", "acme/eng", "wrong_token").code == EXIT_OK
        renewed_list = witness("connector", "list", "acme/eng", "--json")
        assert renewed_list.code == EXIT_OK


def test_a_keyring_that_refuses_to_store(witness: Witness, openbao: OpenBaoServer) -> None:
    """The backend's error quotes the token: certdesk says the keyring failed, and stores no connector."""
    token = "hvs." + secrets.token_urlsafe(24)
    witness.secrets.add(token)

    added = witness(
        "connector", "add-vault", "acme/eng", "--name", "Unstored", "--url", openbao.url, "--auth", "token",
        "--token-env", "TOKEN", "--renewal-interval", "0", "--certificate", "account.vault_ca",
        env={"TOKEN": token}, keyring="tests.reliability.keyrings.RefusingKeyring",
    )  # fmt: skip

    assert added.code == EXIT_INVALID
    assert "could not be stored in the OS keyring" in added.err
    assert witness("connector", "list", "acme/eng", "--json").json() == []  # no row without its secret

    nothing = witness(
        "connector", "add-vault", "acme/eng", "--name", "Unstored", "--url", openbao.url, "--auth", "token",
        "--token-env", "TOKEN", "--renewal-interval", "0",
        env={"TOKEN": token}, keyring="keyring.backends.fail.Keyring",
    )  # fmt: skip
    assert nothing.code == EXIT_INVALID
    assert "no keyring backend is available" in nothing.err


def test_a_keyring_that_cannot_be_read(witness: Witness, openbao: OpenBaoServer) -> None:
    """Stored fine, then the keyring locks, and its errors quote every secret it holds."""
    engine, role_id, role_name = _kv_role(openbao)
    secret_id = openbao.admin.auth.approle.generate_secret_id(role_name)["data"]["secret_id"]
    witness.secrets.add(secret_id)
    added = witness(
        "connector", "add-vault", "acme/eng", "--name", "Locked", "--identifier", "locked",
        *_approle_options(openbao, engine, role_id), "--secret-id-env", "SECRET_ID",
        "--certificate", "account.vault_ca", env={"SECRET_ID": secret_id},
    )  # fmt: skip
    assert added.code == EXIT_OK, added.err
    locked = "tests.reliability.keyrings.UnreadableKeyring"

    tested = witness("connector", "test", "acme/eng", "locked", "--json", keyring=locked)
    assert tested.code == EXIT_INVALID
    assert "keyring could not be read" in tested.err
    shown = witness("connector", "show", "acme/eng", "locked", "--json", keyring=locked)
    assert shown.json()["has_secret"] is False
    assert witness("connector", "list", "acme/eng", keyring=locked).code == EXIT_OK
    edited = witness("connector", "edit", "acme/eng", "locked", "--name", "Renamed", keyring=locked)
    assert edited.code in (EXIT_OK, EXIT_INVALID), edited.err
    assert witness("connector", "delete", "acme/eng", "locked", keyring=locked).code == EXIT_OK
