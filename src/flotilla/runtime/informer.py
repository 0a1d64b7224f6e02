"""Informers: a reflector's store for readers, and handlers told of every change.

Reconcilers read caches, and controllers that care about the same collection of the same
cluster share one list and one watch (DESIGN §4). ``SharedInformers`` hands out one
``Informer`` per (cluster, path, label selector, field selector) and owns their tasks.

The contract:

- ``get``, ``list`` and ``keys`` read the store without I/O. Objects are the dicts the
  server sent, shared by every reader: treat them as read-only, copy before changing.
- Indexes (``add_index``) find objects by a value computed from them (a label, say)
  without scanning the store; they are kept up to date before handlers run.
- Handlers run synchronously, in the order they were added, for every event in the order
  the server sent it, after the store holds the change. They must not do I/O or block:
  they enqueue ``(event.cluster, event.key)`` for a worker. A handler that raises is
  logged; the other handlers and the informer carry on.
- A handler added once objects are known first hears a synthetic ADDED for each of them,
  so a controller that starts late sees the same world as one that started early.
- Everything runs on one event loop; nothing here is safe to call from another thread.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import random
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

from flotilla.api import ClusterName
from flotilla.kube import KubeClient, KubeError
from flotilla.runtime.clock import Clock
from flotilla.runtime.reflector import Event, Reflector, ReflectorOptions

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]
IndexFunc = Callable[[dict[str, Any]], list[str]]
"""The values an object is found under in one index (none: not in the index)."""


class _Index:
    def __init__(self, values: IndexFunc) -> None:
        self.values = values
        self.keys_by_value: dict[str, set[str]] = {}
        self.values_by_key: dict[str, list[str]] = {}

    def update(self, key: str, obj: dict[str, Any] | None) -> None:
        for value in self.values_by_key.pop(key, []):
            keys = self.keys_by_value.get(value)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.keys_by_value[value]
        if obj is None:
            return
        values = self.values(obj)
        if values:
            self.values_by_key[key] = values
            for value in values:
                self.keys_by_value.setdefault(value, set()).add(key)


class Informer:
    """One reflected collection: a read-only store plus event handlers."""

    def __init__(
        self,
        client: KubeClient,
        path: str,
        *,
        cluster: ClusterName,
        clock: Clock,
        label_selector: str | None = None,
        field_selector: str | None = None,
        options: ReflectorOptions | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._handlers: list[Handler] = []
        self._indexes: dict[str, _Index] = {}
        self._failure: KubeError | None = None
        self._failed = asyncio.Event()
        self._reflector = Reflector(
            client,
            path,
            cluster=cluster,
            clock=clock,
            on_event=self._dispatch,
            label_selector=label_selector,
            field_selector=field_selector,
            options=options,
            rng=rng,
        )

    @property
    def cluster(self) -> ClusterName:
        return self._reflector.cluster

    @property
    def path(self) -> str:
        return self._reflector.path

    @property
    def has_synced(self) -> bool:
        return self._reflector.has_synced.is_set()

    @property
    def resource_version(self) -> str:
        return self._reflector.resource_version

    async def run(self) -> None:
        """List and watch until cancelled; raise a terminal error (see ``Reflector.run``)."""
        await self._reflector.run()

    @property
    def failure(self) -> KubeError | None:
        """The terminal error that stopped this informer (an isolated one), or None."""
        return self._failure

    def fail(self, error: KubeError) -> None:
        """Mark the informer stopped for good by ``error``; ``wait_synced`` raises it."""
        self._failure = error
        self._failed.set()

    async def wait_synced(self) -> None:
        """Return once the first full list is in the store and handlers have heard of it;
        raise the terminal error if the informer stopped for good first."""
        if self._failure is not None:
            raise self._failure
        if self._reflector.has_synced.is_set():
            return
        synced = asyncio.ensure_future(self._reflector.has_synced.wait())
        failed = asyncio.ensure_future(self._failed.wait())
        try:
            await asyncio.wait((synced, failed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            synced.cancel()
            failed.cancel()
        if not self._reflector.has_synced.is_set() and self._failure is not None:
            raise self._failure

    def get(self, key: str) -> dict[str, Any] | None:
        """The object at ``namespace/name`` (or ``name``), or None."""
        return self._reflector.store.get(key)

    def list(self) -> list[dict[str, Any]]:
        return [*self._reflector.store.values()]

    def keys(self) -> builtins.list[str]:
        return [*self._reflector.store.keys()]

    def add_index(self, name: str, values: IndexFunc) -> None:
        """Index objects under ``values(obj)``; the first function given for a name wins."""
        if name in self._indexes:
            return
        index = _Index(values)
        for key, obj in self._reflector.store.items():
            index.update(key, obj)
        self._indexes[name] = index

    def by_index(self, name: str, value: str) -> builtins.list[dict[str, Any]]:
        """The objects ``add_index(name, ...)`` filed under ``value``."""
        store = self._reflector.store
        keys = self._indexes[name].keys_by_value.get(value, ())
        return [store[key] for key in sorted(keys) if key in store]

    def add_handler(self, handler: Handler) -> None:
        """Call ``handler`` for every event from now on, after replaying what is known."""
        for key, obj in self._reflector.store.items():
            self._call(handler, Event("ADDED", self.cluster, key, obj, synthetic=True))
        self._handlers.append(handler)

    def _dispatch(self, event: Event) -> None:
        for index in self._indexes.values():
            index.update(event.key, None if event.type == "DELETED" else event.object)
        for handler in [*self._handlers]:
            self._call(handler, event)

    def _call(self, handler: Handler, event: Event) -> None:
        try:
            handler(event)
        except Exception:
            logger.exception(
                "event handler failed",
                extra={
                    "cluster": event.cluster,
                    "resource": self.path,
                    "key": event.key,
                    "event_type": event.type,
                    "handler": getattr(handler, "__qualname__", repr(handler)),
                },
            )


InformerKey = tuple[ClusterName, str, str | None, str | None]
"""(cluster, path, label selector, field selector): what makes two informers the same."""


class SharedInformers:
    """One informer per (cluster, path, selectors), started on first request.

    An async context manager owning a TaskGroup: every informer runs as a task of it, and
    leaving the block stops them all. A terminal error in a *critical* informer (the
    default; a 403, say) fails the group like any TaskGroup task: the body is cancelled and
    the error comes out of ``async with`` in an ExceptionGroup. An *isolated* informer
    (``critical=False``: templates of any kind, a member's managed objects) stops alone:
    it is marked failed (``Informer.failure``; ``wait_synced`` raises), logged, and
    forgotten, so the next ask starts a new one. A CRD deleted under one Placement then
    costs that Placement, not the controller. ``clients`` is read on each request, so the
    owner may add clusters to it as they join.
    """

    def __init__(
        self,
        clients: Mapping[ClusterName, KubeClient],
        *,
        clock: Clock,
        options: ReflectorOptions | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._clients = clients
        self._clock = clock
        self._options = options
        self._rng = rng
        self._informers: dict[InformerKey, Informer] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._group: asyncio.TaskGroup | None = None

    async def __aenter__(self) -> Self:
        group = asyncio.TaskGroup()
        await group.__aenter__()
        self._group = group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._group is not None
        group, self._group = self._group, None
        for task in self._tasks:
            task.cancel()
        await group.__aexit__(exc_type, exc, tb)

    def informer(
        self,
        cluster: ClusterName,
        path: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        critical: bool = True,
    ) -> Informer:
        """The informer for this collection, created and started if it is the first ask.

        ``critical`` is decided by the first ask, which starts the informer."""
        key: InformerKey = (cluster, path, label_selector, field_selector)
        informer = self._informers.get(key)
        if informer is not None:
            return informer
        if self._group is None:
            raise RuntimeError("SharedInformers hands out informers only inside `async with`")
        informer = Informer(
            self._clients[cluster],
            path,
            cluster=cluster,
            clock=self._clock,
            label_selector=label_selector,
            field_selector=field_selector,
            options=self._options,
            rng=self._rng,
        )
        self._informers[key] = informer
        work = informer.run() if critical else self._isolated(key, informer)
        self._tasks.append(self._group.create_task(work, name=f"informer {cluster} {path}"))
        logger.info(
            "informer started",
            extra={"cluster": cluster, "resource": path, "label_selector": label_selector},
        )
        return informer

    async def _isolated(self, key: InformerKey, informer: Informer) -> None:
        try:
            await informer.run()
        except KubeError as exc:  # terminal for this collection only
            informer.fail(exc)
            if self._informers.get(key) is informer:
                del self._informers[key]
            logger.warning(
                "informer stopped",
                extra={"cluster": key[0], "resource": key[1], "error": type(exc).__name__},
            )

    def informers(self) -> list[Informer]:
        return [*self._informers.values()]
