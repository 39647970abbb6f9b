"""Work taken off the request path: done by a daemon thread in each process once a second, and,
for the tasks that ask for it, at once when the process falls idle (its last request in flight
ends; the request middleware counts them), so an idle process is current at once for those and
at most a second behind for the others.

Its users (decisions 0139-0143):

- each second and on falling idle: the sessions' last-use stamps (`session_activity.flush`: a
  busy worker writes them in one transaction a second instead of one per session on the request
  that used it, an idle one at once);
- each second only: the Prometheus live gauges (`metrics.LiveGauges.sample`) and request counts
  (`metrics.RequestTallies.flush`), both also before a scrape, the buffered access lines
  (`access_log.LineBuffer.flush`: one write a second instead of one a request) and the reads
  connections parked between direct reads (`direct_reads.ParkedConnections.give_back`). Under
  load a worker falls idle every few requests, and these runs cost ~5 % of a get-by-id there
  (decision 0143).

The idle run happens in the thread of the last request out, before the server sends that
request's answer: at low traffic a request that stamped its session waits for the write, as
every stamping request did before.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable

logger = logging.getLogger(__name__)

Task = Callable[[], None]


class Deferred:
    """This process's requests in flight, and the tasks run each second and on falling idle."""

    INTERVAL = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._tasks: dict[Task, bool] = {}  # insertion-ordered: task -> also run on falling idle
        self._idle_tasks: tuple[Task, ...] = ()
        self._ticking = False  # this process's ticker started (a forked child starts its own)
        _INSTANCES.add(self)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def every_second(self, task: Task, *, on_idle: bool = True) -> None:
        """Run `task` each second and (unless `on_idle` is false) whenever the process falls
        idle; once, however often it is added. A task must be thread-safe: the two occasions
        may overlap."""
        self._tasks[task] = on_idle
        self._idle_tasks = tuple(each for each, idle_too in self._tasks.items() if idle_too)

    def started(self) -> None:
        """A request came in."""
        if not self._ticking:
            self._start_ticker()
        with self._lock:
            self._in_flight += 1

    def finished(self) -> None:
        """A request left (answered or failed); the last one out runs the tasks."""
        with self._lock:
            self._in_flight -= 1
            idle = self._in_flight == 0
        if idle:
            self.run(idle=True)

    def run(self, *, idle: bool = False) -> None:
        """Run every task now (on falling idle: those that asked for it); one that fails is
        logged and the others still run."""
        for task in self._idle_tasks if idle else tuple(self._tasks):
            try:
                task()
            except Exception:  # a task must never fail a request or stop the ticker
                logger.exception("deferred task %s failed", getattr(task, "__qualname__", task))

    def _start_ticker(self) -> None:
        with self._lock:  # once per process (a forked worker starts its own)
            if self._ticking:
                return
            self._ticking = True
        threading.Thread(target=self._tick_forever, name="deferred-ticker", daemon=True).start()

    def _forked(self) -> None:
        """In a forked child: the parent's ticker thread did not come along."""
        self._lock = threading.Lock()
        self._ticking = False

    def _tick_forever(self) -> None:
        while True:
            time.sleep(self.INTERVAL)
            self.run()


_INSTANCES: weakref.WeakSet[Deferred] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for each in list(_INSTANCES):
        each._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)
PROCESS = Deferred()
