"""The command line: the same services as the window, for scripts and terminals."""

from __future__ import annotations

import argparse
import logging
from typing import TextIO

from certdesk import __version__
from certdesk.cli import certificates, connectors, db, scopes
from certdesk.cli.common import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, Handler, Parser, UsageError, gc_paused
from certdesk.domain.errors import CertdeskError
from certdesk.services.bundle import Services

__all__ = ["EXIT_INTERNAL", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "report_error", "run_command"]
log = logging.getLogger("certdesk.cli")
AREAS = (scopes, certificates, connectors, db)
HANDLERS: dict[tuple[str, str], Handler] = {key: handler for area in AREAS for key, handler in area.HANDLERS.items()}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="certdesk",
        description="Manage trusted TLS certificates across account, organization and project scopes. "
        "With no command, certdesk opens its window.",
    )
    parser.add_argument("--version", action="version", version=f"certdesk {__version__}")
    parser.add_argument(
        "--database",
        metavar="URL",
        help="database URL (sqlite:////path/file.db, a file path, or postgresql://user@host:5432/db); "
        "default: CERTDESK_DATABASE, "
        "else a file in your user data folder",
    )
    parser.add_argument("--smoke-test", action="store_true", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="area", metavar="COMMAND", parser_class=Parser)

    for area in AREAS:
        area.add_parsers(commands, Parser)
    return parser


def run_command(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    """Run one parsed command; CertdeskError propagates to the caller, which maps exit codes."""
    handler = HANDLERS[(args.area, args.action)]
    with gc_paused():
        return handler(args, services, out, err)


def report_error(error: CertdeskError, err: TextIO) -> int:
    print(error.message, file=err)
    return error.exit_code
