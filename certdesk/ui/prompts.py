"""Message boxes come from here, so tests can answer them instead of a person."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


class Prompter(Protocol):
    def error(self, parent: QWidget | None, title: str, text: str) -> None: ...
    def information(self, parent: QWidget | None, title: str, text: str) -> None: ...
    def confirm(self, parent: QWidget | None, title: str, text: str, accept_label: str) -> bool: ...
    def open_files(self, parent: QWidget | None, title: str, filters: str) -> list[str]: ...


class QtPrompter:
    """The real boxes, modal to their parent window."""

    def error(self, parent: QWidget | None, title: str, text: str) -> None:
        QMessageBox.critical(parent, title, text)

    def information(self, parent: QWidget | None, title: str, text: str) -> None:
        QMessageBox.information(parent, title, text)

    def confirm(self, parent: QWidget | None, title: str, text: str, accept_label: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
        accept = box.addButton(accept_label, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is accept

    def open_files(self, parent: QWidget | None, title: str, filters: str) -> list[str]:
        files, _ = QFileDialog.getOpenFileNames(parent, title, "", filters)
        return list(files)


CERTIFICATE_FILE_FILTER = "Certificates (*.pem *.crt *.cer *.der *.p7b *.p7c);;All files (*)"
CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer", ".der", ".p7b", ".p7c", ".ca-bundle")
