"""Prometheus metrics of the service (the default ``prometheus_client`` registry).

Other areas import and set these: the job worker observes
:data:`JOB_DURATION`, the planner sets :data:`SOLVER_GAP_TO_BASELINE`. HTTP
metrics are labelled by route *template* (``/v1/visits/{visit_id}``), never by
the raw path, so ids never become label values.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "careroute_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "careroute_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
JOB_DURATION = Histogram(
    "careroute_job_duration_seconds",
    "Wall time of a background job from start to finish, by kind and final state.",
    ["kind", "state"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
SOLVER_GAP_TO_BASELINE = Gauge(
    "careroute_solver_gap_to_baseline",
    "Relative objective improvement of the last plan over the usual-care baseline "
    "((baseline - optimised) / baseline), by kind (plan or replan).",
    ["kind"],
)
GRAPH_READY = Gauge("careroute_graph_ready", "1 once the road graph is loaded, else 0.")
