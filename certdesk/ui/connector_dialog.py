"""The HashiCorp Vault connector dialog: overview, details, SSL/TLS certificate, Test Connection."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from certdesk.domain.connectors import AuthMethod, VaultSettings
from certdesk.domain.errors import CertdeskError
from certdesk.domain.names import derive_identifier, format_tags, identifier_problem, name_problem, parse_tags
from certdesk.domain.scopes import ScopePath
from certdesk.services.connectors import ConnectorDraft, ConnectorService, ConnectorView
from certdesk.services.vault import StepStatus, TestReport
from certdesk.ui.resources import icon
from certdesk.ui.tasks import TaskHandle, TaskRunner

log = logging.getLogger(__name__)
ERROR_STYLE = "QLabel { color: #c62828; }"
SYSTEM_STORE = "None (use the system trust store)"
_STEP_ICONS = {StepStatus.PASSED: "ok", StepStatus.FAILED: "error", StepStatus.SKIPPED: "skipped"}


class VaultConnectorDialog(QDialog):
    """Create or edit a Vault connector; Test Connection runs in the background and can be cancelled."""

    saved = Signal(object)  # ConnectorView
    test_finished = Signal(object)  # TestReport

    def __init__(
        self,
        scope: ScopePath,
        service: ConnectorService,
        runner: TaskRunner,
        editing: ConnectorView | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("vaultConnectorDialog")
        self.setWindowTitle(
            self.tr("Edit HashiCorp Vault Connector") if editing else self.tr("New HashiCorp Vault Connector")
        )
        self.scope, self.service, self.runner, self.editing = scope, service, runner, editing
        self.report: TestReport | None = None
        self._test: TaskHandle | None = None
        self._saving: TaskHandle | None = None
        self._identifier_touched = editing is not None
        self._taken = set() if editing else {view.identifier for view in service.in_scope(scope)}

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self._overview())
        layout.addWidget(self._details())
        layout.addWidget(self._certificate_section())
        layout.addWidget(self._test_section())
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        self.error_label = QLabel()
        self.error_label.setObjectName("connectorError")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("saveConnectorButton")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        outer = QVBoxLayout(self)
        outer.addWidget(scroll, 1)
        outer.addWidget(self.error_label)
        outer.addWidget(self.buttons)
        if editing is not None:
            self._fill(editing)
        self._auth_changed()
        self._validate()
        self.resize(680, 820)

    # --- sections ----------------------------------------------------------------------------

    def _overview(self) -> QGroupBox:
        box = QGroupBox(self.tr("Overview"))
        self.name_edit = self._line("connectorNameEdit", self.tr("Name"))
        self.identifier_edit = self._line("connectorIdentifierEdit", self.tr("Identifier"))
        self.description_edit = QPlainTextEdit()
        self.description_edit.setObjectName("connectorDescriptionEdit")
        self.description_edit.setFixedHeight(56)
        self.tags_edit = self._line("connectorTagsEdit", self.tr("Tags"), "optional: env:prod, team:payments")
        form = QFormLayout(box)
        form.addRow(self.tr("Name *"), self.name_edit)
        form.addRow(self.tr("Identifier"), self.identifier_edit)
        form.addRow(self.tr("Description"), self.description_edit)
        form.addRow(self.tr("Tags"), self.tags_edit)
        self.name_edit.textChanged.connect(self._name_changed)
        self.identifier_edit.textEdited.connect(lambda _t: setattr(self, "_identifier_touched", True))
        for edit in (self.identifier_edit, self.tags_edit):
            edit.textChanged.connect(self._validate)
        return box

    def _details(self) -> QGroupBox:
        box = QGroupBox(self.tr("Details"))
        self.url_edit = self._line("vaultUrlEdit", self.tr("Vault URL"), "https://vault.example.com:8200")
        self.base_path_edit = self._line("basePathEdit", self.tr("Base Secret Path"), "optional, e.g. team/payments")
        self.namespace_edit = self._line("namespaceEdit", self.tr("Namespace"), "optional (Vault Enterprise)")
        self.auth_combo = QComboBox()
        self.auth_combo.setObjectName("authMethodCombo")
        for method in AuthMethod:
            self.auth_combo.addItem(method.label, method)
        self.auth_combo.currentIndexChanged.connect(self._auth_changed)
        self.token_edit = self._line("tokenEdit", self.tr("Token"), "")
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.role_id_edit = self._line("roleIdEdit", self.tr("Role Id"))
        self.secret_id_edit = self._line("secretIdEdit", self.tr("Secret Id"))
        self.secret_id_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.sink_path_edit = self._line("sinkPathEdit", self.tr("Sink path"), "/var/run/vault-agent/token")
        self.auth_stack = _FittingStack()
        for rows in (
            (("Token", self.token_edit),),
            (("Role Id", self.role_id_edit), ("Secret Id", self.secret_id_edit)),
            (("Sink path", self.sink_path_edit),),
        ):
            page = QWidget()
            page_form = QFormLayout(page)
            page_form.setContentsMargins(0, 0, 0, 0)
            for label, widget in rows:
                page_form.addRow(self.tr(label), widget)
            self.auth_stack.addWidget(page)
        self.renewal_spin = QSpinBox()
        self.renewal_spin.setObjectName("renewalIntervalSpin")
        self.renewal_spin.setAccessibleName(self.tr("Renewal Interval (minutes)"))
        self.renewal_spin.setRange(0, 525_600)
        self.renewal_spin.setValue(10)
        self.renewal_spin.setSuffix(self.tr(" minutes"))
        self.read_only_check = QCheckBox(self.tr("Read-only Vault"))
        self.read_only_check.setObjectName("readOnlyCheck")
        self.engine_combo = QComboBox()
        self.engine_combo.setObjectName("engineCombo")
        self.engine_combo.setEditable(True)
        self.engine_combo.setAccessibleName(self.tr("Secret Engine"))
        self.engine_combo.setCurrentText("secret")
        self.engine_version_spin = QSpinBox()
        self.engine_version_spin.setObjectName("engineVersionSpin")
        self.engine_version_spin.setRange(1, 2)
        self.engine_version_spin.setValue(2)
        self.engine_version_spin.setPrefix(self.tr("KV v"))
        self.fetch_button = QPushButton(self.tr("Fetch Engines"))
        self.fetch_button.setObjectName("fetchEnginesButton")
        self.fetch_button.clicked.connect(self.fetch_engines)
        engine_row = QHBoxLayout()
        engine_row.addWidget(self.engine_combo, 1)
        engine_row.addWidget(self.engine_version_spin)
        engine_row.addWidget(self.fetch_button)
        form = QFormLayout(box)
        form.addRow(self.tr("Vault URL *"), self.url_edit)
        form.addRow(self.tr("Base Secret Path"), self.base_path_edit)
        form.addRow(self.tr("Namespace"), self.namespace_edit)
        form.addRow(self.tr("Authentication"), self.auth_combo)
        form.addRow(self.auth_stack)
        form.addRow(self.tr("Renewal Interval"), self.renewal_spin)
        form.addRow("", self.read_only_check)
        form.addRow(self.tr("Secret Engine"), engine_row)
        self.url_edit.textChanged.connect(self._validate)
        return box

    def _certificate_section(self) -> QGroupBox:
        box = QGroupBox(self.tr("SSL/TLS Certificate"))
        self.certificate_combo = QComboBox()
        self.certificate_combo.setObjectName("certificateCombo")
        self.certificate_combo.setAccessibleName(self.tr("SSL/TLS certificate for this connector"))
        self.certificate_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.certificate_combo.setMinimumContentsLength(28)
        self.certificate_combo.addItem(self.tr(SYSTEM_STORE), None)
        model = self.certificate_combo.model()
        current_group = None
        for choice in self.service.certificate_choices(self.scope):
            group = choice.scope
            if group != current_group:
                label = "This scope" if group == self.scope else group.level.label
                self.certificate_combo.insertSeparator(self.certificate_combo.count())
                self.certificate_combo.addItem(f"{self.tr(label)}: {group}", None)
                if isinstance(model, QStandardItemModel):  # a group heading, not a choice
                    model.item(self.certificate_combo.count() - 1).setEnabled(False)
                current_group = group
            self.certificate_combo.addItem(
                icon("certificate"),
                f"{choice.name}  ({choice.reference}) — {choice.subject_cn}, expires {choice.not_after:%Y-%m-%d}",
                choice.reference,
            )
        form = QFormLayout(box)
        form.addRow(self.tr("SSL/TLS certificate for this connector"), self.certificate_combo)
        hint = QLabel(self.tr("The server's TLS chain must verify against this certificate (or chain)."))
        hint.setWordWrap(True)
        form.addRow(hint)
        return box

    def _test_section(self) -> QGroupBox:
        box = QGroupBox(self.tr("Test Connection"))
        self.test_button = QPushButton(icon("ok"), self.tr("Test Connection"))
        self.test_button.setObjectName("testConnectionButton")
        self.test_button.clicked.connect(self.start_test)
        self.cancel_test_button = QPushButton(self.tr("Cancel Test"))
        self.cancel_test_button.setObjectName("cancelTestButton")
        self.cancel_test_button.setEnabled(False)
        self.cancel_test_button.clicked.connect(self.cancel_test)
        self.zero_button = QPushButton(self.tr("Set Renewal Interval to 0"))
        self.zero_button.setObjectName("setRenewalZeroButton")
        self.zero_button.setVisible(False)
        self.zero_button.clicked.connect(self.set_renewal_zero)
        self.result_view = QTreeWidget()
        self.result_view.setObjectName("testResultView")
        self.result_view.setAccessibleName(self.tr("Test Connection steps and verdict"))
        self.result_view.setHeaderLabels([self.tr("Step"), self.tr("Result")])
        self.result_view.setColumnWidth(0, 170)
        self.result_view.setWordWrap(True)
        self.result_view.setMinimumHeight(200)
        self.verdict_label = QLabel()
        self.verdict_label.setObjectName("testVerdict")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.cancel_test_button)
        row.addStretch(1)
        row.addWidget(self.zero_button)
        layout = QVBoxLayout(box)
        layout.addLayout(row)
        layout.addWidget(self.verdict_label)
        layout.addWidget(self.result_view)
        return box

    def _line(self, name: str, accessible: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        if placeholder:
            edit.setPlaceholderText(placeholder)
        return edit

    # --- state -------------------------------------------------------------------------------

    def _fill(self, view: ConnectorView) -> None:
        settings = view.settings
        self.name_edit.setText(view.name)
        self.identifier_edit.setText(view.identifier)
        self.identifier_edit.setReadOnly(True)
        self.description_edit.setPlainText(view.description)
        self.tags_edit.setText(format_tags(view.tags))
        self.url_edit.setText(settings.url)
        self.base_path_edit.setText(settings.base_path)
        self.namespace_edit.setText(settings.namespace)
        self.auth_combo.setCurrentIndex(list(AuthMethod).index(settings.auth))
        self.role_id_edit.setText(settings.role_id)
        self.sink_path_edit.setText(settings.sink_path)
        self.renewal_spin.setValue(settings.renewal_minutes)
        self.read_only_check.setChecked(settings.read_only)
        self.engine_combo.setCurrentText(settings.engine)
        self.engine_version_spin.setValue(settings.engine_version)
        placeholder = self.tr("stored in the keyring; type to replace") if view.has_secret else self.tr("required")
        self.token_edit.setPlaceholderText(placeholder)
        self.secret_id_edit.setPlaceholderText(placeholder)
        if view.certificate is not None:
            index = self.certificate_combo.findData(view.certificate.reference)
            self.certificate_combo.setCurrentIndex(max(index, 0))

    def _name_changed(self, text: str) -> None:
        if not self._identifier_touched:
            self.identifier_edit.setText(derive_identifier(text, self._taken) if text.strip() else "")
        self._validate()

    def _auth_changed(self) -> None:
        self.auth_stack.setCurrentIndex(self.auth_combo.currentIndex())
        self.auth_stack.updateGeometry()
        self.renewal_spin.setEnabled(self.auth_method().renews)

    def auth_method(self) -> AuthMethod:
        return list(AuthMethod)[max(self.auth_combo.currentIndex(), 0)]

    def problem(self) -> str | None:
        name = self.name_edit.text()
        if not name.strip():
            return ""
        problem = name_problem(name)
        if problem is None and self.editing is None:
            problem = identifier_problem(self.identifier_edit.text())
            if problem is None and self.identifier_edit.text() in self._taken:
                problem = self.tr("A connector with this identifier already exists in this scope.")
        if problem is None and not self.url_edit.text().strip():
            return ""
        return problem

    def _validate(self) -> None:
        problem = self.problem()
        self.error_label.setText(problem or "")
        self.save_button.setEnabled(problem is None and self._saving is None)
        self.test_button.setEnabled(problem is None and self._test is None)

    def draft(self) -> ConnectorDraft:
        """What the dialog holds now; raises CertdeskError when a field breaks a rule."""
        settings = VaultSettings(
            url=self.url_edit.text(),
            auth=self.auth_method(),
            base_path=self.base_path_edit.text(),
            namespace=self.namespace_edit.text(),
            role_id=self.role_id_edit.text(),
            sink_path=self.sink_path_edit.text(),
            renewal_minutes=self.renewal_spin.value(),
            read_only=self.read_only_check.isChecked(),
            engine=self.engine_combo.currentText(),
            engine_version=self.engine_version_spin.value(),
        )
        reference = self.certificate_combo.currentData()
        return ConnectorDraft(
            name=self.name_edit.text(),
            settings=settings,
            identifier=self.identifier_edit.text().strip() or None,
            description=self.description_edit.toPlainText(),
            tags=parse_tags([self.tags_edit.text()]),
            certificate=reference if isinstance(reference, str) else None,
            token=self.token_edit.text() or None,
            secret_id=self.secret_id_edit.text() or None,
        )

    # --- actions -----------------------------------------------------------------------------

    def _checked_draft(self) -> ConnectorDraft | None:
        """The draft, or None after saying on the dialog which field breaks a rule."""
        try:
            return self.draft()
        except CertdeskError as error:
            self.error_label.setText(error.message)
            return None

    @property
    def editing_identifier(self) -> str | None:
        return self.editing.identifier if self.editing else None

    def start_test(self) -> None:
        draft = self._checked_draft()
        if draft is None:
            return
        scope, service, editing = self.scope, self.service, self.editing_identifier
        self.result_view.clear()
        self.zero_button.setVisible(False)
        self.verdict_label.setText(self.tr("Testing the connection..."))
        self.verdict_label.setStyleSheet("")
        self.cancel_test_button.setEnabled(True)
        self.test_button.setEnabled(False)
        handle = self.runner.submit(
            lambda _h: service.test_draft(scope, draft, editing),
            lambda report: self._tested(handle, report),
            lambda error: self._test_failed(handle, error),
        )
        self._test = handle

    def cancel_test(self) -> None:
        """Stop waiting: the network call ends by itself within its timeout, and its answer is ignored."""
        if self._test is not None:
            self._test.cancel()
            self._test = None
            self.verdict_label.setText(self.tr("Test cancelled."))
            self.cancel_test_button.setEnabled(False)
            self._validate()

    def _tested(self, handle: TaskHandle, report: TestReport) -> None:
        if handle.cancelled() or handle is not self._test:
            return
        self._test = None
        self.cancel_test_button.setEnabled(False)
        self.show_report(report)
        self._validate()
        self.test_finished.emit(report)

    def _test_failed(self, handle: TaskHandle, error: Exception) -> None:
        if handle.cancelled() or handle is not self._test:
            return
        self._test = None
        self.cancel_test_button.setEnabled(False)
        self.verdict_label.setText(_message(error))
        self.verdict_label.setStyleSheet(ERROR_STYLE)
        self._validate()

    def show_report(self, report: TestReport) -> None:
        self.report = report
        self.result_view.clear()
        for step in report.steps:
            item = QTreeWidgetItem(self.result_view, [self.tr(step.name), step.detail or self.tr(step.status.value)])
            item.setIcon(0, icon(_STEP_ICONS[step.status]))
            item.setToolTip(1, step.detail)
            item.setData(0, Qt.ItemDataRole.UserRole, step.status.value)
        if report.presented_chain:
            chain = QTreeWidgetItem(self.result_view, [self.tr("Chain presented"), ""])
            for position, member in enumerate(report.presented_chain, 1):
                QTreeWidgetItem(
                    chain,
                    [
                        f"{position}. {member.display_name}",
                        f"issued by {member.issuer_cn or member.issuer}; valid until {member.not_after:%Y-%m-%d}",
                    ],
                )
            chain.setExpanded(True)
        self.verdict_label.setText(report.verdict)
        self.verdict_label.setStyleSheet("QLabel { color: #2e7d32; }" if report.ok else ERROR_STYLE)
        self.zero_button.setVisible(report.renewal_fix_offered)

    def set_renewal_zero(self) -> None:
        self.renewal_spin.setValue(0)
        self.zero_button.setVisible(False)
        self.verdict_label.setText(self.tr("Renewal Interval set to 0. Test again to confirm."))
        self.verdict_label.setStyleSheet("")

    def fetch_engines(self) -> None:
        draft = self._checked_draft()
        if draft is None:
            return
        scope, service, editing = self.scope, self.service, self.editing_identifier
        self.fetch_button.setEnabled(False)
        self.runner.submit(lambda _h: service.fetch_engines(scope, draft, editing), self._engines, self._engine_error)

    def _engines(self, engines: list[tuple[str, int]]) -> None:
        self.fetch_button.setEnabled(True)
        current = self.engine_combo.currentText()
        self.engine_combo.clear()
        for name, version in engines:
            self.engine_combo.addItem(f"{name}", version)
        index = self.engine_combo.findText(current)
        self.engine_combo.setCurrentIndex(index if index >= 0 else 0)
        version = self.engine_combo.currentData()
        if isinstance(version, int):
            self.engine_version_spin.setValue(version)
        self.engine_combo.currentIndexChanged.connect(self._engine_picked)
        self.error_label.setText("" if engines else self.tr("The token sees no KV secret engine."))

    def _engine_picked(self, _index: int) -> None:
        version = self.engine_combo.currentData()
        if isinstance(version, int):
            self.engine_version_spin.setValue(version)

    def _engine_error(self, error: Exception) -> None:
        self.fetch_button.setEnabled(True)
        self.error_label.setText(_message(error))

    def save(self) -> None:
        draft = self._checked_draft()
        if draft is None:
            return
        scope, service, editing = self.scope, self.service, self.editing

        def work(_handle: TaskHandle) -> ConnectorView:
            if editing is not None:
                return service.update(scope, editing.identifier, draft, expected_version=editing.version)
            return service.create(scope, draft)

        self._saving = self.runner.submit(work, self._saved, self._save_failed)
        self._validate()
        self.error_label.setText(self.tr("Saving..."))

    def _saved(self, view: ConnectorView) -> None:
        self._saving = None
        self.saved.emit(view)
        self.accept()

    def _save_failed(self, error: Exception) -> None:
        self._saving = None
        self._validate()
        self.error_label.setText(_message(error))

    def reject(self) -> None:
        if self._saving is not None:
            return
        self.cancel_test()
        super().reject()


class _FittingStack(QStackedWidget):
    """A stack as tall as the page shown, not the tallest page (no gap under the Token field)."""

    def sizeHint(self) -> QSize:
        page = self.currentWidget()
        return page.sizeHint() if page is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:
        page = self.currentWidget()
        return page.minimumSizeHint() if page is not None else super().minimumSizeHint()


def _message(error: Exception) -> str:
    if isinstance(error, CertdeskError):
        return error.message
    log.error("unexpected error in the connector dialog", exc_info=error)
    return "Something went wrong inside certdesk; the details are in its log file."
