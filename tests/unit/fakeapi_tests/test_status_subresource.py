import pytest

from flotilla.kube import NotFound
from tests.unit.fakeapi import CONFIGMAPS, FakeApi, configmap
from tests.unit.fakeapi_tests.objects import CLUSTERS, cluster


async def test_a_status_patch_changes_only_status() -> None:
    api = FakeApi()
    async with api.client() as client:
        created = await client.create(CLUSTERS, cluster("east"))
        patched = await client.merge_patch(
            f"{CLUSTERS}/east/status",
            {
                "status": {"nodes": 3},
                "spec": {"region": "nowhere"},
                "metadata": {"labels": {"a": "b"}},
            },
        )
    assert patched["status"] == {"nodes": 3}
    assert patched["spec"] == created["spec"]
    assert "labels" not in patched["metadata"]
    assert patched["metadata"]["generation"] == 1
    [entry] = [e for e in patched["metadata"]["managedFields"] if e.get("subresource")]
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:nodes": {}}}


async def test_a_write_to_the_main_resource_leaves_status_alone() -> None:
    api = FakeApi()
    async with api.client() as client:
        await client.create(CLUSTERS, {**cluster("east"), "status": {"nodes": 1}})
        await client.merge_patch(f"{CLUSTERS}/east/status", {"status": {"nodes": 3}})
        patched = await client.merge_patch(
            f"{CLUSTERS}/east", {"spec": {"region": "eu"}, "status": {"nodes": 0}}
        )
    assert patched["status"] == {"nodes": 3}, "status in a create or main write is dropped"
    assert patched["spec"]["region"] == "eu"
    entries = {
        (e["manager"], e.get("subresource", "")) for e in patched["metadata"]["managedFields"]
    }
    assert entries == {("kubectl-edit", ""), ("kubectl-edit", "status")}


async def test_a_resource_without_a_status_subresource_has_no_status_path() -> None:
    api = FakeApi()
    api.put(CONFIGMAPS, configmap("a"))
    async with api.client() as client:
        with pytest.raises(NotFound):
            await client.merge_patch(f"{CONFIGMAPS}/a/status", {"status": {"x": 1}})


async def test_the_status_subresources_are_configurable() -> None:
    api = FakeApi(status_subresources={CONFIGMAPS})
    api.put(CONFIGMAPS, configmap("a"))
    async with api.client() as client:
        patched = await client.merge_patch(f"{CONFIGMAPS}/a/status", {"status": {"x": 1}})
    assert patched["status"] == {"x": 1}
