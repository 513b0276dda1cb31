"""Two people on one database: others' changes appear, and a stale save is refused with a reload."""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QWizard
from pytestqt.qtbot import QtBot

from certdesk.services.certificates import CertificateService
from certdesk.services.views import CertificateDraft, CertificateEdit
from certdesk.ui.main_window import MainWindow
from tests.conftest import SettableClock
from tests.helpers.certs import make_certificate
from tests.ui.conftest import add_certificate, select_row, table_names


def test_the_window_notices_changes_made_by_someone_else(
    qtbot: QtBot, window: MainWindow, clock: SettableClock
) -> None:
    colleague = CertificateService(clock, "bob")  # another process, another person: same database
    colleague.create("acme/eng", CertificateDraft(name="Bob's CA", pem=make_certificate("bob").pem))
    assert "Bob's CA" not in table_names(window)
    window.poll_changes()  # what the timer does every few seconds
    assert table_names(window) == ["Bob's CA"]
    assert window.statusBar().currentMessage() == "Updated with changes by bob."
    assert window.change_poll.isActive()


def test_the_selection_survives_a_refresh(
    qtbot: QtBot, window: MainWindow, certificates: CertificateService, clock: SettableClock
) -> None:
    add_certificate(certificates, "acme/eng", "Alpha")
    add_certificate(certificates, "acme/eng", "Gamma")
    window.poll_changes()
    select_row(qtbot, window, "Gamma")
    CertificateService(clock, "bob").create("acme/eng", CertificateDraft(name="Beta", pem=make_certificate("b").pem))
    window.poll_changes()
    assert table_names(window) == ["Alpha", "Beta", "Gamma"]
    row = window.selected_row()
    assert row is not None
    assert row.name == "Gamma"


def test_a_stale_edit_is_refused_naming_who_and_offers_to_reload(
    qtbot: QtBot, window: MainWindow, certificates: CertificateService, clock: SettableClock
) -> None:
    add_certificate(certificates, "acme/eng", "Shared CA")
    window.poll_changes()
    select_row(qtbot, window, "Shared CA")
    qtbot.keyClick(window, Qt.Key.Key_F2)
    wizard = window.wizard
    assert wizard is not None
    wizard.overview.description_edit.setPlainText("my change")
    CertificateService(clock, "bob").update("acme/eng", "Shared_CA", CertificateEdit(description="bob's change"))
    wizard.next()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: "was changed by bob" in wizard.details.error_label.text(), timeout=10_000)
    assert wizard.isVisible()
    assert certificates.get("acme/eng", "Shared_CA").description == "bob's change"  # nothing lost silently
    reload = wizard.details.findChild(QPushButton, "reloadButton")
    assert reload is not None
    assert reload.isVisible()
    qtbot.mouseClick(reload, Qt.MouseButton.LeftButton)
    assert wizard.overview.description_edit.toPlainText() == "bob's change"
    wizard.overview.description_edit.setPlainText("bob's change, and mine")
    with qtbot.waitSignal(wizard.finished, timeout=10_000):
        wizard.button(QWizard.WizardButton.FinishButton).click()
    assert certificates.get("acme/eng", "Shared_CA").description == "bob's change, and mine"
    assert window.last_notification == "Certificate Shared CA updated successfully"


def test_a_full_disk_while_saving_is_said_plainly_and_keeps_the_wizard(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_args: object, **_kwargs: object) -> None:
        # The one fault not made for real here (the reliability suite fills a real tmpfs through the CLI).
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(window.services.certificates, "create", full)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    wizard = window.wizard
    assert wizard is not None
    wizard.overview.name_edit.setText("Will not fit")
    wizard.next()
    wizard.details.pem_edit.setPlainText(make_certificate("fits").pem)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: "the disk is full" in wizard.details.error_label.text(), timeout=10_000)
    assert wizard.isVisible()
    assert wizard.overview.name_edit.text() == "Will not fit"
