"""The scope navigator: accounts, their organizations and their projects, as a tree."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QMenu, QTreeView, QWidget

from certdesk.domain.scopes import ScopeLevel, ScopePath
from certdesk.services.views import ScopeView
from certdesk.ui.resources import icon

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
_LEVEL_ICONS = {
    ScopeLevel.ACCOUNT: "account",
    ScopeLevel.ORGANIZATION: "organization",
    ScopeLevel.PROJECT: "project",
}


class ScopeTree(QTreeView):
    """Shows the scopes; says which one is selected; offers create, rename and delete."""

    scope_selected = Signal(object)  # ScopePath | None
    create_requested = Signal(object)  # the parent ScopePath, or None for a new account
    rename_requested = Signal(object)
    delete_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scopeTree")
        self.setAccessibleName(self.tr("Scopes"))
        self.setHeaderHidden(True)
        self.setUniformRowHeights(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        self.scope_model = QStandardItemModel(self)
        self.setModel(self.scope_model)
        self.selectionModel().currentChanged.connect(self._current_changed)
        self._icons: dict[ScopeLevel, QIcon] = {level: icon(name) for level, name in _LEVEL_ICONS.items()}

    def set_scopes(self, views: list[ScopeView], select: ScopePath | None = None) -> None:
        """Rebuild the tree (scopes are few) and keep or move the selection."""
        keep = select or self.current_scope()
        expanded = {path for path in self._all_paths() if self.isExpanded(self._index_of(path))}
        first_build = self.scope_model.rowCount() == 0
        self.selectionModel().blockSignals(True)
        self.scope_model.clear()
        items: dict[ScopePath, QStandardItem] = {}
        for view in views:  # parents come before children
            item = QStandardItem(self._icons[view.level], view.name)
            item.setData(str(view.path), PATH_ROLE)
            item.setEditable(False)
            item.setToolTip(
                self.tr("{0} {1}\n{2} certificates, {3} connectors").format(
                    view.level.label, view.path, view.certificate_count, view.connector_count
                )
            )
            parent_path = view.path.parent
            parent = items.get(parent_path) if parent_path else None
            (parent or self.scope_model.invisibleRootItem()).appendRow(item)
            items[view.path] = item
        self.selectionModel().blockSignals(False)
        for path in items:
            if first_build or path in expanded or (keep is not None and keep.is_within(path) and keep != path):
                self.setExpanded(items[path].index(), True)
        target = keep if keep in items else (views[0].path if views else None)
        if target is not None:
            self.select_scope(target)
        else:
            self.scope_selected.emit(None)

    def select_scope(self, path: ScopePath) -> None:
        index = self._index_of(path)
        if index.isValid():
            self.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.scrollTo(index)
            self.scope_selected.emit(path)

    def current_scope(self) -> ScopePath | None:
        return _path_of(self.currentIndex())

    def _index_of(self, path: ScopePath) -> QModelIndex:
        matches = self.scope_model.match(
            self.scope_model.index(0, 0), PATH_ROLE, str(path), 1,
            Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive,
        )  # fmt: skip
        return matches[0] if matches else QModelIndex()

    def _all_paths(self) -> list[ScopePath]:
        paths: list[ScopePath] = []
        stack = [self.scope_model.invisibleRootItem()]
        while stack:
            item = stack.pop()
            for row in range(item.rowCount()):
                child = item.child(row)
                paths.append(ScopePath.parse(child.data(PATH_ROLE)))
                stack.append(child)
        return paths

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.scope_selected.emit(_path_of(current))

    def _show_menu(self, position: QPoint) -> None:
        self.build_menu(self.indexAt(position)).popup(self.viewport().mapToGlobal(position))

    def build_menu(self, index: QModelIndex) -> QMenu:
        """The context menu for a row (or for the empty area); built apart so tests can read it."""
        menu = QMenu(self)
        path = _path_of(index)
        if path is not None:
            if path.level is ScopeLevel.ACCOUNT:
                self._add(menu, self.tr("New Organization..."), lambda: self.create_requested.emit(path))
            elif path.level is ScopeLevel.ORGANIZATION:
                self._add(menu, self.tr("New Project..."), lambda: self.create_requested.emit(path))
            self._add(menu, self.tr("Rename..."), lambda: self.rename_requested.emit(path))
            self._add(menu, self.tr("Delete..."), lambda: self.delete_requested.emit(path))
            menu.addSeparator()
        self._add(menu, self.tr("New Account..."), lambda: self.create_requested.emit(None))
        return menu

    @staticmethod
    def _add(menu: QMenu, text: str, slot: object) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        return action


def _path_of(index: QModelIndex) -> ScopePath | None:
    value = index.data(PATH_ROLE) if index.isValid() else None
    return ScopePath.parse(value) if isinstance(value, str) else None
