import contextlib

from tests.unit.fakeapi import FakeApi
from tests.unit.fakeapi_tests.objects import ALL_DEPLOYMENTS, DEPLOYMENTS, FLOTILLA, WEB, deployment


async def test_every_write_is_a_watch_event_with_its_resource_version() -> None:
    api = FakeApi()
    async with api.client() as client:
        since = api.resource_version
        await client.create(DEPLOYMENTS, deployment())
        await client.apply(WEB, deployment(replicas=3), field_manager=FLOTILLA, force=True)
        await client.delete(WEB)
        events = client.watch(ALL_DEPLOYMENTS, resource_version=since)
        async with contextlib.aclosing(events):
            seen = [await anext(events) for _ in range(3)]
    assert [event["type"] for event in seen] == ["ADDED", "MODIFIED", "DELETED"]
    assert [event["object"]["metadata"]["resourceVersion"] for event in seen] == ["1", "2", "3"]
    assert all(event["object"]["kind"] == "Deployment" for event in seen)
