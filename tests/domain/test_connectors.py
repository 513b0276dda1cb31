"""Vault connector rules that need no server: URL, renewal interval, engine, token rules, stored settings."""

from __future__ import annotations

import pytest

from certdesk.domain.connectors import (
    INVALID_URL,
    NEGATIVE_INTERVAL,
    NON_RENEWABLE_RULE,
    ROOT_TOKEN_RULE,
    AuthMethod,
    VaultSettings,
    token_rule_violation,
    validate_settings,
    validate_url,
)
from certdesk.domain.errors import InvalidInput


@pytest.mark.parametrize("url", ["https://vault.example.com:8200", "http://127.0.0.1:8200/", "https://v"])
def test_http_and_https_urls_are_accepted(url: str) -> None:
    assert validate_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["", "vault:8200", "ftp://vault", "https://", "https://vault:99999", "https://a b"])
def test_other_urls_are_refused_with_harness_message(url: str) -> None:
    with pytest.raises(InvalidInput, match=f"^{INVALID_URL}"):
        validate_url(url)


def test_negative_renewal_interval_has_harness_message() -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_settings(VaultSettings(url="https://v", renewal_minutes=-1))
    assert refused.value.message == NEGATIVE_INTERVAL


def test_auth_methods_need_their_fields_and_settings_are_normalised() -> None:
    with pytest.raises(InvalidInput, match="Role Id"):
        validate_settings(VaultSettings(url="https://v", auth=AuthMethod.APPROLE))
    with pytest.raises(InvalidInput, match="sink path"):
        validate_settings(VaultSettings(url="https://v", auth=AuthMethod.VAULT_AGENT))
    clean = validate_settings(VaultSettings(url=" https://v/ ", base_path="/team/a/", engine="/kv/"))
    assert (clean.url, clean.base_path, clean.engine) == ("https://v", "team/a", "kv")
    assert clean.validation_path == "team/a/certdesk_validation"


@pytest.mark.parametrize(
    ("policies", "renewable", "minutes", "auth", "expected"),
    [
        (["root"], True, 10, AuthMethod.TOKEN, ROOT_TOKEN_RULE),
        (["root"], True, 0, AuthMethod.TOKEN, None),
        (["default"], False, 10, AuthMethod.TOKEN, NON_RENEWABLE_RULE),
        (["default"], False, 0, AuthMethod.TOKEN, None),
        (["default"], True, 10, AuthMethod.TOKEN, None),
        (["root"], True, 10, AuthMethod.APPROLE, None),
    ],
)
def test_token_rules(
    policies: list[str], renewable: bool, minutes: int, auth: AuthMethod, expected: str | None
) -> None:
    assert token_rule_violation(policies, renewable, minutes, auth) == expected


def test_stored_settings_round_trip_and_damaged_ones_do_not_break_a_list() -> None:
    settings = VaultSettings(url="https://v", auth=AuthMethod.APPROLE, role_id="r", extra={"secret_id_ref": "x"})
    assert VaultSettings.from_json(settings.to_json()) == settings
    damaged = VaultSettings.from_json({"auth": "kerberos", "unknown": 1})
    assert damaged.url == ""
    assert damaged.auth is AuthMethod.TOKEN
