"""One application-level signal that tells every view what changed."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal


@dataclass(frozen=True)
class Change:
    """Something was written: which kind of thing, where, and what it is now called."""

    entity: str  # "scope", "certificate", "connector"
    action: str  # "create", "update", "delete", "import"
    scope: str
    identifier: str = ""


class AppEvents(QObject):
    changed = Signal(object)  # a Change

    def announce(self, change: Change) -> None:
        self.changed.emit(change)
