import json
from pathlib import Path

import yaml

from flotilla.kube import resource_path
from tests.e2e.localfleet import LocalFleet


async def test_every_cluster_serves_the_api_on_its_own_address(fleet: LocalFleet) -> None:
    seen = set()
    for cluster in fleet.clusters:
        async with fleet.client(cluster.name) as client:
            version = await client.get("/version")
            namespaces = await client.get(resource_path("v1", "namespaces"))
        assert version["gitVersion"].startswith("v1.")
        assert "kube-system" in {item["metadata"]["name"] for item in namespaces["items"]}
        seen.add(client.server)
    assert len(seen) == len(fleet.clusters)


async def test_members_have_ready_simulated_nodes_and_the_hub_has_none(fleet: LocalFleet) -> None:
    for cluster in fleet.clusters:
        async with fleet.client(cluster.name) as client:
            nodes = (await client.get(resource_path("v1", "nodes")))["items"]
        if cluster.role == "hub":
            assert nodes == []
            continue
        assert len(nodes) == cluster.nodes
        for node in nodes:
            ready = {c["type"]: c["status"] for c in node["status"].get("conditions", [])}
            assert ready.get("Ready") == "True", node["metadata"]["name"]
            assert (
                node["metadata"]["labels"]["topology.kubernetes.io/region"]
                == (cluster.labels["region"])
            )


def _pids(fleet: LocalFleet) -> dict[str, int]:
    state = json.loads((fleet.directory / "fleet.json").read_text())
    return {
        f"{cluster}/{component}": record["pid"]
        for cluster, components in state["processes"].items()
        for component, record in components.items()
    }


def test_a_second_up_changes_nothing(fleet: LocalFleet) -> None:
    before = _pids(fleet)
    result = fleet.cli("up")
    assert _pids(fleet) == before
    for cluster in fleet.clusters:
        assert cluster.name in result.stdout


def test_status_reports_every_component_running(fleet: LocalFleet) -> None:
    status = json.loads(fleet.cli("status", "-o", "json").stdout)
    assert [c["name"] for c in status["clusters"]] == [c.name for c in fleet.clusters]
    for cluster in status["clusters"]:
        assert cluster["ready"] is True, cluster
        assert set(cluster["components"].values()) == {"running"}, cluster


def test_the_kubeconfig_has_a_context_per_cluster(fleet: LocalFleet) -> None:
    path = fleet.cli("kubeconfig").stdout.strip()
    assert path == str(fleet.kubeconfig)
    contexts = [c["name"] for c in yaml.safe_load(Path(path).read_text())["contexts"]]
    assert contexts == [c.name for c in fleet.clusters]
