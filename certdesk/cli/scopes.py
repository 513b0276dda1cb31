"""`certdesk scope ...`: accounts, organizations and projects."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from certdesk.cli.common import EXIT_OK, Handler, dump_list
from certdesk.services.bundle import Services
from certdesk.services.views import ScopeView


def add_parsers(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    scope = commands.add_parser("scope", help="accounts, organizations and projects")
    scope_commands = scope.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    create = scope_commands.add_parser("create", help="create a scope (acme, acme/eng, acme/eng/payments)")
    create.add_argument("path", metavar="PATH")
    create.add_argument("--name", help="display name (default: the identifier)")
    create.add_argument("--description", default="")
    listing = scope_commands.add_parser("list", help="list every scope")
    listing.add_argument("--json", action="store_true")
    rename = scope_commands.add_parser("rename", help="change a scope's display name")
    rename.add_argument("path", metavar="PATH")
    rename.add_argument("--name", required=True)
    delete = scope_commands.add_parser("delete", help="delete an empty scope")
    delete.add_argument("path", metavar="PATH")


def _scope_json(view: ScopeView) -> dict[str, Any]:
    return {
        "path": str(view.path),
        "identifier": view.path.identifier,
        "name": view.name,
        "level": view.level.value,
        "description": view.description,
        "certificates": view.certificate_count,
        "connectors": view.connector_count,
    }


def _scope_create(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    view = services.scopes.create(args.path, args.name, args.description)
    print(f"Created {view.level.value} {view.path} ({view.name}).", file=out)
    return EXIT_OK


def _scope_list(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    views = services.scopes.list()
    if args.json:
        dump_list([_scope_json(view) for view in views], out)
        return EXIT_OK
    if not views:
        print("No scopes yet. Create an account with: certdesk scope create ACCOUNT", file=err)
    for view in views:
        indent = "  " * (len(view.path.parts) - 1)
        print(
            f"{indent}{view.path}  {view.name}  [{view.level.value}]  "
            f"{view.certificate_count} certificates, {view.connector_count} connectors",
            file=out,
        )
    return EXIT_OK


def _scope_rename(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    view = services.scopes.rename(args.path, args.name)
    print(f"Renamed {view.path} to {view.name}.", file=out)
    return EXIT_OK


def _scope_delete(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    path = services.scopes.delete(args.path)
    print(f"Deleted {path.level.value} {path}.", file=out)
    return EXIT_OK


HANDLERS: dict[tuple[str, str], Handler] = {
    ("scope", "create"): _scope_create,
    ("scope", "list"): _scope_list,
    ("scope", "rename"): _scope_rename,
    ("scope", "delete"): _scope_delete,
}
