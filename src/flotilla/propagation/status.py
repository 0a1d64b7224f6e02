"""A Placement's status from what one pass did: pure, so every condition is testable alone.

Conditions: ``Scheduled`` (set by the controller from the schedule), ``Applied``,
``Available``, ``PruneBlocked`` and ``Drifted``. Status stays bounded: at most
``MAX_STATUS_RESOURCES`` per-object entries (failures first), the rest only counted.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from flotilla.api import API_VERSION, PLACEMENT, set_condition
from flotilla.api.placement import (
    MAX_STATUS_RESOURCES,
    ClusterSummary,
    PlacementStatus,
    PruneRecord,
    ResourceStatus,
)
from flotilla.kube import resource_path


@dataclass
class Outcome:
    """What one pass did on one cluster."""

    resources: list[ResourceStatus] = field(default_factory=list)
    drifts: list[str] = field(default_factory=list)
    prune_blocked: str = ""
    stranded: bool = False
    trusted: bool = False
    """Some object was taken as applied on our word alone: look again once that lapses."""
    wait: float | None = None
    """Seconds until something waiting here (a grace period, a fight's backoff) is due."""
    record: PruneRecord | None = None
    """The deletion guard's memory for this cluster after the pass (None: unchanged)."""
    pruned_all: bool = False
    """Nothing of this Placement that is unwanted is left here."""
    confirmation_spent: bool = False
    """A confirmation let a deletion here past the guard."""


def fill_status(
    status: PlacementStatus,
    *,
    outcomes: Mapping[str, Outcome],
    render_errors: list[ResourceStatus],
    problems: list[str],
    desired: Mapping[str, list[dict[str, Any]]],
    drift_counts: Mapping[str, int],
    drift: str,
    now: datetime.datetime,
    pruned: bool = True,
) -> None:
    """Resources, per-cluster summaries and the Applied, Available, PruneBlocked and
    Drifted conditions (``drift``: the last correction's message, "" when none is recent).

    ``pruned``: whether the pass judged pruning at all; one that did not (a render error,
    a refusal) leaves ``PruneBlocked`` as it was, so a block and its confirmation survive.
    """
    resources = [r for o in outcomes.values() for r in o.resources] + render_errors
    resources.sort(key=lambda r: (r.applied, r.cluster, r.kind, r.name))
    status.resources_total = len(resources)
    status.resources = resources[:MAX_STATUS_RESOURCES]
    summaries = []
    for cluster in sorted(outcomes):
        mine = [r for r in resources if r.cluster == cluster]
        if cluster not in desired and not mine and not outcomes[cluster].stranded:
            continue
        summaries.append(
            ClusterSummary(
                cluster=cluster,
                applied=sum(1 for r in mine if r.applied),
                failed=sum(1 for r in mine if not r.applied),
                desired_replicas=sum(r.desired_replicas or 0 for r in mine),
                ready_replicas=sum(r.ready_replicas or 0 for r in mine),
                available_replicas=sum(r.available_replicas or 0 for r in mine),
                drift_corrections=drift_counts.get(cluster, 0),
                stranded=outcomes[cluster].stranded,
            )
        )
    status.clusters = summaries

    def condition(type_: str, value: str, reason: str, message: str) -> None:
        set_condition(
            status.conditions,
            type=type_,
            status=value,  # type: ignore[arg-type]
            reason=reason,
            message=message[:500],
            now=now,
        )

    failed = [r for r in resources if not r.applied and r.cluster in desired]
    if problems:
        condition("Applied", "False", "SelectionFailed", "; ".join(problems))
    elif failed:
        first = failed[0]
        message = f"{len(failed)} failed; {first.cluster} {first.kind} {first.name}: "
        condition("Applied", "False", "ApplyFailed", message + first.error)
    elif not desired:
        condition("Applied", "False", "NothingScheduled", "no cluster chosen")
    else:
        count = sum(len(m) for m in desired.values())
        condition("Applied", "True", "Applied", f"{count} objects on {len(desired)} clusters")

    workloads = [r for r in resources if r.desired_replicas is not None and r.cluster in desired]
    unavailable = [r for r in workloads if (r.available_replicas or 0) < (r.desired_replicas or 0)]
    if unavailable:
        r = unavailable[0]
        condition(
            "Available", "False", "ReplicasUnavailable",
            f"{r.cluster} {r.kind} {r.name}: {r.available_replicas or 0}/{r.desired_replicas}",
        )  # fmt: skip
    else:
        condition("Available", "True", "Available", f"{len(workloads)} workloads")

    blocked = [o.prune_blocked for o in outcomes.values() if o.prune_blocked]
    if blocked:
        condition("PruneBlocked", "True", "DeletionGuard", "; ".join(blocked))
    elif pruned:
        condition("PruneBlocked", "False", "NoPruneBlocked", "")

    if drift:
        condition("Drifted", "True", "DriftCorrected", drift)
    else:
        condition("Drifted", "False", "NoDrift", "")


def applied_true(status: PlacementStatus) -> bool:
    return any(c.type == "Applied" and c.status == "True" for c in status.conditions)


def condition_since(status: PlacementStatus, type_: str) -> datetime.datetime | None:
    """When the condition ``type_`` last became True (None when it is not True)."""
    for condition in status.conditions:
        if condition.type == type_ and condition.status == "True":
            return condition.last_transition_time
    return None


def resource_status(
    cluster: str,
    manifest: dict[str, Any],
    *,
    live: dict[str, Any] | None = None,
    applied: bool = False,
    error: str = "",
) -> ResourceStatus:
    """One object's entry: identity from the manifest, replicas from the live object."""
    meta = manifest.get("metadata") or {}
    spec = manifest.get("spec") or {}
    status = ResourceStatus(
        cluster=cluster,
        api_version=str(manifest.get("apiVersion", "")),
        kind=str(manifest.get("kind", "")),
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name", "")),
        applied=applied,
        error=error,
    )
    if live is not None:
        live_spec = live.get("spec") or {}
        live_status = live.get("status") or {}
        status.observed_generation = _int_or_none(live_status.get("observedGeneration"))
        if isinstance(spec.get("replicas"), int) or isinstance(live_spec.get("replicas"), int):
            status.desired_replicas = _int_or_none(live_spec.get("replicas")) or 0
            status.ready_replicas = _int_or_none(live_status.get("readyReplicas")) or 0
            status.available_replicas = _int_or_none(live_status.get("availableReplicas")) or 0
    return status


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def placement_path(meta: dict[str, Any]) -> str:
    return resource_path(
        API_VERSION, PLACEMENT.plural, namespace=meta["namespace"], name=meta["name"]
    )


def status_of(placement: dict[str, Any]) -> PlacementStatus:
    """A Placement's status as stored; an unreadable one starts afresh."""
    try:
        return PlacementStatus.model_validate(placement.get("status") or {})
    except ValidationError:
        return PlacementStatus()


def placement_condition(
    status: PlacementStatus,
    type_: str,
    value: str,
    *,
    reason: str,
    message: str,
    now: datetime.datetime,
) -> None:
    set_condition(
        status.conditions,
        type=type_,
        status=value,  # type: ignore[arg-type]
        reason=reason,
        message=message[:500],
        now=now,
    )


__all__ = [
    "Outcome",
    "applied_true",
    "condition_since",
    "fill_status",
    "placement_condition",
    "placement_path",
    "resource_status",
    "status_of",
]
