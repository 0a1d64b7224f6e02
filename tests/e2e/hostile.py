"""Helpers for the hostile-input suites (``test_hostile_*.py``): a canary Placement that must
never move, a namespace per test that is cleaned up on every cluster, and checks that the
controller is still alive.

Every hostile case ends with :func:`unharmed`: the controller process has not exited and
answers ``/healthz``, and the canary (its own hub namespace, one ConfigMap on every
member) is still Applied with each member copy at the resourceVersion it had when the
module started. A moved resourceVersion means something rewrote or recreated it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from flotilla.kube import KubeClient, KubeError, NotFound, resource_path
from tests.e2e.controllers import ControllerProcess
from tests.e2e.localfleet import LocalFleet
from tests.e2e.placements import (
    HUB,
    PLACEMENTS,
    condition,
    config_map,
    create,
    get_or_none,
    placement,
    placement_status,
    wait_condition,
)
from tests.e2e.waiting import eventually

SETTLE = 45.0
"""How long a Placement may take to report on a change (one pass, a member deadline)."""


def alive(controller: ControllerProcess) -> None:
    """The controller process is running and its health endpoint answers."""
    assert controller.process.poll() is None, controller.log.read_text()[-3000:]
    answer = httpx.get(f"http://127.0.0.1:{controller.port}/healthz", timeout=5)
    assert answer.status_code == 200


def namespace_body(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def configmap_path(namespace: str, name: str) -> str:
    return resource_path("v1", "configmaps", namespace=namespace, name=name)


def placement_path(namespace: str, name: str = "") -> str:
    base = f"{PLACEMENTS}/namespaces/{namespace}/placements"
    return f"{base}/{name}" if name else base


async def on_members(
    fleet: LocalFleet, path: str, *, members: list[str] | None = None
) -> dict[str, dict[str, Any] | None]:
    """The object at ``path`` on each member (None where it is missing)."""
    found: dict[str, dict[str, Any] | None] = {}
    for member in members or [m.name for m in fleet.members]:
        async with fleet.client(member, timeout=5) as client:
            found[member] = await get_or_none(client, path)
    return found


async def wait_status(
    fleet: LocalFleet,
    namespace: str,
    name: str,
    check: Callable[[dict[str, Any]], bool],
    *,
    what: str,
    generation: int | None = None,
    timeout: float = SETTLE,
) -> dict[str, Any]:
    """The Placement's status once it has seen ``generation`` (if given) and ``check`` holds.

    Waiting on observedGeneration is how a test knows the controller has *looked* at a
    change before it asserts that nothing happened.
    """

    async def probe() -> dict[str, Any] | None:
        status = await placement_status(fleet, namespace, name)
        if generation is not None and int(status.get("observedGeneration") or 0) < generation:
            return None
        return status if check(status) else None

    return await eventually(probe, timeout=timeout, what=f"{namespace}/{name}: {what}")


def is_(type_: str, value: str, *, reason: str | None = None) -> Callable[[dict[str, Any]], bool]:
    def check(status: dict[str, Any]) -> bool:
        found = condition(status, type_)
        return found.get("status") == value and (reason is None or found.get("reason") == reason)

    return check


def applied(objects: int) -> Callable[[dict[str, Any]], bool]:
    """Applied=True for exactly ``objects`` objects: the templates are in the cache too (a
    first pass may run before the hub's watch delivered a template just created)."""

    def check(status: dict[str, Any]) -> bool:
        found = condition(status, "Applied")
        return found.get("status") == "True" and found.get("message", "").startswith(
            f"{objects} objects on "
        )

    return check


async def generation_of(fleet: LocalFleet, namespace: str, name: str) -> int:
    async with fleet.client(HUB) as hub:
        item = await hub.get(placement_path(namespace, name))
    return int(item["metadata"]["generation"])


async def patch_placement(
    fleet: LocalFleet, namespace: str, name: str, patch: dict[str, Any]
) -> int:
    """Merge-patch the Placement; its new generation."""
    async with fleet.client(HUB) as hub:
        item = await hub.merge_patch(placement_path(namespace, name), patch)
    return int(item["metadata"]["generation"])


@dataclass
class Canary:
    """A Placement in its own namespace that no hostile case may touch."""

    namespace: str
    versions: dict[str, str]

    async def unchanged(self, fleet: LocalFleet) -> None:
        status = await placement_status(fleet, self.namespace, "canary")
        assert condition(status, "Applied").get("status") == "True", status
        copies = await on_members(fleet, configmap_path(self.namespace, "canary"))
        now = {m: (c or {}).get("metadata", {}).get("resourceVersion") for m, c in copies.items()}
        assert now == self.versions, "the canary's member copies were rewritten or removed"
        assert all(c and c["data"] == {"song": "still singing"} for c in copies.values())


@contextlib.asynccontextmanager
async def placed_canary(fleet: LocalFleet) -> AsyncIterator[Canary]:
    """The canary: tolerates every taint and never fails over, so no hostile case on a
    shared Cluster (a taint, a hang) is a reason for it to change."""
    namespace = f"canary-{uuid.uuid4().hex[:8]}"
    members = [m.name for m in fleet.members]
    async with fleet.client(HUB) as hub:
        await hub.create(resource_path("v1", "namespaces"), namespace_body(namespace))
        await create(hub, namespace, config_map("canary", {"song": "still singing"}))
        spec = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "canary"}],
            "clusterAffinity": {"clusterNames": members},
            "tolerations": [{"operator": "Exists"}],
            "failover": {"enabled": False},
        }
        await create(hub, namespace, placement("canary", spec))
    try:
        await wait_condition(fleet, namespace, "canary", "Applied", "True", timeout=60)

        async def everywhere() -> dict[str, str] | None:
            copies = await on_members(fleet, configmap_path(namespace, "canary"))
            if not all(copies.values()):
                return None
            return {m: c["metadata"]["resourceVersion"] for m, c in copies.items() if c}

        versions = await eventually(everywhere, timeout=30, what="canary on every member")
        yield Canary(namespace, versions)
    finally:
        await remove_namespace(fleet, namespace)


async def unharmed(fleet: LocalFleet, canary: Canary, controller: ControllerProcess) -> None:
    """The controller is alive and the canary did not move."""
    alive(controller)
    await canary.unchanged(fleet)


async def remove_namespace(fleet: LocalFleet, namespace: str) -> None:
    """Delete the namespace's Placements (their finalizer clears members), then the
    namespace on the hub and on every member."""
    async with fleet.client(HUB) as hub:
        with contextlib.suppress(KubeError):
            await hub.delete(placement_path(namespace))  # a deletecollection

        async def gone() -> bool:
            listed = await hub.get(placement_path(namespace))
            return not listed.get("items")

        try:
            await eventually(gone, timeout=30, what=f"placements of {namespace} gone")
        except AssertionError:  # a controller that cannot finish: do not leak the namespace
            for item in (await hub.get(placement_path(namespace))).get("items") or []:
                with contextlib.suppress(KubeError):
                    path = placement_path(namespace, item["metadata"]["name"])
                    await hub.merge_patch(path, {"metadata": {"finalizers": None}})
        with contextlib.suppress(NotFound):
            await hub.delete(resource_path("v1", "namespaces", name=namespace))
    for member in fleet.members:
        async with fleet.client(member.name, timeout=5) as client:
            with contextlib.suppress(Exception):
                await client.delete(resource_path("v1", "namespaces", name=namespace))


@contextlib.asynccontextmanager
async def own_namespace(fleet: LocalFleet) -> AsyncIterator[str]:
    """A hub namespace for one test, removed with everything in it afterwards."""
    namespace = f"hostile-{uuid.uuid4().hex[:8]}"
    async with fleet.client(HUB) as hub:
        await hub.create(resource_path("v1", "namespaces"), namespace_body(namespace))
    try:
        yield namespace
    finally:
        await remove_namespace(fleet, namespace)


async def all_hold(
    fleet: LocalFleet, namespace: str, names: list[str], *, members: list[str]
) -> bool:
    """Every ConfigMap of ``names`` is on every member of ``members``."""
    for name in names:
        copies = await on_members(fleet, configmap_path(namespace, name), members=members)
        if not all(copies.values()):
            return False
    return True


async def apply_crd(client: KubeClient, crd: dict[str, Any]) -> None:
    """Create a CRD and wait until it is served."""
    path = resource_path("apiextensions.k8s.io/v1", "customresourcedefinitions")
    await client.create(path, crd)
    name = crd["metadata"]["name"]
    group, version = crd["spec"]["group"], crd["spec"]["versions"][0]["name"]
    plural = crd["spec"]["names"]["plural"]

    async def served() -> bool:
        listed = await client.get(f"/apis/{group}/{version}")
        return any(r.get("name") == plural for r in listed.get("resources") or [])

    await eventually(served, timeout=30, what=f"CRD {name} served")


async def delete_crd(client: KubeClient, name: str) -> None:
    path = resource_path("apiextensions.k8s.io/v1", "customresourcedefinitions", name=name)
    with contextlib.suppress(NotFound):
        await client.delete(path)

    async def gone() -> bool:
        return await get_or_none(client, path) is None

    await eventually(gone, timeout=30, what=f"CRD {name} deleted")


def crd(group: str, kind: str, *, scope: str = "Namespaced") -> dict[str, Any]:
    plural = kind.lower() + "s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
