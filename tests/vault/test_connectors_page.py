"""The Connectors page against a real OpenBao server: list, test, and background token renewal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from certdesk.domain.connectors import VaultSettings
from certdesk.domain.scopes import ScopePath
from certdesk.services.certificates import CertificateService
from certdesk.services.connectors import ConnectorDraft, ConnectorService
from certdesk.services.scopes import ScopeService
from certdesk.services.views import CertificateDraft
from certdesk.ui.connectors_page import ConnectorsPage
from certdesk.ui.tasks import TaskRunner
from tests.helpers.openbao import (
    OpenBaoServer,
    create_periodic_token,
    create_policy,
    enable_kv,
    read_write_policy,
    unique_name,
)

pytestmark = pytest.mark.vault
ENG = ScopePath.parse("acme/eng")


class Answers:
    """A prompter that answers every confirmation with yes."""

    def error(self, *_args: object) -> None: ...
    def information(self, *_args: object) -> None: ...
    def confirm(self, *_args: object) -> bool:
        return True

    def open_files(self, *_args: object) -> list[str]:
        return []


@pytest.fixture
def page(
    qtbot: QtBot,
    acme: ScopeService,
    certificates: CertificateService,
    connectors: ConnectorService,
    openbao: OpenBaoServer,
) -> Iterator[ConnectorsPage]:
    certificates.create("acme", CertificateDraft(name="Vault CA", identifier="vault_ca", pem=openbao.ca_pem))
    kv = enable_kv(openbao.admin, unique_name("kv"), 2)
    token = create_periodic_token(
        openbao.admin, create_policy(openbao.admin, unique_name("rw"), read_write_policy(kv, 2))
    )
    settings = VaultSettings(url=openbao.url, engine=kv, renewal_minutes=10)
    connectors.create(
        ENG, ConnectorDraft(name="Vault", settings=settings, certificate="account.vault_ca", token=token.token)
    )
    runner = TaskRunner()
    widget = ConnectorsPage(connectors, runner, Answers())  # type: ignore[arg-type]
    qtbot.addWidget(widget)
    widget.set_scope(ENG)
    widget.show()
    yield widget
    widget.renewal_timer.stop()
    runner.wait_for_done()


def cell(page: ConnectorsPage, column: int) -> str:
    return str(page.model.index(0, column).data())


def test_renewal_runs_in_the_background_and_shows_its_result(
    qtbot: QtBot, page: ConnectorsPage, connectors: ConnectorService, openbao: OpenBaoServer
) -> None:
    assert cell(page, 6) == "every 10 min, not yet"
    page.start_renewals(interval_ms=60_000)
    qtbot.waitUntil(lambda: cell(page, 6).startswith("ok, "), timeout=15_000)
    assert connectors.get(ENG, "Vault").last_renewal_ok is True
    assert connectors.due_for_renewal() == []


def test_a_failed_renewal_is_reported_and_the_page_goes_on(
    qtbot: QtBot, page: ConnectorsPage, connectors: ConnectorService, openbao: OpenBaoServer, memory_keyring: object
) -> None:
    store = memory_keyring.store  # type: ignore[attr-defined]
    reference = next(iter(store))
    with openbao.client() as client:
        client.auth.token.revoke(store[reference])
    with qtbot.waitSignal(page.changed, timeout=15_000) as said:
        page.renew_due()
    assert str(said.args[0]).startswith("Token renewal failed for acme/eng/Vault")
    assert cell(page, 6).startswith("failed, ")


def test_test_button_records_the_verdict(qtbot: QtBot, page: ConnectorsPage) -> None:
    page.table.selectRow(0)
    assert page.test_button.isEnabled()
    page.test_connector()
    qtbot.waitUntil(lambda: cell(page, 5).startswith("passed, "), timeout=20_000)
    assert "every step passed" in page.status.text()
