"""Progressive sync (``strategy: RollingSync``): a change to an ApplicationSet's
Applications reaches them step by step, and goes back when a step turns Degraded. Pure.

A change (the set of Applications the ApplicationSet wants differs from the set the last
rollout brought) starts a rollout: the Applications it changes are put in the first step
whose ``matchExpressions`` select them by their labels; a step without expressions takes
every one left, and the Applications no step takes form a last step (the rest). Each pass:

- a step changes at most ``maxUpdate`` Applications at a time (an Application counts until
  its change landed and it is Synced and Healthy at its new generation); ``maxUpdate: 0``
  holds the step (Paused) until the strategy changes;
- a step is done once all it changed have been Healthy for ``bakeTime``; then the next;
- a step that makes no progress (no new change sent, nothing turning Healthy) within
  ``progressDeadline`` counts as failed;
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


def decide(  # noqa: PLR0915 - one rollout's rules, in the order they apply
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
    desired = {app["metadata"]["name"]: app for app in wanted}
    todo = {app["metadata"]["name"]: app for app in pending}
    if record is None or not _same_change(record, desired):
        changes = {n: _digest_of(a) for n, a in todo.items()}
        if not changes:
            return Decision(record=record)
        record = Rollout(
            target=_hash(changes),
            phase="Progressing",
            started_at=now,
            steps=_steps(strategy, pending),
            changes=changes,
        )
    else:
        record = record.model_copy(deep=True)
    # What is not part of this change (an Application edited by hand) is put back at once.
    out = Decision(record=record, writes=[a for n, a in todo.items() if n not in record.changes])
    if record.phase == "RolledBack":
        out.writes += _restores(record, desired, live)
        out.held = sorted(n for n in todo if n in record.changes)
        return out
    if record.phase == "Succeeded":
        out.writes += [a for n, a in todo.items() if n in record.changes]
        return out

    def landed(name: str) -> bool:
        return _digest_of(live.get(name)) == record.changes.get(name)

    degraded = next((n for n in record.updated if landed(n) and _degraded(live.get(n))), None)
    if degraded is not None:
        return _rolled_back(record, desired, live, now=now, writes=out.writes, degraded=degraded)
    bake = appstatus.seconds(strategy.bake_time, 0.0)
    deadline = appstatus.seconds(strategy.progress_deadline, 600.0)
    limits = [s.max_update for s in strategy.steps] + [None]
    for step in record.steps:
        if step.phase == "Done":
            continue
        if step.phase == "Waiting":
            step.phase, step.started_at = "Progressing", now
        names = [n for n in step.applications if n in desired]  # one that went is no gate
        changed = [n for n in names if n in record.updated]
        in_flight = [n for n in changed if not (landed(n) and _healthy(live.get(n)))]
        waiting = [n for n in names if n in todo and n not in record.updated]
        limit = _limit(limits[min(step.step, len(limits) - 1)], len(names))
        if not waiting and not in_flight:
            pass  # the step may bake
        elif limit == 0 and not in_flight:
            step.phase = "Paused"  # maxUpdate 0: the step waits, as in Argo CD; no deadline
            break
        else:
            since = step.progressed_at or step.started_at
            if since and (now - since).total_seconds() > deadline:
                why = f"step {step.step} made no progress within {strategy.progress_deadline}"
                return _rolled_back(record, desired, live, now=now, writes=out.writes, why=why)
            # A write that did not land (a conflict, a stale read) is sent again.
            out.writes += [
                _with_previous(todo[n], live.get(n), record.target)
                for n in changed
                if not landed(n) and n in todo
            ]
            for name in waiting[: max(limit - len(in_flight), 0)]:
                out.writes.append(_with_previous(todo[name], live.get(name), record.target))
                record.updated.append(name)
                step.progressed_at = now
            step.healthy_since = None
            step.phase = "Progressing"
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
    out.held = sorted(n for n in todo if n not in written and n not in record.updated)
    return out


def _same_change(record: Rollout, desired: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether what the record changes is still wanted, to the same: an Application that
    comes or goes besides is not a new change."""
    return all(_digest_of(desired[n]) == d for n, d in record.changes.items() if n in desired)


def _digest_of(app: Mapping[str, Any] | None) -> str:
    meta = (app or {}).get("metadata") or {}
    return str((meta.get("annotations") or {}).get(DIGEST_ANNOTATION) or "")


def _hash(changes: Mapping[str, str]) -> str:
    text = "\n".join(f"{n}={d}" for n, d in sorted(changes.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _limit(raw: int | str | None, size: int) -> int:
    """``maxUpdate``: a number, or a percentage of the step's Applications (at least one)."""
    if raw is None:
        return size
    if isinstance(raw, int):
        return max(raw, 0)
    text = raw.strip()
    if text.endswith("%") and text[:-1].isdigit():
        percent = int(text[:-1])
        return 0 if percent == 0 else max(1, size * percent // 100)
    if text.isdigit():
        return int(text)
    return size  # refused by the controller before it gets here


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


def _with_previous(
    app: dict[str, Any], live: Mapping[str, Any] | None, rollout: str
) -> dict[str, Any]:
    """``app`` carrying what to put back: the spec it has before this rollout (kept as it
    is when a write of this rollout already carried it), tagged with the rollout."""
    out = copy.deepcopy(app)
    kept = _previous(live, rollout)
    before = kept if kept is not None else (live or {}).get("spec")
    if before is not None:
        out["metadata"]["annotations"][PREVIOUS_ANNOTATION] = json.dumps(
            {"rollout": rollout, "spec": before}, sort_keys=True
        )
    return out


def _previous(live: Mapping[str, Any] | None, rollout: str) -> Any:
    """The spec before ``rollout``, if the live Application carries it (None otherwise)."""
    text = (((live or {}).get("metadata") or {}).get("annotations") or {}).get(PREVIOUS_ANNOTATION)
    try:
        kept = json.loads(text) if text else None
    except ValueError:
        return None
    if isinstance(kept, dict) and kept.get("rollout") == rollout:
        return kept.get("spec")
    return None


def _rolled_back(
    record: Rollout,
    desired: Mapping[str, dict[str, Any]],
    live: Mapping[str, dict[str, Any]],
    *,
    now: datetime.datetime,
    writes: list[dict[str, Any]],
    degraded: str = "",
    why: str = "",
) -> Decision:
    """Every Application the rollout changed, back to the spec it had before."""
    lost = []
    for name in record.updated:
        back = _restore(name, desired, live, record.target)
        if back is not None:
            record.restored[name] = _digest_of(back)
        elif _digest_of(live.get(name)) == record.changes.get(name):
            lost.append(name)  # changed, and nothing kept of before
        # else: its write never landed; it is as it was
    if not why:
        health = ((live.get(degraded) or {}).get("status") or {}).get("health") or {}
        why = f"{degraded} turned Degraded ({str(health.get('message') or 'no message')[:300]})"
    record.phase, record.finished_at = "RolledBack", now
    record.message = f"{why}: {len(record.restored)} Applications put back as they were" + (
        f"; {', '.join(lost)} could not be (nothing kept of before)" if lost else ""
    )
    for step in record.steps:
        if step.phase != "Done" and set(step.applications) & set(record.updated):
            step.phase = "RolledBack"
    return Decision(writes=[*writes, *_restores(record, desired, live)], record=record)


def _restores(
    record: Rollout, desired: Mapping[str, dict[str, Any]], live: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The put-backs that have not landed yet (each pass sends them until they have)."""
    out = []
    for name, digest_back in record.restored.items():
        if _digest_of(live.get(name)) == digest_back:
            continue
        back = _restore(name, desired, live, record.target)
        if back is not None and _digest_of(back) == digest_back:
            out.append(back)
    return out


def _restore(
    name: str,
    desired: Mapping[str, dict[str, Any]],
    live: Mapping[str, dict[str, Any]],
    rollout: str,
) -> dict[str, Any] | None:
    """``name`` as it was before ``rollout`` changed it, from what it kept of before (None:
    it carries nothing of this rollout, so nothing of this rollout is to put back)."""
    before = _previous(live.get(name), rollout)
    if name not in desired or before is None:
        return None
    back = copy.deepcopy(desired[name])
    back["spec"] = before
    annotations = back["metadata"]["annotations"]
    annotations.pop(DIGEST_ANNOTATION, None)
    annotations[DIGEST_ANNOTATION] = digest(back)
    return back


__all__ = ["PREVIOUS_ANNOTATION", "Decision", "decide"]
