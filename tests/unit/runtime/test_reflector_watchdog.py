from flotilla.api import ClusterName
from flotilla.kube import KubeClient
from flotilla.runtime.clock import FakeClock
from flotilla.runtime.reflector import Event, Reflector, ReflectorOptions
from tests.unit.fakeapi import CONFIGMAPS, FakeApi, FixedRandom, configmap, eventually, running

MEMBER = ClusterName("member-1")
SILENCE = 60.0


def _reflector(client: KubeClient, clock: FakeClock, events: list[Event]) -> Reflector:
    return Reflector(
        client,
        CONFIGMAPS,
        cluster=MEMBER,
        clock=clock,
        on_event=events.append,
        options=ReflectorOptions(inactivity_timeout=SILENCE),
        rng=FixedRandom(1.0),
    )


async def test_a_watch_that_goes_silent_is_restarted_from_its_version() -> None:
    api, clock, events = FakeApi(), FakeClock(), list[Event]()
    async with api.client() as client, running(_reflector(client, clock, events).run()):
        await eventually(lambda: len(api.open_watches()) == 1 and clock.sleepers == 1)
        api.put(CONFIGMAPS, configmap("a"))
        await eventually(lambda: len(events) == 1)
        await clock.advance(SILENCE - 1)
        assert len(api.watch_requests()) == 1, "not silent long enough yet"

        await clock.advance(1)
        await eventually(lambda: len(api.watch_requests()) == 2)
        first, second = api.watches
        assert first.closed and not second.closed
        assert second.request.url.params["resourceVersion"] == "1"

        api.put(CONFIGMAPS, configmap("b"))
        await eventually(lambda: len(events) == 2)
    assert [event.key for event in events] == ["default/a", "default/b"]
    assert len(api.list_requests()) == 1


async def test_bookmarks_keep_a_quiet_watch_alive() -> None:
    api, clock, events = FakeApi(), FakeClock(), list[Event]()
    async with api.client() as client, running(_reflector(client, clock, events).run()):
        await eventually(lambda: len(api.open_watches()) == 1 and clock.sleepers == 1)
        for _ in range(5):
            await clock.advance(SILENCE - 10)
            api.bookmark()
            await clock.advance(0)
        assert len(api.watch_requests()) == 1
        assert events == []


async def test_a_silent_watch_that_brought_nothing_is_restarted_after_a_backoff() -> None:
    api, clock, events = FakeApi(), FakeClock(), list[Event]()
    async with api.client() as client, running(_reflector(client, clock, events).run()):
        await eventually(lambda: len(api.open_watches()) == 1 and clock.sleepers == 1)
        await clock.advance(SILENCE)
        await eventually(lambda: api.open_watches() == [] and clock.sleepers == 1)
        await clock.advance(0.8)
        await eventually(lambda: len(api.open_watches()) == 1)
    assert len(api.watch_requests()) == 2
