"""What an Application's status says, and the rules of its sync policy. Pure.

Argo CD's status shape (``flotilla.api.application``): conditions by type with a message,
history of successful syncs, the last operation's result; and the policy read from the
spec and annotations: how long to wait before a retry, how often to poll, how much the
deletion guard lets one sync prune.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from flotilla.api.application import (
    DEFAULT_HISTORY,
    AppCondition,
    ApplicationSpec,
    ApplicationStatus,
    HistoryEntry,
    Operation,
    OperationState,
    SyncResult,
)
from flotilla.gitops.sources import Revision

POLL_ANNOTATION = "flotilla.io/poll-interval"
"""Seconds between polls of this Application's repository (the controller's default else)."""
GUARD_ANNOTATION = "flotilla.io/max-delete-percent"
PRUNE_BLOCKED = "PruneBlocked"
"""Flotilla's condition type beside Argo CD's: the deletion guard holds a sync's prune."""
SYNC_OPTIONS_ANNOTATION = "argocd.argoproj.io/sync-options"
"""Argo CD's per-object sync options (``Prune=false``, ``Delete=false``): see kept_by."""


def status_of(app: dict[str, Any]) -> ApplicationStatus:
    try:
        return ApplicationStatus.model_validate(app.get("status") or {})
    except ValidationError:
        return ApplicationStatus()


def set_condition(
    status: ApplicationStatus, type_: str, message: str, now: datetime.datetime
) -> None:
    for condition in status.conditions:
        if condition.type == type_:
            if condition.message != message:
                condition.message = message[:4096]
                condition.last_transition_time = now
            return
    status.conditions.append(
        AppCondition(type=type_, message=message[:4096], last_transition_time=now)
    )


def clear(status: ApplicationStatus, type_: str) -> None:
    status.conditions = [c for c in status.conditions if c.type != type_]


def guard_held_since(status: ApplicationStatus) -> datetime.datetime | None:
    """Since when the deletion guard has held a sync (a confirmation must be newer)."""
    for condition in status.conditions:
        if condition.type == PRUNE_BLOCKED:
            return condition.last_transition_time
    return None


def kinds_of(status: ApplicationStatus) -> list[str]:
    """The kinds (``apiVersion/kind``) of the objects status lists: where the Application's
    objects may be on its cluster, to compare and prune."""
    return sorted(
        {f"{r.group + '/' if r.group else ''}{r.version}/{r.kind}" for r in status.resources}
    )


def synced_revision(status: ApplicationStatus) -> str:
    return status.history[-1].revision if status.history else ""


def poll_of(app: dict[str, Any], default: float) -> float:
    """Seconds between polls of the Application's repository (at least 5)."""
    raw = ((app["metadata"].get("annotations") or {}).get(POLL_ANNOTATION)) or ""
    interval = seconds(str(raw), default) if raw else default
    return max(interval, 5.0)


_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def seconds(text: str, default: float) -> float:
    """A Go-style duration ("5s", "3m", "1h30m") or plain seconds; ``default`` if neither."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match:
        return default
    hours, minutes, secs = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(secs or 0)


def guard_percent(app: dict[str, Any]) -> int:
    """The deletion guard's share for this Application (default 50: a pass that would prune
    more than half of what the Application has on its cluster waits for a confirmation)."""
    raw = str((app["metadata"].get("annotations") or {}).get(GUARD_ANNOTATION) or "")
    try:
        value = int(raw)
    except ValueError:
        return 50
    return min(max(value, 0), 100)


def backoff(retries: int, spec: ApplicationSpec, *, poll: float) -> float:
    """Seconds before sync attempt ``retries + 1`` (``syncPolicy.retry``; Argo CD's defaults:
    5s doubling up to 3m); out of retries, the next poll."""
    retry = spec.sync_policy.retry if spec.sync_policy else None
    policy = retry.backoff if retry and retry.backoff else None
    first = seconds(policy.duration if policy else "5s", 5.0)
    factor = policy.factor if policy else 2
    longest = seconds(policy.max_duration if policy else "3m", 180.0)
    if retry is not None and retry.limit >= 0 and retries > retry.limit:
        return poll  # out of retries: the next poll (or a new commit) tries again
    return float(min(longest, first * factor ** max(retries - 1, 0)))


def record_history(
    status: ApplicationStatus,
    spec: ApplicationSpec,
    revision: Revision,
    *,
    digest: str,
    started: datetime.datetime,
    now: datetime.datetime,
) -> None:
    """A successful sync, into ``status.history`` (at most ``revisionHistoryLimit``)."""
    last = status.history[-1] if status.history else None
    if last is not None and last.revision == revision.sha and last.digest == digest:
        return  # the same revision synced again (self-heal): not a new deployment
    next_id = (max(h.id for h in status.history) + 1) if status.history else 0
    status.history.append(
        HistoryEntry(
            id=next_id,
            revision=revision.sha,
            deployed_at=now,
            deploy_started_at=started,
            source=spec.source,
            phase="Succeeded",
            digest=digest,
            message=revision.message[:1024],
        )
    )
    limit = spec.revision_history_limit
    keep = DEFAULT_HISTORY if limit is None else limit
    status.history = status.history[-keep:] if keep else []


def finish(
    status: ApplicationStatus,
    operation: Operation,
    *,
    phase: str,
    message: str,
    now: datetime.datetime,
    result: SyncResult,
) -> None:
    """The result of an operation, into ``status.operationState``."""
    status.operation_state = OperationState(
        operation=operation,
        phase=phase,
        message=message[:4096],
        started_at=now,
        finished_at=now,
        sync_result=result,
    )


def kept_by(option: str) -> Callable[[dict[str, Any]], bool]:
    """Whether a live object's ``argocd.argoproj.io/sync-options`` annotation says ``option``
    is ``false`` (or ``confirm``, which Flotilla keeps too): Argo CD's ``Prune=false`` (never
    pruned) and ``Delete=false`` (left behind when its Application is deleted)."""

    def keep(item: dict[str, Any]) -> bool:
        raw = ((item.get("metadata") or {}).get("annotations") or {}).get(SYNC_OPTIONS_ANNOTATION)
        for entry in str(raw or "").split(","):
            key, _, value = entry.strip().partition("=")
            if key == option and value.strip().lower() in ("false", "confirm"):
                return True
        return False

    return keep


__all__ = [
    "GUARD_ANNOTATION",
    "POLL_ANNOTATION",
    "PRUNE_BLOCKED",
    "SYNC_OPTIONS_ANNOTATION",
    "backoff",
    "clear",
    "finish",
    "guard_held_since",
    "guard_percent",
    "kept_by",
    "kinds_of",
    "poll_of",
    "record_history",
    "seconds",
    "set_condition",
    "status_of",
    "synced_revision",
]
