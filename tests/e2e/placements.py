"""Helpers for placement end-to-end tests: templates on the hub, reading members."""

from __future__ import annotations

import contextlib
from typing import Any

from flotilla.api import ClusterName
from flotilla.kube import KubeClient, NotFound, resource_path
from tests.e2e.localfleet import LocalFleet
from tests.e2e.waiting import eventually

HUB = ClusterName("hub")
PLACEMENTS = "/apis/flotilla.io/v1alpha1"


def deployment(name: str, *, replicas: int | None, image: str = "nginx:1.27") -> dict[str, Any]:
    labels = {"app": name}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": name, "image": image}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }


def config_map(
    name: str, data: dict[str, str], labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": data,
    }


def placement(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "flotilla.io/v1alpha1",
        "kind": "Placement",
        "metadata": {"name": name},
        "spec": spec,
    }


def path_of(manifest: dict[str, Any], namespace: str) -> str:
    plural = {"Deployment": "deployments", "ConfigMap": "configmaps", "Service": "services"}
    kind = manifest["kind"]
    return resource_path(
        manifest["apiVersion"], plural[kind], namespace=namespace, name=manifest["metadata"]["name"]
    )


async def create(client: KubeClient, namespace: str, manifest: dict[str, Any]) -> Any:
    """Create a Placement, or server-side apply a template (as `kubectl apply --server-side`:
    fields the template leaves out, such as replicas for an HPA, then stay unowned)."""
    if manifest["kind"] == "Placement":
        return await client.create(f"{PLACEMENTS}/namespaces/{namespace}/placements", manifest)
    return await client.apply(path_of(manifest, namespace), manifest, field_manager="e2e-user")


async def namespace_of_this_hub(fleet: LocalFleet, member: ClusterName, name: str) -> None:
    """Create namespace ``name`` on ``member`` as this hub's Flotilla would (its labels)."""
    async with fleet.client(HUB) as hub:
        system = await hub.get(resource_path("v1", "namespaces", name="flotilla-system"))
    labels = {"flotilla.io/managed-by": "flotilla", "flotilla.io/hub": system["metadata"]["uid"]}
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    async with fleet.client(member) as client:
        await client.create(resource_path("v1", "namespaces"), body)


async def get_or_none(client: KubeClient, path: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = await client.get(path)
    except NotFound:
        return None
    return found


async def placement_status(fleet: LocalFleet, namespace: str, name: str) -> dict[str, Any]:
    async with fleet.client(HUB) as hub:
        item = await hub.get(f"{PLACEMENTS}/namespaces/{namespace}/placements/{name}")
    return dict(item.get("status") or {})


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c["type"] == type_), {})


async def member_replicas(fleet: LocalFleet, namespace: str, name: str) -> dict[str, int]:
    """spec.replicas of Deployment ``name`` per member (members without it are left out)."""
    found = {}
    for member in fleet.members:
        async with fleet.client(member.name, timeout=3) as client:
            with contextlib.suppress(Exception):
                item = await get_or_none(
                    client, resource_path("apps/v1", "deployments", namespace=namespace, name=name)
                )
                if item is not None:
                    found[member.name] = int(item["spec"].get("replicas") or 0)
    return found


async def wait_condition(
    fleet: LocalFleet, namespace: str, name: str, type_: str, value: str, *, timeout: float = 30
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        status = await placement_status(fleet, namespace, name)
        return status if condition(status, type_).get("status") == value else None

    return await eventually(check, timeout=timeout, what=f"{name}: {type_}={value}")
