"""The road graph, loaded once in a background thread so the API starts at once.

``/readyz`` answers 503 until :attr:`GraphSource.ready`; code that needs the
graph calls :meth:`GraphSource.get`, which waits for it. Loads are shared
process-wide by (source, cache folder): a graph is read-only once built, and
loading one takes seconds (tens of seconds the first time, before it is cached
on disk), so a second app in the same process (tests, a reload) reuses the
load in progress or done. A failed load is retried by the next GraphSource.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import geo
from app.settings import Settings

log = logging.getLogger("careroute.graph")


class GraphNotReady(RuntimeError):
    """The road graph is still loading (or failed to load: see ``GraphSource.error``)."""


class _Load:
    """One background load of one (source, cache folder)."""

    def __init__(self, source: str, cache_dir: str | None) -> None:
        self.source, self.cache_dir = source, cache_dir
        self.done = threading.Event()
        self.graph: geo.RoadGraph | None = None
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, name="careroute-graph", daemon=True)

    def _run(self) -> None:
        try:
            self.graph = geo.load_graph(self.source, cache_dir=self.cache_dir,
                                        progress=lambda line: log.info("road graph: %s", line))
            log.info("road graph loaded from %s", self.source)
        except Exception as exc:  # kept for /readyz and get()
            self.error = exc
            log.error("road graph failed to load from %s: %s", self.source, exc)
        finally:
            self.done.set()


_loads: dict[tuple[str, str | None], _Load] = {}
_loads_lock = threading.Lock()


def _shared_load(source: str, cache_dir: str | None) -> _Load:
    key = (str(Path(source).expanduser().resolve()), cache_dir)
    with _loads_lock:
        load = _loads.get(key)
        if load is None or load.error is not None:
            load = _loads[key] = _Load(source, cache_dir)
            load.thread.start()
        return load


class GraphSource:
    """Loads ``settings.osm_source`` (cached under ``settings.cache_dir``) in the background."""

    def __init__(self, settings: Settings) -> None:
        self.source = settings.osm_source
        self.cache_dir = settings.cache_dir
        self._load: _Load | None = None

    def start_loading(self) -> None:
        """Begin loading in a daemon thread (or join a load already under way)."""
        if self._load is None:
            self._load = _shared_load(self.source, self.cache_dir)

    @property
    def ready(self) -> bool:
        """True once the graph is loaded."""
        return self._load is not None and self._load.graph is not None

    @property
    def error(self) -> Exception | None:
        """Why loading failed (e.g. :class:`geo.BadOsmFile`), or None."""
        return None if self._load is None else self._load.error

    def get(self, timeout: float | None = None) -> geo.RoadGraph:
        """The graph, waiting up to ``timeout`` s (None: as long as it takes).

        Raises the loading error (e.g. :class:`geo.BadOsmFile`) if loading failed,
        :class:`GraphNotReady` on timeout.
        """
        self.start_loading()
        assert self._load is not None
        if not self._load.done.wait(timeout):
            raise GraphNotReady(f"the road graph from {self.source} is still loading")
        if self._load.error is not None:
            raise self._load.error
        assert self._load.graph is not None
        return self._load.graph
