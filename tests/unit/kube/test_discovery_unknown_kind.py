import pytest

from flotilla.kube import KubeError, RestMapper, UnknownKind
from tests.unit.kube.fake_discovery import FakeDiscovery, ManualTime, api_group_list


async def test_an_unknown_kind_says_what_is_missing_and_is_not_transient() -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        with pytest.raises(UnknownKind) as caught:
            await RestMapper(client).resource_for("example.io/v1", "Widget")
    error = caught.value
    assert isinstance(error, KubeError)
    assert not error.transient
    assert (error.api_version, error.kind) == ("example.io/v1", "Widget")
    assert str(error) == (
        "kind Widget (apiVersion example.io/v1) is not served by the cluster; is its CRD installed?"
    )


@pytest.mark.parametrize(
    ("api_version", "kind", "requests"),
    [
        ("example.io/v1", "Widget", ["/apis"]),
        ("apps/v2", "Deployment", ["/apis"]),
        ("v2", "ConfigMap", ["/api"]),
        ("apps/v1", "Widget", ["/apis", "/apis/apps/v1"]),
        ("v1", "Widget", ["/api", "/api/v1"]),
    ],
)
async def test_a_miss_in_documents_fetched_for_the_lookup_itself_is_final_at_once(
    api_version: str, kind: str, requests: list[str]
) -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        with pytest.raises(UnknownKind):
            await RestMapper(client).resource_for(api_version, kind)
    assert api.requests == requests


async def test_repeated_misses_refresh_at_most_once_per_interval() -> None:
    api = FakeDiscovery()
    time = ManualTime()
    async with api.client() as client:
        mapper = RestMapper(client, refresh_interval=30.0, now=time)
        await mapper.resource_for("apps/v1", "Deployment")

        async def misses() -> int:
            api.requests.clear()
            with pytest.raises(UnknownKind):
                await mapper.resource_for("example.io/v1", "Widget")
            return api.count("/apis")

        assert await misses() == 1
        for _ in range(10):
            time.advance(2.9)
            assert await misses() == 0
        time.advance(1.0)
        assert await misses() == 1
        assert await misses() == 0


async def test_a_group_version_listed_but_gone_when_fetched_serves_nothing() -> None:
    # A CRD deleted between the GET /apis and the GET of its group version: 404.
    api = FakeDiscovery()
    api.documents["/apis"] = api_group_list(flotilla=True)
    async with api.client() as client:
        with pytest.raises(UnknownKind):
            await RestMapper(client).resource_for("flotilla.io/v1alpha1", "Cluster")
    assert api.requests == ["/apis", "/apis/flotilla.io/v1alpha1"]
