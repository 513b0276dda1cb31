"""HashiCorp Vault connector settings and Harness's rules for them (no secrets here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlparse

from certdesk.domain.errors import InvalidInput

INVALID_URL = "Invalid value for Vault URL"
NEGATIVE_INTERVAL = "Invalid value for renewal interval. It cannot be negative number"
ROOT_TOKEN_RULE = "The token used is a root token. Please set renewal interval as zero if you are using root token."  # noqa: S105 - a message
NON_RENEWABLE_RULE = (
    "The token used is a non-renewable token. Please set renewal interval as zero or use a renewable token."
)
VALIDATION_SECRET = "certdesk_validation"  # noqa: S105 - a path name
DEFAULT_RENEWAL_MINUTES = 10


class AuthMethod(StrEnum):
    TOKEN = "token"  # noqa: S105 - a method name
    APPROLE = "approle"
    VAULT_AGENT = "vault-agent"

    @property
    def label(self) -> str:
        return {"token": "Token", "approle": "App Role", "vault-agent": "Vault Agent"}[self.value]

    @property
    def renews(self) -> bool:
        """Token and AppRole tokens are renewed by certdesk; an agent renews its own."""
        return self is not AuthMethod.VAULT_AGENT


@dataclass(frozen=True)
class VaultSettings:
    """Everything about a Vault connector except its secrets, which live in the OS keyring."""

    url: str
    auth: AuthMethod = AuthMethod.TOKEN
    base_path: str = ""
    namespace: str = ""
    role_id: str = ""
    sink_path: str = ""
    renewal_minutes: int = DEFAULT_RENEWAL_MINUTES
    read_only: bool = False
    engine: str = "secret"
    engine_version: int = 2
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["auth"] = self.auth.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VaultSettings:
        """Read stored settings; missing or unknown values fall back to defaults rather than fail a list."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known.setdefault("url", "")
        try:
            known["auth"] = AuthMethod(known.get("auth", "token"))
        except ValueError:
            known["auth"] = AuthMethod.TOKEN
        return cls(**known)

    @property
    def validation_path(self) -> str:
        """Where Test Connection writes and reads back its validation secret, inside the engine."""
        return "/".join(part for part in (self.base_path.strip("/"), VALIDATION_SECRET) if part)


def validate_url(url: str) -> str:
    text = url.strip()
    parsed = urlparse(text)
    try:
        port_ok = parsed.port is None or 0 < parsed.port < 65536
    except ValueError:
        port_ok = False
    if parsed.scheme not in {"http", "https"} or not parsed.hostname or not port_ok or " " in text:
        raise InvalidInput(f"{INVALID_URL}: give an http(s) URL such as https://vault.example.com:8200.")
    return text.rstrip("/")


def validate_renewal(minutes: int) -> int:
    if minutes < 0:
        raise InvalidInput(NEGATIVE_INTERVAL)
    if minutes > 525_600:
        raise InvalidInput("Invalid value for renewal interval. It can be at most one year (525600 minutes).")
    return minutes


def validate_engine(name: str, version: int) -> tuple[str, int]:
    engine = name.strip().strip("/")
    if not engine or any(c in engine for c in " \t\n") or ".." in engine:
        raise InvalidInput("Invalid secret engine name: give the mount path of a KV engine, such as secret.")
    if version not in (1, 2):
        raise InvalidInput("Invalid secret engine version: a KV engine is version 1 or 2.")
    return engine, version


def validate_settings(settings: VaultSettings) -> VaultSettings:
    """Check every rule that does not need the server; return the settings normalised."""
    url = validate_url(settings.url)
    validate_renewal(settings.renewal_minutes)
    engine, version = validate_engine(settings.engine, settings.engine_version)
    if settings.auth is AuthMethod.APPROLE and not settings.role_id.strip():
        raise InvalidInput("App Role authentication needs a Role Id.")
    if settings.auth is AuthMethod.VAULT_AGENT and not settings.sink_path.strip():
        raise InvalidInput("Vault Agent authentication needs the sink path of the agent's token file.")
    return VaultSettings(
        url=url,
        auth=settings.auth,
        base_path=settings.base_path.strip().strip("/"),
        namespace=settings.namespace.strip().strip("/"),
        role_id=settings.role_id.strip(),
        sink_path=settings.sink_path.strip(),
        renewal_minutes=settings.renewal_minutes,
        read_only=settings.read_only,
        engine=engine,
        engine_version=version,
        extra=dict(settings.extra),
    )


def validate_secret(value: str, what: str) -> str:
    """A token or Secret Id as pasted: surrounding white space dropped, anything else a Vault never issues refused.

    The message never repeats the secret.
    """
    secret = value.strip()
    if not secret:
        raise InvalidInput(f"The {what} is empty.")
    if any(not "\x21" <= character <= "\x7e" for character in secret):
        raise InvalidInput(
            f"The {what} holds a character that no Vault {what} has (a space, a line break or a non-ASCII "
            "character): paste it again."
        )
    return secret


def token_rule_violation(policies: list[str], renewable: bool, renewal_minutes: int, auth: AuthMethod) -> str | None:
    """Harness's token rules: with a non-zero renewal interval, no root and no non-renewable token."""
    if auth is not AuthMethod.TOKEN or renewal_minutes == 0:
        return None
    if "root" in policies:
        return ROOT_TOKEN_RULE
    if not renewable:
        return NON_RENEWABLE_RULE
    return None
