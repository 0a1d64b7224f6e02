import contextlib

import pytest

from flotilla.kube import NotFound
from tests.unit.fakeapi import FakeApi, eventually
from tests.unit.fakeapi_tests.objects import ALL_DEPLOYMENTS, DEPLOYMENTS, WEB, deployment


async def test_deleting_an_object_without_finalizers_removes_it_and_tells_watches() -> None:
    api = FakeApi()
    async with api.client() as client:
        await client.create(DEPLOYMENTS, deployment())
        since = api.resource_version
        await client.delete(WEB, propagationPolicy="Background")
        with pytest.raises(NotFound):
            await client.get(WEB)
        events = client.watch(ALL_DEPLOYMENTS, resource_version=since)
        async with contextlib.aclosing(events):
            event = await anext(events)
    assert event["type"] == "DELETED"
    assert event["object"]["metadata"]["name"] == "web"
    assert event["object"]["metadata"]["resourceVersion"] == api.resource_version


async def test_finalizers_keep_a_deleted_object_until_they_are_removed() -> None:
    api = FakeApi()
    body = deployment()
    body["metadata"]["finalizers"] = ["flotilla.io/cleanup"]
    async with api.client() as client:
        await client.create(DEPLOYMENTS, body)
        await client.delete(WEB)
        terminating = await client.get(WEB)
        assert terminating["metadata"]["deletionTimestamp"]
        assert terminating["metadata"]["finalizers"] == ["flotilla.io/cleanup"]
        await client.merge_patch(WEB, {"metadata": {"finalizers": None}})
        await eventually(lambda: api.get(WEB) is None)
        with pytest.raises(NotFound):
            await client.get(WEB)
