"""Run queued jobs: the :class:`JobRunner` protocol and the embedded process-pool runner.

The database is the queue. ``POST /v1/plans`` commits a ``queued`` job row and
calls :meth:`JobRunner.submit` as a nudge; a runner claims jobs with a
compare-and-set update (``queued -> running``, ``attempts + 1``), so a job is
never run twice at once and nothing accepted is lost:

* :class:`EmbeddedRunner` (the default) runs each claimed job in a
  ``ProcessPoolExecutor`` of ``settings.workers`` processes, so a solve never
  blocks the API. On :meth:`~EmbeddedRunner.start` it puts back in the queue
  the jobs a crashed or killed process left ``running`` (a job that killed
  its worker :data:`MAX_ATTEMPTS` times is failed instead). One embedded
  runner per database: a second one would take the first one's running jobs
  for crashed ones.
* A Celery runner (Redis broker) can replace it when solving is scaled out:
  ``submit`` sends :func:`run_job` ``(job_id, attempt, settings)`` as a task
  after claiming, ``start``/``stop`` are no-ops in the API process, and the
  Celery worker process runs exactly the same :func:`run_job`.

:func:`run_job` does the work in the worker process: it opens its own engine,
loads the road graph once per process, builds the problem from the plan
date's rows, solves (``time_limit`` from the payload, default
``settings.plan_time_limit``, at most ``settings.max_time_limit``), writes
``progress`` about once a second, checks the result with the independent
checker (violations fail the job, listed), measures the usual-care baseline,
and stores the next plan version with the plan ``ready`` and the job
``succeeded`` in one transaction, fenced on its attempt number. A ``replan``
job (events posted to a plan) is run by :func:`app.replan_job.run_replan`
the same way. Each change of a job's state, and each plan version stored or
failed, queues its webhook notifications in the transaction that makes it
(:mod:`app.webhooks.service`).

Cancelling (``POST /v1/jobs/{id}:cancel``): a queued job is cancelled at
once; a running one gets ``cancel_requested`` and finishes as ``cancelled``
without storing its result (the solver is not interrupted mid-search).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import geo
from app import db
from app.background import PollingThread
from app.jobs import repository as jobs
from app.models import PlanVersionRow
from app.plans import repository as plans
from app.plans.pipeline import Progress, compute_plan
from app.settings import Settings
from app.webhooks import service as webhooks

log = logging.getLogger("careroute.jobs")

#: A job whose worker process died this many times is failed, not re-run again.
MAX_ATTEMPTS = 3

#: Seconds between two progress writes of a running job.
PROGRESS_EVERY_S = 1.0


class JobRunner(Protocol):
    """Runs queued jobs in the background; the API only ever calls these three methods."""

    def submit(self, job_id: str) -> None:
        """A job was committed in state ``queued``: run it soon (idempotent)."""

    def start(self) -> None:
        """Begin claiming jobs (re-queue those a crash left running)."""

    def stop(self) -> None:
        """Stop claiming; unfinished jobs go back to the queue for the next start."""


# -- the embedded runner (API process) ------------------------------------------------


@dataclass
class _InFlight:
    job_id: str
    attempt: int
    began: float


def _compile_solver() -> None:
    """Compile (or load from numba's cache) the ruin-and-recreate search, in a pool process."""
    from routing import sisr

    sisr.warm_up()


class EmbeddedRunner(PollingThread):
    """A dispatcher thread claiming jobs into a pool of ``settings.workers`` processes."""

    def __init__(self, settings: Settings, *, poll_interval: float = 0.5,
                 stop_grace: float = 5.0) -> None:
        super().__init__("careroute-jobs", poll_interval)
        self.settings = settings
        self.stop_grace = stop_grace
        self.workers = max(1, int(settings.workers))
        self._engine = db.engine_for(settings.database_url)
        self._pool: cf.ProcessPoolExecutor | None = None
        self._inflight: dict[cf.Future[dict[str, Any]], _InFlight] = {}
        self._lock = threading.Lock()

    # JobRunner ------------------------------------------------------------------
    def submit(self, job_id: str) -> None:
        self.wake()

    def start(self) -> None:
        if self._thread is not None:
            return
        recovered = recover_running(self._engine)
        if recovered:
            log.info("re-queued %d job(s) left running by a stopped worker", len(recovered))
        self._pool = self._new_pool()
        # The first job would otherwise spend its time limit compiling the search.
        self._pool.submit(_compile_solver)
        super().start()

    def stop(self) -> None:
        if self._thread is None:
            return
        super().stop()
        pool, self._pool = self._pool, None
        with self._lock:
            pending = dict(self._inflight)
        if pending:
            cf.wait(list(pending), timeout=self.stop_grace)
        unfinished = [f for f in pending if not f.done()]
        if pool is not None:
            if unfinished:  # don't wait out a long solve: stop it, and queue the job again
                for proc in list(getattr(pool, "_processes", {}).values()):
                    proc.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
        for fut in pending:
            self._reap(fut, pending[fut], stopping=True)

    # dispatcher -----------------------------------------------------------------
    def _new_pool(self) -> cf.ProcessPoolExecutor:
        # spawn: the API process has threads and open database connections,
        # neither of which survives a fork safely
        return cf.ProcessPoolExecutor(max_workers=self.workers,
                                      mp_context=multiprocessing.get_context("spawn"))

    def _round(self) -> None:
        self._reap_done()
        self._claim_more()

    def _claim_more(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                free = self.workers - len(self._inflight)
            if free <= 0 or self._pool is None:
                return
            claimed = None
            with db.transaction(self._engine) as session:
                for job_id in jobs.oldest_queued(session, limit=free):
                    attempt = jobs.claim(session, job_id)
                    if attempt is not None:
                        webhooks.job_state(session, job_id, "running")
                        claimed = (job_id, attempt)
                        break
            if claimed is None:
                return
            job_id, attempt = claimed
            try:
                fut = self._pool.submit(run_job, job_id, attempt, self.settings.model_dump())
            except (BrokenProcessPool, RuntimeError):
                with db.transaction(self._engine) as session:
                    _requeue(session, job_id, attempt, refund=True)
                self._replace_pool()
                return
            with self._lock:
                self._inflight[fut] = _InFlight(job_id, attempt, time.monotonic())
            fut.add_done_callback(lambda _f: self._wake.set())
            log.info("job %s: attempt %d started", job_id, attempt)

    def _reap_done(self) -> None:
        with self._lock:
            done = [f for f in self._inflight if f.done()]
        broken = False
        for fut in done:
            with self._lock:
                info = self._inflight[fut]
            broken |= self._reap(fut, info)
        if broken and not self._stopping.is_set():
            # a dead worker breaks the whole pool (its other jobs were re-queued too)
            self._replace_pool()

    def _replace_pool(self) -> None:
        old, self._pool = self._pool, self._new_pool()
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    def _reap(self, fut: cf.Future[dict[str, Any]], info: _InFlight, *,
              stopping: bool = False) -> bool:
        """Account for a finished future; True if its worker process died."""
        with self._lock:
            self._inflight.pop(fut, None)
        from app.ops.metrics import JOB_DURATION, SOLVER_GAP_TO_BASELINE

        try:
            if fut.cancelled():
                raise BrokenProcessPool("cancelled at shutdown")
            outcome = fut.result(timeout=0)
        except (BrokenProcessPool, cf.TimeoutError, cf.CancelledError) as exc:
            # the process died (crash, OOM, terminate at stop): queue the job again
            with db.transaction(self._engine) as session:
                if stopping:
                    _requeue(session, info.job_id, info.attempt, refund=True)
                else:
                    _requeue_or_fail(session, info.job_id, info.attempt,
                                     f"the worker process died ({type(exc).__name__})")
            log.warning("job %s: worker process ended before the job did", info.job_id)
            return True
        except Exception:  # run_job catches its own errors; this is a bug
            log.exception("job %s: unexpected error from the worker", info.job_id)
            return False
        JOB_DURATION.labels(outcome.get("kind", "plan"), outcome["state"]).observe(
            time.monotonic() - info.began)
        if outcome.get("gap_to_baseline") is not None:
            SOLVER_GAP_TO_BASELINE.labels(outcome.get("kind", "plan")).set(
                outcome["gap_to_baseline"])
        log.info("job %s: %s", info.job_id, outcome["state"])
        return False


def _requeue_or_fail(session: Any, job_id: str, attempt: int, why: str) -> None:
    if attempt >= MAX_ATTEMPTS:
        row = jobs.get(session, job_id)
        if row is not None:
            _end(session, job_id, attempt, "failed", row.plan_id,
                 error=f"{why}; gave up after {attempt} attempts")
    else:
        _requeue(session, job_id, attempt)


def _requeue(session: Any, job_id: str, attempt: int, *, refund: bool = False) -> bool:
    """running (this attempt) -> queued, and its ``job.state`` notification."""
    if not jobs.requeue(session, job_id, attempt, refund=refund):
        return False
    webhooks.job_state(session, job_id, "queued")
    return True


def _end(session: Any, job_id: str, attempt: int, state: str, plan_id: str | None, *,
         error: str, payload: dict[str, Any] | None = None) -> bool:
    """running (this attempt) -> failed or cancelled; False if the job was taken away.

    The plan goes back to its last version (or failed), and webhooks hear of
    it (``job.state``, and ``plan.failed`` for a failure) in the same transaction.
    """
    if not jobs.finish(session, job_id, attempt, state, error=error, payload=payload):
        return False
    _plan_failed(session, plan_id)
    webhooks.job_state(session, job_id, state)
    if state == "failed":
        webhooks.plan_failed(session, plan_id, job_id)
    return True


def recover_running(engine: Any) -> list[str]:
    """Put back in the queue every job left ``running`` (their worker is gone); their ids."""
    with db.transaction(engine) as session:
        ids = []
        for row in jobs.running(session):
            _requeue_or_fail(session, row.id, row.attempts,
                             "the worker stopped while running the job")
            ids.append(row.id)
        return ids


def _plan_failed(session: Any, plan_id: str | None) -> None:
    plan = plans.get(session, plan_id) if plan_id else None
    if plan is not None:
        # a plan with an earlier version keeps serving it
        plan.status = "ready" if plan.version > 0 else "failed"


# -- the work (worker process) ----------------------------------------------------------

_graphs: dict[tuple[str, str | None], geo.RoadGraph] = {}


def road_graph(settings: Settings) -> geo.RoadGraph:
    """The deployment's road graph, loaded once per process."""
    key = (str(Path(settings.osm_source).expanduser()), settings.cache_dir)
    if key not in _graphs:
        _graphs[key] = geo.load_graph(key[0], cache_dir=settings.cache_dir)
    return _graphs[key]


def time_limit_of(payload: dict[str, Any], settings: Settings) -> float:
    """Seconds of search: the job's, else the default, never above ``max_time_limit``."""
    asked = payload.get("time_limit")
    limit = float(asked) if asked else float(settings.plan_time_limit)
    return max(0.1, min(limit, float(settings.max_time_limit)))


class _Reporter(threading.Thread):
    """Writes a running job's progress about once a second (only when it moved).

    A thread ticks between the steps; during the search, OR-Tools may hold
    the GIL for long stretches, so the solver's at-solution callback also
    calls :meth:`tick` (rate-limited, so at most one write a second either way).
    """

    def __init__(self, engine: Any, job_id: str, attempt: int, progress: Progress,
                 echo: Callable[[float], None] | None) -> None:
        super().__init__(name="careroute-progress", daemon=True)
        self.engine, self.job_id, self.attempt = engine, job_id, attempt
        self.progress, self.echo = progress, echo
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._written = -1.0
        self._at = time.monotonic()

    def run(self) -> None:
        while not self.done.wait(PROGRESS_EVERY_S):
            self.tick()

    def stop(self) -> None:
        self.done.set()
        self.join()

    def tick(self, *_solver_args: object) -> None:
        if not self._lock.acquire(blocking=False):
            return
        try:
            now, value = time.monotonic(), self.progress.fraction
            if now - self._at < PROGRESS_EVERY_S * 0.9 or value - self._written < 0.01:
                return
            self._at = now
            try:
                with db.transaction(self.engine) as session:
                    jobs.set_progress(session, self.job_id, self.attempt, value)
                self._written = value
            except Exception as exc:  # progress is best effort; the result is what counts
                log.warning("job %s: progress not written (%s)", self.job_id,
                            type(exc).__name__)
            if self.echo is not None:
                self.echo(value)
        finally:
            self._lock.release()


def run_job(job_id: str, attempt: int, settings_data: dict[str, Any], *,
            echo: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Run one claimed job (``attempt``) to its end state; a summary for metrics.

    Never raises for a failing job: the error is stored on the job row.
    ``echo`` (in-process callers only) also receives each progress value.
    """
    settings = Settings(**settings_data)
    engine = db.engine_for(settings.database_url)
    with db.transaction(engine) as session:
        row = jobs.get(session, job_id)
        if row is None or row.state != "running" or row.attempts != attempt:
            return {"state": "skipped", "kind": "plan"}
        kind, plan_id, payload = row.kind, row.plan_id, dict(row.payload or {})
        plan = plans.get(session, plan_id) if plan_id and kind == "plan" else None
        day = plans.day_rows(session, plan.date) if plan is not None else None
    if kind == "replan":  # events posted to a plan: app.replan_job re-solves from now
        from app.replan_job import run_replan

        return run_replan(engine, settings, job_id, attempt, plan_id, payload, echo=echo)

    def compute(progress: Progress, tick: Callable[..., None]) -> Any:
        if kind != "plan" or day is None:
            raise ValueError(f"job kind {kind!r} on plan {plan_id!r} cannot be run")
        return compute_plan(day, road_graph(settings), max_snap_m=settings.max_snap_m,
                            time_limit=time_limit_of(payload, settings), progress=progress,
                            on_solution=tick)

    state, computed = compute_and_store(engine, job_id, attempt, plan_id, compute,
                                        broke="the solution broke", echo=echo)
    if state != "succeeded":
        return {"state": state, "kind": kind}
    return {"state": state, "kind": kind, "gap_to_baseline": computed.gap_to_baseline}


def compute_and_store(
    engine: Any, job_id: str, attempt: int, plan_id: str | None,
    compute: Callable[[Progress, Callable[..., None]], Any], *, broke: str,
    echo: Callable[[float], None] | None = None,
) -> tuple[str, Any]:
    """Run ``compute(progress, tick)`` with its progress written, store the day it computes.

    Returns the job's end state and the computed day (None when ``compute``
    raised: the error is stored on the job and the plan goes back to its
    last version).
    """
    progress = Progress()
    reporter = _Reporter(engine, job_id, attempt, progress, echo)
    reporter.start()
    try:
        computed = compute(progress, reporter.tick)
    except Exception as exc:
        reporter.stop()
        fail_job(engine, job_id, attempt, plan_id, exc)
        return "failed", None
    reporter.stop()
    return store_result(engine, job_id, attempt, plan_id, computed, broke=broke), computed


def fail_job(engine: Any, job_id: str, attempt: int, plan_id: str | None,
             exc: Exception) -> None:
    """Store ``exc`` as the job's error (the plan goes back to its last version, or failed)."""
    error = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
    log.warning("job %s failed: %s", job_id, type(exc).__name__)
    with db.transaction(engine) as session:
        _end(session, job_id, attempt, "failed", plan_id, error=error)


def store_result(engine: Any, job_id: str, attempt: int, plan_id: str | None, result: Any,
                 *, broke: str) -> str:
    """Store a computed day as the plan's next version; the job's end state.

    ``result`` has ``problem``, ``solution``, ``location_ids`` and the checker's
    ``violations`` (any violation fails the job with them listed, after
    ``broke``). A cancel requested meanwhile wins; a job taken away meanwhile
    stores nothing.
    """
    with db.transaction(engine) as session:
        row = jobs.get(session, job_id)
        if row is None:
            return "skipped"
        payload = dict(row.payload or {})
        if payload.get("cancel_requested"):
            _end(session, job_id, attempt, "cancelled", plan_id,
                 error="cancelled while running; the result was not stored")
            return "cancelled"
        if result.violations:
            lines = [f"{v['code']}: {v['message']}" for v in result.violations]
            payload["violations"] = result.violations
            _end(session, job_id, attempt, "failed", plan_id, payload=payload,
                 error=f"{broke} {len(lines)} rule(s): " + "; ".join(lines[:20]))
            return "failed"
        if not jobs.finish(session, job_id, attempt, "succeeded"):
            return "skipped"  # taken away meanwhile: not ours to store
        plan = plans.get_for_update(session, plan_id) if plan_id else None
        assert plan is not None
        plan.version += 1
        plan.status = "ready"
        plans.add(session, PlanVersionRow(
            plan_id=plan.id, version=plan.version, problem=result.problem,
            solution=result.solution, location_ids=result.location_ids))
        # in this transaction: the version and its notifications commit together
        webhooks.job_state(session, job_id, "succeeded")
        webhooks.plan_version(session, plan.id, job_id)
    return "succeeded"
