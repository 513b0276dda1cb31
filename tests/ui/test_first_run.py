"""First run: an empty database asks for the account, then a first certificate is one step away."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from certdesk.services.scopes import ScopeService
from certdesk.store.connection import DatabaseInfo
from certdesk.ui.main_window import MainWindow
from tests.ui.conftest import MakeWindow


def test_first_run_creates_the_account(
    qtbot: QtBot, make_window: MakeWindow, scopes: ScopeService, database: DatabaseInfo
) -> None:
    window = make_window()
    assert window.current_scope() is None
    assert not window.filter_edit.isEnabled()
    assert not window.import_action.isEnabled()
    assert window.findChild(QLabel, "databaseLabel").text() == f"Database: {database.display}"
    empty = window.findChild(QLabel, "emptyState")
    assert empty.isVisible()
    assert "There is no account yet" in empty.text(), "an empty database says what to do"

    window.first_run()
    dialog = window.dialog
    assert dialog is not None
    assert dialog.objectName() == "firstRunDialog"
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.windowTitle() == "Welcome to certdesk"
    create = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    assert not create.isEnabled(), "nothing typed yet"

    qtbot.keyClicks(dialog.findChild(QLineEdit, "scopeNameEdit"), "Acme Inc")
    assert dialog.findChild(QLineEdit, "scopeIdentifierEdit").text() == "Acme_Inc"
    assert create.isEnabled()
    with qtbot.waitSignal(window.events.changed, timeout=10_000):
        qtbot.mouseClick(create, Qt.MouseButton.LeftButton)

    assert [(str(view.path), view.name) for view in scopes.list()] == [("Acme_Inc", "Acme Inc")]
    assert str(window.current_scope()) == "Acme_Inc"
    assert window.findChild(QPushButton, "newCertificateButton").isEnabled()
    assert window.last_notification == "Account Acme Inc created"
    assert window.findChild(QLabel, "countLabel").text() == "0 certificates"
    assert empty.isVisible()
    assert "No certificates in Acme_Inc yet" in empty.text()

    # A second call finds the account and does nothing.
    window.dialog = None
    window.first_run()
    assert window.dialog is None


def test_new_certificate_without_any_scope_starts_the_first_run(qtbot: QtBot, make_window: MakeWindow) -> None:
    """Someone who closed the welcome dialog is not stuck: New Certificate brings it back."""
    window = make_window()
    button = window.findChild(QPushButton, "newCertificateButton")
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.wizard is None
    dialog = window.dialog
    assert dialog is not None
    assert dialog.objectName() == "firstRunDialog"
    dialog.reject()

    window.dialog = None
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.dialog is not None
    assert window.dialog.objectName() == "firstRunDialog"
    window.dialog.reject()


def test_first_run_refuses_a_bad_identifier(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window()
    window.first_run()
    dialog = window.dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.findChild(QLineEdit, "scopeNameEdit"), "Acme")
    identifier = dialog.findChild(QLineEdit, "scopeIdentifierEdit")
    identifier.clear()
    qtbot.keyClicks(identifier, "account")
    assert "reserved word" in dialog.findChild(QLabel, "scopeError").text()
    assert not dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    dialog.reject()


def test_first_run_does_nothing_when_there_is_an_account(make_window: MakeWindow, acme: ScopeService) -> None:
    window: MainWindow = make_window()
    window.first_run()
    assert window.dialog is None
    assert str(window.current_scope()) == "acme"
