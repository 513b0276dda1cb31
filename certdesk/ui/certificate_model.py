"""The certificate list's table model: paged from the services, filtered and sorted in SQL."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from certdesk.domain.names import format_tags
from certdesk.domain.x509 import format_fingerprint
from certdesk.services.certificates import CertificateService
from certdesk.services.clock import Clock
from certdesk.services.views import CertificateQuery, CertificateRow, SortKey

PAGE_SIZE = 256
MAX_CACHED_PAGES = 24
EXPIRY_WARNING_DAYS = 30

Index = QModelIndex | QPersistentModelIndex

COLUMNS: tuple[tuple[str, SortKey | None], ...] = (
    ("Name", SortKey.NAME),
    ("Identifier", SortKey.IDENTIFIER),
    ("Subject", SortKey.SUBJECT),
    ("Issuer", SortKey.ISSUER),
    ("Expires", SortKey.EXPIRES),
    ("Certificates in chain", SortKey.CHAIN),
    ("Used by", None),
    ("Tags", None),
)
NAME, IDENTIFIER, SUBJECT, ISSUER, EXPIRES, CHAIN, USED_BY, TAGS = range(len(COLUMNS))
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2

_EXPIRED = QColor(0xC6, 0x28, 0x28)
_EXPIRING = QColor(0xB2, 0x6A, 0x00)


def expiry_status(not_after: datetime, now: datetime, warning_days: int = EXPIRY_WARNING_DAYS) -> str:
    """`expired`, `expiring` (within the warning window) or `valid`."""
    if not_after <= now:
        return "expired"
    if not_after <= now + timedelta(days=warning_days):
        return "expiring"
    return "valid"


class CertificateTableModel(QAbstractTableModel):
    """Shows one scope's certificates without ever holding all of them: pages come on demand."""

    def __init__(self, service: CertificateService, clock: Clock, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.clock = clock
        self.warning_days = EXPIRY_WARNING_DAYS
        self._query: CertificateQuery | None = None
        self._count = 0
        self._pages: OrderedDict[int, list[CertificateRow]] = OrderedDict()
        self._now = clock.now()

    # --- what is shown -----------------------------------------------------------------------

    @property
    def query(self) -> CertificateQuery | None:
        return self._query

    def set_query(self, query: CertificateQuery | None) -> None:
        """Show another scope, filter or order: one COUNT now, rows when they are painted."""
        self.beginResetModel()
        self._query = query
        self._pages.clear()
        self._now = self.clock.now()
        self._count = self.service.count(query) if query is not None else 0
        self.endResetModel()

    def refresh(self) -> None:
        self.set_query(self._query)

    def set_filter(self, text: str) -> None:
        if self._query is not None and self._query.text != text:
            self.set_query(replace(self._query, text=text))

    def set_include_parents(self, include: bool) -> None:
        if self._query is not None and self._query.include_parents != include:
            self.set_query(replace(self._query, include_parents=include))

    def row_at(self, row: int) -> CertificateRow | None:
        if self._query is None or not 0 <= row < self._count:
            return None
        page_number = row // PAGE_SIZE
        page = self._pages.get(page_number)
        if page is None:
            page = self.service.rows(self._query, offset=page_number * PAGE_SIZE, limit=PAGE_SIZE)
            self._pages[page_number] = page
            while len(self._pages) > MAX_CACHED_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page_number)
        offset = row - page_number * PAGE_SIZE
        return page[offset] if offset < len(page) else None

    def find(self, scope: str, identifier: str) -> int | None:
        """The row showing a certificate, located by SQL rather than by reading every row."""
        if self._query is None:
            return None
        position = self.service.position_of(self._query, scope, identifier)
        return position if position is not None and position < self._count else None

    # --- Qt's side ---------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(COLUMNS[section][0])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.row_at(index.row())
        if row is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == ROW_ROLE:
            return row
        if role == STATUS_ROLE:
            return expiry_status(row.not_after, self._now, self.warning_days)
        if role == Qt.ItemDataRole.ForegroundRole and column == EXPIRES:
            status = expiry_status(row.not_after, self._now, self.warning_days)
            if status != "valid":
                return QBrush(_EXPIRED if status == "expired" else _EXPIRING)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == CHAIN:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def _display(self, row: CertificateRow, column: int) -> str:
        if column == NAME:
            return row.name
        if column == IDENTIFIER:
            return row.reference
        if column == SUBJECT:
            return row.subject_cn
        if column == ISSUER:
            return row.issuer_cn
        if column == EXPIRES:
            status = expiry_status(row.not_after, self._now, self.warning_days)
            label = {"expired": self.tr("expired"), "expiring": self.tr("expiring"), "valid": self.tr("valid")}
            return f"{row.not_after:%Y-%m-%d}  ({label[status]})"
        if column == CHAIN:
            return str(row.chain_length)
        if column == USED_BY:
            return ", ".join(use.name for use in row.used_by)
        return format_tags(row.tags)

    def _tooltip(self, row: CertificateRow, column: int) -> str | None:
        if column == IDENTIFIER and row.inherited:
            return self.tr("Inherited from {0} {1}").format(row.scope.level.value, row.scope)
        if column == EXPIRES:
            return self.tr("Valid until {0} UTC").format(f"{row.not_after:%Y-%m-%d %H:%M}")
        if column == USED_BY and row.used_by:
            return "\n".join(str(use) for use in row.used_by)
        if column == NAME:
            return self.tr("SHA-256 {0}").format(format_fingerprint(row.sha256))
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column][1]
        if key is None or self._query is None:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if (self._query.sort, self._query.descending) != (key, descending):
            self.set_query(replace(self._query, sort=key, descending=descending))

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
