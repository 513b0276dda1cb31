"""OpenBao fixtures for the Vault connector tests: real servers with TLS material the tests made."""

from tests.helpers.openbao import (  # noqa: F401 - re-exported as fixtures
    closed_port,
    openbao,
    openbao_expired,
    openbao_factory,
    openbao_missing_intermediate,
    openbao_pki,
    openbao_self_signed,
    openbao_wrong_host,
    silent_server,
)
