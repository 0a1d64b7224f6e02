"""Events on the hub, aggregated: the same thing said again becomes a count, not a new Event.

client-go's EventRecorder does the same (``events.k8s.io/v1`` series): the first occurrence
creates an Event; repeats of the same (object, reason, note) within ``SERIES_WINDOW``
update that Event's ``series`` (count and last observed time), at most once per
``SERIES_FLUSH`` seconds, so a controller fighting another does not write one Event per
revert. Recording never raises: an Event is worth less than the reconcile that made it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flotilla.kube import KubeClient, KubeError, resource_path
from flotilla.runtime.clock import Clock

logger = logging.getLogger(__name__)

SERIES_WINDOW = 600.0
SERIES_FLUSH = 10.0
MAX_SERIES = 4096
"""Series remembered; the oldest are forgotten (their repeats become new Events)."""


@dataclass(frozen=True)
class Regarding:
    """The object an Event is about."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str = ""


@dataclass
class _Series:
    event: str
    """The name of the Event on the hub."""
    first: float
    written: float
    count: int
    written_count: int


class EventRecorder:
    def __init__(self, hub: KubeClient, *, clock: Clock, controller: str) -> None:
        self._hub = hub
        self._clock = clock
        self._controller = controller
        self._series: dict[tuple[Regarding, str, str, str], _Series] = {}

    async def record(
        self, regarding: Regarding, *, reason: str, note: str, type_: str = "Normal"
    ) -> None:
        """Record that ``reason: note`` happened to ``regarding``."""
        note = note[:1000]
        key = (regarding, type_, reason, note)
        now = self._clock.monotonic()
        series = self._series.get(key)
        if series is not None and now - series.first < SERIES_WINDOW:
            series.count += 1
            if now - series.written >= SERIES_FLUSH:
                await self._update(regarding, series, now)
            return
        name = await self._create(regarding, reason=reason, note=note, type_=type_)
        if name:
            if len(self._series) >= MAX_SERIES:
                self._series.pop(next(iter(self._series)))
            self._series[key] = _Series(name, first=now, written=now, count=1, written_count=1)

    async def flush(self) -> None:
        """Write the counts not yet written. Counts otherwise lag by up to ``SERIES_FLUSH``
        (the next repeat writes them); tests call this to see them at once."""
        now = self._clock.monotonic()
        for (regarding, *_), series in list(self._series.items()):
            if series.count != series.written_count:
                await self._update(regarding, series, now)

    async def _create(self, regarding: Regarding, *, reason: str, note: str, type_: str) -> str:
        event = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {
                "generateName": f"{regarding.name[:200]}-",
                "namespace": regarding.namespace or "default",
            },
            "eventTime": _micro_time(self._clock),
            "reportingController": self._controller,
            "reportingInstance": "flotilla",
            "action": "Reconcile",
            "reason": reason,
            "type": type_,
            "note": note,
            "regarding": {
                "apiVersion": regarding.api_version,
                "kind": regarding.kind,
                "namespace": regarding.namespace,
                "name": regarding.name,
                "uid": regarding.uid,
            },
        }
        namespace = regarding.namespace or "default"
        path = resource_path("events.k8s.io/v1", "events", namespace=namespace)
        try:
            created = await self._hub.create(path, event)
        except KubeError as exc:
            logger.warning("event not recorded", extra={"error": type(exc).__name__})
            return ""
        return str(((created or {}).get("metadata") or {}).get("name") or "")

    async def _update(self, regarding: Regarding, series: _Series, now: float) -> None:
        path = resource_path(
            "events.k8s.io/v1",
            "events",
            namespace=regarding.namespace or "default",
            name=series.event,
        )
        patch: dict[str, Any] = {
            "series": {"count": series.count, "lastObservedTime": _micro_time(self._clock)}
        }
        try:
            await self._hub.merge_patch(path, patch)
        except KubeError as exc:
            logger.warning("event not updated", extra={"error": type(exc).__name__})
            return
        series.written, series.written_count = now, series.count


def _micro_time(clock: Clock) -> str:
    return clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


__all__ = ["EventRecorder", "Regarding"]
