"""`certdesk db copy`: move an inventory between databases (SQLite and PostgreSQL), verified, all or nothing."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO

from certdesk.cli.common import Handler, dump
from certdesk.services.bundle import Services
from certdesk.services.transfer import CopyReport, copy_inventory

AREA = "db"


def add_parsers(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    area = commands.add_parser(AREA, help="the database itself: copy an inventory to another database")
    actions = area.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    copy = actions.add_parser(
        "copy",
        help="copy every scope, certificate, connector and audit entry into an empty database",
        description="Copy the whole inventory from one database into another that holds none yet, in one "
        "transaction: row counts and SHA-256 fingerprints are compared before it commits, and any "
        "difference or error leaves the target as it was. Connector secrets stay in this workstation's "
        "keyring; only their references are copied. The --database option plays no part.",
    )
    copy.add_argument("--from", dest="source", required=True, metavar="URL", help="the database to copy from")
    copy.add_argument("--to", dest="target", required=True, metavar="URL", help="the empty database to copy into")
    copy.add_argument("--json", action="store_true")


def _copy(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    """Opens the two databases it names itself; `services` (over the default database) is not used."""
    progress = _progress_printer(err) if not args.json else None
    report = copy_inventory(args.source, args.target, progress=progress)
    if args.json:
        dump(report_json(report), out)
        return 0
    width = max(len(table.table) for table in report.tables)
    print(f"Copied the inventory from {report.source} to {report.target}.", file=out)
    for table in report.tables:
        print(f"  {table.table:<{width}}  {table.rows:>9,} rows  SHA-256 {table.sha256}", file=out)
    print(f"Verified: every table's row count and SHA-256 fingerprint match. Inventory {report.fingerprint}", file=out)
    if report.rows("connector"):
        print(
            "Connector secrets stay in this workstation's keyring: on another workstation, enter them again.",
            file=err,
        )
    return 0


def report_json(report: CopyReport) -> dict[str, Any]:
    return {
        "source": report.source,
        "target": report.target,
        "tables": [{"table": t.table, "rows": t.rows, "sha256": t.sha256} for t in report.tables],
        "fingerprint": report.fingerprint,
        "verified": True,
    }


def _progress_printer(err: TextIO) -> Callable[[str, int], None]:
    """One line per table and ten thousand rows, so a long copy shows it is moving."""
    shown: dict[str, int] = {}

    def show(table: str, rows: int) -> None:
        if rows // 10_000 > shown.get(table, 0):
            shown[table] = rows // 10_000
            err.write(f"Copying {table}: {rows:,} rows\n")
            err.flush()

    return show


HANDLERS: dict[tuple[str, str], Handler] = {
    (AREA, "copy"): _copy,
}
