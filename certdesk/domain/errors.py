"""The errors certdesk reports to a person, each with the exit code the CLI uses for it."""

from __future__ import annotations

INVALID_CERTIFICATE = "Invalid request: Certificate is not a valid X509 Certificate"


class CertdeskError(Exception):
    """An error whose message is meant for a person; never carries a secret."""

    exit_code = 1

    @property
    def message(self) -> str:
        return str(self)


class InvalidInput(CertdeskError):
    """The person gave input that breaks a rule (a name, an identifier, a tag, a URL...)."""

    exit_code = 3


class InvalidCertificate(InvalidInput):
    """The certificate text is not a valid X.509 certificate or chain."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"{INVALID_CERTIFICATE}\n{detail}")


class PrivateKeyRefused(InvalidInput):
    """The input holds a private key, which certdesk never stores."""

    def __init__(self) -> None:
        super().__init__(
            "Invalid request: the input contains a PRIVATE KEY block.\n"
            "certdesk stores only public certificates; remove the private key and try again. "
            "The key was not stored."
        )


class Conflict(CertdeskError):
    """The request clashes with what is stored: a duplicate, something still in use."""

    exit_code = 4


class InUse(Conflict):
    """A certificate is used by connectors and cannot simply be deleted."""

    def __init__(self, what: str, users: list[str]) -> None:
        self.users = users
        listed = ", ".join(users)
        super().__init__(
            f"{what} is used by {len(users)} connector{'s' if len(users) != 1 else ''}: {listed}. "
            "Detach it from them first, or force the deletion."
        )


class StaleWrite(Conflict):
    """Someone else saved the same row since it was read."""


class NotFound(CertdeskError):
    """The named scope, certificate or connector does not exist."""

    exit_code = 5


class DatabaseError(CertdeskError):
    """The database cannot be opened or used (too new, corrupt, read-only, full)."""

    exit_code = 3
