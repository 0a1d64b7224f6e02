"""Builders for probe results and statuses, and a clock the health tests move by hand."""

from __future__ import annotations

import datetime

from flotilla.api import ClusterStatus
from flotilla.api.cluster import ProbeSettings
from flotilla.api.meta import Condition, find_condition
from flotilla.clusters.health import Inventory, ProbeResult, next_status

T0 = datetime.datetime(2025, 1, 1, 12, 0, tzinfo=datetime.UTC)
SETTINGS = ProbeSettings(failure_threshold=3)
THREE_NODES = Inventory(
    version="v1.31.2",
    nodes=3,
    ready_nodes=3,
    capacity={"cpu": "12", "memory": "48Gi"},
    allocatable={"cpu": "11500m", "memory": "46Gi"},
)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def success(latency_ms: float = 5.0, inventory: Inventory | None = THREE_NODES) -> ProbeResult:
    return ProbeResult(True, latency_ms=latency_ms, inventory=inventory)


def failure(reason: str = "Timeout", message: str = "no answer within 2s") -> ProbeResult:
    return ProbeResult(False, reason=reason, message=message)


def condition(status: ClusterStatus, type: str) -> Condition:
    found = find_condition(status.conditions, type)
    assert found is not None, f"no {type} condition in {status.conditions}"
    return found


def ready_cluster() -> ClusterStatus:
    """A cluster that answered its first probe at T0."""
    return next_status(ClusterStatus(), success(), SETTINGS, now=T0)


def after_failures(status: ClusterStatus, count: int, *, start: float = 1) -> ClusterStatus:
    """``status`` after ``count`` failed probes, one a second from ``start``."""
    for index in range(count):
        status = next_status(status, failure(), SETTINGS, now=at(start + index))
    return status
