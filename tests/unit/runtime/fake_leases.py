"""A fake API server holding coordination.k8s.io/v1 Leases, and candidates to run against it.

The server speaks HTTP through ``httpx.MockTransport``, so the elector under test goes
through the real ``KubeClient``. It keeps resourceVersions, answers 409 to a stale PUT or a
duplicate create, and can be broken per caller (503, client-side timeouts, requests that
never answer, 403) to simulate the API server going away for one candidate.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import enum
import itertools
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from flotilla.kube import ConnectionConfig, KubeClient
from flotilla.runtime.clock import FakeClock
from flotilla.runtime.leader import LeaderElector

NAMESPACE = "flotilla-system"
NAME = "flotilla-leader"
MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

_PATH = re.compile(
    r"^/apis/coordination\.k8s\.io/v1/namespaces/(?P<namespace>[^/]+)/leases(?:/(?P<name>[^/]+))?$"
)


class Fault(enum.Enum):
    UNAVAILABLE = "503 Service Unavailable"
    TIMEOUT = "the client times out"
    HANG = "accepts the request and never answers"
    FORBIDDEN = "403 Forbidden: RBAC does not allow it"


class FakeLeaseServer:
    """Leases in memory, with optimistic concurrency on resourceVersion."""

    def __init__(self) -> None:
        self.leases: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str, str]] = []
        """Every request as (caller, method, path), in order."""
        self.before_write: Callable[[str, httpx.Request], None] | None = None
        """Called before a POST or PUT is applied: lets another writer get in first."""
        self._faults: dict[str, Fault] = {}
        self._healed: dict[str, asyncio.Event] = {}
        self._versions = itertools.count(1)

    def transport(self, caller: str) -> httpx.MockTransport:
        async def handle(request: httpx.Request) -> httpx.Response:
            return await self._handle(caller, request)

        return httpx.MockTransport(handle)

    def break_for(self, caller: str, fault: Fault) -> None:
        self._faults[caller] = fault
        self._healed.setdefault(caller, asyncio.Event()).clear()

    def heal(self, caller: str | None = None) -> None:
        for each in [caller] if caller is not None else list(self._faults):
            self._faults.pop(each, None)
            if each in self._healed:
                self._healed[each].set()

    def lease(self, namespace: str = NAMESPACE, name: str = NAME) -> dict[str, Any]:
        return copy.deepcopy(self.leases[namespace, name])

    def spec(self, namespace: str = NAMESPACE, name: str = NAME) -> dict[str, Any]:
        spec: dict[str, Any] = self.lease(namespace, name)["spec"]
        return spec

    def write(self, spec: dict[str, Any], *, namespace: str = NAMESPACE, name: str = NAME) -> None:
        """Write a lease directly, as another candidate would (creating or updating it)."""
        current = self.leases.get((namespace, name))
        metadata = current["metadata"] if current else {"name": name, "namespace": namespace}
        self._store({"metadata": copy.deepcopy(metadata), "spec": copy.deepcopy(spec)})

    def methods(self, caller: str) -> list[str]:
        return [method for who, method, _ in self.requests if who == caller]

    def _store(self, lease: dict[str, Any]) -> dict[str, Any]:
        lease["apiVersion"] = "coordination.k8s.io/v1"
        lease["kind"] = "Lease"
        metadata = lease["metadata"]
        metadata["resourceVersion"] = str(next(self._versions))
        metadata.setdefault("uid", f"uid-{metadata['name']}")
        self.leases[metadata["namespace"], metadata["name"]] = lease
        return copy.deepcopy(lease)

    async def _handle(self, caller: str, request: httpx.Request) -> httpx.Response:
        self.requests.append((caller, request.method, request.url.path))
        fault = self._faults.get(caller)
        if fault is Fault.UNAVAILABLE:
            return _status(503, "ServiceUnavailable", "the server is shutting down")
        if fault is Fault.TIMEOUT:
            raise httpx.ReadTimeout("timed out", request=request)
        if fault is Fault.FORBIDDEN:
            return _status(403, "Forbidden", "leases is forbidden")
        if fault is Fault.HANG:
            await self._healed[caller].wait()
            return _status(503, "ServiceUnavailable", "the connection was reset")
        match = _PATH.match(request.url.path)
        if match is None:
            return _status(404, "NotFound", "no such path")
        namespace, name = match["namespace"], match["name"]
        if request.method in ("POST", "PUT") and self.before_write is not None:
            self.before_write(caller, request)
        if request.method == "GET" and name:
            if (namespace, name) not in self.leases:
                return _status(404, "NotFound", f'leases "{name}" not found')
            return httpx.Response(200, json=self.lease(namespace, name))
        if request.method == "POST" and not name:
            body = json.loads(request.content)
            key = (namespace, body["metadata"]["name"])
            if key in self.leases:
                return _status(409, "AlreadyExists", f'leases "{key[1]}" already exists')
            body["metadata"]["namespace"] = namespace
            return httpx.Response(201, json=self._store(body))
        if request.method == "PUT" and name:
            body = json.loads(request.content)
            if (namespace, name) not in self.leases:
                return _status(404, "NotFound", f'leases "{name}" not found')
            stored = self.leases[namespace, name]["metadata"]["resourceVersion"]
            sent = body["metadata"].get("resourceVersion")
            if sent is not None and sent != stored:
                return _status(409, "Conflict", "the object has been modified")
            return httpx.Response(200, json=self._store(body))
        return _status(405, "MethodNotAllowed", "not supported by the fake")


def _status(code: int, reason: str, message: str) -> httpx.Response:
    body = {"kind": "Status", "status": "Failure", "reason": reason, "message": message}
    return httpx.Response(code, json={**body, "code": code})


@dataclass
class Candidate:
    """One elector, with a ``lead`` that runs until cancelled and records what happened."""

    identity: str
    elector: LeaderElector
    client: KubeClient
    leads: int = 0
    leading_now: bool = False
    started: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: BaseException | None = None
    task: asyncio.Task[None] | None = None

    async def lead(self) -> None:
        self.leads += 1
        self.leading_now = True
        self.started.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.leading_now = False
            self.stopped.set()

    async def run(self) -> None:
        try:
            await self.elector.run(self.lead)
        except Exception as error:
            self.outcome = error
        finally:
            self.finished.set()

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await settle()


def candidate(
    server: FakeLeaseServer, clock: FakeClock, identity: str, **options: float
) -> Candidate:
    client = KubeClient(
        ConnectionConfig(server="https://hub.test:6443"), transport=server.transport(identity)
    )
    elector = LeaderElector(
        client, namespace=NAMESPACE, name=NAME, identity=identity, clock=clock, **options
    )
    return Candidate(identity=identity, elector=elector, client=client)


@contextlib.asynccontextmanager
async def running(server: FakeLeaseServer, *candidates: Candidate) -> AsyncIterator[None]:
    """Run the candidates for the duration of the block; then cancel them (they release)."""
    try:
        async with asyncio.TaskGroup() as group:
            for each in candidates:
                each.task = group.create_task(each.run(), name=f"candidate {each.identity}")
            await settle()
            try:
                yield
            finally:
                server.heal()
                for each in candidates:
                    assert each.task is not None
                    each.task.cancel()
    finally:
        for each in candidates:
            await each.client.aclose()


async def settle() -> None:
    """Let every runnable task run until it blocks (the fake API answers without I/O)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def advance(clock: FakeClock, seconds: float, *, step: float = 0.25) -> None:
    """Move the fake clock forward in small steps, letting tasks run after each."""
    steps = int(seconds // step)
    for _ in range(steps):
        await clock.advance(step)
        await settle()
    rest = seconds - steps * step
    if rest > 0:
        await clock.advance(rest)
    await settle()


async def advance_watching(
    clock: FakeClock, seconds: float, check: Callable[[], None], *, step: float = 0.25
) -> None:
    """Like ``advance`` (in whole steps), calling ``check`` after every step."""
    for _ in range(int(seconds // step)):
        await advance(clock, step, step=step)
        check()
