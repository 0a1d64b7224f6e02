import itertools
import random

import httpx
import pytest

from flotilla.api import ClusterName
from flotilla.kube import Forbidden, KubeClient
from flotilla.runtime.clock import FakeClock
from flotilla.runtime.reflector import Backoff, Reflector, ReflectorOptions
from tests.unit.fakeapi import (
    CONFIGMAPS,
    FakeApi,
    FixedRandom,
    configmap,
    eventually,
    is_continue,
    is_list,
    running,
    status,
)

MEMBER = ClusterName("member-1")
CEILINGS = [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]


def _unavailable() -> httpx.Response:
    return httpx.Response(503, json=status(503, "ServiceUnavailable"))


def _delays(times: list[float]) -> list[float]:
    return [round(later - earlier, 6) for earlier, later in itertools.pairwise(times)]


async def _retries(api: FakeApi, clock: FakeClock, count: int) -> None:
    # Advance in whole seconds until ``count`` retries have been made; the fake records
    # each request at the instant its sleeper woke, so the delays come out exact.
    for _ in range(200):
        if len(api.requests) > count:
            return
        await clock.advance(1.0)
    raise AssertionError("the reflector did not retry")


def _reflector(client: KubeClient, clock: FakeClock, rng: random.Random) -> Reflector:
    return Reflector(client, CONFIGMAPS, cluster=MEMBER, clock=clock, rng=rng)


async def test_failed_lists_are_retried_after_doubling_delays_up_to_the_cap() -> None:
    clock = FakeClock()
    api = FakeApi(clock=clock)
    api.inject(_unavailable(), times=len(CEILINGS))
    async with api.client() as client, running(_reflector(client, clock, FixedRandom(1.0)).run()):
        await _retries(api, clock, len(CEILINGS))
    assert _delays(api.times)[: len(CEILINGS)] == CEILINGS


async def test_the_delays_are_jittered_within_their_bounds() -> None:
    clock = FakeClock()
    api = FakeApi(clock=clock)
    api.inject(_unavailable(), times=len(CEILINGS))
    rng = random.Random(20240601)
    async with api.client() as client, running(_reflector(client, clock, rng).run()):
        await _retries(api, clock, len(CEILINGS))
    delays = _delays(api.times)[: len(CEILINGS)]
    assert all(0 <= delay <= ceiling for delay, ceiling in zip(delays, CEILINGS, strict=True))
    assert any(delay < 0.9 * ceiling for delay, ceiling in zip(delays, CEILINGS, strict=True))
    assert len(set(delays)) == len(delays)


async def test_a_watch_that_delivers_resets_the_backoff() -> None:
    clock = FakeClock()
    api = FakeApi(clock=clock)
    api.inject(_unavailable(), times=3)
    async with api.client() as client, running(_reflector(client, clock, FixedRandom(1.0)).run()):
        await _retries(api, clock, 4)
        await eventually(lambda: len(api.open_watches()) == 1)
        assert _delays(api.times) == [0.8, 1.6, 3.2, 0.0]
        api.put(CONFIGMAPS, configmap("a"))
        api.break_watches()
        broken_at = clock.monotonic()
        await eventually(lambda: api.open_watches() == [] and clock.sleepers == 1)
        await clock.advance(0.8)
        await eventually(lambda: len(api.open_watches()) == 1)
    assert api.times[-1] - broken_at == pytest.approx(0.8)


async def test_a_list_whose_continue_token_keeps_expiring_is_retried_after_a_backoff() -> None:
    clock = FakeClock()
    api = FakeApi(clock=clock)
    for name in ("a", "b", "c"):
        api.put(CONFIGMAPS, configmap(name))
    api.inject(httpx.Response(410, json=status(410, "Expired")), match=is_continue, times=2)
    async with api.client() as client:
        reflector = Reflector(
            client,
            CONFIGMAPS,
            cluster=MEMBER,
            clock=clock,
            options=ReflectorOptions(page_size=2),
            rng=FixedRandom(1.0),
        )
        async with running(reflector.run()):
            await eventually(lambda: len(api.list_requests()) == 4 and clock.sleepers == 1)
            assert not reflector.has_synced.is_set()
            await clock.advance(0.8)
            await reflector.has_synced.wait()
    assert len(reflector.store) == 3
    list_times = [
        time for time, request in zip(api.times, api.requests, strict=True) if is_list(request)
    ]
    assert _delays(list_times)[3] == 0.8


async def test_a_terminal_error_is_raised_not_retried() -> None:
    api, clock = FakeApi(), FakeClock()
    api.inject(httpx.Response(403, json=status(403, "Forbidden", "cannot list configmaps")))
    async with api.client() as client:
        with pytest.raises(Forbidden):
            await _reflector(client, clock, FixedRandom(1.0)).run()
    assert len(api.requests) == 1


def test_the_backoff_ceiling_doubles_to_the_cap_and_resets() -> None:
    backoff = Backoff(base=0.8, cap=30.0, rng=FixedRandom(1.0))
    assert [backoff.next() for _ in CEILINGS] == CEILINGS
    backoff.reset()
    assert backoff.next() == 0.8
