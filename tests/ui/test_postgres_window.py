"""The window on a team database: a real PostgreSQL server, the same flows as on SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from certdesk.app import build_services
from certdesk.domain.scopes import ScopePath
from certdesk.services.certificates import CertificateService
from certdesk.services.clock import SystemClock
from certdesk.services.views import CertificateDraft
from certdesk.store.connection import close_db, init_db
from certdesk.ui.events import AppEvents
from certdesk.ui.main_window import MainWindow
from certdesk.ui.tasks import TaskRunner
from tests.helpers.certs import make_certificate, make_pki
from tests.ui.conftest import FakePrompter, table_names

pytestmark = pytest.mark.postgres


@pytest.fixture
def team_window(qtbot: QtBot, postgres_database: str, tmp_path: object) -> Iterator[MainWindow]:
    services = build_services(init_db(postgres_database))
    services.scopes.create("acme", "Acme")
    services.scopes.create("acme/eng", "Engineering")
    runner = TaskRunner()
    settings = QSettings(str(tmp_path) + "/team.ini", QSettings.Format.IniFormat)
    window = MainWindow(services, runner, AppEvents(), FakePrompter(), SystemClock(), settings)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    window.show()
    window.scope_tree.select_scope(ScopePath.parse("acme/eng"))
    yield window
    window.close()
    runner.wait_for_done()
    close_db()


def test_create_filter_inherit_and_see_a_colleagues_change_on_postgresql(qtbot: QtBot, team_window: MainWindow) -> None:
    window = team_window
    assert window.database_label.text().startswith("Database: postgresql://")
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    wizard = window.wizard
    assert wizard is not None
    wizard.overview.name_edit.setText("Team chain")
    wizard.next()
    wizard.details.pem_edit.setPlainText(make_pki(prefix="team").chain_pem)
    with qtbot.waitSignal(wizard.finished, timeout=15_000):
        wizard.button(QWizard.WizardButton.FinishButton).click()
    assert window.last_notification == "Certificate Team chain created successfully"
    assert table_names(window) == ["Team chain"]
    assert window.details.chain_tree.topLevelItemCount() == 1

    colleague = CertificateService(SystemClock(), "bob")
    colleague.create("acme", CertificateDraft(name="bob's root", pem=make_certificate("bob").pem))
    window.inherited_toggle.setChecked(True)
    window.poll_changes()
    assert table_names(window) == ["bob's root", "Team chain"]
    assert [window.model.index(row, 1).data() for row in range(2)] == ["account.bob_s_root", "Team_chain"]

    window.filter_edit.setText("team")
    assert table_names(window) == ["Team chain"]
