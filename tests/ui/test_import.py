"""Importing files: drag and drop onto the list, progress with Cancel, and a summary at the end."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QProgressBar, QProgressDialog, QPushButton
from pytestqt.qtbot import QtBot

from certdesk.store.models import Certificate
from certdesk.ui.main_window import MainWindow
from tests.helpers.certs import make_bundle, make_certificate, make_pki
from tests.ui.conftest import CountingCertificates, FakePrompter, add_certificate, table_names


def mime_for(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    return mime


def drag_enter(window: MainWindow, mime: QMimeData) -> bool:
    viewport = window.table.viewport()
    event = QDragEnterEvent(
        QPointF(viewport.rect().center()), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(viewport, event)
    return event.isAccepted()


def drop(window: MainWindow, mime: QMimeData) -> bool:
    viewport = window.table.viewport()
    event = QDropEvent(
        QPointF(viewport.rect().center()), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(viewport, event)
    return event.isAccepted()


def wait_for_summary(qtbot: QtBot, prompter: FakePrompter, window: MainWindow) -> str:
    qtbot.waitUntil(lambda: bool(prompter.informations) and window.import_job is None, timeout=30_000)
    assert len(prompter.informations) == 1
    title, text = prompter.informations[0]
    assert title == "Import finished"
    return text


def test_dropping_a_file_on_the_table_imports_it(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, prompter: FakePrompter, certificates: CountingCertificates
) -> None:
    pki = make_pki(prefix="Dropped")
    path = tmp_path / "chain.pem"
    path.write_text(pki.chain_pem)
    mime = mime_for(path)

    assert drag_enter(window, mime), "the table must accept a local file"
    assert drop(window, mime)
    summary = wait_for_summary(qtbot, prompter, window)

    assert summary == "3 added, 0 duplicates skipped."
    assert window.last_notification == "Import: 3 added, 0 duplicates skipped."
    assert table_names(window) == ["Dropped Intermediate CA", "Dropped Root CA", "localhost"]
    assert window.findChild(QPushButton, "newCertificateButton").isEnabled()
    assert window.import_job is None


def test_dropping_a_folder_imports_its_certificate_files_and_reports_refusals(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, prompter: FakePrompter, certificates: CountingCertificates
) -> None:
    folder = tmp_path / "certs"
    (folder / "nested").mkdir(parents=True)
    first = make_certificate("First CA", is_ca=True)
    (folder / "first.crt").write_text(first.pem)
    (folder / "nested" / "second.der").write_bytes(make_certificate("Second CA", is_ca=True).der)
    (folder / "again.pem").write_text(first.pem)  # a duplicate
    (folder / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    (folder / "notes.txt").write_text("not a certificate file, not even looked at")

    mime = mime_for(folder)
    assert drag_enter(window, mime)
    drop(window, mime)
    summary = wait_for_summary(qtbot, prompter, window)

    assert summary.startswith("2 added, 1 duplicates skipped, 1 refused.")
    assert "broken.pem:" in summary
    assert "notes.txt" not in summary
    assert table_names(window) == ["First CA", "Second CA"]


def test_a_remote_url_is_not_accepted(window: MainWindow) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/root.pem")])
    assert not drag_enter(window, mime)
    text_only = QMimeData()
    text_only.setText("just text")
    assert not drag_enter(window, text_only)


def test_import_paths_reports_progress(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, prompter: FakePrompter, certificates: CountingCertificates
) -> None:
    path = tmp_path / "bundle.pem"
    path.write_text(make_bundle(600, prefix="progress"))
    window.import_paths([path])
    job = window.import_job
    assert job is not None
    progress = job.progress
    assert isinstance(progress, QProgressDialog)
    assert progress.objectName() == "importProgress"
    values: list[tuple[int, int]] = []
    bar = progress.findChild(QProgressBar)
    bar.valueChanged.connect(lambda value: values.append((value, bar.maximum())))

    window.import_paths([path])  # a second import while one runs is not started
    assert window.import_job is job

    summary = wait_for_summary(qtbot, prompter, window)
    assert summary == "600 added, 0 duplicates skipped."
    assert values, "no progress was shown"
    assert values[-1] == (600, 600)
    assert [value for value, _ in values] == sorted(value for value, _ in values)
    assert window.model.rowCount() == 600


def test_cancel_keeps_nothing_from_the_cancelled_file(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, prompter: FakePrompter, certificates: CountingCertificates
) -> None:
    add_certificate(certificates, "acme/eng", "Already here")
    big = tmp_path / "big.pem"
    big.write_text(make_bundle(4000, prefix="cancelled"))
    window.import_paths([big])
    job = window.import_job
    assert job is not None
    cancel = job.progress.findChild(QPushButton)
    assert cancel is not None
    assert cancel.text() == "Cancel"
    cancel.click()
    assert job.progress.labelText() == "Cancelling..."

    summary = wait_for_summary(qtbot, prompter, window)
    assert summary.startswith("Import cancelled: 0 added")
    assert window.last_notification.startswith("Import: Import cancelled")
    names = [name for (name,) in Certificate.select(Certificate.name).tuples()]
    assert names == ["Already here"]
    assert table_names(window) == ["Already here"]

    # The window is ready for the next import.
    small = tmp_path / "small.pem"
    small.write_text(make_certificate("After cancel").pem)
    prompter.informations.clear()
    window.import_paths([small])
    assert wait_for_summary(qtbot, prompter, window) == "1 added, 0 duplicates skipped."


def test_import_files_action_asks_for_files(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, prompter: FakePrompter
) -> None:
    path = tmp_path / "one.crt"
    path.write_text(make_certificate("Picked").pem)
    prompter.paths = [str(path)]
    qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    wait_for_summary(qtbot, prompter, window)
    assert table_names(window) == ["Picked"]


def test_dropping_onto_the_window_elsewhere_also_imports(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, prompter: FakePrompter
) -> None:
    path = tmp_path / "one.pem"
    path.write_text(make_certificate("Anywhere").pem)
    mime = mime_for(path)  # the event only points at it: keep it alive
    event = QDropEvent(
        QPointF(QPoint(10, 10)), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    window.dropEvent(event)
    wait_for_summary(qtbot, prompter, window)
    assert table_names(window) == ["Anywhere"]
