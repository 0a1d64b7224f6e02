import asyncio

import pytest

from flotilla.runtime.clock import FakeClock
from flotilla.runtime.queue import QueueShutDown, WorkQueue


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_shut_down_wakes_every_waiting_getter_with_queue_shut_down() -> None:
    queue = WorkQueue[str](name="test")
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await _settle()
    queue.shut_down()
    await _settle()
    for getter in getters:
        assert getter.done()
        assert isinstance(getter.exception(), QueueShutDown)


async def test_shut_down_does_not_drain_get_raises_at_once_and_queued_keys_are_dropped() -> None:
    queue = WorkQueue[str](name="test")
    queue.add("a")
    queue.add("b")
    queue.shut_down()
    assert queue.shutting_down
    assert len(queue) == 0
    with pytest.raises(QueueShutDown):
        await queue.get()


async def test_adds_after_shut_down_are_ignored() -> None:
    queue = WorkQueue[str](name="test", clock=FakeClock())
    queue.shut_down()
    queue.add("a")
    queue.add_after("b", 0.0)
    queue.add_after("c", 1.0)
    queue.add_rate_limited("d")
    assert len(queue) == 0
    assert (queue.adds_total, queue.retries_total, queue.num_requeues("d")) == (0, 0, 0)


async def test_a_worker_may_finish_its_key_after_shut_down_and_it_is_not_requeued() -> None:
    queue = WorkQueue[str](name="test")
    queue.add("a")
    key = await queue.get()
    queue.add("a")
    queue.shut_down()
    queue.done(key)
    assert len(queue) == 0


async def test_leaving_async_with_shuts_down_and_stops_waiting_for_delayed_adds() -> None:
    clock = FakeClock()
    async with WorkQueue[str](name="test", clock=clock) as queue:
        getter = asyncio.create_task(queue.get())
        queue.add_after("a", 1.0)
        await _settle()
        assert clock.sleepers == 1
    assert clock.sleepers == 0
    assert queue.shutting_down
    assert getter.done()
    with pytest.raises(QueueShutDown):
        await getter
    await clock.advance(2.0)
    assert len(queue) == 0


async def test_an_error_in_the_body_propagates_as_itself() -> None:
    with pytest.raises(KeyError):
        async with WorkQueue[str](name="test", clock=FakeClock()):
            raise KeyError("boom")


async def test_cancelling_the_owner_stops_the_queue_and_propagates() -> None:
    clock = FakeClock()
    started = asyncio.Event()

    async def owner() -> None:
        async with WorkQueue[str](name="test", clock=clock) as queue:
            queue.add_after("a", 1.0)
            started.set()
            await queue.get()

    task = asyncio.create_task(owner())
    await started.wait()
    await _settle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleepers == 0


async def test_a_queue_runs_only_once() -> None:
    queue = WorkQueue[str](name="test", clock=FakeClock())
    async with queue:
        pass
    with pytest.raises(RuntimeError, match="only once"):
        async with queue:
            pass
