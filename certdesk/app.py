"""The composition root: reads the command line, opens the database, builds services and views."""

from __future__ import annotations

import argparse
import getpass
import io
import logging
import logging.handlers
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from platformdirs import user_data_path, user_log_path

from certdesk import cli
from certdesk.domain.errors import CertdeskError
from certdesk.services.bundle import Services
from certdesk.services.certificates import CertificateService
from certdesk.services.clock import SystemClock
from certdesk.services.connectors import ConnectorService
from certdesk.services.scopes import ScopeService
from certdesk.services.secrets import SecretStore
from certdesk.services.vault import VaultGateway
from certdesk.store.connection import DatabaseInfo, close_db, database_faults_explained, init_db, sqlite_url

APP_NAME = "certdesk"
MISSING_LIBRARIES_EXIT = 69  # EX_UNAVAILABLE, as the Linux launcher says it
log = logging.getLogger("certdesk")


def default_database_url() -> str:
    return sqlite_url(user_data_path(APP_NAME, appauthor=False) / "certdesk.db")


def database_url(args: argparse.Namespace) -> str:
    return args.database or os.environ.get("CERTDESK_DATABASE") or default_database_url()


def log_file() -> Path:
    override = os.environ.get("CERTDESK_LOG_DIR")
    folder = Path(override) if override else user_log_path(APP_NAME, appauthor=False)
    return folder / "certdesk.log"


def setup_logging() -> Path | None:
    """Log to a rotating file; a folder we cannot write must not stop the program.

    Library warnings (cryptography's about certificates that break RFC 5280, for one) go to the
    same file: they are for support, not lines in the middle of a person's output.
    """
    path: Path | None = log_file()
    handler: logging.Handler = logging.NullHandler()
    try:
        log_file().parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(log_file(), maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        path = None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("certdesk", "py.warnings"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False
    logging.captureWarnings(True)
    return path


def actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def build_services(info: DatabaseInfo | None) -> Services:
    clock, who = SystemClock(), actor()
    return Services(
        scopes=ScopeService(clock, who),
        certificates=CertificateService(clock, who),
        database_display=info.display if info is not None else "",
        database=info,
        connectors=ConnectorService(clock, who, SecretStore(), VaultGateway(clock)),
    )


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a name the terminal cannot encode is escaped, not fatal
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    parser = cli.build_parser()
    args = parser.parse_args(argv)
    log_path = setup_logging()
    if args.area is None:
        return run_window(args)
    try:
        if args.area == "db":  # `db copy` opens the two databases it names, never the default one
            return cli.run_command(args, build_services(None), sys.stdout, sys.stderr)
        info = init_db(database_url(args))
        try:
            with database_faults_explained(info):
                return cli.run_command(args, build_services(info), sys.stdout, sys.stderr)
        finally:
            close_db()
    except CertdeskError as error:
        return cli.report_error(error, sys.stderr)
    except cli.UsageError as error:
        print(f"certdesk: error: {error}", file=sys.stderr)
        return cli.EXIT_USAGE
    except KeyboardInterrupt:
        print("Interrupted; nothing was half-written.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return cli.EXIT_OK
    except Exception:  # the one place that turns a bug into a line and a log entry
        log.exception("internal error running certdesk %s %s", args.area, args.action)
        where = f" Details are in {log_path}." if log_path else ""
        print(f"certdesk: internal error.{where}", file=sys.stderr)
        return cli.EXIT_INTERNAL


def run_window(args: argparse.Namespace) -> int:
    """Open the window; Qt is imported only here so the CLI starts fast."""
    from certdesk.platform_check import window_libraries_problem

    problem = window_libraries_problem()  # Qt would otherwise abort with a cryptic plugin message
    if problem:
        print(problem, file=sys.stderr)
        return MISSING_LIBRARIES_EXIT
    from certdesk.ui.application import run

    return run(
        url=database_url(args),
        open_database=init_db,
        build_services=build_services,
        smoke_test=args.smoke_test,
    )
