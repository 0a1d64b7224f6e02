"""Members behave like real clusters: workloads run on simulated nodes, services get
endpoints, namespaces delete."""

import ipaddress
import uuid
from typing import Any

from flotilla.api import ClusterName
from flotilla.kube import KubeClient, NotFound, resource_path
from tests.e2e.localfleet import LocalFleet
from tests.e2e.waiting import eventually

LABELS = {"app": "web"}


def _deployment(replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": LABELS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }


async def _available(client: KubeClient, ns: str, replicas: int) -> bool:
    path = resource_path("apps/v1", "deployments", namespace=ns, name="web")
    status = (await client.get(path)).get("status", {})
    return bool(status.get("availableReplicas") == replicas)


async def test_a_deployment_becomes_available_with_pod_ips_from_the_member_range(
    fleet: LocalFleet, ns: str
) -> None:
    member = fleet.members[0]
    async with fleet.client(member.name) as client:
        await client.create(resource_path("apps/v1", "deployments", namespace=ns), _deployment(3))
        await eventually(lambda: _available(client, ns, 3), timeout=60, what="3 available")
        pods = (await client.get(resource_path("v1", "pods", namespace=ns)))["items"]
    assert len(pods) == 3
    pod_range = ipaddress.ip_network(member.pod_cidr)
    for pod in pods:
        assert ipaddress.ip_address(pod["status"]["podIP"]) in pod_range
        assert pod["spec"]["nodeName"].startswith(f"{member.name}-node-")


async def test_a_service_gets_endpoint_slices_with_the_pod_ips(fleet: LocalFleet, ns: str) -> None:
    member = fleet.members[-1]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": LABELS, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    async with fleet.client(member.name) as client:
        await client.create(resource_path("apps/v1", "deployments", namespace=ns), _deployment(2))
        await client.create(resource_path("v1", "services", namespace=ns), service)
        await eventually(lambda: _available(client, ns, 2), timeout=60, what="2 available")

        async def endpoint_ips() -> set[str] | None:
            slices = await client.get(
                resource_path("discovery.k8s.io/v1", "endpointslices", namespace=ns),
                labelSelector="kubernetes.io/service-name=web",
            )
            ips = {
                address
                for item in slices["items"]
                for endpoint in item.get("endpoints") or []
                if endpoint.get("conditions", {}).get("ready")
                for address in endpoint["addresses"]
            }
            return ips if len(ips) == 2 else None

        ips = await eventually(endpoint_ips, timeout=30, what="2 ready endpoints")
        pods = (await client.get(resource_path("v1", "pods", namespace=ns)))["items"]
    assert ips == {pod["status"]["podIP"] for pod in pods}


async def test_deleting_a_namespace_with_pods_completes(fleet: LocalFleet, ns: str) -> None:
    member = fleet.members[0]
    async with fleet.client(member.name) as client:
        await client.create(resource_path("apps/v1", "deployments", namespace=ns), _deployment(2))
        await eventually(lambda: _available(client, ns, 2), timeout=60, what="2 available")
        await client.delete(resource_path("v1", "namespaces", name=ns))

        async def gone() -> bool:
            try:
                await client.get(resource_path("v1", "namespaces", name=ns))
            except NotFound:
                return True
            return False

        await eventually(gone, timeout=90, what=f"namespace {ns} deleted")


async def test_the_hub_deletes_namespaces_though_it_runs_no_workloads(fleet: LocalFleet) -> None:
    name = f"e2e-hub-{uuid.uuid4().hex[:8]}"
    async with fleet.client(ClusterName("hub")) as client:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        await client.create(resource_path("v1", "namespaces"), body)
        config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "template"}}
        await client.create(resource_path("v1", "configmaps", namespace=name), config_map)
        await client.delete(resource_path("v1", "namespaces", name=name))

        async def gone() -> bool:
            try:
                await client.get(resource_path("v1", "namespaces", name=name))
            except NotFound:
                return True
            return False

        await eventually(gone, timeout=60, what=f"hub namespace {name} deleted")
