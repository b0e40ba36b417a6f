"""Tables. Patient data is the minimum necessary: an opaque patient id and a location.

Times of day are integer seconds from the plan date's local midnight (as in
spec/problem.md); ``created_at``-style columns are UTC timestamps.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ApiKey(Base, Timestamped):
    """An API key: only its SHA-256 is stored; the key is shown once when created."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    clinician_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                           nullable=True)


class AuditLog(Base):
    """Who read or wrote which patient-linked records, and when (append-only)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    record_type: Mapped[str] = mapped_column(String(30))
    record_ids: Mapped[list[str]] = mapped_column(JSON, default=list)


class ClinicianRow(Base, Timestamped):
    """A clinician's standing profile (PUT /v1/clinicians/{id})."""

    __tablename__ = "clinicians"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    home_lat: Mapped[float] = mapped_column(Float)
    home_lon: Mapped[float] = mapped_column(Float)
    max_visits: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_workload_points: Mapped[int | None] = mapped_column(Integer, nullable=True)
    buffer_after_visit: Mapped[int] = mapped_column(Integer, default=0)


class ShiftRow(Base, Timestamped):
    """Who works on a date (PUT /v1/clinicians/{id}/shifts/{date})."""

    __tablename__ = "shifts"

    clinician_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("clinicians.id", ondelete="CASCADE"), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    max_overtime: Mapped[int] = mapped_column(Integer, default=0)
    breaks: Mapped[list[dict[str, int]]] = mapped_column(JSON, default=list)
    start_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    start_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    end_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    end_lon: Mapped[float | None] = mapped_column(Float, nullable=True)


class VisitRow(Base, Timestamped):
    """A visit request for a date; ``status`` is requested or cancelled."""

    __tablename__ = "visits"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    patient_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    duration: Mapped[int] = mapped_column(Integer)
    time_windows: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    required_skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    acuity: Mapped[int] = mapped_column(Integer, default=1)
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False)
    workload_points: Mapped[int] = mapped_column(Integer, default=1)
    preferred_clinicians: Mapped[list[str]] = mapped_column(JSON, default=list)
    excluded_clinicians: Mapped[list[str]] = mapped_column(JSON, default=list)
    pinned_clinician: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="requested")


class LinkRow(Base, Timestamped):
    """A link between visits of a date (spec/problem.md "Linked visits"), as its JSON."""

    __tablename__ = "links"
    __table_args__ = (UniqueConstraint("date", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    key: Mapped[str] = mapped_column(String(400))  # canonical form, for idempotent upserts
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class IdempotencyKey(Base):
    """A replayable answer to a request sent with an ``Idempotency-Key`` header."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    scope: Mapped[str] = mapped_column(String(60))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PlanRow(Base, Timestamped):
    """A plan of a date; its versions hold the solutions."""

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default="solving")
    version: Mapped[int] = mapped_column(Integer, default=0)


class PlanVersionRow(Base):
    """One solved version of a plan: the problem it solved and the solution (JSON)."""

    __tablename__ = "plan_versions"

    plan_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem: Mapped[dict[str, Any]] = mapped_column(JSON)
    solution: Mapped[dict[str, Any]] = mapped_column(JSON)
    location_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobRow(Base, Timestamped):
    """A durable unit of background work (solve a plan); survives restarts."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="plan")
    plan_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                           nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                            nullable=True)


class PlanEventRow(Base):
    """One event of a plan's day (spec/api.md ``POST /v1/plans/{id}/events``), append-only.

    ``seq`` numbers a plan's events 1, 2, ... in the order they were accepted;
    ``now`` is the post's re-plan moment (s from local midnight) and
    ``based_on`` the plan version its ``If-Match`` named. ``body`` is the
    event as posted (it may name visits and patients: never log it).
    """

    __tablename__ = "plan_events"
    __table_args__ = (UniqueConstraint("plan_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    role: Mapped[str] = mapped_column(String(20))
    now: Mapped[int] = mapped_column(Integer)
    based_on: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    type: Mapped[str] = mapped_column(String(40))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class PlanNotificationRow(Base):
    """One notification of a plan (``plan.version``, ``job.state``), append-only.

    The plan's stream (``GET /v1/plans/{id}/stream``) replays it: ``seq`` is
    the event id a client sends back as ``Last-Event-ID``. A plan's rows are
    numbered 1, 2, ... under the plan's row lock, in the transaction of the
    change, so they commit in ``seq`` order (:mod:`app.stream.service`).
    ``data`` names plans and jobs, never a patient, a visit or a location.
    """

    __tablename__ = "plan_notifications"

    plan_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookRow(Base, Timestamped):
    """A webhook subscription: where to POST which events, and the secret that signs them.

    The secret is stored as given (it signs every body, so it cannot be hashed
    away like an API key); it is shown once, when the webhook is created.
    """

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(String(2083))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)


class WebhookDeliveryRow(Base, Timestamped):
    """One event to POST to one webhook (the outbox): written in the transaction of the change.

    ``body`` is the exact JSON text sent (and signed) on every attempt; it names
    plans and jobs, never a patient or a visit. ``state`` is pending, delivered
    or failed; a pending row is due at ``next_attempt_at`` (a deliverer that
    claims it pushes that forward by a lease, so a crash mid-attempt retries).
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # set while pending, null once delivered or failed: the due query needs only this index
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                            nullable=True)


class WebhookAttemptRow(Base):
    """One attempt to deliver a webhook event (the delivery log), append-only."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    next_retry_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                              nullable=True)
