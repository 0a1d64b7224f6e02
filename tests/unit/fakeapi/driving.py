"""Driving the code under test: loop turns, tasks for a block, fake time, fixed jitter."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from flotilla.runtime.clock import FakeClock


async def eventually(condition: Callable[[], bool], *, turns: int = 1000) -> None:
    """Let other tasks run until ``condition`` holds; fail after ``turns`` loop turns."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


async def idle(turns: int = 50) -> None:
    """Let other tasks run for a while (to show that something does *not* happen)."""
    for _ in range(turns):
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def running(work: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``work`` as a task for the block, then cancel it; its failures surface here."""
    async with asyncio.TaskGroup() as group:
        task = group.create_task(work)
        await asyncio.sleep(0)
        try:
            yield task
        finally:
            task.cancel()


async def settle_until(clock: FakeClock, condition: Callable[[], bool], step: float) -> None:
    """Advance ``clock`` by ``step`` until ``condition`` holds (at most 1000 steps)."""
    for _ in range(1000):
        if condition():
            return
        await clock.advance(step)
    raise AssertionError("condition never became true")


class FixedRandom(random.Random):
    """A random source that always draws ``fraction``: jitter becomes predictable."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction

    def random(self) -> float:
        return self.fraction
