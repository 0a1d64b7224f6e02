"""A source that fails for a transient reason (the git server does not answer) is not fetched
again on every event: every Cluster event enqueues every Application, and each of those
passes would otherwise run ``git fetch`` against a server that is down. The next fetch
waits ``SOURCE_RETRY`` seconds, then twice that, and so on up to the poll interval; a new
generation of the spec (the user fixed it), a webhook's push and a refresh look again at
once.

The repository URL points at a port nothing listens on (connection refused: transient);
``GitSources.fetches`` counts the network operations. Fake time moves only by
``World.advance``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flotilla.gitops.controller import REFRESH_ANNOTATION, SOURCE_RETRY
from flotilla.gitops.webhook import Push
from tests.gitservers import free_port

from .controller_harness import World, application, world

DOWN = f"http://127.0.0.1:{free_port()}/apps.git"


def unreachable(_url: str) -> dict[str, Any]:
    return application(DOWN, automated={})


def fetches_of(here: World) -> Callable[[], int]:
    """The network operations made for the repository so far, read when called."""
    return lambda: here.sources.fetches(DOWN)


async def touched_many_times(here: World, times: int = 4) -> None:
    for _ in range(times):
        await here.touch_cluster()


async def test_a_transient_source_failure_is_retried_after_a_doubling_wait(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, app=unreachable) as here:
        fetches = fetches_of(here)
        await here.until(lambda: bool(here.condition("ComparisonError")))
        await here.settle()
        assert "cannot fetch" in here.condition("ComparisonError")["message"]
        assert fetches() == 1, "however many passes startup caused (m1 connecting is one)"

        # Cluster events before the retry time: passes, but no fetch.
        await touched_many_times(here)
        assert fetches() == 1
        await here.advance(SOURCE_RETRY - 0.5)
        await touched_many_times(here, 2)
        assert fetches() == 1

        # The retry time passes: one fetch (it fails again), then twice the wait.
        await here.advance(1.0)
        assert fetches() == 2
        await touched_many_times(here)
        await here.advance(2 * SOURCE_RETRY - 1.0)
        await touched_many_times(here, 2)
        assert fetches() == 2
        await here.advance(1.0)
        assert fetches() == 3
        assert "cannot fetch" in here.condition("ComparisonError")["message"]


async def test_a_new_generation_of_the_spec_looks_again_at_once(tmp_path: Path) -> None:
    async with world(tmp_path, app=unreachable) as here:
        fetches = fetches_of(here)
        await here.until(lambda: bool(here.condition("ComparisonError")))
        await here.settle()
        await touched_many_times(here, 2)
        assert fetches() == 1
        generation = here.app()["metadata"]["generation"]

        # An annotation is metadata (no new generation): still waiting.
        before = here.passes()
        here.change_app({"metadata": {"annotations": {"team": "web"}}})
        await here.until(lambda: here.passes() > before)
        await here.settle()
        assert fetches() == 1

        # A spec change: fetched at once, the clock has not moved.
        here.change_app({"spec": {"source": {"targetRevision": "HEAD"}}})
        assert here.app()["metadata"]["generation"] == generation + 1
        await here.until(lambda: fetches() == 2)
        await here.settle()

        # And that new failure waits again.
        await touched_many_times(here)
        assert fetches() == 2


async def test_the_wait_grows_no_longer_than_the_poll_interval(tmp_path: Path) -> None:
    poll = SOURCE_RETRY + 3.0
    async with world(tmp_path, app=unreachable, poll_interval=poll) as here:
        fetches = fetches_of(here)
        await here.until(lambda: bool(here.condition("ComparisonError")))
        await here.settle()
        await here.advance(SOURCE_RETRY + 0.5)
        assert fetches() == 2
        for tries in (3, 4):  # each wait is the poll interval now, not 10 s, 20 s
            await here.advance(poll - 1.0)
            await here.touch_cluster()
            assert fetches() == tries - 1
            await here.advance(1.0)
            assert fetches() == tries


async def test_a_push_or_a_refresh_looks_again_at_once(tmp_path: Path) -> None:
    async with world(tmp_path, app=unreachable) as here:
        fetches = fetches_of(here)
        await here.until(lambda: bool(here.condition("ComparisonError")))
        await here.settle()
        assert fetches() == 1

        push = Push("gitea", (DOWN,), "main", "", "0" * 39 + "1")
        assert here.controller.on_push(push) == 1
        await here.until(lambda: fetches() == 2)
        await here.settle()
        await touched_many_times(here, 2)
        assert fetches() == 2

        here.change_app({"metadata": {"annotations": {REFRESH_ANNOTATION: "normal"}}})
        await here.until(lambda: fetches() == 3)
