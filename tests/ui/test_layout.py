"""What a person sees: columns on screen, messages next to their fields, icons that show in every theme.

With CERTDESK_UI_SHOTS=folder the screens are also saved as PNG files there, to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QImage, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPlainTextEdit, QWidget
from pytestqt.qtbot import QtBot

from certdesk.ui.certificate_model import EXPIRES, NAME
from certdesk.ui.main_window import MainWindow
from certdesk.ui.resources import icon
from tests.helpers.certs import make_certificate, make_pki
from tests.ui.conftest import CountingCertificates, MakeWindow, add_certificate, add_connector, select_row


def shoot(widget: QWidget, name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CERTDESK_UI_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    QApplication.processEvents()  # pending layouts and repaints first, as on a screen
    assert widget.grab().save(str(path))
    return path


def ink_lightness(image: QImage) -> float:
    """The mean lightness of an icon's drawn pixels (transparent ones left out)."""
    values = [
        image.pixelColor(x, y).lightness()
        for x in range(image.width())
        for y in range(image.height())
        if image.pixelColor(x, y).alpha() > 128
    ]
    assert values, "the icon drew nothing"
    return sum(values) / len(values)


@pytest.fixture
def populated(window: MainWindow, certificates: CountingCertificates) -> MainWindow:
    pki = make_pki(prefix="Acme")
    add_certificate(certificates, "acme", "Acme account root", pem=pki.root.pem, tags={"env": "prod"})
    add_certificate(certificates, "acme/eng", "Localhost chain", pem=pki.chain_pem, tags={"team": "eng"})
    add_certificate(certificates, "acme/eng", "Partner CA", pem=make_certificate("Partner CA", is_ca=True, days=20).pem)
    add_certificate(certificates, "acme/eng", "Legacy root", pem=make_certificate("Legacy", days=3000).pem)
    add_connector("acme/eng", "vault_prod", ("acme/eng", "Localhost_chain"), name="Vault prod")
    add_connector("acme/eng/payments", "vault_pay", ("acme/eng", "Localhost_chain"), name="Vault payments")
    window.inherited_toggle.setChecked(True)
    window.model.refresh()
    return window


def test_main_window_shows_name_and_expiry_without_scrolling(
    qtbot: QtBot, populated: MainWindow, tmp_path: Path
) -> None:
    window = populated
    select_row(qtbot, window, "Localhost chain")
    shoot(window, "main-window", tmp_path)
    shoot(window.details, "details-panel", tmp_path)
    header = window.table.horizontalHeader()
    visible = header.viewport().width()
    for column in (NAME, EXPIRES):
        right = header.sectionViewportPosition(column) + header.sectionSize(column)
        assert header.sectionViewportPosition(column) >= 0, f"column {column} is scrolled off"
        assert right <= visible, f"column {column} is off the right edge"
    assert window.details.width() >= 340, "the details panel is too narrow to read its fields"
    assert window.findChild(QLabel, "detailsUsedBy").text().count("\n") == 1


def test_wizard_pages_keep_messages_next_to_the_fields(qtbot: QtBot, populated: MainWindow, tmp_path: Path) -> None:
    window = populated
    window.new_certificate()
    wizard = window.wizard
    assert wizard is not None
    qtbot.waitUntil(wizard.isVisible)
    qtbot.keyClicks(wizard.overview.name_edit, "Corporate Root CA")
    shoot(wizard, "wizard-overview", tmp_path)
    identifier = wizard.overview.identifier_edit
    identifier.clear()
    qtbot.keyClicks(identifier, "org")
    shoot(wizard, "wizard-overview-error", tmp_path)
    error = wizard.overview.error_label
    description = wizard.findChild(QPlainTextEdit, "descriptionEdit")
    gap = (
        error.mapTo(wizard, error.rect().topLeft()).y() - description.mapTo(wizard, description.rect().bottomLeft()).y()
    )
    assert 0 <= gap < 40, f"the message floats {gap}px away from the fields"
    assert error.text().strip()
    text_top = error.contentsRect().top() + (error.height() - error.sizeHint().height())
    assert text_top < 20, "the message text is not at the top of its label"

    identifier.clear()
    qtbot.keyClicks(identifier, "Corporate_Root_CA")
    wizard.next()
    wizard.details.pem_edit.setPlainText(make_pki(prefix="Globex").chain_pem)
    wizard.details.update_preview()
    shoot(wizard, "wizard-details", tmp_path)
    assert wizard.details.preview.count() == 3
    wizard.reject()


def test_delete_dialogs(qtbot: QtBot, populated: MainWindow, tmp_path: Path) -> None:
    window = populated
    select_row(qtbot, window, "Localhost chain")
    window.delete_certificate()
    dialog = window.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    shoot(dialog, "delete-in-use", tmp_path)
    message = dialog.findChild(QLabel, "deleteMessage")
    assert message.height() >= message.heightForWidth(message.width()), "the connector list is cut off"
    dialog.done(2)  # Force delete...
    force = window.dialog
    assert force is not None
    assert force is not dialog
    qtbot.waitUntil(force.isVisible)
    shoot(force, "force-delete", tmp_path)
    force.reject()


def test_empty_database_and_dark_theme(qtbot: QtBot, make_window: MakeWindow, tmp_path: Path) -> None:
    window = make_window()
    shoot(window, "empty-database", tmp_path)
    window.first_run()
    dialog = window.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    shoot(dialog, "first-run", tmp_path)
    qtbot.keyClicks(dialog.findChild(QLineEdit, "scopeNameEdit"), "Acme Inc")
    with qtbot.waitSignal(window.events.changed):
        dialog.accept()
    shoot(window, "empty-scope", tmp_path)
    light_style = QApplication.style().name()

    window.dark_action.trigger()
    shoot(window, "dark-empty-scope", tmp_path)
    assert ink_lightness(icon("new").pixmap(24).toImage()) > 150, "the New icon vanishes on the dark theme"
    window.dark_action.trigger()
    assert ink_lightness(icon("new").pixmap(24).toImage()) < 100
    assert QApplication.style().name() == light_style, "switching dark off brings the platform look back"


def test_icons_on_a_selected_row_use_the_highlighted_text_colour(qapp: QApplication) -> None:
    palette = QGuiApplication.palette()
    image = icon("organization").pixmap(24, QIcon.Mode.Selected).toImage()
    wanted = palette.color(QPalette.ColorRole.HighlightedText)
    assert abs(ink_lightness(image) - QColor(wanted).lightness()) < 40
    assert icon("no-such-icon").isNull()
