"""POST the webhook outbox: signed bodies, short timeouts, retries with backoff, a log.

Each delivery is one POST of its stored JSON body with these headers:

| header | value |
| --- | --- |
| ``X-CareRoute-Event`` | the event, e.g. ``plan.ready`` |
| ``X-CareRoute-Delivery`` | the delivery id (the same on every attempt: de-duplicate on it) |
| ``X-CareRoute-Timestamp`` | Unix seconds when this attempt was sent |
| ``X-CareRoute-Signature`` | ``sha256=`` + hex HMAC-SHA256 of ``"{timestamp}.{body}"`` |

The signature is keyed with the webhook's secret.

A receiver recomputes the signature over the raw body, compares it in
constant time, and refuses a timestamp more than a few minutes old (a
replay). A 2xx answer delivers; anything else (another status, a redirect,
a timeout, a refused connection) is retried :data:`BACKOFF_S` later, until
:data:`MAX_ATTEMPTS`, then the delivery is ``failed``. Every attempt is
logged (``GET /v1/webhooks/{id}/deliveries``).

Delivery is at least once and unordered: a deliverer that dies after the
receiver answered sends that attempt again once its lease (:data:`LEASE_S`)
runs out, and a retried event can arrive after a newer one. Receivers order
by the plan ``version`` in the body.

:func:`deliver_due` does one round (tests call it with their own clock);
:class:`Deliverer` runs rounds in a thread of the API process. Several API
processes may each run one: a delivery is claimed by a compare-and-set
update, so each attempt is sent by one of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import time
from collections.abc import Callable

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from app import db
from app.background import PollingThread
from app.models import WebhookAttemptRow, utcnow
from app.webhooks import repository
from app.webhooks.repository import Outgoing

log = logging.getLogger("careroute.webhooks")

#: Seconds to wait after failed attempt 1, 2, ... before the next one.
BACKOFF_S = (10, 30, 120, 600, 3600)
#: Attempts before a delivery is given up as ``failed`` (the first, then one per backoff).
MAX_ATTEMPTS = len(BACKOFF_S) + 1
#: Seconds a claimed attempt is the claimer's; after that it is due again (its sender died).
LEASE_S = 300
USER_AGENT = "CareRoute-Webhooks/0.1"


def signature(secret: str, timestamp: str, body: str) -> str:
    """The ``X-CareRoute-Signature`` value: ``sha256=`` + HMAC-SHA256(secret, "{ts}.{body}")."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff_s(attempt: int) -> int | None:
    """Seconds from failed ``attempt`` (1, 2, ...) to the next; None once it was the last."""
    return BACKOFF_S[attempt - 1] if attempt < MAX_ATTEMPTS else None


def new_client(timeout_s: float) -> httpx.Client:
    """An HTTP client for deliveries: ``timeout_s`` per phase, no redirects followed."""
    return httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False,
                        headers={"User-Agent": USER_AGENT})


def deliver_due(engine: Engine, client: httpx.Client, now: dt.datetime | None = None, *,
                limit: int = 100) -> int:
    """POST up to ``limit`` deliveries due by ``now`` (default: the clock); attempts made.

    Each is claimed, sent outside any transaction, then logged with its
    outcome. With ``now`` given, it is both "due by" and the time every
    attempt is stamped with (tests move it forward to reach the retries).
    """
    made = 0
    while made < limit:
        at = now if now is not None else utcnow()
        claimed = _claim_next(engine, at)
        if claimed is None:
            break
        attempt, out = claimed
        _attempt(engine, client, out, attempt, at)
        made += 1
    return made


def _claim_next(engine: Engine, at: dt.datetime) -> tuple[int, Outgoing] | None:
    with db.transaction(engine) as session:
        for _ in range(20):  # another deliverer may take the row between the read and the claim
            due = repository.next_due(session, at)
            if due is None:
                return None
            delivery_id, attempts = due
            if repository.claim(session, delivery_id, attempts,
                                at + dt.timedelta(seconds=LEASE_S)):
                out = repository.outgoing(session, delivery_id)
                return None if out is None else (attempts + 1, out)
    return None


def _attempt(engine: Engine, client: httpx.Client, out: Outgoing, attempt: int,
             at: dt.datetime) -> None:
    timestamp = str(int(at.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "X-CareRoute-Event": out.event,
        "X-CareRoute-Delivery": out.id,
        "X-CareRoute-Timestamp": timestamp,
        "X-CareRoute-Signature": signature(out.secret, timestamp, out.body),
    }
    status: int | None = None
    error: str | None = None
    began = time.monotonic()
    try:
        # stream: the status is all we need; a large answer is never read
        with client.stream("POST", out.url, content=out.body.encode("utf-8"),
                           headers=headers) as answer:
            status = answer.status_code
        if not 200 <= status < 300:
            error = f"the receiver answered {status}"
    except Exception as exc:  # any failure to deliver is one failed attempt, retried
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration_ms = round((time.monotonic() - began) * 1000)

    wait = None if error is None else backoff_s(attempt)
    next_at = None if wait is None else at + dt.timedelta(seconds=wait)
    state = "delivered" if error is None else ("pending" if next_at is not None else "failed")
    row = WebhookAttemptRow(delivery_id=out.id, attempt=attempt, started_at=at,
                            duration_ms=duration_ms, status_code=status, error=error,
                            next_retry_at=next_at)
    try:
        with db.transaction(engine) as session:
            kept = repository.record(session, row, state=state, next_attempt_at=next_at,
                                     finished_at=None if state == "pending" else at)
    except IntegrityError:  # the webhook was deleted meanwhile (PostgreSQL checks the key)
        kept = False
    log.info("webhook delivery %s (%s) attempt %d: %s%s", out.id, out.event, attempt,
             state, "" if error is None else f" ({error})")
    if not kept:
        log.info("webhook delivery %s: gone or taken over meanwhile; attempt not logged",
                 out.id)


class Deliverer(PollingThread):
    """A thread of the API process that POSTs due deliveries every ``poll_s`` seconds.

    ``wake`` looks for due deliveries at once; ``stop`` returns after the
    attempt in flight (at most the timeout), and pending rows stay queued.
    """

    def __init__(self, engine: Engine, *, poll_s: float = 2.0, timeout_s: float = 5.0,
                 client_factory: Callable[[float], httpx.Client] = new_client) -> None:
        super().__init__("careroute-webhooks", poll_s)
        self.engine = engine
        self.timeout_s = timeout_s
        self._client_factory = client_factory

    def _run(self) -> None:
        with self._client_factory(self.timeout_s) as client:
            self._poll(lambda: self._deliver(client))

    def _deliver(self, client: httpx.Client) -> None:
        # one at a time, so that stop() never waits out a whole batch
        while not self.stopping and deliver_due(self.engine, client, limit=1):
            pass
