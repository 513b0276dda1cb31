"""`certdesk connector ...` as a subprocess against a real OpenBao server: exit codes, JSON, no secret leaks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.openbao import OpenBaoServer, enable_kv, unique_name

pytestmark = [pytest.mark.vault, pytest.mark.slow]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env.update(
        CERTDESK_DATABASE=str(tmp_path / "cli.db"),
        CERTDESK_LOG_DIR=str(tmp_path / "logs"),
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        PYTHON_KEYRING_BACKEND="tests.helpers.keyrings.FileKeyring",
        CERTDESK_TEST_KEYRING_FILE=str(tmp_path / "keyring.json"),
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    return env


def certdesk(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "certdesk", *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


def test_connector_lifecycle_from_the_terminal(cli_env: dict[str, str], openbao: OpenBaoServer, tmp_path: Path) -> None:
    engine = enable_kv(openbao.admin, unique_name("kv"), 2)
    ca = tmp_path / "ca.pem"
    ca.write_text(openbao.ca_pem)
    for command in (["scope", "create", "acme"], ["scope", "create", "acme/eng"]):
        assert certdesk(cli_env, *command).returncode == 0
    assert (
        certdesk(
            cli_env, "cert", "add", "acme", "--name", "Vault CA", "--identifier", "vault_ca", "--file", str(ca)
        ).returncode
        == 0
    )
    env = dict(cli_env, ROOT_TOKEN=openbao.root_token)
    common = ["--url", openbao.url, "--auth", "token", "--token-env", "ROOT_TOKEN", "--engine", engine]

    refused = certdesk(
        env, "connector", "add-vault", "acme/eng", "--name", "Vault", *common, "--certificate", "account.vault_ca"
    )
    assert refused.returncode == 3
    assert "The token used is a root token" in refused.stderr

    added = certdesk(
        env,
        "connector",
        "add-vault",
        "acme/eng",
        "--name",
        "Vault",
        *common,
        "--renewal-interval",
        "0",
        "--certificate",
        "account.vault_ca",
        "--json",
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["certificate"] == "account.vault_ca"

    tested = certdesk(cli_env, "connector", "test", "acme/eng", "Vault", "--json")
    assert tested.returncode == 0, tested.stdout
    report = json.loads(tested.stdout)
    assert report["ok"] is True
    assert [step["status"] for step in report["steps"]] == ["passed"] * 6

    in_use = certdesk(cli_env, "cert", "delete", "acme", "vault_ca")
    assert in_use.returncode == 4
    assert "Vault" in in_use.stderr

    edited = certdesk(cli_env, "connector", "edit", "acme/eng", "Vault", "--certificate", "none")
    assert edited.returncode == 0, edited.stderr
    failing = certdesk(cli_env, "connector", "test", "acme/eng", "Vault", "--json")
    assert failing.returncode == 6
    assert json.loads(failing.stdout)["verdict"].startswith("TLS failed")

    shown = certdesk(cli_env, "connector", "show", "acme/eng", "Vault", "--json")
    listed = certdesk(cli_env, "connector", "list", "acme/eng", "--json")
    everything = "".join(
        [added.stdout, added.stderr, tested.stdout, shown.stdout, listed.stdout, failing.stdout, refused.stderr]
    )
    assert openbao.root_token not in everything
    assert openbao.root_token not in (tmp_path / "cli.db").read_bytes().decode("latin-1")
    for log in (tmp_path / "logs").glob("*"):
        assert openbao.root_token not in log.read_text()

    assert certdesk(cli_env, "connector", "delete", "acme/eng", "Vault").returncode == 0
    assert json.loads((tmp_path / "keyring.json").read_text()) == {}


def test_bad_values_are_refused_with_harness_messages(cli_env: dict[str, str]) -> None:
    assert certdesk(cli_env, "scope", "create", "acme").returncode == 0
    env = dict(cli_env, T="x")
    bad_url = certdesk(
        env,
        "connector",
        "add-vault",
        "acme",
        "--name",
        "V",
        "--url",
        "vault:8200",
        "--auth",
        "token",
        "--token-env",
        "T",
    )
    assert bad_url.returncode == 3
    assert bad_url.stderr.startswith("Invalid value for Vault URL")
    negative = certdesk(
        env,
        "connector",
        "add-vault",
        "acme",
        "--name",
        "V",
        "--url",
        "https://v",
        "--auth",
        "token",
        "--token-env",
        "T",
        "--renewal-interval",
        "-5",
    )
    assert negative.returncode == 3
    assert negative.stderr.strip() == "Invalid value for renewal interval. It cannot be negative number"
    missing = certdesk(cli_env, "connector", "test", "acme", "nope")
    assert missing.returncode == 5
