import copy

from flotilla.kube import RestMapper
from tests.unit.kube.fake_discovery import FLOTILLA_V1ALPHA1, FakeDiscovery


async def test_a_crd_of_a_new_group_installed_after_start_is_found_after_one_refresh() -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        mapper = RestMapper(client)
        await mapper.resource_for("apps/v1", "Deployment")
        api.install_flotilla_crds()
        cluster = await mapper.resource_for("flotilla.io/v1alpha1", "Cluster")
    assert (cluster.plural, cluster.namespaced) == ("clusters", False)
    assert api.requests == [
        "/apis",
        "/apis/apps/v1",
        "/apis",
        "/apis/flotilla.io/v1alpha1",
    ]


async def test_a_new_kind_in_a_cached_group_version_is_found_after_one_refresh() -> None:
    api = FakeDiscovery()
    only_clusters = copy.deepcopy(FLOTILLA_V1ALPHA1)
    only_clusters["resources"] = only_clusters["resources"][:2]
    api.install_flotilla_crds()
    api.documents["/apis/flotilla.io/v1alpha1"] = only_clusters
    async with api.client() as client:
        mapper = RestMapper(client)
        await mapper.resource_for("flotilla.io/v1alpha1", "Cluster")
        api.documents["/apis/flotilla.io/v1alpha1"] = FLOTILLA_V1ALPHA1
        placement = await mapper.resource_for("flotilla.io/v1alpha1", "Placement")
    assert (placement.plural, placement.namespaced) == ("placements", True)
    assert api.count("/apis/flotilla.io/v1alpha1") == 2


async def test_after_a_refresh_other_kinds_are_fetched_again_as_they_are_asked_for() -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        mapper = RestMapper(client)
        await mapper.resource_for("v1", "ConfigMap")
        await mapper.resource_for("apps/v1", "Deployment")
        api.install_flotilla_crds()
        await mapper.resource_for("flotilla.io/v1alpha1", "Cluster")
        api.requests.clear()
        await mapper.resource_for("apps/v1", "Deployment")
        await mapper.resource_for("apps/v1", "DaemonSet")
    assert api.requests == ["/apis/apps/v1"]
