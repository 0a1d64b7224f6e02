from flotilla.api import ClusterName
from flotilla.runtime.clock import FakeClock
from flotilla.runtime.reflector import Event, Reflector
from tests.unit.fakeapi import (
    CONFIGMAPS,
    FakeApi,
    FixedRandom,
    configmap,
    eventually,
    idle,
    running,
)

MEMBER = ClusterName("member-1")


def _summary(events: list[Event]) -> list[tuple[str, str, bool]]:
    return [(event.type, event.key, event.synthetic) for event in events]


async def test_a_relist_after_gone_emits_synthetic_events_for_what_changed_while_away() -> None:
    api, clock, events = FakeApi(), FakeClock(), list[Event]()
    for name in ("a", "b", "c"):
        api.put(CONFIGMAPS, configmap(name))
    async with api.client() as client:
        reflector = Reflector(
            client,
            CONFIGMAPS,
            cluster=MEMBER,
            clock=clock,
            on_event=events.append,
            rng=FixedRandom(1.0),
        )
        async with running(reflector.run()):
            await eventually(lambda: len(api.open_watches()) == 1)
            last_b = reflector.store["default/b"]
            events.clear()

            # The connection drops; while the reflector backs off, the world moves on and
            # etcd compacts the history it would need to catch up.
            api.break_watches()
            await eventually(lambda: api.open_watches() == [] and clock.sleepers == 1)
            api.put(CONFIGMAPS, configmap("c", changed="yes"))
            api.delete(CONFIGMAPS, "default/b")
            api.put(CONFIGMAPS, configmap("d"))
            api.compact()
            await clock.advance(0.8)

            await eventually(lambda: len(api.list_requests()) == 2)
            await eventually(lambda: len(api.open_watches()) == 1)
            assert _summary(events) == [
                ("MODIFIED", "default/c", True),
                ("ADDED", "default/d", True),
                ("DELETED", "default/b", True),
            ]
            assert events[2].object == last_b, "a synthetic delete carries the last known state"
            assert sorted(reflector.store) == ["default/a", "default/c", "default/d"]
            assert reflector.resource_version == api.resource_version

            api.put(CONFIGMAPS, configmap("e"))
            await eventually(lambda: len(events) == 4)
            assert _summary(events)[3] == ("ADDED", "default/e", False)
    gone, resumed = api.watch_requests()[1:]
    assert gone.url.params["resourceVersion"] == "3"
    assert resumed.url.params["resourceVersion"] == "6"


async def test_an_expired_watch_relists_at_once_and_unchanged_objects_stay_quiet() -> None:
    api, clock, events = FakeApi(), FakeClock(), list[Event]()
    for name in ("a", "b"):
        api.put(CONFIGMAPS, configmap(name))
    async with api.client() as client:
        reflector = Reflector(
            client, CONFIGMAPS, cluster=MEMBER, clock=clock, on_event=events.append
        )
        async with running(reflector.run()):
            await eventually(lambda: len(api.open_watches()) == 1)
            events.clear()
            api.expire_watches()
            await eventually(lambda: len(api.list_requests()) == 2)
            await eventually(lambda: len(api.open_watches()) == 1)
            assert events == []
            await idle()
            assert clock.sleepers == 1, "only the watchdog waits: no backoff before a relist"


async def test_a_broken_watch_resumes_from_its_version_without_relisting() -> None:
    api, clock, events = FakeApi(), FakeClock(), list[Event]()
    api.put(CONFIGMAPS, configmap("a"))
    async with api.client() as client:
        reflector = Reflector(
            client,
            CONFIGMAPS,
            cluster=MEMBER,
            clock=clock,
            on_event=events.append,
            rng=FixedRandom(1.0),
        )
        async with running(reflector.run()):
            await eventually(lambda: len(api.open_watches()) == 1)
            api.break_watches()
            await eventually(lambda: api.open_watches() == [] and clock.sleepers == 1)
            api.put(CONFIGMAPS, configmap("b"))
            api.delete(CONFIGMAPS, "default/a")
            await clock.advance(0.8)
            await eventually(lambda: len(events) == 3)
    assert _summary(events) == [
        ("ADDED", "default/a", True),
        ("ADDED", "default/b", False),
        ("DELETED", "default/a", False),
    ]
    assert len(api.list_requests()) == 1
    assert api.watch_requests()[1].url.params["resourceVersion"] == "1"
