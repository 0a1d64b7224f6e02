from flotilla.api import ClusterName
from flotilla.runtime.clock import FakeClock
from flotilla.runtime.reflector import Event, Reflector, ReflectorOptions
from tests.unit.fakeapi import CONFIGMAPS, FakeApi, FixedRandom, configmap, eventually, running

MEMBER = ClusterName("member-1")


async def test_the_first_list_arrives_as_added_events_then_has_synced_is_set() -> None:
    api, clock, events = FakeApi(), FakeClock(), list[Event]()
    for name in ("c", "a", "b"):
        api.put(CONFIGMAPS, configmap(name, colour=name))
    async with api.client() as client:
        reflector = Reflector(
            client,
            CONFIGMAPS,
            cluster=MEMBER,
            clock=clock,
            on_event=events.append,
            options=ReflectorOptions(page_size=2),
            rng=FixedRandom(0.5),
        )
        async with running(reflector.run()):
            await reflector.has_synced.wait()
            assert [(event.type, event.key, event.synthetic) for event in events] == [
                ("ADDED", "default/a", True),
                ("ADDED", "default/b", True),
                ("ADDED", "default/c", True),
            ]
            assert all(event.cluster == MEMBER for event in events)
            assert reflector.resource_version == "3"
            assert sorted(reflector.store) == ["default/a", "default/b", "default/c"]
            assert len(api.list_requests()) == 2, "pages of two"
            await eventually(lambda: len(api.open_watches()) == 1)
    (watch,) = api.watch_requests()
    assert watch.url.params["resourceVersion"] == "3"
    assert watch.url.params["allowWatchBookmarks"] == "true"
    assert watch.url.params["timeoutSeconds"] == "450", "300 s plus a jittered half of it"


async def test_listed_objects_look_like_watched_ones() -> None:
    api, clock = FakeApi(), FakeClock()
    api.put(CONFIGMAPS, configmap("a"))
    async with api.client() as client:
        reflector = Reflector(client, CONFIGMAPS, cluster=MEMBER, clock=clock)
        async with running(reflector.run()):
            await reflector.has_synced.wait()
    listed = reflector.store["default/a"]
    assert listed["apiVersion"] == "v1"
    assert listed["kind"] == "ConfigMap"


async def test_watched_changes_reach_the_store_then_the_handler_in_order() -> None:
    api, clock = FakeApi(), FakeClock()
    api.put(CONFIGMAPS, configmap("a"))
    async with api.client() as client:
        seen: list[tuple[str, str, str, bool]] = []

        def on_event(event: Event) -> None:
            in_store = "default/a" in reflector.store
            seen.append((event.type, event.key, event.object["data"].get("v", ""), in_store))

        reflector = Reflector(client, CONFIGMAPS, cluster=MEMBER, clock=clock, on_event=on_event)
        async with running(reflector.run()):
            await eventually(lambda: len(api.open_watches()) == 1)
            api.put(CONFIGMAPS, configmap("a", v="1"))
            api.put(CONFIGMAPS, configmap("a", v="2"))
            api.delete(CONFIGMAPS, "default/a")
            api.put(CONFIGMAPS, configmap("a", v="3"))
            await eventually(lambda: len(seen) == 5)
            assert reflector.resource_version == api.resource_version
    assert seen == [
        ("ADDED", "default/a", "", True),
        ("MODIFIED", "default/a", "1", True),
        ("MODIFIED", "default/a", "2", True),
        ("DELETED", "default/a", "2", False),
        ("ADDED", "default/a", "3", True),
    ]


async def test_cancelling_the_task_stops_the_reflector_and_closes_the_watch() -> None:
    api, clock = FakeApi(), FakeClock()
    async with api.client() as client:
        reflector = Reflector(client, CONFIGMAPS, cluster=MEMBER, clock=clock)
        async with running(reflector.run()) as task:
            await eventually(lambda: len(api.open_watches()) == 1)
        assert task.cancelled()
    assert api.open_watches() == []
