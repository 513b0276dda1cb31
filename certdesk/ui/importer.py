"""Importing many files: read and import in the background, with progress, Cancel and a summary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from certdesk.domain.scopes import ScopePath
from certdesk.services.certificates import CertificateService
from certdesk.services.views import ImportOutcome, Refusal
from certdesk.ui.prompts import CERTIFICATE_SUFFIXES
from certdesk.ui.tasks import TaskHandle, TaskRunner

MAX_FILE_BYTES = 512 * 1024 * 1024


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given, and the certificate files inside any folder, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in CERTIFICATE_SUFFIXES))
        elif path.is_file():
            files.append(path)
    return files


def read_sources(files: list[Path], refused: list[Refusal]) -> list[tuple[str, bytes]]:
    sources: list[tuple[str, bytes]] = []
    for path in files:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                refused.append(Refusal(path.name, "The file is larger than 512 MB."))
                continue
            sources.append((path.name, path.read_bytes()))
        except OSError as error:
            refused.append(Refusal(path.name, f"Cannot read the file: {error.strerror or error}."))
    return sources


class ImportJob(QObject):
    """One import run: owns the progress dialog and reports the outcome once."""

    finished = Signal(object)  # ImportOutcome
    failed = Signal(object)  # Exception

    def __init__(
        self,
        scope: ScopePath,
        paths: list[Path],
        service: CertificateService,
        runner: TaskRunner,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.scope, self.paths, self.service, self.runner = scope, paths, service, runner
        self.progress = QProgressDialog(
            self.tr("Importing certificates into {0}...").format(scope), self.tr("Cancel"), 0, 0, parent
        )
        self.progress.setObjectName("importProgress")
        self.progress.setWindowTitle(self.tr("Import"))
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(300)
        self.progress.setAutoReset(False)
        self.progress.setAutoClose(False)
        self.handle: TaskHandle | None = None
        self.progress.canceled.connect(self.cancel)

    def start(self) -> None:
        paths, service, scope = self.paths, self.service, self.scope

        def work(handle: TaskHandle) -> ImportOutcome:
            refused: list[Refusal] = []
            files = expand_paths(paths)
            sources = read_sources(files, refused)
            estimate = sum(data.count(b"-----BEGIN") or 1 for _, data in sources)
            outcome = service.import_sources(
                scope, sources, progress=handle.progress, cancelled=handle.cancelled, total_hint=estimate
            )
            outcome.refused[:0] = refused
            if not files:
                outcome.refused.append(Refusal(", ".join(p.name for p in paths), "No certificate files found."))
            return outcome

        self.handle = self.runner.submit(work, self._done, self._failed, self._progressed)

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.progress.setLabelText(self.tr("Cancelling..."))

    def _progressed(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(min(done, total))

    def _close(self) -> None:
        self.progress.canceled.disconnect(self.cancel)
        self.progress.close()
        self.progress.deleteLater()

    def _done(self, outcome: ImportOutcome) -> None:
        self._close()
        self.finished.emit(outcome)

    def _failed(self, error: Exception) -> None:
        self._close()
        self.failed.emit(error)


def summary_text(outcome: ImportOutcome, tr: Callable[[str], str]) -> str:
    lines = [outcome.summary()]
    if outcome.refused:
        lines.append("")
        lines.append(tr("Refused:"))
        lines.extend(f"  • {refusal.source}: {refusal.reason}" for refusal in outcome.refused[:50])
        if len(outcome.refused) > 50:
            lines.append(tr("  … and {0} more.").format(len(outcome.refused) - 50))
    return "\n".join(lines)
