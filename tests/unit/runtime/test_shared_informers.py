import httpx
import pytest

from flotilla.api import ClusterName
from flotilla.kube import Forbidden, NotFound
from flotilla.runtime.clock import FakeClock
from flotilla.runtime.informer import SharedInformers
from tests.unit.fakeapi import CONFIGMAPS, FakeApi, configmap, eventually, status

HUB = ClusterName("hub")
MEMBER = ClusterName("member-1")


async def test_two_requests_for_the_same_collection_share_one_informer() -> None:
    api, clock = FakeApi(), FakeClock()
    api.put(CONFIGMAPS, configmap("a"))
    async with api.client() as client, SharedInformers({MEMBER: client}, clock=clock) as shared:
        first = shared.informer(MEMBER, CONFIGMAPS, label_selector="app=web")
        second = shared.informer(MEMBER, CONFIGMAPS, label_selector="app=web")
        assert first is second
        await first.wait_synced()
        await eventually(lambda: len(api.open_watches()) == 1)
        assert len(api.list_requests()) == 1
        assert shared.informers() == [first]


async def test_a_different_selector_or_cluster_gets_its_own_informer() -> None:
    hub, member, clock = FakeApi(), FakeApi(), FakeClock()
    hub.put(CONFIGMAPS, configmap("on-hub"))
    async with (
        hub.client() as hub_client,
        member.client() as member_client,
        SharedInformers({HUB: hub_client, MEMBER: member_client}, clock=clock) as shared,
    ):
        everything = shared.informer(MEMBER, CONFIGMAPS)
        selected = shared.informer(MEMBER, CONFIGMAPS, label_selector="app=web")
        on_hub = shared.informer(HUB, CONFIGMAPS)
        assert len({id(everything), id(selected), id(on_hub)}) == 3
        await on_hub.wait_synced()
        assert on_hub.keys() == ["default/on-hub"]
        assert on_hub.cluster == HUB
        await everything.wait_synced()
        assert everything.keys() == []
    assert [r.url.params.get("labelSelector") for r in member.list_requests()] == [None, "app=web"]


async def test_leaving_the_block_stops_every_informer() -> None:
    api, clock = FakeApi(), FakeClock()
    async with api.client() as client:
        async with SharedInformers({MEMBER: client}, clock=clock) as shared:
            shared.informer(MEMBER, CONFIGMAPS)
            shared.informer(MEMBER, CONFIGMAPS, label_selector="app=web")
            await eventually(lambda: len(api.open_watches()) == 2)
        assert api.open_watches() == []
        with pytest.raises(RuntimeError):
            shared.informer(MEMBER, "/api/v1/secrets")


async def test_a_terminal_error_in_one_informer_fails_the_group() -> None:
    api, clock = FakeApi(), FakeClock()
    api.inject(httpx.Response(403, json=status(403, "Forbidden")))
    async with api.client() as client:
        with pytest.raises(ExceptionGroup) as caught:
            async with SharedInformers({MEMBER: client}, clock=clock) as shared:
                await shared.informer(MEMBER, CONFIGMAPS).wait_synced()
    assert caught.group_contains(Forbidden)


async def test_a_terminal_error_in_an_isolated_informer_stops_only_that_informer() -> None:
    api, clock = FakeApi(), FakeClock()
    api.put(CONFIGMAPS, configmap("a"))
    gadgets = "/apis/example.com/v1/gadgets"  # its CRD was deleted: the list is a 404
    api.inject(httpx.Response(404, json=status(404, "NotFound")), path=gadgets)
    async with api.client() as client, SharedInformers({MEMBER: client}, clock=clock) as shared:
        broken = shared.informer(MEMBER, gadgets, critical=False)
        with pytest.raises(NotFound):
            await broken.wait_synced()
        assert isinstance(broken.failure, NotFound)
        fine = shared.informer(MEMBER, CONFIGMAPS)
        await fine.wait_synced()
        assert fine.keys() == ["default/a"]
        api.put(CONFIGMAPS, configmap("b"))
        await eventually(lambda: fine.keys() == ["default/a", "default/b"])
        again = shared.informer(MEMBER, gadgets, critical=False)
        assert again is not broken, "a failed informer is forgotten, so the next ask retries"
