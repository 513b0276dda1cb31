"""The Connectors page of a scope: list, new, edit, delete and test Vault connectors."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from certdesk.domain.errors import CertdeskError
from certdesk.domain.scopes import ScopePath
from certdesk.services.connectors import ConnectorService, ConnectorView
from certdesk.services.vault import TestReport
from certdesk.ui.connector_dialog import VaultConnectorDialog
from certdesk.ui.prompts import Prompter
from certdesk.ui.resources import icon
from certdesk.ui.tasks import TaskRunner

Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Name", "Identifier", "Type", "URL", "Certificate", "Last test", "Last renewal", "Needs attention")
VIEW_ROLE = Qt.ItemDataRole.UserRole + 1
RENEWAL_CHECK_MS = 60_000


class ConnectorTableModel(QAbstractTableModel):
    """A scope's connectors: few, so they are read whole."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.views: list[ConnectorView] = []

    def set_views(self, views: list[ConnectorView]) -> None:
        self.beginResetModel()
        self.views = views
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.views)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        view = self.views[index.row()]
        column = index.column()
        if role == VIEW_ROLE:
            return view
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(view, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 5:
                return view.last_test_summary or None
            if column == 6:
                return view.last_renewal_message or None
            if column == 7:
                return view.attention_reason or None
        if role == Qt.ItemDataRole.DecorationRole and column == 5 and view.last_test_ok is not None:
            return icon("ok" if view.last_test_ok else "error")
        if role == Qt.ItemDataRole.ForegroundRole and column == 7 and view.needs_attention:
            return QBrush(QColor(0xC6, 0x28, 0x28))
        return None

    def _text(self, view: ConnectorView, column: int) -> str:
        if column == 0:
            return view.name
        if column == 1:
            return view.identifier
        if column == 2:
            return "HashiCorp Vault"
        if column == 3:
            return view.settings.url
        if column == 4:
            return view.certificate.reference if view.certificate else self.tr("System trust store")
        if column == 5:
            if view.last_test_at is None:
                return self.tr("never tested")
            verdict = self.tr("passed") if view.last_test_ok else self.tr("failed")
            return f"{verdict}, {view.last_test_at:%Y-%m-%d %H:%M}"
        if column == 6:
            if not view.renews:
                return self.tr("not renewed")
            if view.last_renewal_at is None:
                return self.tr("every {0} min, not yet").format(view.settings.renewal_minutes)
            verdict = self.tr("ok") if view.last_renewal_ok else self.tr("failed")
            return f"{verdict}, {view.last_renewal_at:%Y-%m-%d %H:%M}"
        return self.tr("Yes") if view.needs_attention else ""


class ConnectorsPage(QWidget):
    """Lists a scope's connectors and runs their dialogs; renews due tokens in the background."""

    changed = Signal(str)  # a sentence for the notification area
    failed = Signal(object)  # an exception for the window to show

    def __init__(
        self, service: ConnectorService, runner: TaskRunner, prompter: Prompter, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("connectorsPage")
        self.service, self.runner, self.prompter = service, runner, prompter
        self.scope: ScopePath | None = None
        self.dialog: VaultConnectorDialog | None = None
        self.model = ConnectorTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("connectorTable")
        self.table.setAccessibleName(self.tr("Connectors"))
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((170, 140, 120, 230, 170, 170, 160, 120)):
            self.table.setColumnWidth(column, width)
        self.table.doubleClicked.connect(lambda _index: self.edit_connector())
        self.table.selectionModel().selectionChanged.connect(lambda _s, _d: self._update_buttons())

        self.new_button = self._button("newConnectorButton", "New Connector", "new", self.new_connector)
        self.edit_button = self._button("editConnectorButton", "Edit", "edit", self.edit_connector)
        self.delete_button = self._button("deleteConnectorButton", "Delete", "delete", self.delete_connector)
        self.test_button = self._button("testConnectorButton", "Test", "ok", self.test_connector)
        self.status = QLabel()
        self.status.setObjectName("connectorStatus")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        for button in (self.new_button, self.edit_button, self.delete_button, self.test_button):
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)

        self.renewal_timer = QTimer(self)
        self.renewal_timer.setInterval(RENEWAL_CHECK_MS)
        self.renewal_timer.timeout.connect(self.renew_due)
        self._renewing = False
        self._update_buttons()

    def _button(self, name: str, text: str, icon_name: str, slot: object) -> QPushButton:
        button = QPushButton(icon(icon_name), self.tr(text))
        button.setObjectName(name)
        button.clicked.connect(slot)
        return button

    def set_scope(self, scope: ScopePath | None) -> None:
        self.scope = scope
        self.refresh()

    def refresh(self) -> None:
        try:
            self.model.set_views(self.service.in_scope(self.scope) if self.scope is not None else [])
        except CertdeskError as error:
            self.status.setText(error.message)
            self.model.set_views([])
        attention = sum(1 for view in self.model.views if view.needs_attention)
        self.status.setText(
            self.tr("{0} connector(s) need attention: hover the column for the reason.").format(attention)
            if attention
            else ""
        )
        self._update_buttons()

    def selected(self) -> ConnectorView | None:
        rows = self.table.selectionModel().selectedRows()
        view = rows[0].data(VIEW_ROLE) if rows else None
        return view if isinstance(view, ConnectorView) else None

    def _update_buttons(self) -> None:
        has = self.selected() is not None
        self.new_button.setEnabled(self.scope is not None)
        for button in (self.edit_button, self.delete_button, self.test_button):
            button.setEnabled(has)

    def new_connector(self) -> None:
        if self.scope is not None:
            self._open(VaultConnectorDialog(self.scope, self.service, self.runner, parent=self))

    def edit_connector(self) -> None:
        view = self.selected()
        if view is not None and self.scope is not None:
            self._open(VaultConnectorDialog(self.scope, self.service, self.runner, editing=view, parent=self))

    def _open(self, dialog: VaultConnectorDialog) -> None:
        editing = dialog.editing is not None
        dialog.saved.connect(lambda view: self._saved(view, editing))
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog = dialog
        dialog.open()

    def _saved(self, view: ConnectorView, editing: bool) -> None:
        self.refresh()
        verb = self.tr("updated") if editing else self.tr("created")
        self.changed.emit(self.tr("Connector {0} {1} successfully").format(view.name, verb))

    def delete_connector(self) -> None:
        view = self.selected()
        if view is None:
            return
        question = self.tr("Delete the connector '{0}'? Its secret is removed from this workstation's keyring.")
        if not self.prompter.confirm(self, self.tr("Delete Connector"), question.format(view.name), self.tr("Delete")):
            return
        self.runner.submit(
            lambda _h: self.service.delete(view.scope, view.identifier),
            lambda deleted: self._deleted(deleted),
            self.failed.emit,
        )

    def _deleted(self, view: ConnectorView) -> None:
        self.refresh()
        self.changed.emit(self.tr("Connector {0} deleted").format(view.name))

    def test_connector(self) -> None:
        view = self.selected()
        if view is None:
            return
        self.test_button.setEnabled(False)
        self.status.setText(self.tr("Testing {0}...").format(view.name))
        self.runner.submit(
            lambda _h: self.service.test(view.scope, view.identifier),
            lambda report: self._tested(view, report),
            self._test_failed,
        )

    def _tested(self, view: ConnectorView, report: TestReport) -> None:
        self.refresh()
        self.status.setText(f"{view.name}: {report.verdict}")

    def _test_failed(self, error: Exception) -> None:
        self._update_buttons()
        self.failed.emit(error)

    def start_renewals(self, interval_ms: int = RENEWAL_CHECK_MS) -> None:
        self.renewal_timer.setInterval(interval_ms)
        self.renewal_timer.start()
        QTimer.singleShot(0, self.renew_due)

    def renew_due(self) -> None:
        """Renew every due token in one background job; failures are listed, the program goes on."""
        if self._renewing:
            return
        self._renewing = True
        service = self.service

        def work(_handle: object) -> list[tuple[str, bool, str]]:
            results = []
            for scope, identifier in service.due_for_renewal():
                ok, message = service.renew(scope, identifier)
                results.append((f"{scope}/{identifier}", ok, message))
            return results

        self.runner.submit(work, self._renewed, self._renewal_error)

    def _renewed(self, results: list[tuple[str, bool, str]]) -> None:
        self._renewing = False
        if results:
            self.refresh()
            failures = [f"{name}: {message}" for name, ok, message in results if not ok]
            if failures:
                self.changed.emit(self.tr("Token renewal failed for {0}").format("; ".join(failures)))

    def _renewal_error(self, error: Exception) -> None:
        self._renewing = False
        self.status.setText(
            self.tr("Token renewal could not run: {0}").format(
                error.message if isinstance(error, CertdeskError) else type(error).__name__
            )
        )
