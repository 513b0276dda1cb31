"""Time real `certdesk` runs on large imports and lists against their budgets: `python -m bench.run [--quick]`.

Each measurement is the wall time of one `python -m certdesk ...` subprocess (start-up included)
on a fresh temporary SQLite database; budgets apply to it. The CPU time (user + system) of the
same subprocess is printed beside it: on a shared machine it moves much less than wall time.
Generated PEM bundles are cached in bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
SMALL, LARGE = 10_000, 100_000
IMPORT_BUDGET_S = {SMALL: 3.0, LARGE: 30.0}
LIST_BUDGET_S = 1.5  # for a scope of 100,000; a smaller scope must fit it too
LIST_RUNS = 3  # listing does not change the database, so take the median of a few runs
GROWTH_TOLERANCE = 1.5  # time per certificate at 100,000 may be at most this times that at 10,000


@dataclass(frozen=True)
class Measure:
    operation: str
    count: int
    seconds: float
    budget: float
    note: str = ""
    cpu_seconds: float | None = None

    @property
    def passed(self) -> bool:
        return self.seconds <= self.budget


def bundle(count: int) -> Path:
    """A PEM bundle of `count` distinct certificates, generated once and cached."""
    path = OUT / f"bundle-{count}.pem"
    if not path.exists():
        from tests.helpers.certs import make_bundle

        print(f"Generating {count:,} certificates into {path} ...", file=sys.stderr, flush=True)
        OUT.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(make_bundle(count, prefix=f"bench{count}"))
        partial.replace(path)
    return path


class Workspace:
    """A temporary home, log folder and database for one series of runs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.database = folder / "certdesk.db"
        env = {key: value for key, value in os.environ.items() if not key.startswith("CERTDESK_")}
        env.update(
            HOME=str(folder),
            XDG_DATA_HOME=str(folder / "data"),
            XDG_CONFIG_HOME=str(folder / "config"),
            XDG_STATE_HOME=str(folder / "state"),
            XDG_CACHE_HOME=str(folder / "cache"),
            CERTDESK_LOG_DIR=str(folder / "logs"),
            CERTDESK_DATABASE=str(self.database),
        )
        self.env = env
        self.last_cpu = 0.0

    def run(self, *args: str, stdout_path: Path | None = None) -> tuple[float, str]:
        """Run the command; return its wall time and its standard output (unless sent to a file).

        The run's CPU time (user + system, in seconds) is left in `last_cpu`.
        """
        command = [sys.executable, "-m", "certdesk", *args]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        if stdout_path is not None:
            with stdout_path.open("wb") as sink:
                start = time.perf_counter()
                completed = subprocess.run(command, stdout=sink, stderr=subprocess.PIPE, env=self.env, check=False)
                elapsed = time.perf_counter() - start
            output = ""
        else:
            start = time.perf_counter()
            completed = subprocess.run(command, capture_output=True, env=self.env, check=False)
            elapsed = time.perf_counter() - start
            output = completed.stdout.decode()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.last_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        if completed.returncode != 0:
            raise SystemExit(
                f"certdesk {' '.join(args)} failed with exit code {completed.returncode}:\n"
                + completed.stderr.decode(errors="replace")[-2000:]
            )
        return elapsed, output


def measure_import(work: Workspace, count: int) -> Measure:
    work.run("scope", "create", "bench")
    seconds, output = work.run("cert", "import", "bench", str(bundle(count)))
    expected = f"Imported into bench: {count} added, 0 duplicates skipped, 0 refused."
    if output.strip() != expected:
        raise SystemExit(f"Unexpected import result: {output.strip()!r} (expected {expected!r})")
    return Measure("cert import (one PEM bundle)", count, seconds, IMPORT_BUDGET_S[count], cpu_seconds=work.last_cpu)


def measure_list(work: Workspace, count: int) -> Measure:
    listing = work.folder / "list.json"
    times, cpu_times = [], []
    for _ in range(LIST_RUNS):
        seconds, _ = work.run("cert", "list", "bench", "--json", stdout_path=listing)
        times.append(seconds)
        cpu_times.append(work.last_cpu)
    rows = json.loads(listing.read_text())
    if len(rows) != count:
        raise SystemExit(f"cert list returned {len(rows)} rows, expected {count}")
    note = f"median of {LIST_RUNS}: " + ", ".join(f"{t:.2f}" for t in times)
    return Measure(
        "cert list --json", count, statistics.median(times), LIST_BUDGET_S, note, statistics.median(cpu_times)
    )


def run_size(count: int) -> list[Measure]:
    bundle(count)  # generate outside the timed runs
    with tempfile.TemporaryDirectory(prefix=f"certdesk-bench-{count}-") as folder:
        work = Workspace(Path(folder))
        return [measure_import(work, count), measure_list(work, count)]


def print_table(measures: Sequence[Measure]) -> None:
    header = f"{'operation':<30} {'count':>8} {'seconds':>8} {'cpu s':>6} {'budget':>7}  result"
    print(header)
    print("-" * len(header))
    for m in measures:
        verdict = "PASS" if m.passed else "FAIL"
        note = f"  ({m.note})" if m.note else ""
        cpu = f"{m.cpu_seconds:>6.2f}" if m.cpu_seconds is not None else f"{'-':>6}"
        figures = f"{m.count:>8,} {m.seconds:>8.2f} {cpu} {m.budget:>7.1f}"
        print(f"{m.operation:<30} {figures}  {verdict}{note}")


def growth_check(measures: Sequence[Measure]) -> bool | None:
    """Whether the import time grew linearly from 10,000 to 100,000 (None when only one size ran)."""
    imports = {m.count: m.seconds for m in measures if m.operation.startswith("cert import")}
    if SMALL not in imports or LARGE not in imports:
        return None
    small_rate, large_rate = imports[SMALL] / SMALL, imports[LARGE] / LARGE
    ratio = large_rate / small_rate
    linear = ratio <= GROWTH_TOLERANCE
    print(
        f"Import growth: {small_rate * 1e6:.0f} µs per certificate at {SMALL:,}, {large_rate * 1e6:.0f} µs at "
        f"{LARGE:,} (x{ratio:.2f}; at most x{GROWTH_TOLERANCE} counts as linear): {'PASS' if linear else 'FAIL'}"
    )
    return linear


def machine_note() -> str:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    flags = [name for name in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE") if os.environ.get(name)]
    return (
        f"{platform.python_implementation()} {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load}"
        + (f", {' and '.join(flags)} set" if flags else "")
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only the {SMALL:,} sizes")
    args = parser.parse_args(argv)
    print(f"Before: {machine_note()}", flush=True)
    measures = run_size(SMALL)
    if not args.quick:
        measures += run_size(LARGE)
    print(f"After:  {machine_note()}\n")
    print_table(measures)
    linear = growth_check(measures)
    return 0 if all(m.passed for m in measures) and linear is not False else 1


if __name__ == "__main__":
    sys.exit(main())
