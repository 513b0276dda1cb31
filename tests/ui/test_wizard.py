"""The New/Edit Certificate wizard: identifiers as you type, save in the background, errors on the page."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTreeWidget,
    QTreeWidgetItemIterator,
    QWidget,
    QWizard,
)
from pytestqt.qtbot import QtBot

from certdesk.domain.errors import INVALID_CERTIFICATE
from certdesk.ui.main_window import MainWindow
from certdesk.ui.wizard import CertificateWizard
from tests.helpers.certs import make_certificate, make_pki
from tests.ui.conftest import CountingCertificates, FakePrompter, add_certificate, select_row, table_names


def open_wizard(qtbot: QtBot, window: MainWindow) -> CertificateWizard:
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    wizard = window.wizard
    assert wizard is not None, "Ctrl+N did not open the wizard"
    qtbot.waitUntil(wizard.isVisible)
    return wizard


def field(wizard: CertificateWizard, name: str, kind: type[QWidget] = QLineEdit) -> Any:
    widget = wizard.findChild(kind, name)
    assert widget is not None, name
    return widget


def continue_button(wizard: CertificateWizard) -> QAbstractButton:
    return wizard.button(QWizard.WizardButton.NextButton)


def save_button(wizard: CertificateWizard) -> QAbstractButton:
    return wizard.button(QWizard.WizardButton.FinishButton)


def fill_overview(qtbot: QtBot, wizard: CertificateWizard, name: str, tags: str = "", description: str = "") -> None:
    qtbot.keyClicks(field(wizard, "nameEdit"), name)
    if tags:
        qtbot.keyClicks(field(wizard, "tagsEdit"), tags)
    if description:
        qtbot.keyClicks(field(wizard, "descriptionEdit", QPlainTextEdit), description)


def go_to_details(qtbot: QtBot, wizard: CertificateWizard) -> None:
    button = continue_button(wizard)
    assert button.text() == "Continue"
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert wizard.currentPage().objectName() == "detailsPage"


def paste_pem(wizard: CertificateWizard, text: str) -> None:
    # As a paste: the whole text arrives at once.
    field(wizard, "pemEdit", QPlainTextEdit).setPlainText(text)


def click_save(qtbot: QtBot, wizard: CertificateWizard) -> None:
    button = save_button(wizard)
    assert button.text() == "Save"
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def save_and_wait(qtbot: QtBot, window: MainWindow, wizard: CertificateWizard) -> None:
    with qtbot.waitSignal(wizard.finished, timeout=10_000) as blocker:
        click_save(qtbot, wizard)
    assert blocker.args == [QWizard.DialogCode.Accepted]
    assert window.wizard is None
    # Closed and gone: a wizard per New or Edit is not kept for the whole session.
    qtbot.waitUntil(lambda: not window.findChildren(CertificateWizard))


def wait_for_page_error(qtbot: QtBot, wizard: CertificateWizard) -> str:
    error = field(wizard, "detailsError", QLabel)
    qtbot.waitUntil(lambda: bool(error.text()) and wizard._saving is None, timeout=10_000)
    return str(error.text())


def chain_names(window: MainWindow) -> list[str]:
    tree = window.findChild(QTreeWidget, "chainTree")
    names = []
    iterator = QTreeWidgetItemIterator(tree)
    while iterator.value() is not None:
        names.append(iterator.value().text(0))
        iterator += 1
    return names


# --- creating ----------------------------------------------------------------------------------


def test_valid_single_certificate_is_created_in_the_background(
    qtbot: QtBot, window: MainWindow, certificates: CountingCertificates
) -> None:
    wizard = open_wizard(qtbot, window)
    assert wizard.objectName() == "certificateWizard"
    assert wizard.currentPage().objectName() == "overviewPage"
    assert not continue_button(wizard).isEnabled(), "Continue must wait for a name"

    fill_overview(qtbot, wizard, "Corporate Root CA", tags="env:prod, team:payments", description="Our root")
    assert field(wizard, "identifierEdit").text() == "Corporate_Root_CA"
    go_to_details(qtbot, wizard)
    paste_pem(wizard, make_certificate("Corporate Root CA", is_ca=True).pem)
    save_and_wait(qtbot, window, wizard)

    assert window.last_notification == "Certificate Corporate Root CA created successfully"
    detail = certificates.get("acme/eng", "Corporate_Root_CA")
    assert detail.tags == {"env": "prod", "team": "payments"}
    assert detail.description == "Our root"
    assert table_names(window) == ["Corporate Root CA"]
    assert window.selected_row() is not None
    row = window.selected_row()
    assert row is not None
    assert row.identifier == "Corporate_Root_CA"


def test_chain_shows_three_members_and_the_new_row_is_selected(
    qtbot: QtBot, window: MainWindow, certificates: CountingCertificates
) -> None:
    for name in ("Alpha", "Beta", "Omega", "Zulu"):
        add_certificate(certificates, "acme/eng", name)
    window.model.refresh()
    pki = make_pki(prefix="Globex")

    wizard = open_wizard(qtbot, window)
    fill_overview(qtbot, wizard, "Localhost chain")
    go_to_details(qtbot, wizard)
    paste_pem(wizard, pki.chain_pem)
    preview = wizard.details.preview
    qtbot.waitUntil(lambda: preview.count() >= 3)
    save_and_wait(qtbot, window, wizard)

    assert window.last_notification == "Certificate Localhost chain created successfully"
    assert table_names(window) == ["Alpha", "Beta", "Localhost chain", "Omega", "Zulu"]
    row = window.selected_row()
    assert row is not None
    assert row.name == "Localhost chain"
    assert window.table.currentIndex().row() == 2
    assert chain_names(window) == ["localhost", "Globex Intermediate CA", "Globex Root CA"]
    assert "CN=localhost" in window.findChild(QLineEdit, "detail_subject").text()


def test_invalid_certificate_is_refused_on_the_page_and_nothing_typed_is_lost(
    qtbot: QtBot, window: MainWindow, certificates: CountingCertificates, prompter: FakePrompter
) -> None:
    wizard = open_wizard(qtbot, window)
    fill_overview(qtbot, wizard, "Broken", tags="env:test", description="kept")
    go_to_details(qtbot, wizard)
    garbage = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    paste_pem(wizard, garbage)
    click_save(qtbot, wizard)

    message = wait_for_page_error(qtbot, wizard)
    assert message.startswith(INVALID_CERTIFICATE)
    assert wizard.isVisible()
    assert window.wizard is wizard
    assert wizard.currentPage().objectName() == "detailsPage"
    assert field(wizard, "pemEdit", QPlainTextEdit).toPlainText() == garbage
    assert not field(wizard, "pemEdit", QPlainTextEdit).isReadOnly()
    assert save_button(wizard).isEnabled(), "Save must be usable again after a refusal"
    assert prompter.errors == [], "the refusal belongs on the page, not in a message box"
    assert certificates.identifiers("acme/eng") == set()

    qtbot.mouseClick(wizard.button(QWizard.WizardButton.BackButton), Qt.MouseButton.LeftButton)
    assert field(wizard, "nameEdit").text() == "Broken"
    assert field(wizard, "tagsEdit").text() == "env:test"
    assert field(wizard, "descriptionEdit", QPlainTextEdit).toPlainText() == "kept"

    # Fixing the text saves as usual.
    go_to_details(qtbot, wizard)
    paste_pem(wizard, make_certificate("Fixed").pem)
    assert field(wizard, "detailsError", QLabel).text() == ""
    save_and_wait(qtbot, window, wizard)
    assert table_names(window) == ["Broken"]


def test_private_key_gets_its_own_message_and_is_not_stored(
    qtbot: QtBot, window: MainWindow, certificates: CountingCertificates
) -> None:
    issued = make_certificate("With key")
    wizard = open_wizard(qtbot, window)
    fill_overview(qtbot, wizard, "With key")
    go_to_details(qtbot, wizard)
    paste_pem(wizard, issued.pem + issued.key_pem())
    click_save(qtbot, wizard)

    message = wait_for_page_error(qtbot, wizard)
    assert "PRIVATE KEY" in message
    assert not message.startswith(INVALID_CERTIFICATE)
    assert "not stored" in message
    key_body = issued.key_pem().splitlines()[1]
    assert key_body not in message
    assert wizard.isVisible()
    assert certificates.identifiers("acme/eng") == set()


def test_cancel_is_refused_while_saving(qtbot: QtBot, window: MainWindow, certificates: CountingCertificates) -> None:
    wizard = open_wizard(qtbot, window)
    fill_overview(qtbot, wizard, "Busy")
    go_to_details(qtbot, wizard)
    paste_pem(wizard, make_certificate("Busy").pem)
    with qtbot.waitSignal(wizard.finished, timeout=10_000) as blocker:
        click_save(qtbot, wizard)
        wizard.reject()  # Escape or Cancel while the write is under way
        assert wizard.isVisible()
    assert blocker.args == [QWizard.DialogCode.Accepted]
    assert certificates.identifiers("acme/eng") == {"Busy"}


# --- identifiers ---------------------------------------------------------------------------------


def test_identifier_is_derived_as_the_name_is_typed(qtbot: QtBot, window: MainWindow) -> None:
    wizard = open_wizard(qtbot, window)
    name, identifier = field(wizard, "nameEdit"), field(wizard, "identifierEdit")
    qtbot.keyClicks(name, "My")
    assert identifier.text() == "My"
    qtbot.keyClicks(name, " CA-2024 (prod)")
    assert identifier.text() == "My_CA_2024_prod"
    name.clear()
    qtbot.keyClicks(name, "2024 root")
    assert identifier.text() == "_2024_root"
    name.clear()
    qtbot.keyClicks(name, "org")
    assert identifier.text() == "org_", "a reserved word is never proposed"
    assert continue_button(wizard).isEnabled()

    # Once the person edits the identifier, the name no longer overwrites it.
    identifier.clear()
    qtbot.keyClicks(identifier, "custom_id")
    qtbot.keyClicks(name, "anisation")
    assert identifier.text() == "custom_id"


def test_reserved_identifier_is_refused_live(qtbot: QtBot, window: MainWindow) -> None:
    wizard = open_wizard(qtbot, window)
    error = field(wizard, "overviewError", QLabel)
    qtbot.keyClicks(field(wizard, "nameEdit"), "Organisation root")
    identifier = field(wizard, "identifierEdit")
    identifier.clear()
    qtbot.keyClicks(identifier, "org")
    assert "reserved word" in error.text()
    assert not continue_button(wizard).isEnabled()
    qtbot.keyClicks(identifier, "_root")
    assert error.text() == ""
    assert continue_button(wizard).isEnabled()

    identifier.clear()
    qtbot.keyClicks(identifier, "9lives")
    assert "must start with a letter" in error.text()
    assert not continue_button(wizard).isEnabled()


def test_duplicate_identifier_is_refused_live(
    qtbot: QtBot, window: MainWindow, certificates: CountingCertificates
) -> None:
    add_certificate(certificates, "acme/eng", "Corporate Root")
    wizard = open_wizard(qtbot, window)
    qtbot.keyClicks(field(wizard, "nameEdit"), "Corporate Root")
    identifier = field(wizard, "identifierEdit")
    assert identifier.text() == "Corporate_Root_2", "the derived identifier avoids the one taken"
    assert continue_button(wizard).isEnabled()

    identifier.clear()
    qtbot.keyClicks(identifier, "Corporate_Root")
    error = field(wizard, "overviewError", QLabel)
    assert "already exists" in error.text()
    assert not continue_button(wizard).isEnabled()
    qtbot.keyClick(identifier, Qt.Key.Key_Backspace)
    assert error.text() == ""
    assert continue_button(wizard).isEnabled()


def test_same_identifier_is_free_in_another_scope(
    qtbot: QtBot, window: MainWindow, certificates: CountingCertificates
) -> None:
    add_certificate(certificates, "acme", "Corporate Root")
    wizard = open_wizard(qtbot, window)  # in acme/eng
    qtbot.keyClicks(field(wizard, "nameEdit"), "Corporate Root")
    assert field(wizard, "identifierEdit").text() == "Corporate_Root"
    assert continue_button(wizard).isEnabled()


def test_empty_or_blank_name_cannot_continue(qtbot: QtBot, window: MainWindow) -> None:
    wizard = open_wizard(qtbot, window)
    name = field(wizard, "nameEdit")
    qtbot.keyClicks(name, "   ")
    assert not continue_button(wizard).isEnabled()
    assert "cannot be empty" in field(wizard, "overviewError", QLabel).text()


# --- editing -------------------------------------------------------------------------------------


def test_edit_opens_prefilled_with_a_fixed_identifier(
    qtbot: QtBot, window: MainWindow, certificates: CountingCertificates
) -> None:
    add_certificate(certificates, "acme/eng", "Old name", tags={"env": "prod"})
    window.model.refresh()
    select_row(qtbot, window, "Old name")
    qtbot.keyClick(window, Qt.Key.Key_F2)
    wizard = window.wizard
    assert wizard is not None, "F2 did not open the wizard"
    qtbot.waitUntil(wizard.isVisible)
    assert wizard.windowTitle().startswith("Edit Certificate")

    name, identifier = field(wizard, "nameEdit"), field(wizard, "identifierEdit")
    assert name.text() == "Old name"
    assert identifier.text() == "Old_name"
    assert identifier.isReadOnly()
    assert field(wizard, "tagsEdit").text() == "env:prod"
    name.selectAll()
    qtbot.keyClicks(name, "New name")
    assert identifier.text() == "Old_name", "renaming never changes the identifier"
    go_to_details(qtbot, wizard)
    pem = field(wizard, "pemEdit", QPlainTextEdit).toPlainText()
    assert "BEGIN CERTIFICATE" in pem
    save_and_wait(qtbot, window, wizard)

    assert window.last_notification == "Certificate New name updated successfully"
    assert table_names(window) == ["New name"]
    assert certificates.get("acme/eng", "Old_name").name == "New name"
    row = window.selected_row()
    assert row is not None
    assert row.identifier == "Old_name"


def test_edit_with_a_new_chain_replaces_the_certificate(
    qtbot: QtBot, window: MainWindow, certificates: CountingCertificates
) -> None:
    add_certificate(certificates, "acme/eng", "Rotating")
    window.model.refresh()
    select_row(qtbot, window, "Rotating")
    window.edit_action.trigger()
    wizard = window.wizard
    assert wizard is not None
    go_to_details(qtbot, wizard)
    paste_pem(wizard, make_pki(prefix="Rotated").chain_pem)
    save_and_wait(qtbot, window, wizard)
    assert window.last_notification == "Certificate Rotating updated successfully"
    assert certificates.get("acme/eng", "Rotating").report.pem.count("BEGIN CERTIFICATE") == 3
    assert len(chain_names(window)) == 3
