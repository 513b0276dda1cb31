"""The one background-work helper: run a call off the GUI thread, hand the result back to it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from certdesk.services.session import end_thread_session

T = TypeVar("T")
log = logging.getLogger(__name__)


class TaskHandle:
    """What the worker sees: report progress, ask whether the person cancelled."""

    def __init__(self, progress: Callable[[int, int], None]) -> None:
        self._cancel = threading.Event()
        self._progress = progress

    def cancel(self) -> None:
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def progress(self, done: int, total: int) -> None:
        self._progress(done, total)


class _Relay(QObject):
    """Lives in the GUI thread; signals emitted from the worker arrive there, queued."""

    succeeded = Signal(object)
    failed = Signal(object)
    progressed = Signal(int, int)


class _Job(QRunnable, Generic[T]):
    def __init__(self, work: Callable[[TaskHandle], T], relay: _Relay, handle: TaskHandle) -> None:
        super().__init__()
        self.work, self.relay, self.handle = work, relay, handle
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self.work(self.handle)
        except Exception as error:  # handed to the GUI thread, which decides what the person sees
            self.relay.failed.emit(error)
        else:
            self.relay.succeeded.emit(result)
        finally:
            end_thread_session()


class TaskRunner(QObject):
    """Runs work on a thread pool; callbacks run on the GUI thread. Never touch widgets in work."""

    busy_changed = Signal(bool)

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool or QThreadPool(self)
        self._relays: set[_Relay] = set()

    def submit(
        self,
        work: Callable[[TaskHandle], T],
        on_success: Callable[[T], None],
        on_error: Callable[[Exception], None],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> TaskHandle:
        relay = _Relay()
        handle = TaskHandle(relay.progressed.emit)
        self._relays.add(relay)

        def finish() -> None:
            self._relays.discard(relay)
            relay.deleteLater()
            if not self._relays:
                self.busy_changed.emit(False)

        def succeeded(result: Any) -> None:
            try:
                on_success(result)
            finally:
                finish()

        def failed(error: Any) -> None:
            try:
                on_error(error)
            finally:
                finish()

        relay.succeeded.connect(succeeded)
        relay.failed.connect(failed)
        if on_progress is not None:
            relay.progressed.connect(on_progress)
        if len(self._relays) == 1:
            self.busy_changed.emit(True)
        self.pool.start(_Job(work, relay, handle))
        return handle

    @property
    def busy(self) -> bool:
        return bool(self._relays)

    def wait_for_done(self, msecs: int = 30_000) -> bool:
        """Block until the pool is idle (shutdown and tests); queued results still need the loop."""
        return bool(self.pool.waitForDone(msecs))
