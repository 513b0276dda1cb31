"""The main window: scope navigator on the left, the scope's certificates and details on the right."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, QPoint, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from certdesk.domain.errors import CertdeskError, NotFound
from certdesk.domain.scopes import ScopeLevel, ScopePath
from certdesk.services.bundle import Services
from certdesk.services.clock import Clock
from certdesk.services.views import (
    CertificateDetail,
    CertificateQuery,
    CertificateRow,
    DeleteOutcome,
    ImportOutcome,
    SortKey,
)
from certdesk.ui.about import show_about
from certdesk.ui.certificate_model import COLUMNS, EXPIRES, ROW_ROLE, CertificateTableModel
from certdesk.ui.connectors_page import ConnectorsPage
from certdesk.ui.details import DetailsPanel
from certdesk.ui.dialogs import DeleteCertificateDialog, FirstRunDialog, ForceDeleteDialog, ScopeDialog
from certdesk.ui.events import AppEvents, Change
from certdesk.ui.importer import ImportJob, summary_text
from certdesk.ui.prompts import CERTIFICATE_FILE_FILTER, Prompter
from certdesk.ui.resources import icon
from certdesk.ui.scope_tree import ScopeTree
from certdesk.ui.tasks import TaskRunner
from certdesk.ui.theme import apply_theme
from certdesk.ui.toast import Toast
from certdesk.ui.wizard import CertificateWizard

log = logging.getLogger(__name__)
CHANGE_POLL_MS = 3000
_COLUMN_WIDTHS = (200, 160, 170, 170, 170, 80, 140, 140)


class MainWindow(QMainWindow):
    def __init__(
        self,
        services: Services,
        runner: TaskRunner,
        events: AppEvents,
        prompter: Prompter,
        clock: Clock,
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.services, self.runner, self.events = services, runner, events
        self.prompter, self.clock, self.settings = prompter, clock, settings
        self.last_notification = ""
        self.wizard: CertificateWizard | None = None
        self.dialog: QDialog | None = None
        self.import_job: ImportJob | None = None
        self.setWindowTitle("certdesk")
        self.setWindowIcon(icon("app"))
        self.setAcceptDrops(True)

        self.scope_tree = ScopeTree()
        self.model = CertificateTableModel(services.certificates, clock, self)
        self._build_certificates_page()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("scopeTabs")
        self.tabs.addTab(self.certificates_page, icon("certificate"), self.tr("Certificates"))
        self.connectors_page = ConnectorsPage(services.connectors, runner, prompter)
        self.connectors_page.changed.connect(self._connectors_changed)
        self.connectors_page.failed.connect(self._show_error)
        self.tabs.addTab(self.connectors_page, icon("app"), self.tr("Connectors"))
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.scope_tree)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([240, 1000])
        self.setCentralWidget(self.splitter)
        self._build_actions()
        self._build_status_bar()
        self.toast = Toast(self)

        self.scope_tree.scope_selected.connect(self._scope_selected)
        self.scope_tree.create_requested.connect(self.new_scope)
        self.scope_tree.rename_requested.connect(self.rename_scope)
        self.scope_tree.delete_requested.connect(self.delete_scope)
        self.events.changed.connect(self._changed)
        self.runner.busy_changed.connect(self._busy_changed)
        self._restore_settings()
        self.reload_scopes()
        # Others (another window, the CLI, a teammate on the shared database) change things too:
        # the audit trail says when, so the views follow without anyone pressing refresh.
        self._seen_change = services.certificates.latest_change_id()
        self.change_poll = QTimer(self)
        self.change_poll.setObjectName("changePoll")
        self.change_poll.setInterval(CHANGE_POLL_MS)
        self.change_poll.timeout.connect(self.poll_changes)
        self.change_poll.start()

    # --- building ----------------------------------------------------------------------------

    def _build_certificates_page(self) -> None:
        self.certificates_page = QWidget()
        self.certificates_page.setObjectName("certificatesPage")
        self.scope_title = QLabel()
        self.scope_title.setObjectName("scopeTitle")
        font = self.scope_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.scope_title.setFont(font)
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("certificateFilter")
        self.filter_edit.setAccessibleName(self.tr("Filter certificates"))
        self.filter_edit.setPlaceholderText(
            self.tr("Filter by name, identifier, tag, subject, issuer or fingerprint (Ctrl+F)")
        )
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.inherited_toggle = QCheckBox(self.tr("Show inherited"))
        self.inherited_toggle.setObjectName("includeParentsToggle")
        self.inherited_toggle.setToolTip(
            self.tr("Also list the certificates of the organization and account above (org. and account.)")
        )
        self.inherited_toggle.toggled.connect(self._inherited_toggled)
        self.new_button = QPushButton(icon("new"), self.tr("New Certificate"))
        self.new_button.setObjectName("newCertificateButton")
        self.new_button.clicked.connect(self.new_certificate)

        self.table = QTableView()
        self.table.setObjectName("certificateTable")
        self.table.setAccessibleName(self.tr("Certificates"))
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setAcceptDrops(True)
        self.table.viewport().setAcceptDrops(True)
        self.table.viewport().installEventFilter(self)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._table_menu)
        self.table.doubleClicked.connect(lambda _index: self.edit_certificate())
        vertical = self.table.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setSortIndicatorShown(True)
        header.sortIndicatorChanged.connect(self._sort_indicator_changed)
        header.setSectionsMovable(True)
        for column, width in enumerate(_COLUMN_WIDTHS):
            self.table.setColumnWidth(column, width)
        # Expiry is what people scan for: show it next to the name, not past the right edge.
        header.moveSection(header.visualIndex(EXPIRES), 2)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.selectionModel().selectionChanged.connect(lambda _selected, _deselected: self._update_row_actions())
        self.empty_label = QLabel(self.table.viewport())
        self.empty_label.setObjectName("emptyState")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("QLabel { color: palette(mid); padding: 24px; }")
        self.model.modelReset.connect(self._update_empty_state)

        self.details = DetailsPanel()
        self.details_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.details_splitter.setObjectName("detailsSplitter")
        self.details_splitter.addWidget(self.table)
        self.details_splitter.addWidget(self.details)
        self.details_splitter.setStretchFactor(0, 3)
        self.details_splitter.setStretchFactor(1, 2)
        self.details_splitter.setSizes([640, 360])

        top = QHBoxLayout()
        top.addWidget(self.scope_title)
        top.addStretch(1)
        top.addWidget(self.new_button)
        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.inherited_toggle)
        layout = QVBoxLayout(self.certificates_page)
        layout.addLayout(top)
        layout.addLayout(bar)
        layout.addWidget(self.details_splitter, 1)

    def _action(
        self,
        text: str,
        slot: object,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        name: str = "",
    ) -> QAction:
        action = QAction(self.tr(text), self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if name:
            action.setObjectName(name)
            action.setIcon(icon({"newAction": "new", "editAction": "edit", "deleteAction": "delete",
                                  "importAction": "import"}.get(name, "")))  # fmt: skip
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.new_action = self._action("&New Certificate...", self.new_certificate, QKeySequence.StandardKey.New,
                                       "newAction")  # fmt: skip
        self.import_action = self._action("&Import Files...", self.import_dialog, "Ctrl+I", "importAction")
        self.edit_action = self._action("&Edit Certificate...", self.edit_certificate, "F2", "editAction")
        self.delete_action = self._action("&Delete Certificate...", self.delete_certificate,
                                          QKeySequence.StandardKey.Delete, "deleteAction")  # fmt: skip
        self.find_action = self._action("&Find", self.focus_filter, QKeySequence.StandardKey.Find, "findAction")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, "quitAction")
        self.new_account_action = self._action("New &Account...", lambda: self.new_scope(None), None,
                                               "newAccountAction")  # fmt: skip
        self.new_child_action = self._action("New &Organization...", self._new_child_scope, None, "newChildAction")
        self.rename_scope_action = self._action("&Rename Scope...", self._rename_current_scope, None,
                                                "renameScopeAction")  # fmt: skip
        self.delete_scope_action = self._action("De&lete Scope...", self._delete_current_scope, None,
                                                "deleteScopeAction")  # fmt: skip
        self.dark_action = self._action("&Dark Mode", self._toggle_dark, None, "darkModeAction")
        self.dark_action.setCheckable(True)
        self.about_action = self._action("&About certdesk", lambda: show_about(self), None, "aboutAction")

        menu = self.menuBar()
        file_menu = menu.addMenu(self.tr("&File"))
        file_menu.addActions([self.new_action, self.import_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menu.addMenu(self.tr("&Edit"))
        edit_menu.addActions([self.edit_action, self.delete_action, self.find_action])
        scope_menu = menu.addMenu(self.tr("&Scope"))
        scope_menu.addActions([self.new_account_action, self.new_child_action, self.rename_scope_action,
                               self.delete_scope_action])  # fmt: skip
        view_menu = menu.addMenu(self.tr("&View"))
        view_menu.addAction(self.dark_action)
        help_menu = menu.addMenu(self.tr("&Help"))
        help_menu.addAction(self.about_action)

        toolbar = QToolBar(self.tr("Main"))
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions([self.new_action, self.import_action, self.edit_action, self.delete_action])
        self.addToolBar(toolbar)

    def _build_status_bar(self) -> None:
        self.database_label = QLabel(self.tr("Database: {0}").format(self.services.database_display))
        self.database_label.setObjectName("databaseLabel")
        self.count_label = QLabel()
        self.count_label.setObjectName("countLabel")
        self.statusBar().addPermanentWidget(self.count_label)
        self.statusBar().addWidget(self.database_label, 1)

    # --- scopes ------------------------------------------------------------------------------

    def reload_scopes(self, select: ScopePath | None = None) -> None:
        views = self.services.scopes.list()
        self.scope_tree.set_scopes(views, select)

    def current_scope(self) -> ScopePath | None:
        return self.scope_tree.current_scope()

    def _scope_selected(self, path: ScopePath | None) -> None:
        has_scope = path is not None
        for widget in (self.filter_edit, self.inherited_toggle):
            widget.setEnabled(has_scope)
        for action in (self.import_action, self.rename_scope_action, self.delete_scope_action):
            action.setEnabled(has_scope)
        # Without a scope (an empty database) New Certificate starts the first run instead.
        self.new_button.setEnabled(True)
        self.new_action.setEnabled(True)
        self.new_child_action.setEnabled(path is not None and path.level is not ScopeLevel.PROJECT)
        if path is not None:
            child = "Organization" if path.level is ScopeLevel.ACCOUNT else "Project"
            self.new_child_action.setText(self.tr("New &{0}...").format(child))
            self.scope_title.setText(self.tr("{0} {1} — Certificates").format(path.level.label, path))
            self.inherited_toggle.setEnabled(path.level is not ScopeLevel.ACCOUNT)
        else:
            self.scope_title.setText(self.tr("No scope"))
        query = None
        if path is not None:
            previous = self.model.query
            # The first list follows the header's arrow, which may come from the saved settings.
            sort, descending = (previous.sort, previous.descending) if previous else self._header_sort()
            query = CertificateQuery(
                scope=path,
                include_parents=self.inherited_toggle.isChecked() and path.level is not ScopeLevel.ACCOUNT,
                text=self.filter_edit.text(),
                sort=sort,
                descending=descending,
            )
        self._set_query(query)
        self.connectors_page.set_scope(path)

    def _set_query(self, query: CertificateQuery | None, select: tuple[str, str] | None = None) -> None:
        self.model.set_query(query)
        self._update_count()
        if select is not None:
            self.select_certificate(*select)
        else:
            self.details.show_detail(None)
            self._update_row_actions()

    def new_scope(self, parent_path: ScopePath | None) -> None:
        level = ScopeLevel.ACCOUNT if parent_path is None else (
            ScopeLevel.ORGANIZATION if parent_path.level is ScopeLevel.ACCOUNT else ScopeLevel.PROJECT)  # fmt: skip
        taken = {str(v.path.identifier) for v in self.services.scopes.list() if v.path.parent == parent_path}
        dialog = ScopeDialog(level, parent_path, taken, parent=self)
        dialog.accepted.connect(lambda: self._create_scope(dialog))
        self._open(dialog)

    def _new_child_scope(self) -> None:
        path = self.current_scope()
        if path is not None and path.level is not ScopeLevel.PROJECT:
            self.new_scope(path)

    def _create_scope(self, dialog: ScopeDialog) -> None:
        path, name = dialog.scope_path(), dialog.name_edit.text()
        self.runner.submit(
            lambda _h: self.services.scopes.create(path, name),
            lambda view: self._announce(Change("scope", "create", str(view.path)),
                                        self.tr("{0} {1} created").format(view.level.label, view.name)),
            self._show_error,
        )  # fmt: skip

    def rename_scope(self, path: ScopePath) -> None:
        try:
            view = self.services.scopes.get(path)
        except CertdeskError as error:
            self._show_error(error)
            return
        dialog = ScopeDialog(path.level, path.parent, set(), current_name=view.name,
                             current_identifier=path.identifier, parent=self)  # fmt: skip
        dialog.accepted.connect(lambda: self._rename_scope(path, dialog.name_edit.text()))
        self._open(dialog)

    def _rename_current_scope(self) -> None:
        if (path := self.current_scope()) is not None:
            self.rename_scope(path)

    def _rename_scope(self, path: ScopePath, name: str) -> None:
        self.runner.submit(
            lambda _h: self.services.scopes.rename(path, name),
            lambda view: self._announce(Change("scope", "update", str(path)), self.tr("Renamed to {0}").format(name)),
            self._show_error,
        )

    def delete_scope(self, path: ScopePath) -> None:
        question = self.tr("Delete the {0} '{1}'? Only an empty scope can be deleted.").format(path.level.value, path)
        if not self.prompter.confirm(self, self.tr("Delete Scope"), question, self.tr("Delete")):
            return
        self.runner.submit(
            lambda _h: self.services.scopes.delete(path),
            lambda deleted: self._announce(Change("scope", "delete", str(deleted)),
                                           self.tr("{0} {1} deleted").format(path.level.label, path)),
            self._show_error,
        )  # fmt: skip

    def _delete_current_scope(self) -> None:
        if (path := self.current_scope()) is not None:
            self.delete_scope(path)

    def first_run(self) -> None:
        """An empty database: ask for the account so a first certificate is one step away."""
        if self.services.scopes.list():
            return
        dialog = FirstRunDialog(self)
        dialog.accepted.connect(lambda: self._create_scope(dialog))
        self._open(dialog)

    # --- certificates ------------------------------------------------------------------------

    def selected_row(self) -> CertificateRow | None:
        selected = self.table.selectionModel().selectedRows()
        row = selected[0].data(ROW_ROLE) if selected else None
        return row if isinstance(row, CertificateRow) else None

    def select_certificate(self, scope: str, identifier: str) -> bool:
        position = self.model.find(scope, identifier)
        if position is None:
            self.details.show_detail(None)
            self._update_row_actions()
            return False
        index = self.model.index(position, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        return True

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = current.data(ROW_ROLE) if current.isValid() else None
        detail = None
        if isinstance(row, CertificateRow):
            try:
                detail = self.services.certificates.get(row.scope, row.identifier)
            except CertdeskError as error:
                self.statusBar().showMessage(error.message, 5000)
        self.details.show_detail(detail)
        self._update_row_actions()

    def _update_row_actions(self) -> None:
        row = self.selected_row()
        editable = row is not None and not row.inherited
        self.edit_action.setEnabled(editable)
        self.delete_action.setEnabled(editable)

    def new_certificate(self) -> None:
        scope = self.current_scope()
        if scope is None:
            self.first_run()
            return
        self._open_wizard(scope, None)

    def edit_certificate(self) -> None:
        row = self.selected_row()
        if row is None or row.inherited:
            if row is not None:
                self.statusBar().showMessage(
                    self.tr("'{0}' belongs to {1}; edit it there.").format(row.name, row.scope), 5000
                )
            return
        try:
            detail = self.services.certificates.get(row.scope, row.identifier)
        except CertdeskError as error:
            self._show_error(error)
            return
        self._open_wizard(row.scope, detail)

    def _open_wizard(self, scope: ScopePath, editing: CertificateDetail | None) -> None:
        wizard = CertificateWizard(
            scope, self.services.certificates, self.runner, self.clock, self.prompter,
            editing=editing, parent=self, explain=self.services.explain,
        )  # fmt: skip
        wizard.saved.connect(lambda detail: self._certificate_saved(detail, editing is not None))
        wizard.finished.connect(lambda _result: setattr(self, "wizard", None))
        wizard.finished.connect(lambda _result: wizard.deleteLater())  # one per New/Edit: do not keep them all
        self.wizard = wizard
        wizard.setWindowModality(Qt.WindowModality.WindowModal)
        wizard.show()

    def _certificate_saved(self, detail: CertificateDetail, updated: bool) -> None:
        if updated:
            text = self.tr("Certificate {0} updated successfully").format(detail.name)
        else:
            text = self.tr("Certificate {0} created successfully").format(detail.name)
        action = "update" if updated else "create"
        self._announce(Change("certificate", action, str(detail.scope), detail.identifier), text)

    def delete_certificate(self) -> None:
        row = self.selected_row()
        if row is None or row.inherited:
            return
        try:
            users = self.services.certificates.get(row.scope, row.identifier).used_by
        except CertdeskError as error:
            self._show_error(error)
            return
        dialog = DeleteCertificateDialog(row, users, self)
        dialog.finished.connect(lambda result: self._delete_answered(row, users, result))
        self._open(dialog)

    def _delete_answered(self, row: CertificateRow, users: tuple[object, ...], result: int) -> None:
        if result == DeleteCertificateDialog.FORCE:
            dialog = ForceDeleteDialog(row, tuple(users), self)  # type: ignore[arg-type]
            dialog.accepted.connect(lambda: self._delete(row, force=True))
            self._open(dialog)
        elif result == QDialog.DialogCode.Accepted:
            self._delete(row, force=False)

    def _delete(self, row: CertificateRow, force: bool) -> None:
        def done(outcome: DeleteOutcome) -> None:
            text = self.tr("Certificate {0} deleted").format(outcome.name)
            if outcome.detached:
                text += self.tr("; {0} connector(s) now need a certificate").format(len(outcome.detached))
            self._announce(Change("certificate", "delete", str(outcome.scope), outcome.identifier), text)

        self.runner.submit(
            lambda _h: self.services.certificates.delete(row.scope, row.identifier, force=force), done, self._show_error
        )

    def import_dialog(self) -> None:
        if self.current_scope() is None:
            return
        files = self.prompter.open_files(self, self.tr("Import certificates"), CERTIFICATE_FILE_FILTER)
        if files:
            self.import_paths([Path(name) for name in files])

    def import_paths(self, paths: list[Path]) -> None:
        scope = self.current_scope()
        if scope is None or self.import_job is not None:
            return
        job = ImportJob(scope, paths, self.services.certificates, self.runner, self)
        job.finished.connect(lambda outcome: self._imported(scope, outcome))
        job.failed.connect(self._import_failed)
        self.import_job = job
        job.start()

    def _imported(self, scope: ScopePath, outcome: ImportOutcome) -> None:
        self.import_job = None
        self._announce(Change("certificate", "import", str(scope)), self.tr("Import: {0}").format(outcome.summary()))
        self.prompter.information(self, self.tr("Import finished"), summary_text(outcome, self.tr))

    def _import_failed(self, error: Exception) -> None:
        self.import_job = None
        self._show_error(error)

    # --- events ------------------------------------------------------------------------------

    def _announce(self, change: Change, text: str) -> None:
        self.events.announce(change)
        self.notify(text)

    def notify(self, text: str) -> None:
        """Say something briefly: a toast over the corner and the status bar."""
        self.last_notification = text
        self.statusBar().showMessage(text, 8000)
        self.toast.show_message(text)

    def _connectors_changed(self, text: str) -> None:
        self._announce(Change("connector", "update", str(self.current_scope() or "")), text)

    def poll_changes(self) -> None:
        """Refresh when the audit trail has grown since we last looked; keep the selection."""
        try:
            entries = self.services.certificates.recent_changes(self._seen_change)
        except Exception:  # a database that went away must not stop the window
            log.warning("could not poll the audit trail", exc_info=True)
            return
        if not entries:
            return
        self._seen_change = int(entries[-1][0])
        others = sorted({str(actor) for _id, _scope, _entity, actor in entries} - {self.services.certificates.actor})
        row = self.selected_row()
        self.reload_scopes(self.current_scope())
        self.connectors_page.refresh()
        if self.model.query is not None:
            self._set_query(self.model.query, (str(row.scope), row.identifier) if row else None)
        if others:
            self.statusBar().showMessage(self.tr("Updated with changes by {0}.").format(", ".join(others)), 8000)

    def _changed(self, change: Change) -> None:
        self._seen_change = self.services.certificates.latest_change_id()
        if change.entity == "connector":
            self._set_query(self.model.query)  # the Used by column follows the connectors
            return
        if change.entity == "scope":
            select = ScopePath.parse(change.scope) if change.action != "delete" else None
            if select is None:
                deleted = ScopePath.parse(change.scope)
                select = deleted.parent
            self.reload_scopes(select)
            return
        current = self.current_scope()
        self.connectors_page.refresh()  # a forced deletion detaches connectors
        self.reload_scopes(current)
        if current is None:
            return
        target = (change.scope, change.identifier) if change.action in {"create", "update"} else None
        self._set_query(self.model.query, target)

    def _show_error(self, error: Exception) -> None:
        error = self.services.explain(error) or error
        if isinstance(error, CertdeskError):
            message = error.message
            if isinstance(error, NotFound):
                self.reload_scopes(self.current_scope())
        else:
            log.error("unexpected error in a background task", exc_info=error)
            message = self.tr("Something went wrong inside certdesk; the details are in its log file.")
        self.prompter.error(self, self.tr("certdesk"), message)

    def _busy_changed(self, busy: bool) -> None:
        if busy:
            self.statusBar().showMessage(self.tr("Working..."))

    def _update_count(self) -> None:
        count = self.model.rowCount()
        query = self.model.query
        if query is None:
            self.count_label.setText("")
            return
        noun = self.tr("certificate") if count == 1 else self.tr("certificates")
        shown = self.tr("{0} {1}").format(f"{count:,}", noun)
        if query.text:
            shown += self.tr(" matching the filter")
        self.count_label.setText(shown)

    def _update_empty_state(self) -> None:
        query = self.model.query
        empty = self.model.rowCount() == 0
        if query is None:
            self.empty_label.setText(
                self.tr(
                    "There is no account yet.\nClick New Certificate to name your account and add a first certificate."
                )
            )
        elif empty and query.text:
            self.empty_label.setText(self.tr("No certificate matches '{0}'.").format(query.text))
        elif empty:
            self.empty_label.setText(
                self.tr("No certificates in {0} yet.\nClick New Certificate, or drop certificate files here.").format(
                    query.scope
                )
            )
        self.empty_label.setVisible(empty)
        self.empty_label.resize(self.table.viewport().size())

    def _header_sort(self) -> tuple[SortKey, bool]:
        header = self.table.horizontalHeader()
        column = header.sortIndicatorSection()
        key = COLUMNS[column][1] if 0 <= column < len(COLUMNS) else None
        if key is None:
            return SortKey.NAME, False
        return key, header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder

    def _sort_indicator_changed(self, column: int, _order: Qt.SortOrder) -> None:
        """Used by and Tags cannot be sorted: put the arrow back on the column the rows follow."""
        if COLUMNS[column][1] is not None:
            return
        query = self.model.query
        key, descending = (query.sort, query.descending) if query else (SortKey.NAME, False)
        sorted_column = next((i for i, (_label, k) in enumerate(COLUMNS) if k is key), 0)
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        self.table.horizontalHeader().setSortIndicator(sorted_column, order)

    def _filter_changed(self, text: str) -> None:
        self.model.set_filter(text.strip())
        self._update_count()
        self.details.show_detail(None)
        self._update_row_actions()

    def _inherited_toggled(self, checked: bool) -> None:
        self.model.set_include_parents(checked)
        self._update_count()
        self.details.show_detail(None)
        self._update_row_actions()

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def _table_menu(self, position: QPoint) -> None:
        menu = QMenu(self)
        menu.addActions([self.new_action, self.edit_action, self.delete_action])
        menu.popup(self.table.viewport().mapToGlobal(position))

    def _toggle_dark(self, checked: bool) -> None:
        apply_theme(dark=checked)
        self.settings.setValue("ui/dark", checked)

    def _open(self, dialog: QDialog) -> None:
        """Show a dialog without blocking: tests reach it as `window.dialog`, people see it modal."""
        self.dialog = dialog
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.finished.connect(lambda _result: dialog.deleteLater())
        dialog.open()

    # --- drag and drop -----------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport():
            if event.type() == QEvent.Type.Resize:
                self.empty_label.resize(self.table.viewport().size())
            elif event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
                self.dragEnterEvent(event)  # type: ignore[arg-type]
                return event.isAccepted()
            elif event.type() == QEvent.Type.Drop:
                self.dropEvent(event)  # type: ignore[arg-type]
                return True
        return super().eventFilter(watched, event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if self.current_scope() is not None and urls and all(url.isLocalFile() for url in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths and self.current_scope() is not None:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.import_paths(paths))

    # --- settings ----------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 760)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        for splitter in (self.splitter, self.details_splitter):
            value = self.settings.value(f"window/{splitter.objectName()}")
            if value is not None:
                splitter.restoreState(value)
        header = self.settings.value("window/certificateHeader")
        if header is not None:
            self.table.horizontalHeader().restoreState(header)
        dark = self.settings.value("ui/dark", False, type=bool)
        self.dark_action.setChecked(bool(dark))
        if dark:
            apply_theme(dark=True)
        self.inherited_toggle.setChecked(bool(self.settings.value("ui/includeParents", False, type=bool)))

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        for splitter in (self.splitter, self.details_splitter):
            self.settings.setValue(f"window/{splitter.objectName()}", splitter.saveState())
        self.settings.setValue("window/certificateHeader", self.table.horizontalHeader().saveState())
        self.settings.setValue("ui/includeParents", self.inherited_toggle.isChecked())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.change_poll.stop()
        self.connectors_page.renewal_timer.stop()
        self.save_settings()
        if self.runner.busy:
            self.runner.wait_for_done(10_000)
        super().closeEvent(event)


__all__ = ["COLUMNS", "MainWindow"]
