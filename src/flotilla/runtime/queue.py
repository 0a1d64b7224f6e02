"""The work queue between watch events and reconcilers: each key reconciled by one worker at
a time, and no change lost while it is.

Why: events arrive faster than reconciles finish, and they repeat. A level-based controller
does not need every event; it needs each changed key reconciled at least once *after* its
latest change, and never concurrently with itself. This queue gives exactly that, with the
semantics of client-go's ``workqueue`` (k8s.io/client-go/util/workqueue), so what people
know about Kubernetes controllers holds here too.

The contract, per key:

- ``add`` of a key already waiting in the queue does nothing: it is held once, in its first
  position. Keys come out in the order they were first added.
- ``get`` hands a key to one worker and marks it *processing*. ``add`` of a processing key
  marks it *dirty* instead of queueing it, so no other worker can get it. ``done`` then puts
  it back in the queue once, however many adds came meanwhile. A worker calls ``done``
  exactly once per ``get``, whatever the outcome (``try``/``finally``).
- ``add_after`` adds the key once ``delay`` seconds of the clock have passed. Pending delayed
  adds are held once per key, at the earliest deadline asked for. When one falls due it is a
  plain ``add``: a key that is queued by then gains nothing, a processing one turns dirty.
  An ``add`` does not cancel a pending delayed add (as in client-go: the caller asked for a
  look at that time).
- ``add_rate_limited`` is ``add_after`` with the delay the rate limiter gives; ``forget``
  clears the key's backoff and is the caller's job once the key succeeds (``done`` does not).
- ``shut_down`` (also what leaving ``async with`` does) stops at once, it does not drain:
  every waiting and later ``get`` raises ``QueueShutDown``, queued and delayed keys are
  dropped, and adds are ignored. Keys being processed may still be passed to ``done``.
  Dropping is safe because reconcilers are level-based: the next start lists everything.

Delayed adds need the queue running, ``async with WorkQueue(...) as queue:``, which owns the
one task that waits for deadlines; ``add``, ``get`` and ``done`` work without it. All time
comes from the injected ``Clock``.

Metrics are plain numbers here (``Metrics.register_queue`` exports them at scrape time),
with client-go's meanings: ``depth``; ``adds_total`` counts adds that were not deduped into
a queued key; ``retries_total`` counts accepted ``add_after`` calls (so also
``add_rate_limited``); ``unfinished_work_seconds`` and ``longest_running_processor_seconds``
measure the keys being processed now.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Hashable
from contextlib import suppress
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

from flotilla.runtime.clock import Clock, LoopClock

__all__ = [
    "BucketLimiter",
    "ItemExponentialLimiter",
    "MaxOfLimiter",
    "QueueShutDown",
    "RateLimiter",
    "WorkQueue",
    "default_controller_rate_limiter",
]

K = TypeVar("K", bound=Hashable)
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)


class QueueShutDown(Exception):
    """``get`` on a queue that has been shut down: the worker should return."""


class RateLimiter(Protocol[K_contra]):
    """How long a key waits before its next try."""

    def when(self, key: K_contra) -> float:
        """Seconds to wait before ``key`` is tried again; counts as one more requeue."""
        ...

    def forget(self, key: K_contra) -> None:
        """Stop tracking ``key``: its next ``when`` starts from scratch."""
        ...

    def num_requeues(self, key: K_contra) -> int:
        """How many times ``when`` was asked for ``key`` since it was last forgotten."""
        ...


class ItemExponentialLimiter(Generic[K]):
    """Per key: ``base``, then twice as long after each failure, never more than ``cap``."""

    def __init__(self, *, base: float, cap: float) -> None:
        if base <= 0 or cap < base:
            raise ValueError(f"need 0 < base <= cap, got base={base} cap={cap}")
        self._base = base
        self._cap = cap
        self._failures: dict[K, int] = {}

    def when(self, key: K) -> float:
        exponent = self._failures.get(key, 0)
        self._failures[key] = exponent + 1
        # Past 2**1000 every sane base is far beyond any cap; this keeps ** from overflowing.
        return min(self._cap, self._base * 2.0 ** min(exponent, 1000))

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: K) -> int:
        return self._failures.get(key, 0)


class BucketLimiter:
    """One token bucket for all keys: ``burst`` tries at once, then ``qps`` per second.

    Like Go's ``rate.Limiter.Reserve``: every ``when`` takes a token, borrowing from the
    future when the bucket is empty, so the n-th try past the burst waits n / qps seconds.
    """

    def __init__(self, *, qps: float, burst: int, clock: Clock) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError(f"need qps > 0 and burst >= 1, got qps={qps} burst={burst}")
        self._qps = qps
        self._burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last: float | None = None

    def when(self, key: object) -> float:
        now = self._clock.monotonic()
        if self._last is not None:
            refill = max(0.0, now - self._last) * self._qps
            self._tokens = min(float(self._burst), self._tokens + refill)
        self._last = now
        self._tokens -= 1.0
        return -self._tokens / self._qps if self._tokens < 0 else 0.0

    def forget(self, key: object) -> None:
        pass

    def num_requeues(self, key: object) -> int:
        return 0


class MaxOfLimiter(Generic[K]):
    """The longest wait of several limiters (each one is asked, so each keeps count)."""

    def __init__(self, *limiters: RateLimiter[K]) -> None:
        if not limiters:
            raise ValueError("MaxOfLimiter needs at least one limiter")
        self._limiters = limiters

    def when(self, key: K) -> float:
        return max([limiter.when(key) for limiter in self._limiters])

    def forget(self, key: K) -> None:
        for limiter in self._limiters:
            limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return max(limiter.num_requeues(key) for limiter in self._limiters)


def default_controller_rate_limiter(*, clock: Clock) -> RateLimiter[Hashable]:
    """client-go's ``DefaultControllerRateLimiter``: per-key backoff from 5 ms to 1000 s,
    and at most 10 retries per second overall after a burst of 100."""
    return MaxOfLimiter[Hashable](
        ItemExponentialLimiter(base=0.005, cap=1000.0),
        BucketLimiter(qps=10.0, burst=100, clock=clock),
    )


class WorkQueue(Generic[K]):
    """Keys to reconcile: deduped, never processed twice at once, delayable; see the module."""

    def __init__(
        self,
        *,
        name: str,
        clock: Clock | None = None,
        rate_limiter: RateLimiter[K] | None = None,
    ) -> None:
        self._name = name
        self._clock: Clock = clock if clock is not None else LoopClock()
        self._rate_limiter: RateLimiter[K] = (
            rate_limiter
            if rate_limiter is not None
            else default_controller_rate_limiter(clock=self._clock)
        )
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: dict[K, float] = {}  # key -> when its worker got it
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        # Delayed adds: a heap of (deadline, tiebreak, key) and each key's earliest deadline.
        # A heap entry whose deadline is no longer the key's is stale and skipped.
        self._delayed: list[tuple[float, int, K]] = []
        self._deadlines: dict[K, float] = {}
        self._tiebreak = itertools.count()
        self._deadlines_changed = asyncio.Event()
        self._tasks: asyncio.TaskGroup | None = None
        self._delay_loop: asyncio.Task[None] | None = None
        self._adds_total = 0
        self._retries_total = 0

    @property
    def name(self) -> str:
        return self._name

    # Running: the task that turns due delayed adds into adds.

    async def __aenter__(self) -> Self:
        if self._tasks is not None or self._shutting_down:
            raise RuntimeError(f"work queue {self._name!r} can be run only once")
        tasks = asyncio.TaskGroup()
        await tasks.__aenter__()
        self._tasks = tasks
        self._delay_loop = tasks.create_task(
            self._add_when_due(), name=f"workqueue {self._name}: delayed adds"
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shut_down()
        assert self._tasks is not None and self._delay_loop is not None
        self._delay_loop.cancel()
        # The body's own exception (or cancellation) is not handed to the group: it propagates
        # by itself, unwrapped. The group still raises if the delay loop itself failed.
        await self._tasks.__aexit__(None, None, None)

    async def _add_when_due(self) -> None:
        while True:
            self._deadlines_changed.clear()
            next_deadline = self._add_due_keys()
            if next_deadline is None:
                await self._deadlines_changed.wait()
            else:
                await self._sleep_unless_changed(next_deadline - self._clock.monotonic())

    def _add_due_keys(self) -> float | None:
        """Add every key whose deadline has come; return the next deadline, if any."""
        now = self._clock.monotonic()
        while self._delayed:
            deadline, _, key = self._delayed[0]
            if self._deadlines.get(key) != deadline:
                heapq.heappop(self._delayed)
            elif deadline <= now:
                heapq.heappop(self._delayed)
                del self._deadlines[key]
                self.add(key)
            else:
                return deadline
        return None

    async def _sleep_unless_changed(self, seconds: float) -> None:
        async with asyncio.TaskGroup() as timer:
            sleeping = timer.create_task(self._sleep_then_signal(seconds))
            await self._deadlines_changed.wait()
            sleeping.cancel()

    async def _sleep_then_signal(self, seconds: float) -> None:
        await self._clock.sleep(seconds)
        self._deadlines_changed.set()

    # The queue proper.

    def add(self, key: K) -> None:
        """Queue ``key``, unless it is queued already; if it is processing, mark it dirty."""
        if self._shutting_down or key in self._dirty:
            return
        self._adds_total += 1
        self._dirty.add(key)
        if key in self._processing:
            return
        self._queue.append(key)
        self._wake_next_getter()

    async def get(self) -> K:
        """Wait for a key and mark it processing; ``QueueShutDown`` once shut down."""
        while True:
            if self._shutting_down:
                raise QueueShutDown(f"work queue {self._name!r} is shut down")
            if self._queue:
                break
            await self._wait_for_a_key()
        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing[key] = self._clock.monotonic()
        return key

    async def _wait_for_a_key(self) -> None:
        getter = asyncio.get_running_loop().create_future()
        self._getters.append(getter)
        try:
            await getter
        except BaseException:
            getter.cancel()
            with suppress(ValueError):
                self._getters.remove(getter)
            # Woken and cancelled before taking the key: pass the wake-up on.
            if self._queue and not getter.cancelled():
                self._wake_next_getter()
            raise

    def _wake_next_getter(self) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return

    def done(self, key: K) -> None:
        """``key`` is no longer processing; queue it again if it was added meanwhile."""
        if key not in self._processing:
            raise ValueError(f"{key!r} is not being processed by work queue {self._name!r}")
        del self._processing[key]
        if key in self._dirty and not self._shutting_down:
            self._queue.append(key)
            self._wake_next_getter()

    def add_after(self, key: K, delay: float) -> None:
        """``add`` once ``delay`` seconds have passed; the earliest pending deadline wins."""
        if self._shutting_down:
            return
        self._retries_total += 1
        if delay <= 0:
            self.add(key)
            return
        if self._delay_loop is None:
            raise RuntimeError(
                f"work queue {self._name!r} is not running: use `async with` for delayed adds"
            )
        deadline = self._clock.monotonic() + delay
        pending = self._deadlines.get(key)
        if pending is not None and pending <= deadline:
            return
        self._deadlines[key] = deadline
        entry = (deadline, next(self._tiebreak), key)
        heapq.heappush(self._delayed, entry)
        if self._delayed[0] is entry:
            self._deadlines_changed.set()

    def add_rate_limited(self, key: K) -> None:
        """``add_after`` with the delay the rate limiter gives for this key's next try."""
        if self._shutting_down:
            return
        self.add_after(key, self._rate_limiter.when(key))

    def forget(self, key: K) -> None:
        """``key`` succeeded: its next rate-limited add starts from the shortest delay."""
        self._rate_limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return self._rate_limiter.num_requeues(key)

    def shut_down(self) -> None:
        """Stop now (no drain): getters raise ``QueueShutDown``, pending keys are dropped."""
        if self._shutting_down:
            return
        self._shutting_down = True
        self._queue.clear()
        self._dirty.clear()
        self._delayed.clear()
        self._deadlines.clear()
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    # Numbers for metrics.

    def __len__(self) -> int:
        """Keys waiting to be got (not those delayed or processing)."""
        return len(self._queue)

    @property
    def depth(self) -> int:
        return len(self._queue)

    @property
    def adds_total(self) -> int:
        return self._adds_total

    @property
    def retries_total(self) -> int:
        return self._retries_total

    @property
    def unfinished_work_seconds(self) -> float:
        """Seconds of work in progress: the sum over processing keys of how long each has run."""
        now = self._clock.monotonic()
        return sum(now - started for started in self._processing.values())

    @property
    def longest_running_processor_seconds(self) -> float:
        """How long the longest-running key being processed has been at it (0 if none)."""
        now = self._clock.monotonic()
        return max((now - started for started in self._processing.values()), default=0.0)
