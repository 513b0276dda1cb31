"""`certdesk connector ...`: Vault connectors from a terminal (secrets from env or stdin only)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from certdesk.cli.common import Handler, dump
from certdesk.domain.connectors import AuthMethod, VaultSettings
from certdesk.domain.errors import InvalidInput
from certdesk.domain.names import parse_tags
from certdesk.services.bundle import Services
from certdesk.services.connectors import ConnectorDraft, ConnectorView
from certdesk.services.vault import TestReport

EXIT_TEST_FAILED = 6


def add_parsers(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    connector = commands.add_parser("connector", help="HashiCorp Vault connectors in a scope")
    actions = connector.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    add = actions.add_parser("add-vault", help="add a HashiCorp Vault connector")
    add.add_argument("scope", metavar="SCOPE")
    _settings_options(add, creating=True)
    listing = actions.add_parser("list", help="list a scope's connectors")
    listing.add_argument("scope", metavar="SCOPE")
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="show one connector")
    show.add_argument("scope", metavar="SCOPE")
    show.add_argument("identifier", metavar="IDENTIFIER")
    show.add_argument("--json", action="store_true")
    edit = actions.add_parser("edit", help="change a connector (options as for add-vault)")
    edit.add_argument("scope", metavar="SCOPE")
    edit.add_argument("identifier", metavar="IDENTIFIER")
    _settings_options(edit, creating=False)
    delete = actions.add_parser("delete", help="delete a connector and forget its secret")
    delete.add_argument("scope", metavar="SCOPE")
    delete.add_argument("identifier", metavar="IDENTIFIER")
    test = actions.add_parser("test", help="Test Connection: exits 0 when every step passes, 6 when one fails")
    test.add_argument("scope", metavar="SCOPE")
    test.add_argument("identifier", metavar="IDENTIFIER")
    test.add_argument("--json", action="store_true")


def _settings_options(parser: argparse.ArgumentParser, creating: bool) -> None:
    parser.add_argument("--name", required=creating)
    if creating:
        parser.add_argument("--identifier")
    parser.add_argument("--description")
    parser.add_argument("--tag", action="append", metavar="KEY[:VALUE]")
    parser.add_argument("--url", required=creating, help="http(s) URL of the Vault server")
    parser.add_argument("--base-path", metavar="P")
    parser.add_argument("--namespace", metavar="NS")
    parser.add_argument("--auth", choices=[method.value for method in AuthMethod], required=creating)
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--token-env", metavar="VAR", help="read the token from this environment variable")
    secret.add_argument("--token-stdin", action="store_true", help="read the token from standard input")
    parser.add_argument("--role-id", metavar="ID")
    parser.add_argument("--secret-id-env", metavar="VAR", help="read the AppRole Secret Id from this variable")
    parser.add_argument("--sink-path", metavar="PATH", help="Vault Agent token sink file")
    parser.add_argument("--renewal-interval", type=int, metavar="MIN", help="minutes, 0 for never (default 10)")
    parser.add_argument("--read-only", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--engine", metavar="NAME")
    parser.add_argument("--engine-version", type=int, choices=(1, 2), metavar="N")
    parser.add_argument("--certificate", metavar="REF", help="id, org.id or account.id; 'none' for the system store")
    parser.add_argument("--json", action="store_true")


def _secret_from(args: argparse.Namespace) -> tuple[str | None, str | None]:
    token = None
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            raise InvalidInput(f"The environment variable {args.token_env} is not set or empty.")
    elif args.token_stdin:
        token = sys.stdin.readline().strip()
        if not token:
            raise InvalidInput("No token was given on standard input.")
    secret_id = None
    if args.secret_id_env:
        secret_id = os.environ.get(args.secret_id_env)
        if not secret_id:
            raise InvalidInput(f"The environment variable {args.secret_id_env} is not set or empty.")
    return token, secret_id


def _draft(args: argparse.Namespace, base: ConnectorView | None) -> ConnectorDraft:
    old = base.settings if base is not None else VaultSettings(url="")

    def pick(value: Any, current: Any) -> Any:
        return current if value is None else value

    settings = VaultSettings(
        url=pick(args.url, old.url),
        auth=AuthMethod(args.auth) if args.auth else old.auth,
        base_path=pick(args.base_path, old.base_path),
        namespace=pick(args.namespace, old.namespace),
        role_id=pick(args.role_id, old.role_id),
        sink_path=pick(args.sink_path, old.sink_path),
        renewal_minutes=pick(args.renewal_interval, old.renewal_minutes),
        read_only=pick(args.read_only, old.read_only),
        engine=pick(args.engine, old.engine),
        engine_version=pick(args.engine_version, old.engine_version),
    )
    token, secret_id = _secret_from(args)
    certificate = base.certificate.reference if base is not None and base.certificate else None
    if args.certificate is not None:
        certificate = None if args.certificate.lower() == "none" else args.certificate
    return ConnectorDraft(
        name=pick(args.name, base.name if base else ""),
        settings=settings,
        identifier=getattr(args, "identifier", None) if base is None else None,
        description=pick(args.description, base.description if base else ""),
        tags=parse_tags(args.tag) if args.tag is not None else (dict(base.tags) if base else {}),
        certificate=certificate,
        token=token,
        secret_id=secret_id,
    )


def view_json(view: ConnectorView) -> dict[str, Any]:
    settings = view.settings.to_json()
    settings.pop("extra", None)  # holds keyring references only; nothing a script needs
    return {
        "scope": str(view.scope),
        "identifier": view.identifier,
        "name": view.name,
        "description": view.description,
        "tags": view.tags,
        "type": "vault",
        "settings": settings,
        "certificate": view.certificate.reference if view.certificate else None,
        "has_secret": view.has_secret,
        "needs_attention": view.needs_attention,
        "attention_reason": view.attention_reason,
        "last_test": None
        if view.last_test_at is None
        else {"at": view.last_test_at.isoformat(), "ok": view.last_test_ok, "verdict": view.last_test_summary},
        "last_renewal": None
        if view.last_renewal_at is None
        else {"at": view.last_renewal_at.isoformat(), "ok": view.last_renewal_ok, "message": view.last_renewal_message},
        "version": view.version,
    }


def report_json(report: TestReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "verdict": report.verdict,
        "steps": [{"name": s.name, "status": s.status.value, "cause": s.detail} for s in report.steps],
        "presented_chain": [
            {"subject": m.subject, "issuer": m.issuer, "not_after": m.not_after.isoformat(), "sha256": m.sha256}
            for m in report.presented_chain
        ],
        "offer_renewal_interval_zero": report.renewal_fix_offered,
    }


def _describe(view: ConnectorView, out: TextIO) -> None:
    settings = view.settings
    certificate = view.certificate.reference if view.certificate else "none (system trust store)"
    lines = [
        f"{view.name} ({view.scope}/{view.identifier}) - HashiCorp Vault",
        f"  URL:            {settings.url}",
        f"  Authentication: {settings.auth.label}" + (f" (role id {settings.role_id})" if settings.role_id else ""),
        f"  Renewal:        every {settings.renewal_minutes} minutes" if view.renews else "  Renewal:        off",
        f"  Engine:         {settings.engine} (KV v{settings.engine_version})"
        + (", read-only" if settings.read_only else ""),
        f"  Certificate:    {certificate}",
        f"  Secret:         {'in this workstation keyring' if view.has_secret else 'MISSING on this workstation'}",
    ]
    if view.last_test_at:
        lines.append(f"  Last test:      {view.last_test_at:%Y-%m-%d %H:%M} UTC: {view.last_test_summary}")
    if view.needs_attention:
        lines.append(f"  Needs attention: {view.attention_reason}")
    out.write("\n".join(lines) + "\n")


def _add(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    view = services.connectors.create(args.scope, _draft(args, None))
    if args.json:
        dump(view_json(view), out)
    else:
        print(f"Connector {view.name} created successfully", file=out)
    return 0


def _edit(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    current = services.connectors.get(args.scope, args.identifier)
    view = services.connectors.update(args.scope, args.identifier, _draft(args, current), current.version)
    if args.json:
        dump(view_json(view), out)
    else:
        print(f"Connector {view.name} updated successfully", file=out)
    return 0


def _list(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    views = services.connectors.in_scope(args.scope)
    if args.json:
        dump([view_json(view) for view in views], out)
        return 0
    if not views:
        print(f"No connectors in {args.scope}.", file=err)
    for view in views:
        flag = "  NEEDS ATTENTION" if view.needs_attention else ""
        certificate = view.certificate.reference if view.certificate else "system store"
        print(f"{view.identifier}  {view.name}  {view.settings.url}  [{certificate}]{flag}", file=out)
    return 0


def _show(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    view = services.connectors.get(args.scope, args.identifier)
    if args.json:
        dump(view_json(view), out)
    else:
        _describe(view, out)
    return 0


def _delete(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    view = services.connectors.delete(args.scope, args.identifier)
    print(f"Connector {view.name} deleted.", file=out)
    return 0


def _test(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    report = services.connectors.test(args.scope, args.identifier)
    if args.json:
        dump(report_json(report), out)
    else:
        for step in report.steps:
            print(f"{step.status.value.upper():8} {step.name}: {step.detail}", file=out)
        for position, member in enumerate(report.presented_chain, 1):
            print(f"         chain {position}: {member.subject} (issuer {member.issuer})", file=out)
        print(report.verdict, file=out)
    return 0 if report.ok else EXIT_TEST_FAILED


HANDLERS: dict[tuple[str, str], Handler] = {
    ("connector", "add-vault"): _add,
    ("connector", "edit"): _edit,
    ("connector", "list"): _list,
    ("connector", "show"): _show,
    ("connector", "delete"): _delete,
    ("connector", "test"): _test,
}
