"""A hub and members at the wire, and the propagation controller on them under fake time.

The hub is a ``FakeApi`` with discovery documents (so the hub's ``RestMapper`` resolves
ConfigMap templates), the ``flotilla-system`` namespace whose uid is the hub id, the
namespace ``web`` for Placements and templates, and one Cluster plus kubeconfig Secret per
member. Members are ``FakeApi``s too, reached through the real ``MemberConnections`` and
its ``connect`` seam (the kubeconfig's server picks the member's transport), so member
clients, mappers and informers are the production ones.

Planning runs in a worker thread (``asyncio.to_thread``), so waiting for the controller
polls with short real pauses (``Fleet.until``) instead of counting loop turns; fake time
moves only when a test says so (``Fleet.advance``). Waiting is always for a signal: a
status write, a request, a counter of finished passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from flotilla.api import API_VERSION, SYSTEM_NAMESPACE, ClusterName
from flotilla.api.labels import HUB_CLUSTER
from flotilla.clusters.connections import MemberConnections
from flotilla.kube import ConnectionConfig, KubeClient
from flotilla.propagation.controller import PropagationController
from flotilla.runtime.clock import FakeClock
from flotilla.runtime.informer import SharedInformers
from flotilla.runtime.metrics import Metrics

from ..clusters.hubfake import cluster, kubeconfig, secret
from ..fakeapi import FakeApi, idle
from ..kube.fake_discovery import API_VERSIONS, CORE_V1, FLOTILLA_V1ALPHA1, api_group_list

HUB_ID = "0e7c1d2a-hub0-4f00-8000-000000000001"
"""The uid of the hub's flotilla-system namespace: the ``flotilla.io/hub`` label value."""
NAMESPACE = "web"
PLACEMENT = "app"
OWNER = f"{NAMESPACE}.{PLACEMENT}"
NAMESPACES = "/api/v1/namespaces"
CLUSTERS = f"/apis/{API_VERSION}/clusters"
SECRETS = f"/api/v1/namespaces/{SYSTEM_NAMESPACE}/secrets"


def placements(namespace: str = NAMESPACE) -> str:
    return f"/apis/{API_VERSION}/namespaces/{namespace}/placements"


def configmaps(namespace: str = NAMESPACE) -> str:
    return f"/api/v1/namespaces/{namespace}/configmaps"


def discovery() -> dict[str, Any]:
    return {
        "/api": API_VERSIONS,
        "/api/v1": CORE_V1,
        "/apis": api_group_list(flotilla=True),
        "/apis/flotilla.io/v1alpha1": FLOTILLA_V1ALPHA1,
    }


def ready_status() -> dict[str, Any]:
    """A Cluster Ready for a long time (hysteresis lets it be chosen at once)."""
    since = "2025-01-01T00:00:00Z"
    condition = {"status": "True", "lastTransitionTime": since, "message": "ok"}
    return {
        "conditions": [
            {"type": "Ready", "reason": "ClusterReady", **condition},
            {"type": "Reachable", "reason": "Reachable", **condition},
        ]
    }


def placement_spec(**changes: Any) -> dict[str, Any]:
    """Every ConfigMap of the namespace, on clusters labelled env=prod, no grace period."""
    spec: dict[str, Any] = {
        "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
        "clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}},
        "deletionGuard": {"gracePeriodSeconds": 0},
    }
    spec.update(changes)
    return spec


@dataclass
class Fleet:
    """The hub, its members by name, the clock and the metrics the controller counts into."""

    clock: FakeClock = field(default_factory=FakeClock)
    metrics: Metrics = field(default_factory=Metrics)
    members: dict[str, FakeApi] = field(default_factory=dict)
    hub: FakeApi = field(init=False)
    controller: PropagationController | None = None

    def __post_init__(self) -> None:
        self.hub = FakeApi(clock=self.clock, documents=discovery())
        for name, uid in ((SYSTEM_NAMESPACE, HUB_ID), (NAMESPACE, "ns-web"), ("kube-system", "")):
            # The namespace controller's finalizer, as metadata so that FakeApi holds a
            # deleted namespace (Terminating) the way the real one does.
            meta: dict[str, Any] = {"name": name, "finalizers": ["kubernetes"]}
            if uid:
                meta["uid"] = uid
            self.hub.put(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": meta})

    # -- building the world -----------------------------------------------------------------

    def add_member(self, name: str, **labels: str) -> FakeApi:
        """A member registered on the hub, Ready, with ``labels`` (env=prod is chosen)."""
        member = FakeApi(clock=self.clock, documents=discovery())
        self.members[name] = member
        document = kubeconfig(cluster={"server": f"https://{name}.test"})
        self.hub.put(SECRETS, secret(f"{name}-kubeconfig", document))
        registered = cluster(name)
        registered["metadata"]["labels"] = labels
        self.hub.put(CLUSTERS, {**registered, "status": ready_status()})
        return member

    def add_template(self, name: str, namespace: str = NAMESPACE, **data: str) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": data or {"key": name},
        }
        self.hub.create(configmaps(namespace), body, manager="kubectl")

    def add_placement(
        self, namespace: str = NAMESPACE, *, finalizers: tuple[str, ...] = (), **spec: Any
    ) -> None:
        meta: dict[str, Any] = {"name": PLACEMENT, "namespace": namespace}
        if finalizers:
            meta["finalizers"] = list(finalizers)
        body = {
            "apiVersion": API_VERSION,
            "kind": "Placement",
            "metadata": meta,
            "spec": placement_spec(**spec),
        }
        self.hub.create(placements(namespace), body, manager="kubectl")

    def change_placement(self, patch: dict[str, Any], namespace: str = NAMESPACE) -> None:
        self.hub.merge_patch(f"{placements(namespace)}/{PLACEMENT}", patch, manager="kubectl")

    async def delete(self, path: str) -> None:
        """DELETE through the wire, as kubectl does: finalizers hold the object."""
        async with self.hub.client() as client:
            await client.delete(path)

    async def delete_placement(self, namespace: str = NAMESPACE) -> None:
        await self.delete(f"{placements(namespace)}/{PLACEMENT}")

    def relabel(self, name: str, **labels: str) -> None:
        self.hub.merge_patch(f"{CLUSTERS}/{name}", {"metadata": {"labels": labels}})

    # -- reading it -------------------------------------------------------------------------

    def placement(self, namespace: str = NAMESPACE) -> dict[str, Any]:
        return self.hub.get(f"{placements(namespace)}/{PLACEMENT}") or {}

    def condition(self, type_: str, namespace: str = NAMESPACE) -> dict[str, Any]:
        conditions = (self.placement(namespace).get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == type_), {})

    def is_(
        self, type_: str, status: str, reason: str | None = None, namespace: str = NAMESPACE
    ) -> Callable[[], bool]:
        """A condition for ``until``: the Placement's ``type_`` condition is ``status``."""

        def holds() -> bool:
            found = self.condition(type_, namespace)
            return found.get("status") == status and reason in (None, found.get("reason"))

        return holds

    def resources(self, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
        return list((self.placement(namespace).get("status") or {}).get("resources") or [])

    def on(self, member: str, namespace: str = NAMESPACE) -> dict[str, dict[str, Any]]:
        """The ConfigMaps on ``member`` in ``namespace``, by name."""
        objects = self.members[member].objects(configmaps(namespace))
        return {item["metadata"]["name"]: item for item in objects}

    def deletes(self, member: str) -> list[httpx.Request]:
        return self.members[member].requests(method="DELETE")

    def writes(self, api: FakeApi) -> list[httpx.Request]:
        """Requests that change something (a dry run, as admission checks do, does not)."""
        return [
            r
            for r in api.requests
            if r.method in ("POST", "PUT", "PATCH", "DELETE") and "dryRun" not in r.url.params
        ]

    def passes(self) -> float:
        """Reconciles of the propagation controller that finished, whatever their result."""
        total = 0.0
        for result in ("success", "error", "requeue", "requeue_after"):
            labels = {"controller": "propagation", "result": result}
            value = self.metrics.registry.get_sample_value(
                "controller_runtime_reconcile_total", labels
            )
            total += value or 0.0
        return total

    # -- driving ----------------------------------------------------------------------------

    async def until(self, condition: Callable[[], bool], *, seconds: float = 3.0) -> None:
        """Let the controller run until ``condition`` holds (real time: planning is a thread)."""
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("condition never became true")
            await asyncio.sleep(0.001)

    async def advance(self, seconds: float, *, step: float = 0.25) -> None:
        """Move fake time in steps, letting every pass in flight finish before each step.

        A pass runs partly in a thread, so ``FakeClock.advance`` alone would move time on
        while a pass is in flight, and the delay the pass then asks for (measured from
        the clock when it asks) would start late. Steps bound that error by ``step``.
        (For a pass that is held on purpose, use ``clock.advance``.)
        """
        steps = max(1, math.ceil(seconds / step))
        for _ in range(steps):
            await self.settle()
            await self.clock.advance(seconds / steps)
        await self.settle()

    async def settle(self) -> None:
        """Wait until no key waits in the queue and no worker is in a pass."""
        assert self.controller is not None, "use `controlling(fleet)` first"
        queue = self.controller.queue
        labels = {"controller": "propagation"}
        name = "controller_runtime_active_workers"
        await idle()
        await self.until(
            lambda: queue.depth == 0 and not self.metrics.registry.get_sample_value(name, labels)
        )

    def connect(self, config: ConnectionConfig, timeout: float) -> KubeClient:
        name = config.server.removeprefix("https://").removesuffix(".test")
        return KubeClient(config, timeout=timeout, transport=self.members[name].transport)


@contextlib.asynccontextmanager
async def controlling(
    fleet: Fleet, *, leading: Callable[[], bool] = lambda: True
) -> AsyncIterator[PropagationController]:
    """The propagation controller, with real member connections, running for the block."""
    async with (
        fleet.hub.client() as hub,
        SharedInformers({ClusterName(HUB_CLUSTER): hub}, clock=fleet.clock) as informers,
    ):
        members = MemberConnections(informers, clock=fleet.clock, connect=fleet.connect)
        controller = PropagationController(
            hub, informers, members, clock=fleet.clock, metrics=fleet.metrics, leading=leading
        )
        fleet.controller = controller
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(members.run()), group.create_task(controller.run())]
            try:
                yield controller
            finally:
                for task in tasks:
                    task.cancel()
