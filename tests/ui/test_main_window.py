"""The main window: scopes, the certificate list (filter, sort, inherited rows, paging), keys, settings."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QPoint, QSettings, Qt
from PySide6.QtGui import QAction, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from certdesk.domain.scopes import ScopePath
from certdesk.domain.x509 import format_fingerprint
from certdesk.services.bundle import Services
from certdesk.services.scopes import ScopeService
from certdesk.services.views import CertificateDraft
from certdesk.ui.certificate_model import EXPIRES, IDENTIFIER, PAGE_SIZE, TAGS, USED_BY
from certdesk.ui.main_window import MainWindow
from certdesk.ui.scope_tree import PATH_ROLE
from certdesk.ui.tasks import TaskRunner
from tests.helpers.certs import make_bundle, make_certificate
from tests.ui.conftest import (
    ENG,
    PAYMENTS,
    CountingCertificates,
    FakePrompter,
    MakeWindow,
    add_certificate,
    select_row,
    table_names,
)

# --- scopes --------------------------------------------------------------------------------------


def tree_index(window: MainWindow, path: str) -> QModelIndex:
    model = window.scope_tree.model()
    found = model.match(model.index(0, 0), PATH_ROLE, path, 1, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive)
    assert found, f"{path} is not in the tree"
    return found[0]


def click_scope(qtbot: QtBot, window: MainWindow, path: str) -> None:
    index = tree_index(window, path)
    rect = window.scope_tree.visualRect(index)
    qtbot.mouseClick(window.scope_tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert str(window.current_scope()) == path


def menu_action(window: MainWindow, index: QModelIndex, text: str) -> QAction:
    menu = window.scope_tree.build_menu(index)
    actions = {action.text(): action for action in menu.actions() if not action.isSeparator()}
    assert text in actions, list(actions)
    return actions[text]


def create_scope_through_dialog(qtbot: QtBot, window: MainWindow, name: str, expected_identifier: str) -> None:
    dialog = window.dialog
    assert dialog is not None
    assert dialog.objectName() == "scopeDialog"
    qtbot.waitUntil(dialog.isVisible)
    qtbot.keyClicks(dialog.findChild(QLineEdit, "scopeNameEdit"), name)
    assert dialog.findChild(QLineEdit, "scopeIdentifierEdit").text() == expected_identifier
    create = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    assert create.text() == "Create"
    assert create.isEnabled()
    with qtbot.waitSignal(window.events.changed, timeout=10_000):
        qtbot.mouseClick(create, Qt.MouseButton.LeftButton)


def test_scopes_are_created_from_the_tree_context_menu(qtbot: QtBot, window: MainWindow, scopes: ScopeService) -> None:
    acme = tree_index(window, "acme")
    assert [a.text() for a in window.scope_tree.build_menu(acme).actions() if a.text()] == [
        "New Organization...", "Rename...", "Delete...", "New Account...",
    ]  # fmt: skip
    assert "New Project..." in [
        a.text() for a in window.scope_tree.build_menu(tree_index(window, "acme/eng")).actions()
    ]
    project_menu = [a.text() for a in window.scope_tree.build_menu(tree_index(window, "acme/eng/payments")).actions()]
    assert "New Project..." not in project_menu
    assert "New Organization..." not in project_menu

    menu_action(window, acme, "New Organization...").trigger()
    create_scope_through_dialog(qtbot, window, "Operations Team", "Operations_Team")
    assert str(window.current_scope()) == "acme/Operations_Team"
    assert window.last_notification == "Organization Operations Team created"

    menu_action(window, tree_index(window, "acme/Operations_Team"), "New Project...").trigger()
    create_scope_through_dialog(qtbot, window, "Billing", "Billing")
    assert str(window.current_scope()) == "acme/Operations_Team/Billing"
    assert window.scope_tree.isExpanded(tree_index(window, "acme/Operations_Team"))

    menu_action(window, QModelIndex(), "New Account...").trigger()  # the empty area of the tree
    create_scope_through_dialog(qtbot, window, "Globex", "Globex")
    assert str(window.current_scope()) == "Globex"
    assert {str(view.path) for view in scopes.list()} == {
        "acme", "acme/eng", "acme/eng/payments", "acme/Operations_Team", "acme/Operations_Team/Billing", "Globex",
    }  # fmt: skip
    assert window.scope_title.text() == "Account Globex — Certificates"


def test_scope_dialog_refuses_a_sibling_identifier(qtbot: QtBot, window: MainWindow) -> None:
    menu_action(window, tree_index(window, "acme"), "New Organization...").trigger()
    dialog = window.dialog
    assert dialog is not None
    name, identifier = dialog.findChild(QLineEdit, "scopeNameEdit"), dialog.findChild(QLineEdit, "scopeIdentifierEdit")
    qtbot.keyClicks(name, "eng")
    assert identifier.text() == "eng_2", "the derived identifier avoids the sibling"
    identifier.clear()
    qtbot.keyClicks(identifier, "eng")
    create = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    assert not create.isEnabled()
    assert "already used" in dialog.findChild(QLabel, "scopeError").text()
    dialog.reject()


def test_rename_and_delete_scope_from_the_menu(
    qtbot: QtBot, window: MainWindow, scopes: ScopeService, prompter: FakePrompter
) -> None:
    menu_action(window, tree_index(window, "acme/eng/payments"), "Rename...").trigger()
    dialog = window.dialog
    assert dialog is not None
    identifier = dialog.findChild(QLineEdit, "scopeIdentifierEdit")
    assert identifier.isReadOnly()
    name = dialog.findChild(QLineEdit, "scopeNameEdit")
    name.selectAll()
    qtbot.keyClicks(name, "Payments API")
    with qtbot.waitSignal(window.events.changed, timeout=10_000):
        qtbot.mouseClick(
            dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton
        )
    assert scopes.get(PAYMENTS).name == "Payments API"
    assert tree_index(window, "acme/eng/payments").data() == "Payments API"

    prompter.confirm_answer = False
    menu_action(window, tree_index(window, "acme/eng/payments"), "Delete...").trigger()
    assert "acme/eng/payments" in [str(v.path) for v in scopes.list()]
    prompter.confirm_answer = True
    with qtbot.waitSignal(window.events.changed, timeout=10_000):
        menu_action(window, tree_index(window, "acme/eng/payments"), "Delete...").trigger()
    assert "acme/eng/payments" not in [str(v.path) for v in scopes.list()]
    assert str(window.current_scope()) == "acme/eng", "the parent is selected after a delete"


# --- filter --------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(window: MainWindow, certificates: CountingCertificates) -> MainWindow:
    """Four certificates in acme/eng with different names, tags and issuers."""
    globex_ca = make_certificate("Globex Issuing CA", is_ca=True)
    add_certificate(certificates, "acme/eng", "Corporate Root", tags={"env": "prod"})
    add_certificate(certificates, "acme/eng", "Partner CA", tags={"env": "staging", "team": "payments"})
    add_certificate(certificates, "acme/eng", "Web server", pem=make_certificate("web.acme.test", issuer=globex_ca).pem)
    add_certificate(certificates, "acme/eng", "Lab root")
    window.model.refresh()
    return window


def type_filter(qtbot: QtBot, window: MainWindow, text: str) -> None:
    window.filter_edit.clear()
    qtbot.keyClicks(window.filter_edit, text)


def test_filter_by_name_tag_and_issuer(qtbot: QtBot, catalogue: MainWindow) -> None:
    window = catalogue
    count = window.findChild(QLabel, "countLabel")
    type_filter(qtbot, window, "root")
    assert table_names(window) == ["Corporate Root", "Lab root"]
    assert count.text() == "2 certificates matching the filter"

    type_filter(qtbot, window, "env:prod")
    assert table_names(window) == ["Corporate Root"]
    assert count.text() == "1 certificate matching the filter"
    type_filter(qtbot, window, "team:payments")
    assert table_names(window) == ["Partner CA"]

    type_filter(qtbot, window, "globex issuing")
    assert table_names(window) == ["Web server"]

    type_filter(qtbot, window, "no such thing")
    assert table_names(window) == []
    empty = window.findChild(QLabel, "emptyState")
    assert empty.isVisible()
    assert "No certificate matches 'no such thing'" in empty.text()

    window.filter_edit.clear()
    assert len(table_names(window)) == 4
    assert count.text() == "4 certificates"
    assert not empty.isVisible()


def test_filter_by_pasted_colon_fingerprint(
    qtbot: QtBot, catalogue: MainWindow, certificates: CountingCertificates
) -> None:
    window = catalogue
    select_row(qtbot, window, "Partner CA")
    copy = window.findChild(QPushButton, "copyFingerprintButton")
    qtbot.mouseClick(copy, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    sha256 = certificates.get("acme/eng", "Partner_CA").report.leaf.sha256
    assert copied == format_fingerprint(sha256)
    assert ":" in copied

    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.filter_edit.hasFocus()
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert window.filter_edit.text() == copied
    assert table_names(window) == ["Partner CA"]

    # Part of a fingerprint, as people compare the first bytes.
    type_filter(qtbot, window, copied[:23].lower())
    assert table_names(window) == ["Partner CA"]


def test_ctrl_f_focuses_the_filter_and_selects_its_text(qtbot: QtBot, catalogue: MainWindow) -> None:
    window = catalogue
    window.filter_edit.setText("old")
    window.table.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.filter_edit.hasFocus()
    assert window.filter_edit.selectedText() == "old"
    qtbot.keyClicks(window.filter_edit, "lab")
    assert table_names(window) == ["Lab root"]


# --- sort ----------------------------------------------------------------------------------------


def click_header(qtbot: QtBot, window: MainWindow, column: int) -> None:
    window.table.scrollTo(window.model.index(0, column))  # as a person scrolls right to see it
    header = window.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    assert 0 < x < header.viewport().width(), "the header section is not on screen"
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def test_clicking_the_expires_header_sorts_ascending_then_descending(
    qtbot: QtBot, window: MainWindow, certificates: CountingCertificates
) -> None:
    now = datetime.now(UTC)
    for name, days in (("Middle", 200), ("Soon", 10), ("Late", 900), ("Gone", -5)):
        issued = make_certificate(name, not_before=now - timedelta(days=30), not_after=now + timedelta(days=days))
        add_certificate(certificates, "acme/eng", name, pem=issued.pem)
    window.model.refresh()
    assert table_names(window) == ["Gone", "Late", "Middle", "Soon"], "sorted by name at first"

    click_header(qtbot, window, EXPIRES)
    assert window.table.horizontalHeader().sortIndicatorSection() == EXPIRES
    assert table_names(window) == ["Gone", "Soon", "Middle", "Late"]
    assert window.model.query is not None
    assert window.model.query.descending is False
    expires = table_names(window, EXPIRES)
    assert expires[0].endswith("(expired)")
    assert expires[1].endswith("(expiring)")
    assert expires[2].endswith("(valid)")

    click_header(qtbot, window, EXPIRES)
    assert table_names(window) == ["Late", "Middle", "Soon", "Gone"]
    assert window.table.horizontalHeader().sortIndicatorOrder() == Qt.SortOrder.DescendingOrder

    click_header(qtbot, window, 0)
    assert table_names(window) == ["Gone", "Late", "Middle", "Soon"]


def test_sort_survives_a_scope_change_and_a_filter(
    qtbot: QtBot, window: MainWindow, certificates: CountingCertificates
) -> None:
    add_certificate(certificates, "acme/eng", "B first", pem=make_certificate("b", days=10).pem)
    add_certificate(certificates, "acme/eng", "A last", pem=make_certificate("a", days=500).pem)
    window.model.refresh()
    click_header(qtbot, window, EXPIRES)
    click_scope(qtbot, window, "acme")
    click_scope(qtbot, window, "acme/eng")
    assert table_names(window) == ["B first", "A last"]
    type_filter(qtbot, window, "first")
    assert table_names(window) == ["B first"]


# --- inherited certificates ---------------------------------------------------------------------


def test_inherited_rows_show_references_and_cannot_be_edited_or_deleted(
    qtbot: QtBot, window: MainWindow, certificates: CountingCertificates
) -> None:
    add_certificate(certificates, "acme", "Account root")
    add_certificate(certificates, "acme/eng", "Org root")
    add_certificate(certificates, "acme/eng/payments", "Project leaf")
    click_scope(qtbot, window, "acme/eng/payments")
    toggle = window.inherited_toggle
    assert toggle.objectName() == "includeParentsToggle"
    assert toggle.isEnabled()
    assert table_names(window) == ["Project leaf"]

    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    assert toggle.isChecked()
    assert sorted(table_names(window, IDENTIFIER)) == ["Project_leaf", "account.Account_root", "org.Org_root"]

    select_row(qtbot, window, "Org root")
    assert not window.edit_action.isEnabled()
    assert not window.delete_action.isEnabled()
    qtbot.keyClick(window.table, Qt.Key.Key_F2)
    assert window.wizard is None
    qtbot.keyClick(window.table, Qt.Key.Key_Delete)
    assert window.dialog is None
    index = window.table.currentIndex()
    qtbot.mouseDClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=window.table.visualRect(index).center())
    assert window.wizard is None
    assert "belongs to acme/eng" in window.statusBar().currentMessage(), "a double click says why it cannot edit"
    assert window.details.detail is not None
    assert window.details.detail.name == "Org root", "inherited rows still show their details"

    select_row(qtbot, window, "Project leaf")
    assert window.edit_action.isEnabled()
    assert window.delete_action.isEnabled()

    # The organization sees only the account's certificates as inherited.
    click_scope(qtbot, window, "acme/eng")
    assert sorted(table_names(window, IDENTIFIER)) == ["Org_root", "account.Account_root"]
    # The account has nothing above it: the toggle does not apply.
    click_scope(qtbot, window, "acme")
    assert not toggle.isEnabled()
    assert table_names(window, IDENTIFIER) == ["Account_root"]

    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)  # disabled: ignored
    click_scope(qtbot, window, "acme/eng/payments")
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    assert table_names(window) == ["Project leaf"]


# --- keyboard ------------------------------------------------------------------------------------


def test_ctrl_n_opens_the_wizard_for_the_current_scope(qtbot: QtBot, window: MainWindow) -> None:
    click_scope(qtbot, window, "acme/eng/payments")
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.wizard is not None
    assert window.wizard.scope == PAYMENTS
    assert window.wizard.windowTitle() == "New Certificate — acme/eng/payments"
    window.wizard.reject()
    assert window.wizard is None


def test_new_certificate_button_opens_the_wizard(qtbot: QtBot, window: MainWindow) -> None:
    button = window.findChild(QPushButton, "newCertificateButton")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.wizard is not None
    assert window.wizard.scope == ENG
    window.wizard.reject()


# --- paging --------------------------------------------------------------------------------------


def test_the_table_never_loads_every_row(
    qtbot: QtBot, make_window: MakeWindow, acme: ScopeService, certificates: CountingCertificates
) -> None:
    outcome = certificates.import_sources("acme/eng", [("bulk.pem", make_bundle(5000).encode())])
    assert len(outcome.added) == 5000
    certificates.rows_calls.clear()
    window = make_window()
    click_scope(qtbot, window, "acme/eng")
    qtbot.waitUntil(lambda: bool(certificates.rows_calls))  # the table paints its first rows
    window.table.viewport().repaint()
    assert window.model.rowCount() == 5000
    assert window.findChild(QLabel, "countLabel").text() == "5,000 certificates"
    assert all(limit == PAGE_SIZE for _offset, limit in certificates.rows_calls)
    assert len(window.model._pages) <= 2
    assert len(certificates.rows_calls) <= 2

    window.table.scrollToBottom()
    window.table.viewport().repaint()
    assert window.model._pages, "scrolling fetched the last page"
    assert max(window.model._pages) == (5000 - 1) // PAGE_SIZE
    assert len(window.model._pages) <= 4
    assert all(limit == PAGE_SIZE for _offset, limit in certificates.rows_calls)

    # Filtering and selecting a row do not read everything either.
    certificates.rows_calls.clear()
    qtbot.keyClicks(window.filter_edit, "bulk 0049")
    # bulk 004900 to 004999, and the odd certificate whose fingerprint holds 0049
    assert 100 <= window.model.rowCount() < 200
    window.table.viewport().repaint()
    select_row(qtbot, window, "bulk 004903")
    assert len(certificates.rows_calls) <= 2
    assert all(limit == PAGE_SIZE for _offset, limit in certificates.rows_calls)


# --- settings ------------------------------------------------------------------------------------


def test_window_layout_is_saved_and_restored(
    qtbot: QtBot, make_window: MakeWindow, acme: ScopeService, settings_path: Path
) -> None:
    first = make_window()
    first.resize(760, 600)  # within the offscreen screen (800x800): Qt fits a restored window to it
    first.splitter.setSizes([300, 700])
    first.details_splitter.setSizes([400, 300])
    first.table.horizontalHeader().resizeSection(0, 321)
    first.inherited_toggle.setChecked(True)
    saved_main, saved_details = first.splitter.sizes(), first.details_splitter.sizes()
    first.close()

    stored = QSettings(str(settings_path), QSettings.Format.IniFormat)
    for key in ("window/geometry", "window/state", "window/mainSplitter", "window/detailsSplitter",
                "window/certificateHeader", "ui/includeParents"):  # fmt: skip
        assert stored.contains(key), key

    second = make_window(settings=QSettings(str(settings_path), QSettings.Format.IniFormat))
    assert second.size().width() == 760
    assert second.size().height() == 600
    assert second.splitter.sizes() == saved_main
    assert second.details_splitter.sizes() == saved_details
    assert second.table.columnWidth(0) == 321
    assert second.inherited_toggle.isChecked()
    click_scope(qtbot, second, "acme/eng")
    assert second.model.query is not None
    assert second.model.query.include_parents, "the restored toggle applies to the list"


def test_dark_mode_is_remembered(
    qtbot: QtBot, make_window: MakeWindow, acme: ScopeService, settings_path: Path
) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    light_window = app.palette().color(QPalette.ColorRole.Window)
    first = make_window()
    dark = first.findChild(QAction, "darkModeAction")
    assert not dark.isChecked()
    dark.trigger()
    assert dark.isChecked()
    assert app.palette().color(QPalette.ColorRole.Window).lightness() < 100
    first.close()

    second = make_window(settings=QSettings(str(settings_path), QSettings.Format.IniFormat))
    dark_again = second.findChild(QAction, "darkModeAction")
    assert dark_again.isChecked()
    assert app.palette().color(QPalette.ColorRole.Window).lightness() < 100
    dark_again.trigger()
    assert app.palette().color(QPalette.ColorRole.Window) == light_window
    second.close()

    third = make_window(settings=QSettings(str(settings_path), QSettings.Format.IniFormat))
    assert not third.findChild(QAction, "darkModeAction").isChecked()


class GatedRunner(TaskRunner):
    """A runner whose work waits until someone waits for it: proves the window waited."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.waited = False

    def wait_for_done(self, msecs: int = 30_000) -> bool:
        self.waited = True
        self.gate.set()
        return super().wait_for_done(msecs)


def test_closing_waits_for_background_work(
    qtbot: QtBot, make_window: MakeWindow, acme: ScopeService, services: Services
) -> None:
    runner = GatedRunner()
    window = make_window(runner=runner)
    started, written = threading.Event(), threading.Event()

    def work(_handle: object) -> str:
        started.set()
        assert runner.gate.wait(10)
        detail = services.certificates.create("acme/eng", CertificateDraft("Late write", make_certificate("x").pem))
        written.set()
        return detail.identifier

    runner.submit(work, lambda _identifier: None, lambda error: None)
    try:
        assert started.wait(10)
        assert runner.busy
        window.close()
        assert runner.waited
        assert written.is_set(), "close() returned before the background write finished"
        assert services.certificates.identifiers(ScopePath.parse("acme/eng")) == {"Late_write"}
        qtbot.waitUntil(lambda: not runner.busy)
    finally:  # never leave the worker running past the test's database
        runner.gate.set()
        runner.pool.waitForDone(10_000)


def test_an_unsortable_column_leaves_the_sort_as_it_was(
    qtbot: QtBot, window: MainWindow, certificates: CountingCertificates
) -> None:
    add_certificate(certificates, "acme/eng", "B", pem=make_certificate("b", days=10).pem, tags={"z": ""})
    add_certificate(certificates, "acme/eng", "A", pem=make_certificate("a", days=500).pem, tags={"a": ""})
    window.model.refresh()
    click_header(qtbot, window, EXPIRES)
    assert table_names(window) == ["B", "A"]
    header = window.table.horizontalHeader()
    for column in (USED_BY, TAGS):
        click_header(qtbot, window, column)
        assert table_names(window) == ["B", "A"]
        assert header.sortIndicatorSection() == EXPIRES, "the arrow must show the order the rows are in"
        assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder


def test_the_sort_order_is_restored_with_the_rows_in_that_order(
    qtbot: QtBot, make_window: MakeWindow, acme: ScopeService, certificates: CountingCertificates, settings_path: Path
) -> None:
    add_certificate(certificates, "acme", "A soon", pem=make_certificate("a", days=10).pem)
    add_certificate(certificates, "acme", "B late", pem=make_certificate("b", days=500).pem)
    first = make_window()
    click_header(qtbot, first, EXPIRES)
    click_header(qtbot, first, EXPIRES)
    assert table_names(first) == ["B late", "A soon"]
    first.close()

    second = make_window(settings=QSettings(str(settings_path), QSettings.Format.IniFormat))
    header = second.table.horizontalHeader()
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (EXPIRES, Qt.SortOrder.DescendingOrder)
    assert table_names(second) == ["B late", "A soon"], "the rows must follow the restored arrow"


def test_delete_typed_in_the_filter_edits_the_text_and_deletes_nothing(
    qtbot: QtBot, catalogue: MainWindow, certificates: CountingCertificates
) -> None:
    window = catalogue
    select_row(qtbot, window, "Partner CA")
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(window.filter_edit, "partner")
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Home)
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Delete)
    assert window.filter_edit.text() == "artner"
    assert window.dialog is None
    assert len(certificates.identifiers("acme/eng")) == 4
