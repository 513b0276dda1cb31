"""The New Certificate wizard: Overview (name, identifier, tags, description), then Details (PEM)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFontDatabase
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from certdesk.domain.errors import CertdeskError, InvalidCertificate, StaleWrite
from certdesk.domain.names import derive_identifier, format_tags, identifier_problem, name_problem, parse_tags
from certdesk.domain.scopes import ScopePath
from certdesk.domain.x509 import analyse, to_pem_text
from certdesk.services.certificates import CertificateService
from certdesk.services.clock import Clock
from certdesk.services.views import CertificateDetail, CertificateDraft, CertificateEdit
from certdesk.ui.prompts import CERTIFICATE_FILE_FILTER, CERTIFICATE_SUFFIXES, Prompter
from certdesk.ui.resources import icon
from certdesk.ui.tasks import TaskHandle, TaskRunner

MAX_FILE_BYTES = 64 * 1024 * 1024
ERROR_STYLE = "QLabel { color: #c62828; }"


class OverviewPage(QWizardPage):
    def __init__(self, taken: set[str], editing: CertificateDetail | None) -> None:
        super().__init__()
        self.setObjectName("overviewPage")
        self.setTitle(self.tr("Overview"))
        self.setSubTitle(self.tr("Name the certificate; the identifier is how connectors refer to it."))
        self.taken = taken
        self.editing = editing
        self._identifier_touched = editing is not None

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("nameEdit")
        self.name_edit.setAccessibleName(self.tr("Name"))
        self.name_edit.setPlaceholderText(self.tr("e.g. Corporate Root CA"))
        self.identifier_edit = QLineEdit()
        self.identifier_edit.setObjectName("identifierEdit")
        self.identifier_edit.setAccessibleName(self.tr("Identifier"))
        self.tags_edit = QLineEdit()
        self.tags_edit.setObjectName("tagsEdit")
        self.tags_edit.setAccessibleName(self.tr("Tags"))
        self.tags_edit.setPlaceholderText(self.tr("optional: env:prod, team:payments"))
        self.description_edit = QPlainTextEdit()
        self.description_edit.setObjectName("descriptionEdit")
        self.description_edit.setAccessibleName(self.tr("Description"))
        self.description_edit.setPlaceholderText(self.tr("optional"))
        self.description_edit.setFixedHeight(80)
        self.error_label = QLabel()
        self.error_label.setObjectName("overviewError")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow(self.tr("Name *"), self.name_edit)
        form.addRow(self.tr("Identifier"), self.identifier_edit)
        form.addRow(self.tr("Tags"), self.tags_edit)
        form.addRow(self.tr("Description"), self.description_edit)
        form.addRow(self.error_label)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)  # keeps the message under the fields, not adrift in the middle of the page

        if editing is not None:
            self.fill(editing)
        self.name_edit.textChanged.connect(self._name_changed)
        self.identifier_edit.textEdited.connect(self._identifier_edited)
        self.identifier_edit.textChanged.connect(self._validate)
        self.tags_edit.textChanged.connect(self._validate)
        self.description_edit.textChanged.connect(self._validate)
        self._validate()

    def fill(self, detail: CertificateDetail) -> None:
        """Show a stored certificate's fields (editing, or reloading after someone else saved)."""
        self.name_edit.setText(detail.name)
        self.identifier_edit.setText(detail.identifier)
        self.identifier_edit.setReadOnly(True)
        self.identifier_edit.setToolTip(self.tr("The identifier of a certificate cannot change."))
        self.tags_edit.setText(format_tags(detail.tags))
        self.description_edit.setPlainText(detail.description)

    def _name_changed(self, text: str) -> None:
        if not self._identifier_touched:
            self.identifier_edit.setText(derive_identifier(text, self.taken) if text.strip() else "")
        self._validate()

    def _identifier_edited(self, _text: str) -> None:
        self._identifier_touched = True

    def problem(self) -> str | None:
        """What stops the person from continuing, in the domain's words."""
        name = self.name_edit.text()
        if not name.strip():
            return None if not self.name_edit.isModified() else name_problem(name)
        problem = name_problem(name)
        if problem:
            return problem
        identifier = self.identifier_edit.text()
        if self.editing is None:
            problem = identifier_problem(identifier)
            if problem:
                return problem
            if identifier in self.taken:
                return self.tr("A certificate with identifier '{0}' already exists in this scope.").format(identifier)
        try:
            parse_tags([self.tags_edit.text()])
        except CertdeskError as error:
            return error.message
        return None

    def _validate(self) -> None:
        problem = self.problem()
        self.error_label.setText(problem or "")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return bool(self.name_edit.text().strip()) and self.problem() is None


class DetailsPage(QWizardPage):
    """The certificate itself: pasted, loaded from a file or dropped; previewed as it is typed."""

    def __init__(self, clock: Clock, prompter: Prompter, editing: CertificateDetail | None) -> None:
        super().__init__()
        self.setObjectName("detailsPage")
        self.setTitle(self.tr("Details"))
        self.setSubTitle(
            self.tr("TLS certificate in X.509 format (PEM). Paste one certificate or a chain, or load a file.")
        )
        self.clock = clock
        self.prompter = prompter
        self.setAcceptDrops(True)

        self.pem_edit = QPlainTextEdit()
        self.pem_edit.setObjectName("pemEdit")
        self.pem_edit.setAccessibleName(self.tr("Certificate in PEM format"))
        self.pem_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.pem_edit.setPlaceholderText("-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----")
        self.pem_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.pem_edit.setAcceptDrops(False)  # the page takes drops, so files are read, not pasted as paths
        self.load_button = QPushButton(self.tr("Load from file..."))
        self.load_button.setObjectName("loadFromFileButton")
        self.load_button.clicked.connect(self.load_from_dialog)
        self.preview = QListWidget()
        self.preview.setObjectName("previewList")
        self.preview.setAccessibleName(self.tr("Certificates found"))
        self.preview.setMaximumHeight(120)
        self.error_label = QLabel()
        self.error_label.setObjectName("detailsError")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reload_button = QPushButton(self.tr("Reload their version"))
        self.reload_button.setObjectName("reloadButton")
        self.reload_button.setVisible(False)

        buttons = QHBoxLayout()
        buttons.addWidget(QLabel(self.tr("Drop .pem, .crt, .cer, .der or .p7b files here, or")))
        buttons.addStretch(1)
        buttons.addWidget(self.load_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pem_edit, 3)
        layout.addLayout(buttons)
        layout.addWidget(QLabel(self.tr("Preview")))
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.reload_button, 0, Qt.AlignmentFlag.AlignRight)

        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(150)
        self._preview_timer.timeout.connect(self.update_preview)
        self.pem_edit.textChanged.connect(self._text_changed)
        if editing is not None:
            self.pem_edit.setPlainText(editing.pem)
            self.update_preview()

    def _text_changed(self) -> None:
        self.error_label.clear()
        self._preview_timer.start()
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return bool(self.pem_edit.toPlainText().strip())

    def update_preview(self) -> None:
        """List what the text holds, or say why it is not a certificate, as the person types."""
        self._preview_timer.stop()
        self.preview.clear()
        text = self.pem_edit.toPlainText()
        if not text.strip():
            return
        try:
            report = analyse(text, self.clock.now())
        except CertdeskError as error:
            item = QListWidgetItem(icon("error"), error.message.splitlines()[-1])
            self.preview.addItem(item)
            return
        for member in report.members:
            status = member.validity_at(self.clock.now())
            line = self.tr("{0}  —  expires {1} ({2})").format(
                member.display_name, f"{member.not_after:%Y-%m-%d}", self.tr(status)
            )
            self.preview.addItem(QListWidgetItem(icon("ok" if status == "valid" else "warning"), line))
        for warning in report.warnings:
            self.preview.addItem(QListWidgetItem(icon("warning"), warning))

    def load_from_dialog(self) -> None:
        files = self.prompter.open_files(self, self.tr("Load certificate"), CERTIFICATE_FILE_FILTER)
        if files:
            self.load_files([Path(name) for name in files])

    def load_files(self, paths: list[Path]) -> None:
        """Read files into the text area as PEM; an unreadable or invalid file is said, text kept."""
        texts: list[str] = []
        for path in paths:
            try:
                if path.stat().st_size > MAX_FILE_BYTES:
                    raise OSError(f"{path.name} is larger than 64 MB")
                texts.append(to_pem_text(path.read_bytes()))
            except OSError as error:
                self.show_error(self.tr("Cannot read {0}: {1}").format(path.name, error.strerror or error))
                return
            except CertdeskError as error:
                self.show_error(self.tr("{0}: {1}").format(path.name, error.message))
                return
        existing = self.pem_edit.toPlainText().strip()
        self.pem_edit.setPlainText("\n".join(([existing] if existing else []) + [t.strip() for t in texts]) + "\n")
        self.update_preview()

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and all(url.isLocalFile() for url in urls):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        files = [p for p in paths if p.is_file() and (p.suffix.lower() in CERTIFICATE_SUFFIXES or len(paths) == 1)]
        if files:
            self.load_files(files)
            event.acceptProposedAction()
        else:
            self.show_error(self.tr("Drop certificate files (.pem, .crt, .cer, .der, .p7b)."))


class CertificateWizard(QWizard):
    """Creates a certificate, or edits one (same pages, identifier fixed)."""

    saved = Signal(object)  # the CertificateDetail written

    def __init__(
        self,
        scope: ScopePath,
        service: CertificateService,
        runner: TaskRunner,
        clock: Clock,
        prompter: Prompter,
        editing: CertificateDetail | None = None,
        parent: QWidget | None = None,
        explain: Callable[[Exception], CertdeskError | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.explain = explain  # turns a database fault (disk full, read-only) into a sentence
        self.setObjectName("certificateWizard")
        self.scope = scope
        self.service = service
        self.runner = runner
        self.editing = editing
        self.result_detail: CertificateDetail | None = None
        self._saving: TaskHandle | None = None
        title = self.tr("Edit Certificate") if editing else self.tr("New Certificate")
        self.setWindowTitle(f"{title} — {scope}")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setButtonText(QWizard.WizardButton.NextButton, self.tr("Continue"))
        self.setButtonText(QWizard.WizardButton.FinishButton, self.tr("Save"))
        taken = set() if editing else service.identifiers(scope)
        self.overview = OverviewPage(taken, editing)
        self.details = DetailsPage(clock, prompter, editing)
        self.details.reload_button.clicked.connect(self.reload)
        self.addPage(self.overview)
        self.addPage(self.details)
        self.resize(720, 560)

    def validateCurrentPage(self) -> bool:
        if self.currentPage() is not self.details:
            return super().validateCurrentPage()
        if self.result_detail is not None:
            return True  # the save finished; let QWizard accept
        if self._saving is None:
            self.save()
        return False

    def save(self) -> None:
        """Write in the background; the wizard stays open (and keeps every field) until it is done."""
        work = self._work()
        self.details.show_error("")
        self._set_busy(True)
        self._saving = self.runner.submit(lambda _handle: work(), self._saved, self._failed)

    def _work(self) -> Callable[[], CertificateDetail]:
        name = self.overview.name_edit.text()
        description = self.overview.description_edit.toPlainText()
        tags_text = self.overview.tags_edit.text()
        pem = self.details.pem_edit.toPlainText()
        identifier = self.overview.identifier_edit.text().strip() or None
        scope, service, editing = self.scope, self.service, self.editing

        def run() -> CertificateDetail:
            tags = parse_tags([tags_text])
            if editing is not None:
                edit = CertificateEdit(name=name, description=description, tags=tags, pem=pem)
                return service.update(editing.scope, editing.identifier, edit, expected_version=editing.version)
            draft = CertificateDraft(name=name, pem=pem, identifier=identifier, description=description, tags=tags)
            return service.create(scope, draft)

        return run

    def _saved(self, detail: CertificateDetail) -> None:
        self._saving = None
        self._set_busy(False)
        self.result_detail = detail
        self.saved.emit(detail)
        self.accept()

    def _failed(self, error: Exception) -> None:
        self._saving = None
        self._set_busy(False)
        error = (self.explain(error) if self.explain is not None else None) or error
        if isinstance(error, CertdeskError):
            message = error.message
        else:
            message = self.tr("The certificate could not be saved because of an internal error; it is logged.")
        if not isinstance(error, InvalidCertificate) and "identifier" in message.lower() and self.editing is None:
            self.overview.error_label.setText(message)
        self.details.show_error(message)
        self.details.reload_button.setVisible(isinstance(error, StaleWrite))

    def reload(self) -> None:
        """Someone else saved meanwhile: show their version; the person re-applies the change."""
        if self.editing is None:
            return
        try:
            fresh = self.service.get(self.editing.scope, self.editing.identifier)
        except CertdeskError as error:
            self.details.show_error(error.message)
            return
        self.editing = fresh
        self.overview.fill(fresh)
        self.details.pem_edit.setPlainText(fresh.pem)
        self.details.update_preview()
        self.details.reload_button.setVisible(False)
        self.details.show_error(
            self.tr("Reloaded the version {0} saved at {1} UTC. Apply your change again and Save.").format(
                fresh.updated_by, f"{fresh.updated_at:%Y-%m-%d %H:%M:%S}"
            )
        )

    def _set_busy(self, busy: bool) -> None:
        for button in (QWizard.WizardButton.FinishButton, QWizard.WizardButton.BackButton):
            self.button(button).setEnabled(not busy)
        self.details.pem_edit.setReadOnly(busy)
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()

    def reject(self) -> None:
        if self._saving is not None:
            return  # a write is under way; closing now would hide its outcome
        super().reject()
