"""Reflector: keep a local copy of one collection in step with an API server.

Controllers read caches, not the API server (DESIGN §4). A reflector lists a collection
once, page by page, then watches it from the list's resourceVersion so the server sends
only changes. Each change is applied to the store first and then handed to ``on_event``.

The contract, for one (cluster, path, selectors):

- The first full list arrives as (synthetic) ADDED events; then ``has_synced`` is set.
- Watch events are applied in the order the server sent them. BOOKMARK events only move
  ``resource_version`` forward; they never reach ``on_event``.
- ``410 Gone`` means events were lost (etcd compacted the version we had). The reflector
  relists and compares the list with its store: a key that vanished gets a synthetic
  DELETED carrying the last state we knew, a new key a synthetic ADDED, an object whose
  resourceVersion changed a synthetic MODIFIED, an unchanged object nothing.
- Transient errors (no connection, timeouts, 429, 5xx) are retried after exponential
  backoff with full jitter (0.8 s doubling up to 30 s), reset once a watch delivers
  something; the watch then resumes from the last resourceVersion, without a relist.
  Terminal errors (401, 403, 404, 422, TLS) are never retried: ``run`` raises them.
- A watch that brings neither an event nor a bookmark for ``inactivity_timeout`` (default
  180 s) is taken for a half-open connection and restarted (after a backoff if it never
  brought anything). API servers send every watcher a bookmark roughly once a minute
  (the watch cache's ``nextBookmarkTime``), so three silent minutes mean a dead
  connection, not a quiet collection. The client's read timeout (server timeout + 30 s)
  is the backstop.

``run`` is a task in a TaskGroup its owner holds; cancelling it is how it stops. All
waiting uses the injected ``Clock``, so tests move time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from flotilla.api import ClusterName
from flotilla.kube import Gone, KubeClient, KubeError
from flotilla.runtime.clock import Clock

logger = logging.getLogger(__name__)

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
_WATCH_EVENT_TYPES: dict[str, EventType] = {
    "ADDED": "ADDED",
    "MODIFIED": "MODIFIED",
    "DELETED": "DELETED",
}


@dataclass(frozen=True, slots=True)
class Event:
    """A change to one object, in the order it happened.

    ``synthetic`` events were inferred by comparing a list with the store rather than seen
    on a watch; a synthetic DELETED carries the last state the store knew.
    """

    type: EventType
    cluster: ClusterName
    key: str
    object: dict[str, Any]
    synthetic: bool = False


@dataclass(frozen=True, slots=True)
class ReflectorOptions:
    """How a reflector pages, watches and waits; the defaults suit a real API server."""

    page_size: int = 500
    watch_timeout_seconds: int = 300
    """Server-side watch length; each watch picks at random between this and twice this,
    so watches on many collections do not all reconnect at once."""
    inactivity_timeout: float = 180.0
    backoff_base: float = 0.8
    backoff_cap: float = 30.0


def object_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name``, or ``name`` for a cluster-scoped object."""
    metadata = obj.get("metadata") or {}
    name = str(metadata.get("name") or "")
    namespace = metadata.get("namespace")
    return f"{namespace}/{name}" if namespace else name


def older(item: dict[str, Any], written: str | None) -> bool:
    """Whether the cached ``item`` predates our last write of it (``written``: the
    resourceVersion that write returned): a pass on it must wait for the cache.

    resourceVersions are opaque in general; the API server's are etcd revisions, so where
    both are integers an older one is known to be older. Otherwise: not known to be.
    """
    cached = str((item.get("metadata") or {}).get("resourceVersion") or "")
    if not written or not cached.isdigit() or not written.isdigit():
        return False
    return int(cached) < int(written)


def resource_version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class Backoff:
    """Exponential backoff with full jitter.

    Attempt ``n`` (from 0) waits a uniformly random time in ``[0, min(cap, base * 2**n)]``,
    so reflectors that fail together (an API server restarting) come back spread out.
    """

    def __init__(
        self, *, base: float = 0.8, cap: float = 30.0, rng: random.Random | None = None
    ) -> None:
        self._base = base
        self._cap = cap
        self._rng = rng or random.Random()
        self._attempt = 0

    def ceiling(self) -> float:
        """The longest the next delay can be."""
        return min(self._cap, self._base * 2.0**self._attempt)

    def next(self) -> float:
        ceiling = self.ceiling()
        if ceiling < self._cap:
            self._attempt += 1
        return self._rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        self._attempt = 0


def _ignore(_: Event) -> None:
    pass


class Reflector:
    """Lists then watches one collection of one cluster, keeping ``store`` current."""

    def __init__(
        self,
        client: KubeClient,
        path: str,
        *,
        cluster: ClusterName,
        clock: Clock,
        on_event: Callable[[Event], None] = _ignore,
        label_selector: str | None = None,
        field_selector: str | None = None,
        options: ReflectorOptions | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """``on_event`` is called synchronously for every change and must not block."""
        self.path = path
        self.cluster = cluster
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resource_version = ""
        self.has_synced = asyncio.Event()
        self._client = client
        self._clock = clock
        self._on_event = on_event
        self._options = options or ReflectorOptions()
        self._rng = rng or random.Random()
        self._backoff = Backoff(
            base=self._options.backoff_base, cap=self._options.backoff_cap, rng=self._rng
        )
        self._store: dict[str, dict[str, Any]] = {}
        self._log = {
            "cluster": cluster,
            "resource": path,
            "label_selector": label_selector,
            "field_selector": field_selector,
        }

    @property
    def store(self) -> Mapping[str, dict[str, Any]]:
        """Key to object, as last seen. Read-only: copy an object before changing it."""
        return self._store

    async def run(self) -> None:
        """Keep the store in step until cancelled; raise a terminal error."""
        must_list = True
        while True:
            try:
                if must_list:
                    await self._list()
                    must_list = False
                if await self._watch():
                    continue
                logger.info("watch ended without events; backing off", extra=self._log)
            except Gone as exc:
                if not must_list:
                    logger.info(
                        "resource version expired; relisting",
                        extra={**self._log, "resource_version": self.resource_version},
                    )
                    must_list = True
                    continue
                logger.warning("list expired; backing off", extra={**self._log, "error": str(exc)})
            except KubeError as exc:
                if not exc.transient:
                    raise
                logger.warning("list or watch failed; backing off", extra=self._failure(exc))
            await self._clock.sleep(self._backoff.next())

    def _failure(self, exc: KubeError) -> dict[str, Any]:
        return {**self._log, "error": str(exc), "error_type": type(exc).__name__}

    async def _list(self) -> None:
        listing = await self._client.list(
            self.path,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            limit=self._options.page_size,
        )
        version = resource_version(listing)
        fresh = {object_key(item): item for item in _typed_items(listing)}
        events = _differences(self._store, fresh, cluster=self.cluster)
        self._store = fresh
        self.resource_version = version
        for event in events:
            self._on_event(event)
        self.has_synced.set()
        logger.info(
            "listed",
            extra={
                **self._log,
                "objects": len(fresh),
                "changes": len(events),
                "resource_version": version,
            },
        )

    async def _watch(self) -> bool:
        """Follow one watch until it ends, fails or goes silent; True if it brought anything.

        A watch that brings anything, even a bookmark, proves the path to the server works:
        the backoff starts again from its base.
        """
        brought_something = False
        minimum = self._options.watch_timeout_seconds
        events = self._client.watch(
            self.path,
            resource_version=self.resource_version,
            allow_bookmarks=True,
            timeout_seconds=minimum + int(self._rng.random() * minimum),
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )
        silence = self._options.inactivity_timeout
        async with contextlib.aclosing(events):
            try:
                async with self._clock.timeout(silence) as watchdog:
                    async for event in events:
                        watchdog.reschedule(self._clock.monotonic() + silence)
                        if not brought_something:
                            brought_something = True
                            self._backoff.reset()
                        self._apply(event)
            except TimeoutError:
                if not watchdog.expired():
                    raise
                logger.warning(
                    "watch silent; restarting", extra={**self._log, "silent_seconds": silence}
                )
        return brought_something

    def _apply(self, event: dict[str, Any]) -> None:
        obj: dict[str, Any] = event["object"]
        kind = str(event.get("type"))
        if kind == "BOOKMARK":
            self.resource_version = resource_version(obj) or self.resource_version
            return
        event_type = _WATCH_EVENT_TYPES.get(kind)
        if event_type is None:
            logger.warning("unknown watch event ignored", extra={**self._log, "event_type": kind})
            return
        key = object_key(obj)
        if event_type == "DELETED":
            self._store.pop(key, None)
        else:
            self._store[key] = obj
        self.resource_version = resource_version(obj) or self.resource_version
        self._on_event(Event(event_type, self.cluster, key, obj))


def _typed_items(listing: dict[str, Any]) -> list[dict[str, Any]]:
    # Items of a list of built-in kinds come without apiVersion and kind; fill them in so
    # an object looks the same whether it came from a list or a watch.
    api_version = listing.get("apiVersion")
    list_kind = str(listing.get("kind") or "")
    kind = list_kind.removesuffix("List") if list_kind.endswith("List") else None
    items: list[dict[str, Any]] = listing.get("items") or []
    for item in items:
        if api_version:
            item.setdefault("apiVersion", api_version)
        if kind:
            item.setdefault("kind", kind)
    return items


def _differences(
    known: Mapping[str, dict[str, Any]],
    fresh: Mapping[str, dict[str, Any]],
    *,
    cluster: ClusterName,
) -> list[Event]:
    events: list[Event] = []
    for key, obj in fresh.items():
        old = known.get(key)
        if old is None:
            events.append(Event("ADDED", cluster, key, obj, synthetic=True))
        elif resource_version(old) != resource_version(obj):
            events.append(Event("MODIFIED", cluster, key, obj, synthetic=True))
    for key in sorted(known.keys() - fresh.keys()):
        events.append(Event("DELETED", cluster, key, known[key], synthetic=True))
    return events
