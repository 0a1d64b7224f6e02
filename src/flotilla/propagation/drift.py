"""Drift: a change on a member to a field Flotilla set, who made it, and when to stop fighting.

The maths is pure: ``managers_of_our_fields`` reads an object's ``managedFields`` and names
the field managers other than ours that own a field our manifest sets. ``DriftRecorder``
keeps the counts status reports, and notices fights: when another controller reverts our
fields again and again, each further revert waits longer (``FIGHT_BACKOFF``), so two
controllers do not spin the member's API server, and the Placement names who it fights.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flotilla.api.labels import FIELD_MANAGER, OWNER_LABELS
from flotilla.runtime.clock import Clock
from flotilla.runtime.metrics import Metrics

logger = logging.getLogger(__name__)

DRIFT_WINDOW = 60.0
"""How long the Drifted condition stays True after a correction."""
FIGHT_AFTER = 3
"""Corrections of one object within ``DRIFT_WINDOW`` from which it is a fight."""
FIGHT_BACKOFF = 5.0
FIGHT_BACKOFF_MAX = 300.0


def managers_of_our_fields(live: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """Field managers other than ours that own a field our manifest sets: who drifted it."""
    ours = set(_manifest_paths(manifest))
    found = []
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(entry, dict):
            continue
        manager = entry.get("manager")
        if manager == FIELD_MANAGER or entry.get("subresource") == "status":
            continue
        theirs = set(_owned_paths(entry.get("fieldsV1") or {}))
        if any(_overlap(a, b) for a in ours for b in theirs):
            found.append(str(manager))
    return sorted(set(found))


def _manifest_paths(node: Any, prefix: tuple[str, ...] = ()) -> Iterable[tuple[str, ...]]:
    if isinstance(node, dict) and node:
        for key, value in node.items():
            path = (*prefix, key)
            if path in (
                ("apiVersion",),
                ("kind",),
                ("metadata", "name"),
                ("metadata", "namespace"),
            ):
                continue
            yield from _manifest_paths(value, path)
    elif prefix:
        yield prefix


def _owned_paths(node: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterable[tuple[str, ...]]:
    """Paths in a managedFields ``fieldsV1`` set; list items stop at the list."""
    leaf = True
    for key, value in node.items():
        if key == ".":
            continue
        if not key.startswith("f:"):
            yield prefix  # an item of a list (k:, v:, i:): the list as a whole
            return
        leaf = False
        yield from _owned_paths(value if isinstance(value, dict) else {}, (*prefix, key[2:]))
    if leaf and prefix:
        yield prefix


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


@dataclass
class _Fight:
    times: list[float] = field(default_factory=list)
    managers: str = ""


class DriftRecorder:
    """Counts corrections per (cluster, Placement) and paces corrections of one object."""

    def __init__(self, *, clock: Clock, metrics: Metrics) -> None:
        self._clock = clock
        self._metrics = metrics
        self._counts: dict[tuple[str, str], int] = {}
        self._last: dict[str, tuple[float, str]] = {}
        self._fights: dict[tuple[str, str], _Fight] = {}

    def record(self, cluster: str, path: str, manifest: dict[str, Any], managers: list[str]) -> str:
        """Note a correction of ``manifest`` on ``cluster``; the note for its Event (the same
        for every revert of one fight, so Events aggregate)."""
        manager = ", ".join(managers)
        labels = manifest["metadata"].get("labels") or {}
        owner = next((str(labels[key]) for key in OWNER_LABELS if labels.get(key)), "")
        key = (cluster, owner)
        self._counts[key] = self._counts.get(key, 0) + 1
        what = f"{manifest['kind']} {manifest['metadata']['name']}"
        now = self._clock.monotonic()
        fight = self._fights.setdefault((cluster, path), _Fight())
        fight.times = [t for t in fight.times if now - t < DRIFT_WINDOW] + [now]
        fight.managers = manager
        message = f"{cluster}: {what} was changed by {manager!r}; reverted"
        # The Event note stays the same from revert to revert, so the recorder counts
        # them in one series; status says how often.
        condition = message
        if len(fight.times) >= FIGHT_AFTER:
            condition += f" ({len(fight.times)} times in {DRIFT_WINDOW:.0f}s: a fight; backing off)"
        self._last[owner] = (now, condition)
        self._metrics.drift_corrections.labels(cluster=cluster).inc()
        logger.info(
            "drift corrected", extra={"cluster": cluster, "object": what, "manager": manager}
        )
        return message

    def backoff(self, cluster: str, path: str) -> float:
        """Seconds to wait before correcting this object again (0: correct now)."""
        fight = self._fights.get((cluster, path))
        if fight is None or not fight.times:
            return 0.0
        now = self._clock.monotonic()
        recent = [t for t in fight.times if now - t < DRIFT_WINDOW]
        if len(recent) < FIGHT_AFTER:
            return 0.0
        delay = min(FIGHT_BACKOFF * 2.0 ** (len(recent) - FIGHT_AFTER), FIGHT_BACKOFF_MAX)
        return max(0.0, recent[-1] + delay - now)

    def fighting_with(self, cluster: str, path: str) -> str:
        """The field managers this object is being fought over with ("" when none)."""
        fight = self._fights.get((cluster, path))
        return fight.managers if fight else ""

    def count(self, cluster: str, owner: str) -> int:
        return self._counts.get((cluster, owner), 0)

    def last(self, owner: str) -> tuple[float, str] | None:
        """(when on the clock, message) of the last correction of ``owner``'s objects."""
        last = self._last.get(owner)
        if last and self._clock.monotonic() - last[0] < DRIFT_WINDOW:
            return last
        return None


__all__ = ["DRIFT_WINDOW", "DriftRecorder", "managers_of_our_fields"]
