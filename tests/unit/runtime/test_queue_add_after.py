import asyncio

import pytest

from flotilla.runtime.clock import FakeClock
from flotilla.runtime.queue import WorkQueue


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def _advance_to(clock: FakeClock, when: float) -> None:
    await clock.advance(when - clock.monotonic())


async def test_a_delayed_key_appears_exactly_when_its_delay_has_passed() -> None:
    clock = FakeClock()
    start = clock.monotonic()
    async with WorkQueue[str](name="test", clock=clock) as queue:
        queue.add_after("a", 0.5)
        await clock.advance(0.499)
        assert len(queue) == 0
        await _advance_to(clock, start + 0.5)
        assert len(queue) == 1
        assert await queue.get() == "a"


async def test_a_getter_waiting_for_a_delayed_key_gets_it_on_time() -> None:
    clock = FakeClock()
    async with WorkQueue[str](name="test", clock=clock) as queue:
        getter = asyncio.create_task(queue.get())
        queue.add_after("a", 2.0)
        await clock.advance(1.0)
        assert not getter.done()
        await clock.advance(1.0)
        assert getter.done()
        assert getter.result() == "a"


async def test_of_several_delayed_adds_for_a_key_the_earliest_wins_and_only_once() -> None:
    clock = FakeClock()
    start = clock.monotonic()
    async with WorkQueue[str](name="test", clock=clock) as queue:
        queue.add_after("a", 10.0)
        queue.add_after("a", 5.0)
        queue.add_after("a", 7.0)
        await clock.advance(4.0)
        assert len(queue) == 0
        await _advance_to(clock, start + 5.0)
        assert len(queue) == 1
        queue.done(await queue.get())
        await clock.advance(100.0)
        assert len(queue) == 0


async def test_a_later_delayed_add_does_not_postpone_a_pending_one() -> None:
    clock = FakeClock()
    start = clock.monotonic()
    async with WorkQueue[str](name="test", clock=clock) as queue:
        queue.add_after("a", 1.0)
        queue.add_after("a", 60.0)
        await _advance_to(clock, start + 1.0)
        assert len(queue) == 1


async def test_delayed_keys_come_out_in_deadline_order() -> None:
    clock = FakeClock()
    async with WorkQueue[str](name="test", clock=clock) as queue:
        queue.add_after("late", 3.0)
        queue.add_after("early", 1.0)
        queue.add_after("middle", 2.0)
        await clock.advance(3.0)
        assert len(queue) == 3
        assert [await queue.get() for _ in range(3)] == ["early", "middle", "late"]


async def test_a_delayed_add_of_a_key_still_queued_when_due_does_not_duplicate_it() -> None:
    clock = FakeClock()
    async with WorkQueue[str](name="test", clock=clock) as queue:
        queue.add("a")
        queue.add_after("a", 1.0)
        await clock.advance(1.0)
        assert len(queue) == 1
        queue.done(await queue.get())
        assert len(queue) == 0


async def test_a_delayed_add_falling_due_while_processing_marks_the_key_dirty() -> None:
    clock = FakeClock()
    async with WorkQueue[str](name="test", clock=clock) as queue:
        queue.add("a")
        key = await queue.get()
        queue.add_after(key, 1.0)
        await clock.advance(1.0)
        assert len(queue) == 0
        queue.done(key)
        assert len(queue) == 1


async def test_a_delay_of_zero_or_less_adds_at_once_even_when_not_running() -> None:
    queue = WorkQueue[str](name="test", clock=FakeClock())
    queue.add_after("a", 0.0)
    queue.add_after("b", -1.0)
    assert len(queue) == 2


async def test_a_positive_delay_needs_the_queue_running() -> None:
    queue = WorkQueue[str](name="test", clock=FakeClock())
    with pytest.raises(RuntimeError, match="async with"):
        queue.add_after("a", 1.0)


async def test_the_queue_waits_with_one_sleep_on_its_clock() -> None:
    clock = FakeClock()
    async with WorkQueue[str](name="test", clock=clock) as queue:
        await _settle()
        assert clock.sleepers == 0
        queue.add_after("a", 3.0)
        await _settle()
        queue.add_after("b", 2.0)
        queue.add_after("c", 1.0)
        await _settle()
        assert clock.sleepers == 1
    assert clock.sleepers == 0
