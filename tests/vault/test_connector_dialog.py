"""The Vault connector dialog driven by object name, against a real OpenBao server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton, QSpinBox, QTreeWidget
from pytestqt.qtbot import QtBot

from certdesk.domain.connectors import ROOT_TOKEN_RULE
from certdesk.domain.scopes import ScopePath
from certdesk.services.certificates import CertificateService
from certdesk.services.connectors import ConnectorService
from certdesk.services.scopes import ScopeService
from certdesk.services.views import CertificateDraft
from certdesk.ui.connector_dialog import VaultConnectorDialog
from certdesk.ui.tasks import TaskRunner
from tests.helpers.keyrings import MemoryKeyring
from tests.helpers.openbao import OpenBaoServer, enable_kv, unique_name

pytestmark = pytest.mark.vault
PAYMENTS = ScopePath.parse("acme/eng/payments")


@pytest.fixture
def runner(qapp: object) -> Iterator[TaskRunner]:
    task_runner = TaskRunner()
    yield task_runner
    task_runner.wait_for_done()


@pytest.fixture
def dialog(
    qtbot: QtBot,
    acme: ScopeService,
    certificates: CertificateService,
    connectors: ConnectorService,
    runner: TaskRunner,
    openbao: OpenBaoServer,
) -> VaultConnectorDialog:
    certificates.create("acme", CertificateDraft(name="Vault Root CA", identifier="vault_root", pem=openbao.ca_pem))
    certificates.create("acme/eng", CertificateDraft(name="Other CA", identifier="other", pem=_other_root()))
    widget = VaultConnectorDialog(PAYMENTS, connectors, runner)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def _other_root() -> str:
    from tests.helpers.certs import make_pki

    return make_pki(prefix="other").root.pem


def child(dialog: VaultConnectorDialog, kind: type, name: str):  # type: ignore[no-untyped-def]
    found = dialog.findChild(kind, name)
    assert found is not None, name
    return found


def fill(dialog: VaultConnectorDialog, server: OpenBaoServer, engine: str, token: str) -> None:
    child(dialog, QLineEdit, "connectorNameEdit").setText("Vault prod")
    child(dialog, QLineEdit, "vaultUrlEdit").setText(server.url)
    child(dialog, QLineEdit, "tokenEdit").setText(token)
    child(dialog, QComboBox, "engineCombo").setCurrentText(engine)


def choose_certificate(dialog: VaultConnectorDialog, reference: str) -> None:
    combo = child(dialog, QComboBox, "certificateCombo")
    index = combo.findData(reference)
    assert index > 0
    combo.setCurrentIndex(index)


def run_test(qtbot: QtBot, dialog: VaultConnectorDialog) -> None:
    with qtbot.waitSignal(dialog.test_finished, timeout=20_000):
        qtbot.mouseClick(child(dialog, QPushButton, "testConnectionButton"), Qt.MouseButton.LeftButton)


def steps(dialog: VaultConnectorDialog) -> dict[str, str]:
    view = child(dialog, QTreeWidget, "testResultView")
    return {
        view.topLevelItem(i).text(0): view.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
        for i in range(view.topLevelItemCount())
        if view.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
    }


def test_combo_lists_visible_certificates_grouped_by_scope(dialog: VaultConnectorDialog) -> None:
    combo = child(dialog, QComboBox, "certificateCombo")
    references = [combo.itemData(i) for i in range(combo.count()) if isinstance(combo.itemData(i), str)]
    assert references == ["org.other", "account.vault_root"]
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts[0] == "None (use the system trust store)"
    assert "Organization: acme/eng" in texts
    assert "Account: acme" in texts
    assert combo.accessibleName() == "SSL/TLS certificate for this connector"


def test_root_token_needs_interval_zero_then_passes_and_saves(
    qtbot: QtBot,
    dialog: VaultConnectorDialog,
    openbao: OpenBaoServer,
    connectors: ConnectorService,
    certificates: CertificateService,
    memory_keyring: MemoryKeyring,
) -> None:
    engine = enable_kv(openbao.admin, unique_name("kv"), 2)
    fill(dialog, openbao, engine, openbao.root_token)
    choose_certificate(dialog, "account.vault_root")
    run_test(qtbot, dialog)
    assert steps(dialog)["Token rules"] == "failed"
    assert child(dialog, QLabel, "testVerdict").text() == f"Token rules failed: {ROOT_TOKEN_RULE}"
    fix = child(dialog, QPushButton, "setRenewalZeroButton")
    assert fix.isVisible()
    qtbot.mouseClick(fix, Qt.MouseButton.LeftButton)
    assert child(dialog, QSpinBox, "renewalIntervalSpin").value() == 0
    run_test(qtbot, dialog)
    assert set(steps(dialog).values()) == {"passed"}
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        qtbot.mouseClick(child(dialog, QPushButton, "saveConnectorButton"), Qt.MouseButton.LeftButton)
    saved = connectors.get(PAYMENTS, "Vault_prod")
    assert saved.certificate is not None
    assert saved.certificate.reference == "account.vault_root"
    assert [use.identifier for use in certificates.get("acme", "vault_root").used_by] == ["Vault_prod"]
    assert list(memory_keyring.store.values()) == [openbao.root_token]


def test_wrong_certificate_shows_the_cause_and_the_presented_chain(
    qtbot: QtBot, dialog: VaultConnectorDialog, openbao: OpenBaoServer
) -> None:
    fill(dialog, openbao, "secret", openbao.root_token)
    choose_certificate(dialog, "org.other")
    run_test(qtbot, dialog)
    assert steps(dialog)["TLS"] == "failed"
    assert child(dialog, QLabel, "testVerdict").text().startswith("TLS failed: Unknown issuer")
    view = child(dialog, QTreeWidget, "testResultView")
    chain = [
        view.topLevelItem(i)
        for i in range(view.topLevelItemCount())
        if view.topLevelItem(i).text(0) == "Chain presented"
    ]
    assert chain
    assert chain[0].child(0).text(0) == "1. localhost"


def test_saving_root_token_with_interval_is_refused_in_the_dialog(
    qtbot: QtBot, dialog: VaultConnectorDialog, openbao: OpenBaoServer, connectors: ConnectorService
) -> None:
    fill(dialog, openbao, "secret", openbao.root_token)
    choose_certificate(dialog, "account.vault_root")
    qtbot.mouseClick(child(dialog, QPushButton, "saveConnectorButton"), Qt.MouseButton.LeftButton)
    error = child(dialog, QLabel, "connectorError")
    qtbot.waitUntil(lambda: error.text() not in ("", "Saving..."), timeout=10_000)
    assert error.text() == ROOT_TOKEN_RULE
    assert dialog.isVisible()
    assert connectors.in_scope(PAYMENTS) == []


def test_a_silent_server_can_be_cancelled(qtbot: QtBot, dialog: VaultConnectorDialog, silent_server: object) -> None:
    child(dialog, QLineEdit, "connectorNameEdit").setText("Silent")
    child(dialog, QLineEdit, "vaultUrlEdit").setText(silent_server.url)  # type: ignore[attr-defined]
    child(dialog, QLineEdit, "tokenEdit").setText("x")
    qtbot.mouseClick(child(dialog, QPushButton, "testConnectionButton"), Qt.MouseButton.LeftButton)
    cancel = child(dialog, QPushButton, "cancelTestButton")
    assert cancel.isEnabled()
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert child(dialog, QLabel, "testVerdict").text() == "Test cancelled."
    assert child(dialog, QPushButton, "testConnectionButton").isEnabled()
