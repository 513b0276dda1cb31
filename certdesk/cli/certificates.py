"""`certdesk cert ...`: certificates in a scope, from a terminal."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives import serialization

from certdesk.cli.common import EXIT_OK, Handler, UsageError, dump, dump_list, read_input
from certdesk.domain.errors import InvalidInput
from certdesk.domain.names import parse_tags
from certdesk.domain.scopes import ScopePath
from certdesk.domain.x509 import CertificateInfo, to_der, to_pkcs7
from certdesk.services.bundle import Services
from certdesk.services.views import (
    CertificateDetail,
    CertificateDraft,
    CertificateEdit,
    CertificateQuery,
    CertificateRow,
)

PROGRESS_THRESHOLD = 300


def add_parsers(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    cert = commands.add_parser("cert", help="certificates in a scope")
    cert_commands = cert.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    add = cert_commands.add_parser("add", help="add one certificate or chain")
    add.add_argument("scope", metavar="SCOPE")
    add.add_argument("--name", required=True)
    add.add_argument("--identifier")
    add.add_argument("--description", default="")
    add.add_argument("--tag", action="append", default=[], metavar="KEY[:VALUE]")
    add.add_argument("--file", required=True, metavar="PATH|-", help="PEM, DER or PKCS#7 file; - reads stdin")
    add.add_argument("--json", action="store_true")
    imp = cert_commands.add_parser("import", help="import every certificate found, one entry each")
    imp.add_argument("scope", metavar="SCOPE")
    imp.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    imp.add_argument("--json", action="store_true")
    lst = cert_commands.add_parser("list", help="list the certificates of a scope")
    lst.add_argument("scope", metavar="SCOPE")
    lst.add_argument("--json", action="store_true")
    lst.add_argument("--include-parents", action="store_true", help="also those of the scopes above")
    lst.add_argument("--expiring-within", type=_days, metavar="DAYS")
    lst.add_argument("--filter", default="", metavar="TEXT")
    show = cert_commands.add_parser("show", help="show one certificate in full")
    show.add_argument("scope", metavar="SCOPE")
    show.add_argument("identifier", metavar="IDENTIFIER", help="id, org.id or account.id")
    show.add_argument("--json", action="store_true")
    edit = cert_commands.add_parser("edit", help="change a certificate's name, description, tags or PEM")
    edit.add_argument("scope", metavar="SCOPE")
    edit.add_argument("identifier", metavar="IDENTIFIER")
    edit.add_argument("--name")
    edit.add_argument("--description")
    edit.add_argument("--tag", action="append", metavar="KEY[:VALUE]", help="replaces all tags")
    edit.add_argument("--file", metavar="PATH|-")
    edit.add_argument("--json", action="store_true")
    remove = cert_commands.add_parser("delete", help="delete a certificate")
    remove.add_argument("scope", metavar="SCOPE")
    remove.add_argument("identifier", metavar="IDENTIFIER")
    remove.add_argument("--force", action="store_true", help="also when connectors use it: detaches them")
    export = cert_commands.add_parser("export", help="write a certificate out as PEM, DER or PKCS#7")
    export.add_argument("scope", metavar="SCOPE")
    export.add_argument("identifier", metavar="IDENTIFIER")
    export.add_argument("--format", choices=("pem", "der", "p7b"), default="pem")
    export.add_argument("--output", metavar="PATH", help="default: standard output")


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of days") from None
    if value < 0:
        raise argparse.ArgumentTypeError("the number of days cannot be negative")
    return value


def member_json(info: CertificateInfo) -> dict[str, Any]:
    return {
        "subject": info.subject,
        "subject_cn": info.subject_cn,
        "issuer": info.issuer,
        "issuer_cn": info.issuer_cn,
        "serial": info.serial,
        "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(),
        "sha256": info.sha256,
        "sha1": info.sha1,
        "is_ca": info.is_ca,
        "key_type": info.key_type,
        "key_size": info.key_size,
        "signature_algorithm": info.signature_algorithm,
        "san": list(info.san),
    }


def detail_json(detail: CertificateDetail) -> dict[str, Any]:
    return {
        "identifier": detail.identifier,
        "name": detail.name,
        "description": detail.description,
        "tags": detail.tags,
        "scope": str(detail.scope),
        "certificates": [member_json(member) for member in detail.report.members],
        "warnings": list(detail.report.warnings),
        "used_by": [
            {"scope": str(use.scope), "identifier": use.identifier, "name": use.name} for use in detail.used_by
        ],
        "version": detail.version,
        "created_at": detail.created_at.isoformat(),
        "created_by": detail.created_by,
        "updated_at": detail.updated_at.isoformat(),
        "updated_by": detail.updated_by,
        "pem": detail.pem,
    }


def row_json(row: CertificateRow, scope: str | None = None) -> dict[str, Any]:
    return {
        "identifier": row.identifier,
        "reference": row.reference,
        "name": row.name,
        "description": row.description,
        "scope": scope if scope is not None else str(row.scope),
        "subject_cn": row.subject_cn,
        "issuer_cn": row.issuer_cn,
        "not_after": row.not_after.isoformat(),
        "sha256": row.sha256,
        "chain_length": row.chain_length,
        "tags": row.tags,
        "used_by": [f"{use.scope}/{use.identifier}" for use in row.used_by] if row.used_by else [],
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
    }


def rows_json(rows: Iterable[CertificateRow]) -> Iterator[dict[str, Any]]:
    """The rows as JSON objects; rows share their scope objects, so each scope's text is made once."""
    last_scope: ScopePath | None = None
    scope_text = ""
    for row in rows:
        if row.scope is not last_scope:
            last_scope, scope_text = row.scope, str(row.scope)
        yield row_json(row, scope_text)


def _print_detail(detail: CertificateDetail, out: TextIO) -> None:
    print(f"{detail.name} ({detail.scope}/{detail.identifier})", file=out)
    if detail.description:
        print(f"  Description: {detail.description}", file=out)
    if detail.tags:
        print("  Tags: " + ", ".join(f"{k}:{v}" if v else k for k, v in detail.tags.items()), file=out)
    for position, member in enumerate(detail.report.members, 1):
        print(f"  [{position}] {member.subject}", file=out)
        print(f"      Issuer:     {member.issuer}", file=out)
        print(f"      Serial:     {member.serial}", file=out)
        print(f"      Valid:      {member.not_before:%Y-%m-%d %H:%M} to {member.not_after:%Y-%m-%d %H:%M} UTC",
              file=out)  # fmt: skip
        print(f"      SHA-256:    {member.sha256}", file=out)
        key = f"{member.key_type} {member.key_size}" if member.key_size else member.key_type
        print(f"      Key:        {key}, signed with {member.signature_algorithm}", file=out)
        if member.san:
            print(f"      Names:      {', '.join(member.san)}", file=out)
    for warning in detail.report.warnings:
        print(f"  Warning: {warning}", file=out)
    users = ", ".join(str(use) for use in detail.used_by) or "no connector"
    print(f"  Used by: {users}", file=out)


def _cert_add(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    draft = CertificateDraft(
        name=args.name,
        pem=read_input(args.file),
        identifier=args.identifier,
        description=args.description,
        tags=parse_tags(args.tag),
    )
    detail = services.certificates.create(args.scope, draft)
    if args.json:
        dump(detail_json(detail), out)
    else:
        print(f"Certificate {detail.name} created successfully", file=out)
        for warning in detail.report.warnings:
            print(f"Warning: {warning}", file=err)
    return EXIT_OK


def collect_sources(paths: Sequence[str]) -> list[Path]:
    """Expand folders into the certificate files they hold, keeping the order given."""
    suffixes = {".pem", ".crt", ".cer", ".der", ".p7b", ".p7c", ".ca-bundle"}
    files: list[Path] = []
    for text in paths:
        path = Path(text).expanduser()
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes))
        else:
            files.append(path)
    return files


def _cert_import(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    files = collect_sources(args.paths)
    readable: list[tuple[str, bytes]] = []
    unreadable: list[tuple[str, str]] = []
    for path in files:
        try:
            readable.append((str(path), read_input(str(path))))
        except InvalidInput as error:
            unreadable.append((str(path), error.message))
    estimate = sum(data.count(b"-----BEGIN") or 1 for _, data in readable)
    progress = _progress_printer(err) if estimate > PROGRESS_THRESHOLD and not args.json else None
    outcome = services.certificates.import_sources(args.scope, readable, progress=progress, total_hint=estimate)
    if progress is not None and _is_terminal(err):
        err.write("\n")
    refused = [(r.source, r.reason) for r in outcome.refused] + unreadable
    if args.json:
        dump(
            {
                "scope": str(ScopePath.parse(args.scope)),
                "added": len(outcome.added),
                "identifiers": outcome.added,
                "duplicates": outcome.duplicates,
                "refused": [{"source": source, "reason": reason} for source, reason in refused],
            },
            out,
        )
    else:
        print(
            f"Imported into {args.scope}: {len(outcome.added)} added, {outcome.duplicates} duplicates skipped, "
            f"{len(refused)} refused.",
            file=out,
        )
        for source, reason in refused:
            print(f"Refused {source}: {reason}", file=err)
    if refused and not outcome.added:
        return InvalidInput.exit_code
    return EXIT_OK


def _progress_printer(err: TextIO) -> Callable[[int, int], None]:
    """One line redrawn in place on a terminal; in a log or a pipe, a line per tenth of the work."""
    if _is_terminal(err):

        def redraw(done: int, total: int) -> None:
            err.write(f"\rImporting: {done:,} of about {total:,} certificates")
            err.flush()

        return redraw
    shown = -1

    def append(done: int, total: int) -> None:
        nonlocal shown
        tenth = done * 10 // max(total, 1)
        if tenth > shown:
            shown = tenth
            err.write(f"Importing: {done:,} of about {total:,} certificates\n")
            err.flush()

    return append


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def _cert_list(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    query = CertificateQuery(
        scope=ScopePath.parse(args.scope),
        include_parents=args.include_parents,
        text=args.filter,
        expiring_within_days=args.expiring_within,
    )
    rows = services.certificates.rows(query)
    if args.json:
        dump_list(rows_json(rows), out)
        return EXIT_OK
    if not rows:
        print(f"No certificates in {query.scope}.", file=err)
        return EXIT_OK
    width = min(40, max(len(row.reference) for row in rows))
    for row in rows:
        used = f"  used by {len(row.used_by)}" if row.used_by else ""
        print(
            f"{row.reference:<{width}}  {row.not_after:%Y-%m-%d}  {row.name}  ({row.subject_cn}){used}",
            file=out,
        )
    return EXIT_OK


def _cert_show(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    detail = services.certificates.get(args.scope, args.identifier)
    if args.json:
        dump(detail_json(detail), out)
    else:
        _print_detail(detail, out)
    return EXIT_OK


def _cert_edit(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    edit = CertificateEdit(
        name=args.name,
        description=args.description,
        tags=parse_tags(args.tag) if args.tag is not None else None,
        pem=read_input(args.file) if args.file else None,
    )
    if edit == CertificateEdit():
        raise UsageError("Nothing to change: give --name, --description, --tag or --file.")
    detail = services.certificates.update(args.scope, args.identifier, edit)
    if args.json:
        dump(detail_json(detail), out)
    else:
        print(f"Certificate {detail.name} updated successfully", file=out)
    return EXIT_OK


def _cert_delete(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    outcome = services.certificates.delete(args.scope, args.identifier, force=args.force)
    print(f"Certificate {outcome.name} deleted.", file=out)
    for use in outcome.detached:
        print(f"Detached from connector {use}; it now needs a certificate.", file=err)
    return EXIT_OK


def _cert_export(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    detail = services.certificates.get(args.scope, args.identifier)
    data: bytes
    if args.format == "pem":
        data = detail.pem.encode("ascii")
    elif args.format == "der":
        ders = to_der(detail.pem)
        if len(ders) > 1:
            raise InvalidInput(
                f"DER holds one certificate and '{detail.identifier}' is a chain of {len(ders)}: "
                "export it as pem or p7b."
            )
        data = ders[0]
    else:
        data = to_pkcs7(detail.pem, serialization.Encoding.DER)
    if args.output:
        try:
            Path(args.output).expanduser().write_bytes(data)
        except OSError as error:
            raise InvalidInput(f"Cannot write {args.output}: {error.strerror}.") from None
        print(f"Wrote {detail.identifier} as {args.format} to {args.output}.", file=err)
    elif args.format == "pem":
        out.write(data.decode("ascii"))
    else:
        out.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return EXIT_OK


HANDLERS: dict[tuple[str, str], Handler] = {
    ("cert", "add"): _cert_add,
    ("cert", "import"): _cert_import,
    ("cert", "list"): _cert_list,
    ("cert", "show"): _cert_show,
    ("cert", "edit"): _cert_edit,
    ("cert", "delete"): _cert_delete,
    ("cert", "export"): _cert_export,
}
