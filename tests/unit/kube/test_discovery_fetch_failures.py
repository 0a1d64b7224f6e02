import httpx
import pytest

from flotilla.kube import RestMapper, TransportError
from flotilla.kube.errors import ServerError
from tests.unit.fakeapi import status
from tests.unit.kube.fake_discovery import FakeDiscovery


async def test_a_failed_fetch_raises_its_error_and_is_not_cached() -> None:
    api = FakeDiscovery()
    unavailable = httpx.Response(503, json=status(503, "ServiceUnavailable"))
    api.fail_next("/apis/apps/v1", unavailable)
    async with api.client() as client:
        mapper = RestMapper(client)
        with pytest.raises(ServerError) as caught:
            await mapper.resource_for("apps/v1", "Deployment")
        assert caught.value.transient
        info = await mapper.resource_for("apps/v1", "Deployment")
    assert info.plural == "deployments"
    assert api.requests == ["/apis", "/apis/apps/v1", "/apis/apps/v1"]


async def test_an_answer_that_is_not_a_discovery_document_is_a_transient_error() -> None:
    # A proxy in front of the API server answering with a page of its own.
    api = FakeDiscovery()
    page = httpx.Response(200, text="<html>sign in</html>", headers={"content-type": "text/html"})
    api.fail_next("/api", page)
    async with api.client() as client:
        with pytest.raises(TransportError, match="GET /api: not a discovery document") as caught:
            await RestMapper(client).resource_for("v1", "Pod")
    assert caught.value.transient
