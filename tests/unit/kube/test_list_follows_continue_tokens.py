import httpx
import pytest

from flotilla.kube import Gone
from tests.unit.fakeapi import CONFIGMAPS, FakeApi, configmap, is_continue, status


def _fill(api: FakeApi, count: int) -> None:
    for number in range(count):
        api.put(CONFIGMAPS, configmap(f"cm-{number:02}"))


async def test_a_list_follows_continue_tokens_and_keeps_the_first_pages_version() -> None:
    api = FakeApi()
    _fill(api, 7)
    version = api.resource_version
    async with api.client() as client:
        listing = await client.list(CONFIGMAPS, limit=3)
    assert [item["metadata"]["name"] for item in listing["items"]] == [
        f"cm-{number:02}" for number in range(7)
    ]
    assert listing["metadata"] == {"resourceVersion": version}
    assert listing["kind"] == "ConfigMapList"
    pages = api.list_requests()
    assert [request.url.params.get("continue") for request in pages] == [None, "7/3", "7/6"]
    assert all(request.url.params["limit"] == "3" for request in pages)


async def test_selectors_are_sent_on_every_page() -> None:
    api = FakeApi()
    _fill(api, 3)
    async with api.client() as client:
        await client.list(CONFIGMAPS, label_selector="app=web", field_selector="x=y", limit=1)
    for request in api.list_requests():
        assert request.url.params["labelSelector"] == "app=web"
        assert request.url.params["fieldSelector"] == "x=y"


async def test_an_expired_continue_token_restarts_the_whole_list_once() -> None:
    api = FakeApi()
    _fill(api, 5)
    api.inject(httpx.Response(410, json=status(410, "Expired")), match=is_continue)
    async with api.client() as client:
        listing = await client.list(CONFIGMAPS, limit=2)
    assert len(listing["items"]) == 5
    assert len({item["metadata"]["name"] for item in listing["items"]}) == 5
    continues = [request.url.params.get("continue") for request in api.list_requests()]
    assert continues == [None, "5/2", None, "5/2", "5/4"]


async def test_a_continue_token_that_expires_again_is_gone() -> None:
    api = FakeApi()
    _fill(api, 5)
    api.inject(httpx.Response(410, json=status(410, "Expired")), match=is_continue, times=2)
    async with api.client() as client:
        with pytest.raises(Gone):
            await client.list(CONFIGMAPS, limit=2)
    assert len(api.list_requests()) == 4


async def test_a_metadata_only_list_asks_for_partial_object_metadata_on_every_page() -> None:
    api = FakeApi()
    _fill(api, 3)
    async with api.client() as client:
        await client.list(CONFIGMAPS, limit=2, metadata_only=True)
    accepts = [request.headers["accept"] for request in api.list_requests()]
    assert len(accepts) == 2
    assert all("as=PartialObjectMetadataList" in accept for accept in accepts)


async def test_a_plain_list_asks_for_whole_objects() -> None:
    api = FakeApi()
    _fill(api, 1)
    async with api.client() as client:
        await client.list(CONFIGMAPS)
    assert api.list_requests()[0].headers["accept"] == "application/json"
