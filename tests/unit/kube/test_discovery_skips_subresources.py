import pytest

from flotilla.kube import RestMapper, UnknownKind
from tests.unit.kube.fake_discovery import FakeDiscovery


async def test_a_kinds_subresources_do_not_replace_its_resource() -> None:
    # pods/log, pods/status and deployments/status carry their parent's kind.
    api = FakeDiscovery()
    async with api.client() as client:
        mapper = RestMapper(client)
        pod = await mapper.resource_for("v1", "Pod")
        deployment = await mapper.resource_for("apps/v1", "Deployment")
        namespace = await mapper.resource_for("v1", "Namespace")
    assert (pod.plural, pod.verbs[-1]) == ("pods", "watch")
    assert deployment.plural == "deployments"
    assert namespace.plural == "namespaces"


async def test_a_kind_served_both_top_level_and_as_a_subresource_maps_to_the_top_level() -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        binding = await RestMapper(client).resource_for("v1", "Binding")
    assert binding.plural == "bindings"


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [("apps/v1", "Scale"), ("v1", "Eviction"), ("v1", "TokenRequest")],
)
async def test_kinds_served_only_as_subresources_are_unknown(api_version: str, kind: str) -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        with pytest.raises(UnknownKind):
            await RestMapper(client).resource_for(api_version, kind)
