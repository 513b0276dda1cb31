"""The details panel: the selected certificate's chain, each member's fields, warnings, users."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from certdesk.domain.names import format_tags
from certdesk.domain.x509 import CertificateInfo, format_fingerprint
from certdesk.services.views import CertificateDetail
from certdesk.ui.resources import icon

MEMBER_ROLE = Qt.ItemDataRole.UserRole + 1


class DetailsPanel(QWidget):
    """Read-only view of one certificate; every value can be selected and copied."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailsPanel")
        self.detail: CertificateDetail | None = None

        self.title = QLabel()
        self.title.setObjectName("detailsTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.summary = QLabel()
        self.summary.setObjectName("detailsSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.chain_tree = QTreeWidget()
        self.chain_tree.setObjectName("chainTree")
        self.chain_tree.setAccessibleName(self.tr("Certificate chain, leaf to root"))
        self.chain_tree.setHeaderLabels([self.tr("Chain (leaf to root)")])
        self.chain_tree.setMinimumHeight(90)
        self.chain_tree.setMaximumHeight(150)
        self.chain_tree.currentItemChanged.connect(self._member_changed)

        self.fields: dict[str, QLineEdit] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key, label in (
            ("subject", "Subject"),
            ("issuer", "Issuer"),
            ("serial", "Serial"),
            ("valid_from", "Valid from"),
            ("valid_until", "Valid until"),
            ("key", "Key"),
            ("signature", "Signature"),
            ("san", "Names (SAN)"),
            ("sha1", "SHA-1"),
        ):
            form.addRow(self.tr(label), self._field(key))
        self.copy_button = QPushButton(self.tr("Copy"))
        self.copy_button.setObjectName("copyFingerprintButton")
        self.copy_button.setToolTip(self.tr("Copy the SHA-256 fingerprint"))
        self.copy_button.clicked.connect(self.copy_fingerprint)
        fingerprint_row = QHBoxLayout()
        fingerprint_row.addWidget(self._field("sha256"), 1)
        fingerprint_row.addWidget(self.copy_button)
        form.insertRow(2, self.tr("SHA-256"), fingerprint_row)

        self.warnings = QLabel()
        self.warnings.setObjectName("detailsWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setTextFormat(Qt.TextFormat.PlainText)
        self.warnings.setStyleSheet("QLabel { color: #b26a00; }")
        self.used_by = QLabel()
        self.used_by.setObjectName("detailsUsedBy")
        self.used_by.setWordWrap(True)
        self.used_by.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addWidget(self.chain_tree)
        layout.addLayout(form)
        layout.addWidget(self.warnings)
        layout.addSpacing(8)  # apart from the fields above, also when there is no warning between
        used_title = QLabel(self.tr("<b>Used by</b>"))
        layout.addWidget(used_title)
        layout.addWidget(self.used_by)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.show_detail(None)

    def _field(self, key: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setReadOnly(True)
        edit.setFrame(False)
        edit.setObjectName(f"detail_{key}")
        edit.setStyleSheet("QLineEdit { background: transparent; }")
        self.fields[key] = edit
        return edit

    def show_detail(self, detail: CertificateDetail | None) -> None:
        self.detail = detail
        self.chain_tree.clear()
        if detail is None:
            self.title.setText(self.tr("No certificate selected"))
            self.summary.setText(self.tr("Select a certificate in the list to see its chain and fields."))
            self.warnings.clear()
            self.used_by.clear()
            for edit in self.fields.values():
                edit.clear()
            self.copy_button.setEnabled(False)
            return
        self.title.setText(detail.name)
        parts = [f"{detail.scope}/{detail.identifier}"]
        if detail.tags:
            parts.append(self.tr("Tags: {0}").format(format_tags(detail.tags)))
        if detail.description:
            parts.append(detail.description)
        parts.append(self.tr("Updated {0} by {1}").format(f"{detail.updated_at:%Y-%m-%d %H:%M} UTC", detail.updated_by))
        self.summary.setText("\n".join(parts))
        parent: QTreeWidget | QTreeWidgetItem = self.chain_tree
        first: QTreeWidgetItem | None = None
        for member in detail.report.members:
            item = QTreeWidgetItem(parent, [member.display_name])
            item.setData(0, MEMBER_ROLE, member)
            item.setIcon(0, icon("certificate"))
            item.setToolTip(0, member.subject)
            item.setExpanded(True)
            parent = item
            first = first or item
        self.chain_tree.expandAll()
        if first is not None:
            self.chain_tree.setCurrentItem(first)
        warnings = detail.report.warnings
        self.warnings.setText("\n".join(f"⚠ {warning}" for warning in warnings))
        self.warnings.setVisible(bool(warnings))
        self.used_by.setText(
            "\n".join(str(use) for use in detail.used_by) or self.tr("No connector uses this certificate.")
        )

    def _member_changed(self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        member = current.data(0, MEMBER_ROLE) if current is not None else None
        if isinstance(member, CertificateInfo):
            self.show_member(member)

    def show_member(self, member: CertificateInfo) -> None:
        key = f"{member.key_type} {member.key_size} bits" if member.key_size else member.key_type
        values = {
            "subject": member.subject,
            "issuer": member.issuer,
            "serial": member.serial,
            "valid_from": f"{member.not_before:%Y-%m-%d %H:%M:%S} UTC",
            "valid_until": f"{member.not_after:%Y-%m-%d %H:%M:%S} UTC",
            "key": key + (self.tr(", CA") if member.is_ca else ""),
            "signature": member.signature_algorithm,
            "san": ", ".join(member.san) or "—",
            "sha256": format_fingerprint(member.sha256),
            "sha1": format_fingerprint(member.sha1),
        }
        for name, value in values.items():
            self.fields[name].setText(value)
            self.fields[name].setCursorPosition(0)
            self.fields[name].setToolTip(value)
        self.copy_button.setEnabled(True)

    def copy_fingerprint(self) -> None:
        QGuiApplication.clipboard().setText(self.fields["sha256"].text())
