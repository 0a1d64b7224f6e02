import pytest

from flotilla.kube import Conflict, Invalid, NotFound
from tests.unit.fakeapi import CONFIGMAPS, FakeApi, configmap
from tests.unit.fakeapi_tests.objects import ALL_DEPLOYMENTS, DEPLOYMENTS, WEB, deployment


async def test_a_missing_object_is_a_not_found_status() -> None:
    api = FakeApi()
    async with api.client() as client:
        with pytest.raises(NotFound) as caught:
            await client.get(WEB)
    assert caught.value.reason == "NotFound"
    assert caught.value.message == 'deployments.apps "web" not found'


async def test_create_sets_what_the_server_owns() -> None:
    api = FakeApi()
    async with api.client() as client:
        created = await client.create(DEPLOYMENTS, deployment())
        read = await client.get(WEB)
    meta = created["metadata"]
    assert read == created
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1
    assert meta["resourceVersion"] == api.resource_version
    [entry] = meta["managedFields"]
    assert (entry["manager"], entry["operation"]) == ("kubectl-edit", "Update")
    assert entry["fieldsV1"]["f:spec"]["f:replicas"] == {}


async def test_creating_an_existing_object_is_already_exists() -> None:
    api = FakeApi()
    async with api.client() as client:
        await client.create(DEPLOYMENTS, deployment())
        with pytest.raises(Conflict) as caught:
            await client.create(DEPLOYMENTS, deployment())
    assert caught.value.reason == "AlreadyExists"


async def test_generate_name_makes_distinct_names_and_a_name_is_required() -> None:
    api = FakeApi()
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "probe-"}}
    async with api.client() as client:
        first = await client.create(CONFIGMAPS, body)
        second = await client.create(CONFIGMAPS, body)
        with pytest.raises(Invalid):
            await client.create(CONFIGMAPS, {"metadata": {}})
    names = {first["metadata"]["name"], second["metadata"]["name"]}
    assert len(names) == 2
    assert all(name.startswith("probe-") and len(name) == 11 for name in names)


async def test_a_resource_path_lists_every_namespace_and_a_namespace_path_one() -> None:
    api = FakeApi()
    api.put(DEPLOYMENTS, deployment("web"))
    api.put("/apis/apps/v1/namespaces/api/deployments", {**deployment("api"), "metadata": {
        "name": "api", "namespace": "api"}})  # fmt: skip
    async with api.client() as client:
        everywhere = await client.list(ALL_DEPLOYMENTS)
        one = await client.list(DEPLOYMENTS)
        metadata_only = await client.list(ALL_DEPLOYMENTS, metadata_only=True)
    assert everywhere["kind"] == "DeploymentList"
    assert [item["metadata"]["name"] for item in everywhere["items"]] == ["api", "web"]
    assert [item["metadata"]["name"] for item in one["items"]] == ["web"]
    assert "apiVersion" not in one["items"][0], "list items carry no apiVersion"
    assert metadata_only["kind"] == "PartialObjectMetadataList"
    assert {key for item in metadata_only["items"] for key in item} == {
        "apiVersion", "kind", "metadata"}  # fmt: skip


async def test_a_field_selector_picks_by_name() -> None:
    api = FakeApi()
    for name in ("a", "b"):
        api.put(CONFIGMAPS, configmap(name))
    async with api.client() as client:
        listing = await client.list(CONFIGMAPS, field_selector="metadata.name=b")
    assert [item["metadata"]["name"] for item in listing["items"]] == ["b"]
