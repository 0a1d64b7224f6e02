import asyncio

import pytest

from flotilla.runtime.clock import FakeClock, LoopClock
from tests.unit.fakeapi import eventually, idle


async def _hang() -> None:
    await asyncio.Event().wait()


async def test_a_timeout_raises_after_its_seconds_of_fake_time() -> None:
    clock = FakeClock()
    outcome: list[BaseException] = []

    async def wait() -> None:
        try:
            async with clock.timeout(5.0):
                await _hang()
        except TimeoutError as error:
            outcome.append(error)

    task = asyncio.create_task(wait())
    await eventually(lambda: clock.sleepers == 1)
    await clock.advance(4.9)
    assert outcome == [] and not task.done()
    await clock.advance(0.1)
    await eventually(task.done)
    assert [type(error) for error in outcome] == [TimeoutError]


async def test_work_that_finishes_in_time_is_left_alone() -> None:
    clock = FakeClock()
    async with clock.timeout(5.0) as deadline:
        await clock.advance(0)
    assert not deadline.expired()
    assert clock.sleepers == 0, "the timer is gone with the block"
    await clock.advance(10.0)  # a leftover timer would cancel this task now
    await idle()


async def test_rescheduling_pushes_the_deadline_back() -> None:
    clock = FakeClock()
    expired = asyncio.Event()

    async def wait() -> None:
        with pytest.raises(TimeoutError):
            async with clock.timeout(5.0) as deadline:
                await clock.sleep(4.0)
                deadline.reschedule(clock.monotonic() + 5.0)
                await _hang()
        expired.set()

    task = asyncio.create_task(wait())
    await eventually(lambda: clock.sleepers == 2)
    await clock.advance(8.9)
    assert not expired.is_set()
    await clock.advance(0.1)
    await eventually(expired.is_set)
    await task


async def test_rescheduling_can_bring_the_deadline_forward() -> None:
    clock = FakeClock()

    async def wait() -> None:
        async with clock.timeout(60.0) as deadline:
            deadline.reschedule(clock.monotonic() + 1.0)
            await _hang()

    task = asyncio.create_task(wait())
    await eventually(lambda: clock.sleepers >= 1)
    await clock.advance(1.0)
    await eventually(task.done)
    assert isinstance(task.exception(), TimeoutError)


async def test_no_deadline_waits_until_one_is_set() -> None:
    clock = FakeClock()

    async def wait() -> None:
        async with clock.timeout(None) as deadline:
            assert deadline.when() is None
            await clock.sleep(100.0)
            deadline.reschedule(clock.monotonic() + 1.0)
            await _hang()

    task = asyncio.create_task(wait())
    await eventually(lambda: clock.sleepers == 1)
    await clock.advance(100.0)
    await clock.advance(0.5)
    assert not task.done()
    await clock.advance(0.5)
    await eventually(task.done)
    assert isinstance(task.exception(), TimeoutError)


async def test_a_cancellation_from_outside_is_not_a_timeout() -> None:
    clock = FakeClock()

    async def wait() -> None:
        async with clock.timeout(5.0):
            await _hang()

    task = asyncio.create_task(wait())
    await eventually(lambda: clock.sleepers == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_errors_inside_pass_through_unchanged() -> None:
    clock = FakeClock()
    with pytest.raises(KeyError):
        async with clock.timeout(5.0):
            raise KeyError("x")


async def test_the_loop_clock_times_out_on_the_loop() -> None:
    with pytest.raises(TimeoutError):
        async with LoopClock().timeout(0.01) as deadline:
            await _hang()
    assert deadline.expired()
