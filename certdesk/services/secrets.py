"""Connector secrets (Vault tokens, AppRole secret ids) in the OS keyring, never in the database."""

from __future__ import annotations

import logging
import secrets as random_tokens
from typing import Any

import keyring
import keyring.errors

from certdesk.domain.errors import CertdeskError

SERVICE_NAME = "certdesk"
log = logging.getLogger(__name__)


class SecretUnavailable(CertdeskError):
    """The keyring cannot be used, or holds no secret under that reference."""

    exit_code = 3


class SecretStore:
    """A thin layer over a keyring backend; the backend is passed in so tests use a memory one."""

    def __init__(self, backend: Any | None = None) -> None:
        self._backend = backend

    @property
    def backend(self) -> Any:
        return self._backend if self._backend is not None else keyring.get_keyring()

    @staticmethod
    def new_reference(kind: str) -> str:
        """A random key to find a secret by; it says nothing about the secret."""
        return f"{kind}:{random_tokens.token_hex(12)}"

    def put(self, reference: str, secret: str) -> None:
        try:
            self.backend.set_password(SERVICE_NAME, reference, secret)
        except keyring.errors.KeyringError as error:
            log.warning("keyring refused to store %s: %s", reference, type(error).__name__)
            raise SecretUnavailable(
                "The secret could not be stored in the OS keyring (" + _describe(error) + "). "
                "certdesk never keeps secrets in its database; unlock or set up the keyring and try again."
            ) from None

    def get(self, reference: str) -> str | None:
        if not reference:
            return None
        try:
            value = self.backend.get_password(SERVICE_NAME, reference)
        except keyring.errors.KeyringError as error:
            raise SecretUnavailable(
                "The OS keyring could not be read (" + _describe(error) + "); unlock it and try again."
            ) from None
        return value if isinstance(value, str) else None

    def delete(self, reference: str) -> None:
        if not reference:
            return
        try:
            self.backend.delete_password(SERVICE_NAME, reference)
        except keyring.errors.PasswordDeleteError:
            pass  # already gone: nothing to clean up
        except keyring.errors.KeyringError as error:
            log.warning("keyring could not delete %s: %s", reference, type(error).__name__)


def _describe(error: Exception) -> str:
    if isinstance(error, keyring.errors.NoKeyringError):
        return "no keyring backend is available on this workstation"
    return type(error).__name__
