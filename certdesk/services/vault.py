"""Talking to a Vault (or OpenBao) server: Test Connection step by step, engines, token renewal."""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import requests
from requests.adapters import HTTPAdapter

from certdesk.domain.connectors import AuthMethod, VaultSettings, token_rule_violation
from certdesk.domain.x509 import CertificateInfo
from certdesk.services.clock import Clock
from certdesk.services.tls_check import Endpoint, chain_summary, reach, trust_context, verify_tls

DEFAULT_TIMEOUT = 4.0  # a closed port or a silent server fails well within 5 s


class StepStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Step:
    name: str
    status: StepStatus
    detail: str


@dataclass(frozen=True)
class TestReport:
    """What Test Connection proved, step by step; the verdict is the first failure."""

    __test__ = False  # not a pytest class

    steps: tuple[Step, ...]
    presented_chain: tuple[CertificateInfo, ...] = ()
    renewal_fix_offered: bool = False
    tested_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return all(step.status is not StepStatus.FAILED for step in self.steps)

    @property
    def verdict(self) -> str:
        for step in self.steps:
            if step.status is StepStatus.FAILED:
                return f"{step.name} failed: {step.detail}"
        return "Connection succeeded: every step passed."


@dataclass
class Credentials:
    """Secrets for one test or renewal, read from the keyring just before use and never stored."""

    token: str = ""
    secret_id: str = ""

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"


@dataclass
class _Run:
    steps: list[Step] = field(default_factory=list)
    failed: bool = False

    def add(self, name: str, ok: bool | None, detail: str) -> None:
        if self.failed:
            self.steps.append(Step(name, StepStatus.SKIPPED, "Not run: an earlier step failed."))
            return
        status = StepStatus.SKIPPED if ok is None else (StepStatus.PASSED if ok else StepStatus.FAILED)
        self.steps.append(Step(name, status, detail))
        self.failed = status is StepStatus.FAILED


class _TrustAdapter(HTTPAdapter):
    """Makes requests verify with our context: exactly the selected chain, partial chains allowed."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


ClientFactory = Callable[..., hvac.Client]


class VaultGateway:
    """Everything certdesk asks a Vault server; the hvac client factory is passed in."""

    def __init__(self, clock: Clock, client_factory: ClientFactory = hvac.Client, timeout: float = DEFAULT_TIMEOUT):
        self.clock = clock
        self.client_factory = client_factory
        self.timeout = timeout

    @contextmanager
    def client(self, settings: VaultSettings, trust_pem: str | None) -> Iterator[hvac.Client]:
        """An hvac client that trusts the selected chain (or the system store), closed afterwards."""
        session = requests.Session()
        ca_file: str | None = None
        try:
            if settings.url.startswith("https") and trust_pem:
                handle, ca_file = tempfile.mkstemp(prefix="certdesk-ca-", suffix=".pem")
                with os.fdopen(handle, "w") as stream:
                    stream.write(trust_pem)
                session.mount("https://", _TrustAdapter(trust_context(trust_pem)))
            verify: bool | str = ca_file or True
            client = self.client_factory(
                url=settings.url,
                namespace=settings.namespace or None,
                verify=verify,
                timeout=self.timeout,
                session=session,
            )
            yield client
        finally:
            session.close()
            if ca_file:
                Path(ca_file).unlink(missing_ok=True)

    # --- Test Connection ---------------------------------------------------------------------

    def test(self, settings: VaultSettings, trust_pem: str | None, credentials: Credentials) -> TestReport:
        run = _Run()
        endpoint = Endpoint.from_url(settings.url)
        reached = reach(endpoint, self.timeout)
        run.add("Reach", reached.ok, reached.detail)
        presented = chain_summary(reached.presented)
        if endpoint.scheme != "https":
            run.add("TLS", None, "The URL uses http: the connection is not encrypted, so there is no chain to check.")
        else:
            ok, detail = verify_tls(endpoint, trust_pem, reached.presented, self.timeout, self.clock.now())
            run.add("TLS", ok, detail)
        fix_offered = False
        if run.failed:
            for name in ("Authentication", "Token rules", "Secret engine", "Write and read back"):
                run.add(name, None, "")
            return TestReport(tuple(run.steps), presented, False, self.clock.now())
        with self.client(settings, trust_pem) as client:
            lookup = self._authenticate(client, settings, credentials, run)
            if lookup is None:
                run.add("Token rules", None, "")
            else:
                policies = list(lookup.get("policies") or [])
                renewable = bool(lookup.get("renewable"))
                violation = token_rule_violation(policies, renewable, settings.renewal_minutes, settings.auth)
                if violation:
                    fix_offered = True
                    run.add("Token rules", False, violation)
                elif settings.auth is AuthMethod.TOKEN:
                    kind = "root" if "root" in policies else ("renewable" if renewable else "non-renewable")
                    run.add("Token rules", True, f"A {kind} token with renewal interval {settings.renewal_minutes}.")
                else:
                    run.add("Token rules", None, f"The rules apply to Token authentication, not {settings.auth.label}.")
            self._check_engine(client, settings, run)
        return TestReport(tuple(run.steps), presented, fix_offered, self.clock.now())

    def _authenticate(
        self, client: hvac.Client, settings: VaultSettings, credentials: Credentials, run: _Run
    ) -> dict[str, Any] | None:
        try:
            how = self.login(client, settings, credentials)
            data = client.auth.token.lookup_self()["data"]
        except _AuthProblem as problem:
            run.add("Authentication", False, str(problem))
            return None
        except hvac.exceptions.Forbidden:
            run.add("Authentication", False, "The server refused the token (permission denied): it is invalid, "
                    "expired or revoked.")  # fmt: skip
            return None
        except hvac.exceptions.VaultError as error:
            run.add("Authentication", False, f"The server refused the login: {_vault_reason(error)}.")
            return None
        except requests.RequestException as error:
            run.add("Authentication", False, _network_reason(error))
            return None
        ttl = int(data.get("ttl") or 0)
        expiry = "never expires" if ttl == 0 else f"expires in {ttl // 60} minutes"
        run.add(
            "Authentication", True, f"{how}; policies: {', '.join(data.get('policies') or [])}; the token {expiry}."
        )
        return dict(data)

    def login(self, client: hvac.Client, settings: VaultSettings, credentials: Credentials) -> str:
        """Put a token on the client by the configured method; say how (no secret in the text)."""
        if settings.auth is AuthMethod.TOKEN:
            if not credentials.token:
                raise _AuthProblem("No token is stored for this connector on this workstation; enter it again.")
            client.token = credentials.token
            return "Token accepted"
        if settings.auth is AuthMethod.APPROLE:
            if not credentials.secret_id:
                raise _AuthProblem("No AppRole Secret Id is stored for this connector on this workstation.")
            try:
                response = client.auth.approle.login(role_id=settings.role_id, secret_id=credentials.secret_id)
            except hvac.exceptions.InvalidRequest:
                raise _AuthProblem("AppRole login failed: the Role Id or Secret Id is not valid.") from None
            client.token = response["auth"]["client_token"]
            return "AppRole login succeeded"
        token = read_sink(settings.sink_path)
        client.token = token
        return f"Vault Agent token read from {settings.sink_path}"

    def _check_engine(self, client: hvac.Client, settings: VaultSettings, run: _Run) -> None:
        try:
            mount = client.adapter.get(f"/v1/sys/internal/ui/mounts/{settings.engine}")
        except hvac.exceptions.Forbidden:
            run.add("Secret engine", False, f"The token cannot see a secret engine at '{settings.engine}'.")
            run.add("Write and read back", None, "")
            return
        except hvac.exceptions.InvalidPath:
            run.add("Secret engine", False, f"No secret engine is mounted at '{settings.engine}'.")
            run.add("Write and read back", None, "")
            return
        except (hvac.exceptions.VaultError, requests.RequestException) as error:
            run.add("Secret engine", False, f"The engine could not be checked: {_reason(error)}.")
            run.add("Write and read back", None, "")
            return
        data = (mount or {}).get("data") or {}
        kind = data.get("type", "")
        version = int((data.get("options") or {}).get("version") or 1) if kind in {"kv", "generic"} else 0
        if kind not in {"kv", "generic"}:
            run.add("Secret engine", False, f"'{settings.engine}' is a {kind or 'unknown'} engine, not a KV engine.")
        elif version != settings.engine_version:
            run.add("Secret engine", False, f"'{settings.engine}' is KV version {version}, but the connector says "
                    f"version {settings.engine_version}.")  # fmt: skip
        else:
            run.add("Secret engine", True, f"'{settings.engine}' is a KV version {version} engine.")
        if settings.read_only:
            run.add("Write and read back", None, "Read-only connector: nothing was written.")
            return
        path = settings.validation_path
        written = {"checked_by": "certdesk", "at": self.clock.now().isoformat()}
        try:
            if settings.engine_version == 2:
                client.secrets.kv.v2.create_or_update_secret(path=path, secret=written, mount_point=settings.engine)
                read = client.secrets.kv.v2.read_secret_version(
                    path=path, mount_point=settings.engine, raise_on_deleted_version=True
                )["data"]["data"]
            else:
                client.secrets.kv.v1.create_or_update_secret(path=path, secret=written, mount_point=settings.engine)
                read = client.secrets.kv.v1.read_secret(path=path, mount_point=settings.engine)["data"]
        except hvac.exceptions.Forbidden:
            run.add("Write and read back", False, f"The token may not write to {settings.engine}/{path} "
                    "(permission denied). Give its policy create and update there, or make the connector "
                    "read-only.")  # fmt: skip
            return
        except (hvac.exceptions.VaultError, requests.RequestException) as error:
            run.add("Write and read back", False, f"Writing {settings.engine}/{path} failed: {_reason(error)}.")
            return
        same = read == written
        detail = f"Wrote and read back {settings.engine}/{path}." if same else "The secret read back differs."
        run.add("Write and read back", same, detail)

    # --- engines and renewal -----------------------------------------------------------------

    def fetch_engines(
        self, settings: VaultSettings, trust_pem: str | None, credentials: Credentials
    ) -> list[tuple[str, int]]:
        """The KV mounts the token can see, with their versions, for the Fetch Engines button."""
        with self.client(settings, trust_pem) as client:
            try:
                self.login(client, settings, credentials)
                mounts = client.adapter.get("/v1/sys/internal/ui/mounts")
            except _AuthProblem as problem:
                raise VaultProblem(str(problem)) from None
            except (hvac.exceptions.VaultError, requests.RequestException) as error:
                raise VaultProblem(f"The engines could not be listed: {_reason(error)}.") from None
        secret_mounts = ((mounts or {}).get("data") or {}).get("secret") or {}
        engines = []
        for path, info in secret_mounts.items():
            if info.get("type") in {"kv", "generic"}:
                engines.append((path.rstrip("/"), int((info.get("options") or {}).get("version") or 1)))
        return sorted(engines)

    def token_facts(self, settings: VaultSettings, trust_pem: str | None, token: str) -> tuple[list[str], bool]:
        """The token's policies and whether it is renewable (lookup-self), for the rules at save time."""
        with self.client(settings, trust_pem) as client:
            client.token = token
            try:
                data = client.auth.token.lookup_self()["data"]
            except (hvac.exceptions.VaultError, requests.RequestException) as error:
                raise VaultProblem(f"The token could not be looked up: {_reason(error)}.") from None
        return list(data.get("policies") or []), bool(data.get("renewable"))

    def renew(self, settings: VaultSettings, trust_pem: str | None, credentials: Credentials) -> str:
        """Renew the connector's token (renew-self); say until when, without any secret."""
        with self.client(settings, trust_pem) as client:
            try:
                self.login(client, settings, credentials)
                response = client.auth.token.renew_self()
            except _AuthProblem as problem:
                raise VaultProblem(str(problem)) from None
            except (hvac.exceptions.VaultError, requests.RequestException) as error:
                raise VaultProblem(f"The token could not be renewed: {_reason(error)}.") from None
        duration = int(((response or {}).get("auth") or {}).get("lease_duration") or 0)
        return f"Renewed for {duration // 60} minutes." if duration else "Renewed."


class VaultProblem(Exception):
    """A failure talking to Vault, worded for a person, with no secret in it."""


class _AuthProblem(Exception):
    pass


def read_sink(sink_path: str) -> str:
    """The token a Vault Agent wrote to its sink file."""
    path = Path(sink_path).expanduser()
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise _AuthProblem(f"The Vault Agent sink file {path} does not exist.") from None
    except PermissionError:
        raise _AuthProblem(f"The Vault Agent sink file {path} cannot be read (permission denied).") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _AuthProblem(f"The Vault Agent sink file {path} cannot be read: {type(error).__name__}.") from None
    if not token:
        raise _AuthProblem(f"The Vault Agent sink file {path} is empty: is the agent running?")
    return token


def _vault_reason(error: hvac.exceptions.VaultError) -> str:
    errors = getattr(error, "errors", None)
    text = "; ".join(str(e) for e in errors) if errors else type(error).__name__
    return text[:300]


def _network_reason(error: requests.RequestException) -> str:
    if isinstance(error, requests.Timeout):
        return "The server did not answer in time."
    if isinstance(error, requests.exceptions.SSLError):
        return "The TLS connection failed while authenticating."
    return f"The connection failed: {type(error).__name__}."


def _reason(error: Exception) -> str:
    if isinstance(error, hvac.exceptions.VaultError):
        return _vault_reason(error)
    if isinstance(error, requests.RequestException):
        return _network_reason(error).rstrip(".")
    return type(error).__name__
