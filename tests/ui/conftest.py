"""Fixtures for the window tests: real services over a fresh database, a prompter that answers itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from certdesk.domain.scopes import ScopePath
from certdesk.services.bundle import Services
from certdesk.services.certificates import CertificateService
from certdesk.services.connectors import ConnectorService
from certdesk.services.scopes import ScopeService
from certdesk.services.views import CertificateDraft, CertificateQuery, CertificateRow
from certdesk.store.connection import DatabaseInfo
from certdesk.store.models import Certificate, Connector, Scope
from certdesk.ui.events import AppEvents
from certdesk.ui.main_window import MainWindow
from certdesk.ui.tasks import TaskRunner
from certdesk.ui.theme import apply_theme
from tests.conftest import SettableClock
from tests.helpers.certs import make_certificate

ACME, ENG, PAYMENTS = ScopePath.parse("acme"), ScopePath.parse("acme/eng"), ScopePath.parse("acme/eng/payments")


# The offscreen platform plugin says this for every top-level window with a size hint; it is about
# the plugin, not the program. Any other Qt warning still fails the test (qt_log_level_fail).
OFFSCREEN_NOISE = r"This plugin does not support propagateSizeHints\(\)"
UI_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if UI_TESTS in item.path.parents:
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


class FakePrompter:
    """Answers instead of a person and remembers what the window said."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []
        self.informations: list[tuple[str, str]] = []
        self.confirmations: list[tuple[str, str]] = []
        self.confirm_answer = True
        self.paths: list[str] = []

    def error(self, parent: QWidget | None, title: str, text: str) -> None:
        self.errors.append((title, text))

    def information(self, parent: QWidget | None, title: str, text: str) -> None:
        self.informations.append((title, text))

    def confirm(self, parent: QWidget | None, title: str, text: str, accept_label: str) -> bool:
        self.confirmations.append((title, text))
        return self.confirm_answer

    def open_files(self, parent: QWidget | None, title: str, filters: str) -> list[str]:
        return list(self.paths)


class CountingCertificates(CertificateService):
    """The real service, counting the pages the table model asks for."""

    def __init__(self, clock: SettableClock, actor: str) -> None:
        super().__init__(clock, actor)
        self.rows_calls: list[tuple[int, int | None]] = []

    def rows(self, query: CertificateQuery, offset: int = 0, limit: int | None = None) -> list[CertificateRow]:
        self.rows_calls.append((offset, limit))
        return super().rows(query, offset, limit)


@pytest.fixture
def prompter() -> FakePrompter:
    return FakePrompter()


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "certdesk.ini"


@pytest.fixture
def settings(settings_path: Path) -> QSettings:
    return QSettings(str(settings_path), QSettings.Format.IniFormat)


@pytest.fixture
def certificates(database: DatabaseInfo, clock: SettableClock) -> CountingCertificates:
    """The certificate service the window gets (shadows the shared fixture, so both are one)."""
    return CountingCertificates(clock, "tester")


@pytest.fixture
def services(
    database: DatabaseInfo, scopes: ScopeService, certificates: CountingCertificates, connectors: ConnectorService
) -> Services:
    return Services(
        scopes=scopes,
        certificates=certificates,
        connectors=connectors,
        database_display=database.display,
        database=database,
    )


@pytest.fixture
def runner(qapp: Any, database: DatabaseInfo) -> Iterator[TaskRunner]:
    task_runner = TaskRunner()
    yield task_runner
    # No worker may outlive the test's database.
    assert task_runner.wait_for_done(10_000)
    task_runner.deleteLater()


@pytest.fixture
def events(qapp: Any) -> AppEvents:
    return AppEvents()


@pytest.fixture(autouse=True)
def _light_theme(qapp: Any) -> Iterator[None]:
    yield
    apply_theme(dark=False)


MakeWindow = Callable[..., MainWindow]


@pytest.fixture
def make_window(
    qtbot: QtBot,
    services: Services,
    runner: TaskRunner,
    events: AppEvents,
    prompter: FakePrompter,
    clock: SettableClock,
    settings: QSettings,
) -> MakeWindow:
    """Build and show a main window; each call makes another one (to test what persists)."""

    def make(**overrides: Any) -> MainWindow:
        arguments: dict[str, Any] = {
            "services": services, "runner": runner, "events": events, "prompter": prompter,
            "clock": clock, "settings": settings,
        }  # fmt: skip
        arguments.update(overrides)
        window = MainWindow(**arguments)
        qtbot.addWidget(window)
        with qtbot.waitExposed(window):
            window.show()
        with qtbot.waitActive(window):  # keyboard shortcuts go to the active window
            window.activateWindow()
        return window

    return make


@pytest.fixture
def window(make_window: MakeWindow, acme: ScopeService) -> MainWindow:
    """A window over acme, acme/eng and acme/eng/payments, showing acme/eng."""
    main = make_window()
    main.scope_tree.select_scope(ENG)
    assert str(main.current_scope()) == "acme/eng"
    return main


def add_certificate(
    service: CertificateService,
    scope: str,
    name: str,
    pem: str | None = None,
    tags: dict[str, str] | None = None,
    identifier: str | None = None,
) -> str:
    """Store a certificate through the service; returns its identifier."""
    pem = pem or make_certificate(name).pem
    detail = service.create(scope, CertificateDraft(name=name, pem=pem, tags=tags or {}, identifier=identifier))
    return detail.identifier


def add_connector(scope: str, identifier: str, uses: tuple[str, str] | None, name: str | None = None) -> Connector:
    """A Vault connector row stored directly (no Vault server involved), optionally trusting a certificate."""
    certificate = None
    if uses is not None:
        certificate = (
            Certificate.select().join(Scope).where((Scope.path == uses[0]) & (Certificate.identifier == uses[1])).get()
        )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Connector.create(
        scope=Scope.get(Scope.path == scope), identifier=identifier, name=name or identifier, kind="vault",
        settings={"url": "https://vault.example:8200"}, certificate=certificate,
        created_at=now, created_by="setup", updated_at=now, updated_by="setup",
    )  # fmt: skip


def table_names(window: MainWindow, column: int = 0) -> list[str]:
    model = window.table.model()
    return [str(model.index(row, column).data()) for row in range(model.rowCount())]


def select_row(qtbot: QtBot, window: MainWindow, name: str) -> None:
    """Click the row whose Name is `name`, as a person would."""
    names = table_names(window)
    assert name in names, names
    index = window.table.model().index(names.index(name), 0)
    window.table.scrollTo(index)
    rect = window.table.visualRect(index)
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    row = window.selected_row()
    assert row is not None
    assert row.name == name
