"""Scope paths (account > organization > project) and Harness-style references across them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from certdesk.domain.errors import InvalidInput
from certdesk.domain.names import shorten_for_message, validate_identifier


class ScopeLevel(StrEnum):
    ACCOUNT = "account"
    ORGANIZATION = "organization"
    PROJECT = "project"

    @property
    def label(self) -> str:
        return self.value.capitalize()


_LEVELS = (ScopeLevel.ACCOUNT, ScopeLevel.ORGANIZATION, ScopeLevel.PROJECT)


@dataclass(frozen=True, order=True)
class ScopePath:
    """A scope written as identifiers joined by '/': `acme`, `acme/eng`, `acme/eng/payments`."""

    parts: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> ScopePath:
        cleaned = text.strip().strip("/")
        if not cleaned:
            raise InvalidInput("Invalid scope: give a path such as acme, acme/eng or acme/eng/payments.")
        parts = tuple(cleaned.split("/"))
        if len(parts) > 3:
            raise InvalidInput(
                f"Invalid scope '{shorten_for_message(text)}': a scope is an account, an organization or a project, "
                "so a path has at most three parts (account/organization/project)."
            )
        for part in parts:
            validate_identifier(part)
        return cls(parts)

    @property
    def level(self) -> ScopeLevel:
        return _LEVELS[len(self.parts) - 1]

    @property
    def identifier(self) -> str:
        return self.parts[-1]

    @property
    def parent(self) -> ScopePath | None:
        return ScopePath(self.parts[:-1]) if len(self.parts) > 1 else None

    @property
    def account(self) -> ScopePath:
        return ScopePath(self.parts[:1])

    @property
    def organization(self) -> ScopePath | None:
        return ScopePath(self.parts[:2]) if len(self.parts) >= 2 else None

    def ancestors(self) -> list[ScopePath]:
        """This scope and those above it, nearest first."""
        return [ScopePath(self.parts[:n]) for n in range(len(self.parts), 0, -1)]

    def child(self, identifier: str) -> ScopePath:
        return ScopePath.parse("/".join((*self.parts, identifier)))

    def is_within(self, other: ScopePath) -> bool:
        """True when this scope is `other` or lies below it."""
        return self.parts[: len(other.parts)] == other.parts

    def __str__(self) -> str:
        return "/".join(self.parts)


@dataclass(frozen=True)
class EntityRef:
    """A reference to an entity as written in a child scope: `id`, `org.id` or `account.id`."""

    scope: ScopePath
    identifier: str

    def written_from(self, viewer: ScopePath) -> str:
        """How this entity is referenced from the viewer's scope.

        Only an entity in the viewer's scope or above it can be referenced; anything else raises
        InvalidInput rather than writing a reference that would resolve to another entity.
        """
        if self.scope == viewer:
            return self.identifier
        if not viewer.is_within(self.scope):
            raise InvalidInput(
                f"'{self.identifier}' in {self.scope} cannot be used from {viewer}: "
                "a scope can use only what belongs to it or to the scopes above it."
            )
        prefix = "account" if self.scope.level is ScopeLevel.ACCOUNT else "org"
        return f"{prefix}.{self.identifier}"


def resolve_reference(reference: str, viewer: ScopePath) -> EntityRef:
    """Resolve `id`, `org.id` or `account.id` written in the viewer's scope.

    A lower scope may use a higher one's entity, never the reverse: `org.` from an account
    scope is refused, as is anything that would point below the viewer.
    """
    text = reference.strip()
    quoted = shorten_for_message(text)
    prefix, dot, identifier = text.partition(".")
    if not dot:
        return EntityRef(viewer, validate_identifier(text))
    validate_identifier(identifier)
    if prefix == "account":
        return EntityRef(viewer.account, identifier)
    if prefix == "org":
        organization = viewer.organization
        if organization is None:
            raise InvalidInput(
                f"Invalid reference '{quoted}': the account scope {viewer} has no organization above it."
            )
        return EntityRef(organization, identifier)
    raise InvalidInput(f"Invalid reference '{quoted}': write an identifier, org.identifier or account.identifier.")
