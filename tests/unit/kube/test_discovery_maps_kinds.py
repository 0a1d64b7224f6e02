import pytest

from flotilla.kube import ResourceInfo, RestMapper
from tests.unit.kube.fake_discovery import FakeDiscovery


async def test_a_core_kind_maps_to_its_resource_in_api_v1() -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        info = await RestMapper(client).resource_for("v1", "ConfigMap")
    assert info == ResourceInfo(
        group="",
        version="v1",
        kind="ConfigMap",
        plural="configmaps",
        namespaced=True,
        verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
    )
    assert info.api_version == "v1"


async def test_a_grouped_kind_maps_to_its_resource_in_its_group_version() -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        info = await RestMapper(client).resource_for("apps/v1", "Deployment")
    assert (info.group, info.version, info.plural) == ("apps", "v1", "deployments")
    assert info.api_version == "apps/v1"
    assert info.namespaced


async def test_cluster_scoped_kinds_are_not_namespaced() -> None:
    api = FakeDiscovery()
    api.install_flotilla_crds()
    async with api.client() as client:
        mapper = RestMapper(client)
        namespace = await mapper.resource_for("v1", "Namespace")
        cluster = await mapper.resource_for("flotilla.io/v1alpha1", "Cluster")
        placement = await mapper.resource_for("flotilla.io/v1alpha1", "Placement")
    assert (namespace.plural, namespace.namespaced) == ("namespaces", False)
    assert (cluster.plural, cluster.namespaced) == ("clusters", False)
    assert (placement.plural, placement.namespaced) == ("placements", True)


async def test_only_the_asked_group_versions_are_fetched_and_then_cached() -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        mapper = RestMapper(client)
        await mapper.resource_for("apps/v1", "Deployment")
        assert api.requests == ["/apis", "/apis/apps/v1"]
        await mapper.resource_for("apps/v1", "StatefulSet")
        await mapper.resource_for("v1", "Secret")
        await mapper.resource_for("v1", "Pod")
        await mapper.resource_for("apps/v1", "Deployment")
    assert api.requests == ["/apis", "/apis/apps/v1", "/api", "/api/v1"]


@pytest.mark.parametrize("api_version", ["", "a/b/c", "/v1", "apps/"])
async def test_a_malformed_api_version_is_a_value_error(api_version: str) -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        with pytest.raises(ValueError, match="malformed apiVersion"):
            await RestMapper(client).resource_for(api_version, "Deployment")
    assert api.requests == []
