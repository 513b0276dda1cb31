"""Keyring backends that fail, for CLI subprocesses (PYTHON_KEYRING_BACKEND=tests.reliability.keyrings.X).

They fail as badly as a backend can: their error messages carry every secret the shared test keyring
file holds, and the secret they were handed. Whatever certdesk does with such an error, the secret
must not reach a message, a log or the database.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, KeyringLocked

from tests.helpers.keyrings import FileKeyring


def _everything_stored() -> str:
    path = Path(os.environ["CERTDESK_TEST_KEYRING_FILE"])
    return " ".join(json.loads(path.read_text()).values()) if path.exists() else ""


class RefusingKeyring(KeyringBackend):
    """Stores nothing and reads nothing: a locked keyring whose errors quote the secrets."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked(f"locked; it holds {_everything_stored()}")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringError(f"cannot store {password!r} for {username}; it holds {_everything_stored()}")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringError(f"cannot delete {username}; it holds {_everything_stored()}")


class UnreadableKeyring(FileKeyring):
    """The shared file keyring that can be written but not read back (a keyring locked after saving)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked(f"locked while reading {username}; it holds {_everything_stored()}")
