"""Progressive sync (``strategy: RollingSync``): a change to an ApplicationSet's
Applications reaches them step by step, and goes back when a step turns Degraded. Pure.

A change (the set of Applications the ApplicationSet wants differs from the set the last
rollout brought) starts a rollout: the Applications it changes are put in the first step
whose ``matchExpressions`` select them by their labels; a step without expressions takes
every one left, and the Applications no step takes form a last step (the rest). Each pass:

- a step changes at most ``maxUpdate`` Applications at a time (an Application counts until
  it is Synced and Healthy at its new generation);
- a step is done once all it changed have been Healthy for ``bakeTime``; then the next;
- when one Application this rollout changed turns Degraded, every Application it changed
  goes back to the spec it had before (kept on it, in ``flotilla.io/rollout-previous``,
  when it was changed), and the rollout is RolledBack: the same change is not tried again
  (a new change starts a new rollout).

Applications created or deleted are not part of a rollout (a new cluster is not a change
to roll out); an Application edited by hand after a rollout succeeded is put back at once.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flotilla.api.applicationset import RollingSync, Rollout, RolloutStep
from flotilla.api.selectors import LabelSelector
from flotilla.gitops import status as appstatus
from flotilla.gitops.ownedapps import DIGEST_ANNOTATION, digest

PREVIOUS_ANNOTATION = "flotilla.io/rollout-previous"
"""On an Application a rollout changed: its spec before, as JSON (what a rollback restores)."""


@dataclass
class Decision:
    writes: list[dict[str, Any]] = field(default_factory=list)
    """Applications to write now: changed, or put back."""
    record: Rollout | None = None
    held: list[str] = field(default_factory=list)
    """Changes that wait for their step (or for a new change, after a rollback)."""
    wait: float | None = None
    """Seconds until a step's bake time ends, when one bakes."""


def target_of(wanted: Sequence[Mapping[str, Any]]) -> str:
    """The digest of a set of wanted Applications (names and what each is written as)."""
    parts = sorted(
        f"{a['metadata']['name']}={a['metadata']['annotations'][DIGEST_ANNOTATION]}" for a in wanted
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def decide(
    strategy: RollingSync,
    record: Rollout | None,
    *,
    wanted: Sequence[dict[str, Any]],
    pending: Sequence[dict[str, Any]],
    live: Mapping[str, dict[str, Any]],
    now: datetime.datetime,
) -> Decision:
    """What to write this pass. ``pending``: the wanted Applications whose live one differs
    (what an update would write); ``live``: the namespace's Applications by name."""
    target = target_of(wanted)
    by_name = {app["metadata"]["name"]: app for app in pending}
    if record is None or record.target != target:
        if not pending:
            return Decision(record=record)
        record = Rollout(
            target=target, phase="Progressing", started_at=now, steps=_steps(strategy, pending)
        )
    else:
        record = record.model_copy(deep=True)
    if record.phase == "RolledBack":
        return Decision(record=record, held=sorted(by_name))
    if record.phase == "Succeeded":
        return Decision(writes=list(pending), record=record)  # edited by hand: put back
    degraded = next((n for n in record.updated if _degraded(live.get(n))), None)
    if degraded is not None:
        return _rolled_back(record, degraded, wanted, live, now)
    out = Decision(record=record)
    bake = appstatus.seconds(strategy.bake_time, 0.0)
    limits = [s.max_update for s in strategy.steps] + [None]
    for step in record.steps:
        if step.phase == "Done":
            continue
        if step.phase == "Waiting":
            step.phase, step.started_at = "Progressing", now
        waiting = [n for n in step.applications if n in by_name and n not in record.updated]
        changed = [n for n in step.applications if n in record.updated]
        in_flight = [n for n in changed if not _healthy(live.get(n))]
        limit = limits[min(step.step, len(limits) - 1)] or len(step.applications)
        for name in waiting[: max(limit - len(in_flight), 0)]:
            out.writes.append(_with_previous(by_name[name], live.get(name)))
            record.updated.append(name)
        if waiting or in_flight:
            step.phase, step.healthy_since = "Progressing", None
            break
        step.healthy_since = step.healthy_since or now
        step.phase = "Baking"
        baked = (now - step.healthy_since).total_seconds()
        if baked < bake:
            out.wait = bake - baked
            break
        step.phase = "Done"
    else:
        record.phase, record.finished_at = "Succeeded", now
        record.message = f"{len(record.updated)} Applications changed in {len(record.steps)} steps"
    written = {a["metadata"]["name"] for a in out.writes}
    out.held = sorted(n for n in by_name if n not in written and n not in record.updated)
    return out


def _steps(strategy: RollingSync, pending: Sequence[Mapping[str, Any]]) -> list[RolloutStep]:
    left = sorted(app["metadata"]["name"] for app in pending)
    labels = {app["metadata"]["name"]: app["metadata"].get("labels") or {} for app in pending}
    steps = []
    for number, step in enumerate(strategy.steps):
        selector = LabelSelector(match_expressions=step.match_expressions)
        taken = [n for n in left if selector.matches(labels[n])]
        left = [n for n in left if n not in taken]
        steps.append(RolloutStep(step=number, applications=taken))
    if left:
        steps.append(RolloutStep(step=len(strategy.steps), applications=left))
    return steps


def _current(app: Mapping[str, Any]) -> bool:
    """Whether the Application's status is about its present spec."""
    meta, status = app.get("metadata") or {}, app.get("status") or {}
    return int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0)


def _healthy(app: Mapping[str, Any] | None) -> bool:
    if app is None or not _current(app):
        return False
    status = app.get("status") or {}
    return bool(
        (status.get("sync") or {}).get("status") == "Synced"
        and (status.get("health") or {}).get("status") == "Healthy"
    )


def _degraded(app: Mapping[str, Any] | None) -> bool:
    if app is None or not _current(app):
        return False
    return ((app.get("status") or {}).get("health") or {}).get("status") == "Degraded"


def _with_previous(app: dict[str, Any], live: Mapping[str, Any] | None) -> dict[str, Any]:
    out = copy.deepcopy(app)
    before = (live or {}).get("spec")
    if before is not None:
        out["metadata"]["annotations"][PREVIOUS_ANNOTATION] = json.dumps(before, sort_keys=True)
    return out


def _rolled_back(
    record: Rollout,
    degraded: str,
    wanted: Sequence[dict[str, Any]],
    live: Mapping[str, dict[str, Any]],
    now: datetime.datetime,
) -> Decision:
    by_name = {app["metadata"]["name"]: app for app in wanted}
    writes, lost = [], []
    for name in record.updated:
        have = live.get(name) or {}
        text = ((have.get("metadata") or {}).get("annotations") or {}).get(PREVIOUS_ANNOTATION)
        if name not in by_name or not text:
            lost.append(name)
            continue
        back = copy.deepcopy(by_name[name])
        back["spec"] = json.loads(text)
        annotations = back["metadata"]["annotations"]
        annotations.pop(DIGEST_ANNOTATION, None)
        annotations[DIGEST_ANNOTATION] = digest(back)
        writes.append(back)
    health = ((live.get(degraded) or {}).get("status") or {}).get("health") or {}
    record.phase, record.finished_at = "RolledBack", now
    record.message = (
        f"{degraded} turned Degraded ({str(health.get('message') or 'no message')[:300]}): "
        f"{len(writes)} Applications put back as they were"
        + (f"; {', '.join(lost)} could not be (nothing kept of before)" if lost else "")
    )
    for step in record.steps:
        if step.phase != "Done":
            step.phase = (
                "RolledBack" if set(step.applications) & set(record.updated) else step.phase
            )
    return Decision(writes=writes, record=record, held=[])


__all__ = ["PREVIOUS_ANNOTATION", "Decision", "decide", "target_of"]
