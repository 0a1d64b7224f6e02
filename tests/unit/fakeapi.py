"""A pretend API server for list and watch, spoken to through ``httpx.MockTransport``.

Enough of the Kubernetes list/watch contract to test the client and the runtime at the
wire instead of patching methods:

- objects live per collection path, keyed ``namespace/name``; every change takes the next
  resourceVersion and goes into that path's history;
- LIST honours ``limit``/``continue`` and equality ``labelSelector``s; like a real server,
  list items carry no ``apiVersion``/``kind`` while watch objects do;
- WATCH replays the history after the asked resourceVersion, then streams live changes;
  asking for a version older than the last ``compact`` gets an ERROR event with a 410
  Status, as a real server answers; bookmarks go out on ``bookmark``;
- ``inject`` makes the next matching requests fail with a response or a transport error;
- ``break_watches``, ``end_watches`` and ``expire_watches`` act on the open streams.

``running`` and ``eventually`` help tests drive a task under test with a ``FakeClock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

from flotilla.kube import ConnectionConfig, KubeClient
from flotilla.runtime.clock import FakeClock

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def status(code: int, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message or reason,
    }


def configmap(name: str, *, namespace: str = "default", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def key_of(obj: dict[str, Any]) -> str:
    metadata = obj["metadata"]
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])


def always(_: httpx.Request) -> bool:
    return True


def is_watch(request: httpx.Request) -> bool:
    return request.url.params.get("watch") in ("1", "true")


def is_list(request: httpx.Request) -> bool:
    return request.method == "GET" and not is_watch(request)


def is_continue(request: httpx.Request) -> bool:
    return is_list(request) and "continue" in request.url.params


@dataclass
class _Injection:
    outcome: httpx.Response | Exception
    match: Callable[[httpx.Request], bool]
    times: int


@dataclass
class _Change:
    version: int
    type: str
    object: dict[str, Any]


class WatchStream(httpx.AsyncByteStream):
    """The body of one open watch: lines, then the end or a transport error."""

    def __init__(self, request: httpx.Request, *, bookmarks: bool) -> None:
        self.request = request
        self.bookmarks = bookmarks
        self.closed = False
        self._chunks: asyncio.Queue[bytes | Exception | None] = asyncio.Queue()

    def send(self, event: dict[str, Any]) -> None:
        self._chunks.put_nowait(json.dumps(event).encode() + b"\n")

    def send_raw(self, chunk: bytes) -> None:
        self._chunks.put_nowait(chunk)

    def fail(self, error: Exception) -> None:
        self._chunks.put_nowait(error)

    def end(self) -> None:
        self._chunks.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self._chunks.get()
            if chunk is None:
                return
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


@dataclass
class FakeApi:
    """Collections of one kind in memory, with resourceVersions, history and watches."""

    api_version: str = "v1"
    kind: str = "ConfigMap"
    clock: FakeClock | None = None
    """When given, ``times`` records the clock at each request."""
    requests: list[httpx.Request] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    watches: list[WatchStream] = field(default_factory=list)
    """Every watch stream handed out, open or not, in order."""
    _objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    _history: dict[str, list[_Change]] = field(default_factory=dict)
    _injections: list[_Injection] = field(default_factory=list)
    _versions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _version: int = 0
    _compacted: int = 0

    def __post_init__(self) -> None:
        self.transport = httpx.MockTransport(self._handle)

    def client(self) -> KubeClient:
        return KubeClient(
            ConnectionConfig(server="https://api.test:6443"), transport=self.transport
        )

    # State changes, as another writer would make them.

    def put(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace ``obj``; return it as stored (with its new resourceVersion)."""
        stored = copy.deepcopy(obj)
        stored.setdefault("apiVersion", self.api_version)
        stored.setdefault("kind", self.kind)
        self._version = next(self._versions)
        stored["metadata"]["resourceVersion"] = str(self._version)
        objects = self._objects.setdefault(path, {})
        change = "MODIFIED" if key_of(stored) in objects else "ADDED"
        objects[key_of(stored)] = stored
        self._record(path, change, stored)
        return copy.deepcopy(stored)

    def delete(self, path: str, key: str) -> dict[str, Any]:
        gone = self._objects[path].pop(key)
        self._version = next(self._versions)
        gone["metadata"]["resourceVersion"] = str(self._version)
        self._record(path, "DELETED", gone)
        return copy.deepcopy(gone)

    def compact(self) -> None:
        """Forget history up to now: older resourceVersions and continue tokens expire."""
        self._compacted = self._version
        for changes in self._history.values():
            changes.clear()

    @property
    def resource_version(self) -> str:
        return str(self._version)

    # Faults.

    def inject(
        self,
        outcome: httpx.Response | Exception,
        *,
        match: Callable[[httpx.Request], bool] = always,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests that ``match`` with ``outcome`` (or raise it)."""
        self._injections.append(_Injection(outcome, match, times))

    def open_watches(self) -> list[WatchStream]:
        return [stream for stream in self.watches if not stream.closed]

    def bookmark(self) -> None:
        for stream in self.open_watches():
            if stream.bookmarks:
                stream.send({"type": "BOOKMARK", "object": self._bookmark_object()})

    def break_watches(self) -> None:
        for stream in self.open_watches():
            stream.fail(httpx.ReadError("connection reset by peer"))

    def end_watches(self) -> None:
        for stream in self.open_watches():
            stream.end()

    def expire_watches(self) -> None:
        for stream in self.open_watches():
            stream.send({"type": "ERROR", "object": status(410, "Expired", "too old")})
            stream.end()

    # What was asked.

    def watch_requests(self) -> list[httpx.Request]:
        return [request for request in self.requests if is_watch(request)]

    def list_requests(self) -> list[httpx.Request]:
        return [request for request in self.requests if is_list(request)]

    # The wire.

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.clock is not None:
            self.times.append(self.clock.monotonic())
        for injection in self._injections:
            if injection.times > 0 and injection.match(request):
                injection.times -= 1
                if isinstance(injection.outcome, Exception):
                    raise injection.outcome
                return injection.outcome
        if request.method != "GET":
            return httpx.Response(405, json=status(405, "MethodNotAllowed"))
        if is_watch(request):
            return self._watch(request)
        return self._list(request)

    def _list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        path = request.url.path
        token = params.get("continue")
        if token:
            version, offset = (int(part) for part in token.split("/"))
            if version < self._compacted:
                return httpx.Response(410, json=status(410, "Expired", "continue token expired"))
        else:
            version, offset = self._version, 0
        selected = sorted(
            (obj for obj in self._objects.get(path, {}).values() if _selects(request, obj)),
            key=key_of,
        )
        limit = int(params.get("limit", 0)) or len(selected)
        page = selected[offset : offset + limit]
        metadata: dict[str, Any] = {"resourceVersion": str(version)}
        if offset + limit < len(selected):
            metadata["continue"] = f"{version}/{offset + limit}"
            metadata["remainingItemCount"] = len(selected) - offset - limit
        items = [{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")} for obj in page]
        body = {
            "apiVersion": self.api_version,
            "kind": f"{self.kind}List",
            "metadata": metadata,
            "items": copy.deepcopy(items),
        }
        return httpx.Response(200, json=body)

    def _watch(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        stream = WatchStream(request, bookmarks=params.get("allowWatchBookmarks") == "true")
        self.watches.append(stream)
        since = int(params.get("resourceVersion") or self._version)
        if since < self._compacted:
            stream.send({"type": "ERROR", "object": status(410, "Expired", "too old")})
            stream.end()
        else:
            for change in self._history.get(request.url.path, []):
                if change.version > since and _selects(request, change.object):
                    stream.send({"type": change.type, "object": copy.deepcopy(change.object)})
        headers = {"content-type": "application/json"}
        return httpx.Response(200, headers=headers, stream=stream)

    def _record(self, path: str, change: str, obj: dict[str, Any]) -> None:
        self._history.setdefault(path, []).append(_Change(self._version, change, obj))
        for stream in self.open_watches():
            if stream.request.url.path == path and _selects(stream.request, obj):
                stream.send({"type": change, "object": copy.deepcopy(obj)})

    def _bookmark_object(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "metadata": {"resourceVersion": str(self._version)},
        }


def _selects(request: httpx.Request, obj: dict[str, Any]) -> bool:
    selector = request.url.params.get("labelSelector")
    if not selector:
        return True
    labels = obj["metadata"].get("labels") or {}
    wanted = (term.split("=", 1) for term in selector.split(","))
    return all(labels.get(name) == value for name, value in wanted)


# Driving the code under test.


async def eventually(condition: Callable[[], bool], *, turns: int = 1000) -> None:
    """Let other tasks run until ``condition`` holds; fail after ``turns`` loop turns."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


async def idle(turns: int = 50) -> None:
    """Let other tasks run for a while (to show that something does *not* happen)."""
    for _ in range(turns):
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def running(work: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``work`` as a task for the block, then cancel it; its failures surface here."""
    async with asyncio.TaskGroup() as group:
        task = group.create_task(work)
        await asyncio.sleep(0)
        try:
            yield task
        finally:
            task.cancel()


async def settle_until(clock: FakeClock, condition: Callable[[], bool], step: float) -> None:
    """Advance ``clock`` by ``step`` until ``condition`` holds (at most 1000 steps)."""
    for _ in range(1000):
        if condition():
            return
        await clock.advance(step)
    raise AssertionError("condition never became true")


class FixedRandom(random.Random):
    """A random source that always draws ``fraction``: jitter becomes predictable."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction

    def random(self) -> float:
        return self.fraction
