"""Starting the window: QApplication, the database (with a clear message if it fails), the window."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from certdesk import __version__
from certdesk.domain.errors import CertdeskError
from certdesk.services.bundle import Services
from certdesk.services.clock import SystemClock
from certdesk.ui.events import AppEvents
from certdesk.ui.main_window import MainWindow
from certdesk.ui.prompts import QtPrompter
from certdesk.ui.resources import icon
from certdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)
Info = TypeVar("Info")


def create_application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(sys.argv[:1])
    app.setOrganizationName("certdesk")
    app.setApplicationName("certdesk")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("certdesk")
    app.setWindowIcon(icon("app"))
    return app


def run(
    url: str,
    open_database: Callable[[str], Info],
    build_services: Callable[[Info], Services],
    smoke_test: bool = False,
) -> int:
    """Open the window on the database at `url`; with smoke_test, show it, paint it and quit."""
    app = create_application()
    try:
        info = open_database(url)
    except CertdeskError as error:
        log.error("cannot open database: %s", error.message)
        if smoke_test:
            print(error.message, file=sys.stderr)
        else:
            QMessageBox.critical(None, "certdesk", error.message)
        return error.exit_code
    services = build_services(info)
    runner = TaskRunner(parent=app)
    window = MainWindow(services, runner, AppEvents(app), QtPrompter(), SystemClock(), QSettings())
    window.show()
    if smoke_test:

        def finish() -> None:
            window.repaint()
            ok = window.isVisible() and window.table.isVisible()
            print(f"certdesk {__version__} smoke test: main window {'shown' if ok else 'MISSING'}")
            window.close()
            app.exit(0 if ok else 1)

        QTimer.singleShot(0, finish)
    else:
        QTimer.singleShot(0, window.first_run)
        window.connectors_page.start_renewals()
    code = app.exec()
    runner.wait_for_done()
    return int(code)
