"""Time, as the runtime sees it: injectable, so tests control it instead of sleeping.

Everything in ``flotilla.runtime`` (and every controller) that waits, measures, times out
or stamps a time takes a ``Clock``. Production code uses ``LoopClock`` (the event loop's
monotonic time, the system's UTC wall time); unit tests use ``FakeClock``, whose
``advance`` wakes exactly the sleepers whose deadline has come and moves its wall time
with its monotonic time.

``clock.timeout(seconds)`` is ``asyncio.timeout`` on the clock: ``asyncio.timeout`` itself
runs on the loop's clock, which a ``FakeClock`` cannot move. Use it rather than writing
another "timeout on the injected clock" helper. The object it yields has
``asyncio.Timeout``'s ``when`` / ``reschedule`` / ``expired``, with times on the clock's
``monotonic`` scale, so an inactivity watchdog is a timeout rescheduled on every event.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Protocol, Self

__all__ = ["FAKE_EPOCH", "Clock", "ClockTimeout", "FakeClock", "LoopClock", "Timeout"]

FAKE_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""Where a ``FakeClock``'s wall time starts unless told otherwise."""


class Timeout(Protocol):
    """A deadline being enforced on the block it was entered for (``asyncio.Timeout``'s API)."""

    def when(self) -> float | None:
        """The deadline on the clock's ``monotonic`` scale; None for none."""
        ...

    def reschedule(self, when: float | None) -> None:
        """Move the deadline (None: no deadline); the block keeps running."""
        ...

    def expired(self) -> bool:
        """Whether the deadline has cancelled the block."""
        ...


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean anything."""
        ...

    def now(self) -> datetime:
        """Wall time, timezone-aware in UTC: for timestamps people and servers read."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return after ``seconds`` of this clock's time."""
        ...

    def timeout(self, seconds: float | None) -> AbstractAsyncContextManager[Timeout]:
        """Cancel the block and raise ``TimeoutError`` after ``seconds`` of this clock's time.

        As ``asyncio.timeout``: None means no deadline (yet); errors from the block pass
        through unchanged; a cancellation from outside stays a cancellation.
        """
        ...


class LoopClock:
    """The running event loop's clock and the system's wall clock."""

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def timeout(self, seconds: float | None) -> asyncio.Timeout:
        # The loop's time is this clock's monotonic time: asyncio's own timeout is exact.
        return asyncio.timeout(seconds)


class ClockTimeout:
    """``asyncio.timeout`` for any ``Clock``: a timer task sleeps on the clock, then expires
    an ``asyncio.Timeout`` that was entered without a deadline, so cancellation and
    ``TimeoutError`` behave exactly as asyncio's."""

    def __init__(self, clock: Clock, when: float | None) -> None:
        self._clock = clock
        self._when = when
        self._inner = asyncio.timeout(None)
        self._timer: asyncio.Task[None] | None = None
        self._entered = False

    def when(self) -> float | None:
        return self._when

    def reschedule(self, when: float | None) -> None:
        # A later deadline is picked up by the running timer when it wakes, so a watchdog
        # that pushes its deadline back on every event costs no new task.
        sooner = self._when is None or when is None or when < self._when
        self._when = when
        if self._entered and sooner:
            self._start_timer()

    def expired(self) -> bool:
        return self._inner.expired()

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        self._entered = True
        self._start_timer()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._entered = False
        self._stop_timer()
        await self._inner.__aexit__(exc_type, exc, tb)

    def _start_timer(self) -> None:
        self._stop_timer()
        if self._when is not None:
            self._timer = asyncio.get_running_loop().create_task(self._expire())

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _expire(self) -> None:
        while self._when is not None and (remaining := self._when - self._clock.monotonic()) > 0:
            await self._clock.sleep(remaining)
        # Due now on the loop: asyncio.Timeout cancels the block on the next turn.
        self._inner.reschedule(asyncio.get_running_loop().time())


class FakeClock:
    """A clock that moves only when told to. ``sleep`` waits for ``advance``.

    Its wall time is ``wall`` plus however far it has been advanced.
    """

    def __init__(self, start: float = 1000.0, *, wall: datetime = FAKE_EPOCH) -> None:
        if wall.tzinfo is None:
            raise ValueError("wall must be timezone-aware")
        self._start = start
        self._now = start
        self._wall = wall.astimezone(UTC)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def now(self) -> datetime:
        return self._wall + timedelta(seconds=self._now - self._start)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        await future

    def timeout(self, seconds: float | None) -> ClockTimeout:
        return ClockTimeout(self, None if seconds is None else self._now + seconds)

    @property
    def sleepers(self) -> int:
        """How many sleeps are pending (cancelled ones excluded)."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking due sleepers in deadline order; let them run."""
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            if not future.done():
                future.set_result(None)
            await _settle()
        self._now = target
        await _settle()


async def _settle() -> None:
    # Let woken tasks run until they block again.
    for _ in range(20):
        await asyncio.sleep(0)
