"""Deleting a certificate: a plain confirmation, or a refusal naming its connectors and a typed force delete."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from certdesk.store.models import Connector
from certdesk.ui.main_window import MainWindow
from tests.ui.conftest import (
    CountingCertificates,
    FakePrompter,
    add_certificate,
    add_connector,
    select_row,
    table_names,
)


@pytest.fixture
def two_certificates(window: MainWindow, certificates: CountingCertificates) -> MainWindow:
    add_certificate(certificates, "acme/eng", "Corporate Root")
    add_certificate(certificates, "acme/eng", "Partner CA")
    window.model.refresh()
    return window


def press_delete(qtbot: QtBot, window: MainWindow, name: str) -> None:
    select_row(qtbot, window, name)
    qtbot.keyClick(window.table, Qt.Key.Key_Delete)
    assert window.dialog is not None, "the Delete key did not ask for confirmation"
    qtbot.waitUntil(window.dialog.isVisible)


def child(window: MainWindow, kind: type[QWidget], name: str) -> Any:
    assert window.dialog is not None
    widget = window.dialog.findChild(kind, name)
    assert widget is not None, name
    return widget


def test_delete_not_in_use_names_the_certificate_and_deletes(
    qtbot: QtBot, two_certificates: MainWindow, certificates: CountingCertificates
) -> None:
    window = two_certificates
    press_delete(qtbot, window, "Corporate Root")
    dialog = window.dialog
    assert dialog is not None
    assert dialog.objectName() == "deleteCertificateDialog"
    message = child(window, QLabel, "deleteMessage").text()
    assert "Corporate Root" in message
    assert "Corporate_Root" in message
    assert dialog.findChild(QPushButton, "forceDeleteButton") is None

    with qtbot.waitSignal(window.events.changed, timeout=10_000):
        qtbot.mouseClick(child(window, QPushButton, "confirmDeleteButton"), Qt.MouseButton.LeftButton)
    assert window.last_notification == "Certificate Corporate Root deleted"
    assert table_names(window) == ["Partner CA"]
    assert certificates.identifiers("acme/eng") == {"Partner_CA"}
    assert window.details.detail is None


def test_cancel_keeps_the_certificate(
    qtbot: QtBot, two_certificates: MainWindow, certificates: CountingCertificates
) -> None:
    window = two_certificates
    press_delete(qtbot, window, "Partner CA")
    dialog = window.dialog
    assert dialog is not None
    buttons = dialog.findChild(QDialogButtonBox)
    with qtbot.waitSignal(dialog.finished):
        qtbot.mouseClick(buttons.button(QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    assert certificates.identifiers("acme/eng") == {"Corporate_Root", "Partner_CA"}
    assert table_names(window) == ["Corporate Root", "Partner CA"]


def test_delete_in_use_is_refused_listing_the_connectors(
    qtbot: QtBot, two_certificates: MainWindow, certificates: CountingCertificates
) -> None:
    window = two_certificates
    add_connector("acme/eng", "vault_prod", ("acme/eng", "Corporate_Root"), name="Vault prod")
    add_connector("acme/eng/payments", "vault_pay", ("acme/eng", "Corporate_Root"), name="Vault payments")
    window.model.refresh()
    press_delete(qtbot, window, "Corporate Root")

    message = child(window, QLabel, "deleteMessage").text()
    assert "cannot be deleted" in message
    assert "2 connector(s)" in message
    assert "Vault prod (acme/eng/vault_prod)" in message
    assert "Vault payments (acme/eng/payments/vault_pay)" in message
    dialog = window.dialog
    assert dialog is not None
    assert dialog.findChild(QPushButton, "confirmDeleteButton") is None
    force = child(window, QPushButton, "forceDeleteButton")
    assert force.isEnabled()

    # Walking away leaves everything as it was.
    dialog.reject()
    assert certificates.identifiers("acme/eng") == {"Corporate_Root", "Partner_CA"}


def test_force_delete_needs_the_exact_name_then_detaches_connectors(
    qtbot: QtBot, two_certificates: MainWindow, certificates: CountingCertificates, prompter: FakePrompter
) -> None:
    window = two_certificates
    prod = add_connector("acme/eng", "vault_prod", ("acme/eng", "Corporate_Root"), name="Vault prod")
    pay = add_connector("acme/eng/payments", "vault_pay", ("acme/eng", "Corporate_Root"), name="Vault payments")
    other = add_connector("acme/eng", "vault_other", ("acme/eng", "Partner_CA"))
    window.model.refresh()
    press_delete(qtbot, window, "Corporate Root")
    first = window.dialog
    qtbot.mouseClick(child(window, QPushButton, "forceDeleteButton"), Qt.MouseButton.LeftButton)

    force_dialog = window.dialog
    assert force_dialog is not None
    assert force_dialog is not first
    assert force_dialog.objectName() == "forceDeleteDialog"
    qtbot.waitUntil(force_dialog.isVisible)
    explanation = child(window, QLabel, "forceDeleteExplanation").text()
    assert "Vault prod (acme/eng/vault_prod)" in explanation
    assert "Vault payments (acme/eng/payments/vault_pay)" in explanation
    edit = child(window, QLineEdit, "forceDeleteConfirmEdit")
    confirm = child(window, QPushButton, "forceDeleteConfirmButton")
    assert not confirm.isEnabled()
    qtbot.keyClicks(edit, "Corporate")
    assert not confirm.isEnabled()
    qtbot.keyClicks(edit, " root")
    assert not confirm.isEnabled(), "the name must match exactly, case included"
    for _ in range(4):
        qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, "Root ")
    assert not confirm.isEnabled(), "a trailing space is not the name"
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    assert edit.text() == "Corporate Root"
    assert confirm.isEnabled()

    with qtbot.waitSignal(window.events.changed, timeout=10_000):
        qtbot.mouseClick(confirm, Qt.MouseButton.LeftButton)

    assert certificates.identifiers("acme/eng") == {"Partner_CA"}
    assert table_names(window) == ["Partner CA"]
    assert "Certificate Corporate Root deleted" in window.last_notification
    assert "2 connector(s) now need a certificate" in window.last_notification
    assert prompter.errors == []
    for connector in (prod, pay):
        stored = Connector.get_by_id(connector.id)
        assert stored.certificate is None
        assert stored.needs_attention
        assert "Corporate Root" in stored.attention_reason
    untouched = Connector.get_by_id(other.id)
    assert untouched.certificate is not None
    assert not untouched.needs_attention


def test_force_delete_cancelled_keeps_everything(
    qtbot: QtBot, two_certificates: MainWindow, certificates: CountingCertificates
) -> None:
    window = two_certificates
    connector = add_connector("acme/eng", "vault_prod", ("acme/eng", "Corporate_Root"))
    window.model.refresh()
    press_delete(qtbot, window, "Corporate Root")
    qtbot.mouseClick(child(window, QPushButton, "forceDeleteButton"), Qt.MouseButton.LeftButton)
    qtbot.keyClicks(child(window, QLineEdit, "forceDeleteConfirmEdit"), "Corporate Root")
    force_dialog = window.dialog
    assert force_dialog is not None
    with qtbot.waitSignal(force_dialog.finished):
        qtbot.keyClick(force_dialog, Qt.Key.Key_Escape)
    assert certificates.identifiers("acme/eng") == {"Corporate_Root", "Partner_CA"}
    assert Connector.get_by_id(connector.id).certificate is not None
    assert not Connector.get_by_id(connector.id).needs_attention


def test_delete_action_needs_a_selection(qtbot: QtBot, two_certificates: MainWindow) -> None:
    window = two_certificates
    assert not window.delete_action.isEnabled()
    assert not window.edit_action.isEnabled()
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Delete)
    assert window.dialog is None
    select_row(qtbot, window, "Partner CA")
    assert window.delete_action.isEnabled()
    assert window.edit_action.isEnabled()
