from flotilla.api import ClusterName
from flotilla.runtime.clock import FakeClock
from flotilla.runtime.reflector import Event, Reflector
from tests.unit.fakeapi import CONFIGMAPS, FakeApi, configmap, eventually, idle, running

MEMBER = ClusterName("member-1")


async def test_a_bookmark_advances_the_resource_version_without_a_handler_call() -> None:
    api, clock, events = FakeApi(), FakeClock(), list[Event]()
    api.put(CONFIGMAPS, configmap("a"))
    other = "/api/v1/namespaces/other/configmaps"
    async with api.client() as client:
        reflector = Reflector(
            client, CONFIGMAPS, cluster=MEMBER, clock=clock, on_event=events.append
        )
        async with running(reflector.run()):
            await eventually(lambda: len(api.open_watches()) == 1)
            for name in ("x", "y"):
                api.put(other, configmap(name, namespace="other"))
            api.bookmark()
            await eventually(lambda: reflector.resource_version == "3")
            await idle()
            assert [event.type for event in events] == ["ADDED"]
            assert list(reflector.store) == ["default/a"]


async def test_the_next_watch_starts_from_the_bookmarked_version() -> None:
    api, clock = FakeApi(), FakeClock()
    api.put(CONFIGMAPS, configmap("a"))
    other = "/api/v1/namespaces/other/configmaps"
    async with api.client() as client:
        reflector = Reflector(client, CONFIGMAPS, cluster=MEMBER, clock=clock)
        async with running(reflector.run()):
            await eventually(lambda: len(api.open_watches()) == 1)
            api.put(other, configmap("x", namespace="other"))
            api.bookmark()
            api.end_watches()
            await eventually(lambda: len(api.watch_requests()) == 2)
    first, second = api.watch_requests()
    assert first.url.params["resourceVersion"] == "1"
    assert second.url.params["resourceVersion"] == "2"
    assert len(api.list_requests()) == 1, "an ended watch resumes, it does not relist"
