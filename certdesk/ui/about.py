"""The About box: certdesk's version and the library versions support people ask for."""

from __future__ import annotations

import platform

import cryptography
import PySide6
from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from certdesk import __version__


def version_report() -> dict[str, str]:
    return {
        "certdesk": __version__,
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "cryptography": cryptography.__version__,
        "OpenSSL": openssl_backend.openssl_version_text(),
        "Python": platform.python_version(),
        "Platform": platform.platform(terse=True),
    }


def about_text() -> str:
    rows = "".join(f"<tr><td><b>{key}</b></td><td>{value}</td></tr>" for key, value in version_report().items())
    return (
        "<h3>certdesk</h3><p>Trusted TLS certificates for accounts, organizations and projects.</p>"
        f"<table cellspacing='4'>{rows}</table>"
    )


def show_about(parent: QWidget) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, parent.tr("About certdesk"), about_text(), parent=parent)
    box.setObjectName("aboutBox")
    box.open()
    return box
