"""Seed a realistic demo database and grab the real windows for the README: `python -m bench.screenshots`."""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

from certdesk.app import build_services
from certdesk.domain.connectors import VaultSettings
from certdesk.domain.scopes import ScopePath
from certdesk.services.bundle import Services
from certdesk.services.clock import SystemClock
from certdesk.services.connectors import ConnectorDraft
from certdesk.services.views import CertificateDraft
from certdesk.store.connection import init_db
from certdesk.ui.application import create_application
from certdesk.ui.dialogs import DeleteCertificateDialog
from certdesk.ui.events import AppEvents
from certdesk.ui.main_window import MainWindow
from certdesk.ui.prompts import QtPrompter
from certdesk.ui.tasks import TaskRunner
from certdesk.ui.wizard import CertificateWizard
from tests.helpers.certs import make_certificate, make_pki
from tests.helpers.keyrings import MemoryKeyring

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def seed(services: Services) -> None:
    scopes, certificates = services.scopes, services.certificates
    scopes.create("acme", "Acme Corp")
    scopes.create("acme/engineering", "Engineering")
    scopes.create("acme/engineering/payments", "Payments")
    scopes.create("acme/engineering/identity", "Identity")
    scopes.create("acme/finance", "Finance")
    corporate = make_pki(host="vault.acme.internal", prefix="Acme Corporate")
    certificates.create(
        "acme",
        CertificateDraft(
            name="Acme Corporate Root CA",
            identifier="corp_root",
            pem=corporate.root.pem,
            tags={"env": "all", "owner": "pki-team"},
            description="Offline root of Acme's private PKI.",
        ),
    )
    certificates.create(
        "acme",
        CertificateDraft(
            name="Acme Issuing CA chain", identifier="corp_issuing", pem=corporate.ca_chain_pem, tags={"env": "prod"}
        ),
    )
    now = datetime.now(UTC)
    partner = make_certificate("Globex Partner Root", is_ca=True, days=2000, organization="Globex")
    certificates.create(
        "acme/engineering",
        CertificateDraft(
            name="Globex partner root", identifier="globex_root", pem=partner.pem, tags={"partner": "globex"}
        ),
    )
    legacy = make_certificate(
        "legacy-ldap.acme.internal",
        is_ca=True,
        not_before=now - timedelta(days=800),
        not_after=now - timedelta(days=35),
    )
    certificates.create(
        "acme/engineering",
        CertificateDraft(name="Legacy LDAP CA", identifier="legacy_ldap", pem=legacy.pem, tags={"env": "legacy"}),
    )
    soon = make_certificate(
        "Build Farm CA", is_ca=True, not_before=now - timedelta(days=300), not_after=now + timedelta(days=12)
    )
    certificates.create(
        "acme/engineering",
        CertificateDraft(name="Build farm CA", identifier="build_farm", pem=soon.pem, tags={"team": "ci"}),
    )
    vault = make_pki(host="vault.payments.acme.internal", prefix="Payments Vault")
    certificates.create(
        "acme/engineering/payments",
        CertificateDraft(
            name="Payments Vault TLS chain",
            identifier="payments_vault",
            pem=vault.chain_pem,
            tags={"env": "prod", "team": "payments"},
        ),
    )
    for index in range(1, 9):
        service = make_certificate(
            f"svc-{index:02d}.payments.acme.internal",
            issuer=vault.intermediate,
            dns_names=(f"svc-{index:02d}.payments.acme.internal",),
            days=30 * index,
        )
        certificates.create(
            "acme/engineering/payments",
            CertificateDraft(name=f"Service {index:02d} certificate", pem=service.pem, tags={"team": "payments"}),
        )
    services.connectors.create(
        "acme/engineering/payments",
        ConnectorDraft(
            name="Vault production",
            identifier="vault_prod",
            settings=VaultSettings(url="https://vault.payments.acme.internal:8200", engine="secret", renewal_minutes=0),
            certificate="account.corp_issuing",
            token="demo-token-not-real",
        ),
    )


def grab(widget: QWidget, name: str) -> None:
    QApplication.processEvents()
    path = OUT / f"{name}.png"
    widget.grab().save(str(path))
    print(f"wrote {path}")


def main() -> int:
    keyring.set_keyring(MemoryKeyring())
    OUT.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="certdesk-shots-"))
    app = create_application()
    services = build_services(init_db(str(folder / "demo.db")))
    seed(services)
    runner = TaskRunner(parent=app)
    settings = QSettings(str(folder / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(services, runner, AppEvents(app), QtPrompter(), SystemClock(), settings)
    window.resize(1440, 820)
    window.show()
    window.scope_tree.select_scope(ScopePath.parse("acme/engineering/payments"))
    window.inherited_toggle.setChecked(True)
    window.select_certificate("acme/engineering/payments", "payments_vault")
    grab(window, "main-window")
    grab(window.details, "details-panel")

    wizard = CertificateWizard(
        ScopePath.parse("acme/engineering/payments"),
        services.certificates,
        runner,
        SystemClock(),
        QtPrompter(),
        parent=window,
    )
    wizard.overview.name_edit.setText("Partner API root")
    wizard.overview.tags_edit.setText("partner:initech, env:prod")
    wizard.overview.description_edit.setPlainText("Trust anchor for the Initech partner API.")
    wizard.show()
    grab(wizard, "wizard-overview")
    wizard.next()
    partner = make_pki(host="api.initech.example", prefix="Initech")
    wizard.details.pem_edit.setPlainText(partner.chain_pem)
    wizard.details.update_preview()
    grab(wizard, "wizard-details")
    wizard.close()

    window.inherited_toggle.setChecked(False)
    window.scope_tree.select_scope(ScopePath.parse("acme"))
    window.select_certificate("acme", "corp_issuing")
    row = window.selected_row()
    assert row is not None
    users = services.certificates.get("acme", "corp_issuing").used_by
    dialog = DeleteCertificateDialog(row, users, window)
    dialog.show()
    grab(dialog, "delete-in-use")
    dialog.close()

    window.scope_tree.select_scope(ScopePath.parse("acme/engineering/payments"))
    window.tabs.setCurrentWidget(window.connectors_page)
    grab(window, "connectors-page")
    window.connectors_page.table.selectRow(0)
    window.connectors_page.edit_connector()
    connector_dialog = window.connectors_page.dialog
    assert connector_dialog is not None
    grab(connector_dialog, "vault-connector-dialog")
    connector_dialog.close()
    window.close()
    runner.wait_for_done()
    return 0


if __name__ == "__main__":
    sys.exit(main())
