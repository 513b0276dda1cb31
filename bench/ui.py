"""Window budgets at 100,000 certificates: `python -m bench.ui` (offscreen).

- start-up: from process start to the main window shown with the scope's first rows painted (1.5 s)
- filter keystroke over 100,000 rows to the list updated and painted (100 ms)
- resident memory with 100,000 certificates listed, after scrolling to the end (400 MB)

The database is built once (bench/out/ui-100000.db) from a generated bundle and reused.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
COUNT = 100_000
BUDGETS = {"start-up to first rows painted": 1.5, "filter keystroke (median)": 0.100, "resident memory (MB)": 400}


def database(count: int) -> Path:
    """An SQLite database whose account `bench` holds `count` certificates."""
    path = OUT / f"ui-{count}.db"
    if path.exists():
        return path
    from bench.run import bundle
    from certdesk.services.certificates import CertificateService
    from certdesk.services.clock import SystemClock
    from certdesk.services.scopes import ScopeService
    from certdesk.store.connection import close_db, init_db, sqlite_url

    partial = path.with_suffix(".partial.db")
    partial.unlink(missing_ok=True)
    init_db(sqlite_url(partial))
    ScopeService(SystemClock(), "bench").create("bench", "Bench Account")
    data = bundle(count).read_bytes()
    CertificateService(SystemClock(), "bench").import_sources("bench", [("bundle", data)])
    close_db()
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.replace(path)
    return path


def probe(db: Path) -> None:
    """Run inside the measured process: open the window like `certdesk` does, stop at the first paint."""
    started = float(os.environ["CERTDESK_BENCH_T0"])
    from PySide6.QtCore import QEvent, QObject, QSettings, QTimer

    from certdesk.app import build_services
    from certdesk.services.clock import SystemClock
    from certdesk.store.connection import init_db
    from certdesk.ui.application import create_application
    from certdesk.ui.events import AppEvents
    from certdesk.ui.main_window import MainWindow
    from certdesk.ui.prompts import QtPrompter
    from certdesk.ui.tasks import TaskRunner

    app = create_application()
    services = build_services(init_db(str(db)))
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "bench.ini"), QSettings.Format.IniFormat)
    window = MainWindow(services, TaskRunner(parent=app), AppEvents(app), QtPrompter(), SystemClock(), settings)

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and window.model.rowCount() > 0:
                QTimer.singleShot(0, self.done)
            return False

        def done(self) -> None:
            print(f"painted {time.time() - started:.4f} rows {window.model.rowCount()}", flush=True)
            app.quit()

    watcher = FirstPaint()
    window.table.viewport().installEventFilter(watcher)
    window.show()
    app.exec()


def measure_startup(db: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CERTDESK_BENCH_T0=repr(time.time()))
        output = subprocess.run(
            [sys.executable, "-m", "bench.ui", "--probe", str(db)], env=env, capture_output=True, text=True, check=True
        ).stdout
        line = next(line for line in output.splitlines() if line.startswith("painted"))
        times.append(float(line.split()[1]))
    return statistics.median(times)


def measure_in_process(db: Path) -> tuple[float, float, int]:
    """Filter keystrokes and memory, in one window over the big scope."""
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest

    from certdesk.app import build_services
    from certdesk.services.clock import SystemClock
    from certdesk.store.connection import init_db
    from certdesk.ui.application import create_application
    from certdesk.ui.events import AppEvents
    from certdesk.ui.main_window import MainWindow
    from certdesk.ui.prompts import QtPrompter
    from certdesk.ui.tasks import TaskRunner

    app = create_application()
    services = build_services(init_db(str(db)))
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "bench.ini"), QSettings.Format.IniFormat)
    window = MainWindow(services, TaskRunner(parent=app), AppEvents(app), QtPrompter(), SystemClock(), settings)
    window.resize(1280, 800)
    window.show()
    app.processEvents()
    window.filter_edit.setFocus()
    timings = []
    for text in ("bench", " 0", "4", "2"):  # narrowing, then a few keystrokes that match fewer rows
        for character in text:
            start = time.perf_counter()
            QTest.keyClick(window.filter_edit, character)
            window.table.viewport().repaint()
            timings.append(time.perf_counter() - start)
        for _ in range(len(text)):
            start = time.perf_counter()
            QTest.keyClick(window.filter_edit, Qt.Key.Key_Backspace)
            window.table.viewport().repaint()
            timings.append(time.perf_counter() - start)
    rows = window.model.rowCount()
    window.table.scrollToBottom()
    window.table.viewport().repaint()
    window.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    window.table.viewport().repaint()
    rss_mb = _rss_mb()
    window.close()
    return statistics.median(timings), max(timings), int(rss_mb) if rows else -1


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--probe", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--window", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.probe:
        probe(Path(args.probe))
        return 0
    if args.window:
        print("window", *measure_in_process(Path(args.window)), flush=True)
        return 0
    db = database(args.count)
    startup = measure_startup(db, args.runs)
    # A fresh process, so building the database above does not count against the window's memory.
    output = subprocess.run(
        [sys.executable, "-m", "bench.ui", "--window", str(db)], capture_output=True, text=True, check=True
    ).stdout
    fields = next(line for line in output.splitlines() if line.startswith("window")).split()
    median_keystroke, worst_keystroke, rss = float(fields[1]), float(fields[2]), int(fields[3])
    results = [
        ("start-up to first rows painted", startup, "s"),
        ("filter keystroke (median)", median_keystroke, "s"),
        ("resident memory (MB)", rss, "MB"),
    ]
    print(f"\nWindow budgets, {args.count:,} certificates in one scope, offscreen, {os.cpu_count()} cores")
    print(f"{'measure':34} {'value':>10} {'budget':>8}  verdict")
    failed = False
    for name, value, unit in results:
        budget = BUDGETS[name]
        ok = value <= budget
        failed |= not ok
        shown = f"{value:.3f} {unit}" if unit == "s" else f"{value} {unit}"
        print(f"{name:34} {shown:>10} {budget:>8}  {'PASS' if ok else 'FAIL'}")
    print(f"{'filter keystroke (worst)':34} {worst_keystroke:.3f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
