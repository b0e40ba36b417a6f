"""A background thread of the API process that does one round of work at a time.

The job dispatcher (:class:`app.jobs.worker.EmbeddedRunner`) and the webhook
deliverer (:class:`app.webhooks.delivery.Deliverer`) each run one: a round
every ``interval_s`` seconds, or at once when woken; an error in a round is
logged and the next round tries again; ``stop`` lets the round in hand finish.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PollingThread:
    """Runs :meth:`_round` every ``interval_s`` seconds on a daemon thread named ``name``."""

    def __init__(self, name: str, interval_s: float) -> None:
        self.name = name
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (a no-op when it runs already)."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Do the next round now rather than at the next interval."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the round in hand (a no-op when not running)."""
        if self._thread is None:
            return
        self._stopping.set()
        self._wake.set()
        self._thread.join()
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _run(self) -> None:
        self._poll(self._round)

    def _poll(self, round_: Callable[[], object]) -> None:
        while not self._stopping.is_set():
            try:
                round_()
            except Exception:  # keep going: the next round retries
                log.exception("%s: round failed", self.name)
            self._wake.wait(self.interval_s)
            self._wake.clear()

    def _round(self) -> None:
        raise NotImplementedError
