"""Small dialogs: first run, scope name, delete confirmation and the typed force-delete."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from certdesk.domain.names import derive_identifier, identifier_problem, name_problem
from certdesk.domain.scopes import ScopeLevel, ScopePath
from certdesk.services.views import CertificateRow, ConnectorUse

ERROR_STYLE = "QLabel { color: #c62828; }"


class ScopeDialog(QDialog):
    """Name a new scope (identifier derived as you type) or rename one (identifier fixed)."""

    def __init__(
        self,
        level: ScopeLevel,
        parent_path: ScopePath | None,
        taken: set[str],
        current_name: str | None = None,
        current_identifier: str = "",
        intro: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("scopeDialog")
        renaming = current_name is not None
        self.setWindowTitle(
            self.tr("Rename {0}").format(level.label) if renaming else self.tr("New {0}").format(level.label)
        )
        self.level, self.parent_path, self.taken = level, parent_path, taken
        self._identifier_touched = renaming
        self.name_edit = QLineEdit(current_name or "")
        self.name_edit.setObjectName("scopeNameEdit")
        self.name_edit.setAccessibleName(self.tr("Name"))
        self.identifier_edit = QLineEdit()
        self.identifier_edit.setObjectName("scopeIdentifierEdit")
        self.identifier_edit.setAccessibleName(self.tr("Identifier"))
        self.identifier_edit.setReadOnly(renaming)
        self.error_label = QLabel()
        self.error_label.setObjectName("scopeError")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(
            self.tr("Rename") if renaming else self.tr("Create")
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        if intro:
            text = QLabel(intro)
            text.setWordWrap(True)
            layout.addWidget(text)
        form = QFormLayout()
        form.addRow(self.tr("Name"), self.name_edit)
        form.addRow(self.tr("Identifier"), self.identifier_edit)
        if parent_path is not None:
            form.addRow(self.tr("Inside"), QLabel(str(parent_path)))
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.name_edit.textChanged.connect(self._name_changed)
        self.identifier_edit.textEdited.connect(lambda _text: setattr(self, "_identifier_touched", True))
        self.identifier_edit.textChanged.connect(self._validate)
        if renaming:
            self.identifier_edit.setText(current_identifier)
        self.resize(420, self.sizeHint().height())
        self._validate()

    def _name_changed(self, text: str) -> None:
        if not self._identifier_touched:
            self.identifier_edit.setText(derive_identifier(text, self.taken) if text.strip() else "")
        self._validate()

    def problem(self) -> str | None:
        name = self.name_edit.text()
        if not name.strip():
            return ""  # nothing typed yet: no message, but no OK either
        problem = name_problem(name)
        if problem or self.identifier_edit.isReadOnly():
            return problem
        identifier = self.identifier_edit.text()
        problem = identifier_problem(identifier)
        if problem:
            return problem
        if identifier in self.taken:
            return self.tr("'{0}' is already used here; choose another identifier.").format(identifier)
        return None

    def _validate(self) -> None:
        problem = self.problem()
        self.error_label.setText(problem or "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)

    def scope_path(self) -> ScopePath:
        identifier = self.identifier_edit.text().strip()
        return self.parent_path.child(identifier) if self.parent_path else ScopePath.parse(identifier)


class FirstRunDialog(ScopeDialog):
    """On an empty database: create the account, the top of every scope."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            ScopeLevel.ACCOUNT,
            None,
            set(),
            intro=(
                "Welcome to certdesk. Certificates live in scopes: an account holds organizations, "
                "and an organization holds projects. Start by naming your account; you can add "
                "certificates to it right away."
            ),
            parent=parent,
        )
        self.setObjectName("firstRunDialog")
        self.setWindowTitle(self.tr("Welcome to certdesk"))


class DeleteCertificateDialog(QDialog):
    """Confirms a deletion by name; when connectors use it, lists them and offers Force delete."""

    FORCE = 2

    def __init__(self, row: CertificateRow, users: tuple[ConnectorUse, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deleteCertificateDialog")
        self.setWindowTitle(self.tr("Delete Certificate"))
        self.users = users
        self.message = QLabel()
        self.message.setObjectName("deleteMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.buttons = QDialogButtonBox()
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setDefault(True)
        self.delete_button: QPushButton | None = None
        self.force_button: QPushButton | None = None
        if users:
            listed = "\n".join(f"  • {use}" for use in users)
            self.message.setText(
                self.tr(
                    "Certificate '{0}' cannot be deleted: it is used by {1} connector(s):\n{2}\n\n"
                    "Choose another certificate in those connectors first, or force the deletion."
                ).format(row.name, len(users), listed)
            )
            self.force_button = self.buttons.addButton(
                self.tr("Force delete..."), QDialogButtonBox.ButtonRole.ActionRole
            )
            self.force_button.setObjectName("forceDeleteButton")
            self.force_button.clicked.connect(lambda: self.done(self.FORCE))
        else:
            self.message.setText(
                self.tr("Delete certificate '{0}' ({1}) from {2}? This cannot be undone.").format(
                    row.name, row.identifier, row.scope
                )
            )
            self.delete_button = self.buttons.addButton(self.tr("Delete"), QDialogButtonBox.ButtonRole.AcceptRole)
            self.delete_button.setObjectName("confirmDeleteButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(480, self.sizeHint().height())


class ForceDeleteDialog(QDialog):
    """Explains what a forced deletion breaks; the person types the name to confirm."""

    def __init__(self, row: CertificateRow, users: tuple[ConnectorUse, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("forceDeleteDialog")
        self.setWindowTitle(self.tr("Force Delete Certificate"))
        self.expected = row.name
        listed = "\n".join(f"  • {use}" for use in users)
        explanation = QLabel(
            self.tr(
                "This deletes '{0}' although {1} connector(s) use it:\n{2}\n\n"
                "Those connectors lose their SSL/TLS certificate: they will trust only the system store "
                "and are marked as needing attention until someone chooses another certificate. "
                "Connections to servers signed by this certificate's CA will fail.\n\n"
                "Type the certificate's name to confirm:"
            ).format(row.name, len(users), listed)
        )
        explanation.setObjectName("forceDeleteExplanation")
        explanation.setWordWrap(True)
        explanation.setTextFormat(Qt.TextFormat.PlainText)
        self.confirm_edit = QLineEdit()
        self.confirm_edit.setObjectName("forceDeleteConfirmEdit")
        self.confirm_edit.setAccessibleName(self.tr("Certificate name to confirm"))
        self.confirm_edit.setPlaceholderText(row.name)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.delete_button = self.buttons.addButton(
            self.tr("I understand, delete this certificate"), QDialogButtonBox.ButtonRole.DestructiveRole
        )
        self.delete_button.setObjectName("forceDeleteConfirmButton")
        self.delete_button.setEnabled(False)
        self.delete_button.clicked.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.confirm_edit.textChanged.connect(lambda text: self.delete_button.setEnabled(text == self.expected))
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addWidget(self.confirm_edit)
        layout.addWidget(self.buttons)
        self.resize(520, self.sizeHint().height())
