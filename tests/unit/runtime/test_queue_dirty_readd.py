import asyncio
import itertools
import random

import pytest

from flotilla.runtime.queue import QueueShutDown, WorkQueue


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_key_added_while_processing_is_not_handed_to_another_worker() -> None:
    queue = WorkQueue[str](name="test")
    queue.add("a")
    assert await queue.get() == "a"
    queue.add("a")
    assert len(queue) == 0
    second_worker = asyncio.create_task(queue.get())
    await _settle()
    assert not second_worker.done()
    queue.done("a")
    await _settle()
    assert second_worker.done()
    assert second_worker.result() == "a"


async def test_done_requeues_a_key_added_while_processing_once() -> None:
    queue = WorkQueue[str](name="test")
    queue.add("a")
    await queue.get()
    queue.add("a")
    queue.add("a")
    queue.add("a")
    queue.done("a")
    assert len(queue) == 1
    assert await queue.get() == "a"
    queue.done("a")
    assert len(queue) == 0


async def test_a_requeued_key_goes_behind_the_keys_already_waiting() -> None:
    queue = WorkQueue[str](name="test")
    queue.add("a")
    await queue.get()
    queue.add("a")
    queue.add("b")
    queue.done("a")
    assert len(queue) == 2
    assert [await queue.get(), await queue.get()] == ["b", "a"]


async def test_done_without_a_new_add_does_not_requeue() -> None:
    queue = WorkQueue[str](name="test")
    queue.add("a")
    await queue.get()
    queue.done("a")
    assert len(queue) == 0


async def test_done_for_a_key_not_being_processed_is_refused() -> None:
    queue = WorkQueue[str](name="test")
    queue.add("a")
    with pytest.raises(ValueError, match="not being processed"):
        queue.done("a")
    assert len(queue) == 1


async def test_busy_workers_never_share_a_key_and_each_key_is_seen_after_its_last_add() -> None:
    rng = random.Random(1234)
    queue = WorkQueue[str](name="test")
    keys = [f"k{i}" for i in range(5)]
    ticks = itertools.count()
    last_add: dict[str, int] = {}
    last_start: dict[str, int] = {}
    in_flight: set[str] = set()
    shared: list[str] = []

    async def worker() -> None:
        while True:
            try:
                key = await queue.get()
            except QueueShutDown:
                return
            if key in in_flight:
                shared.append(key)
            in_flight.add(key)
            last_start[key] = next(ticks)
            try:
                for _ in range(rng.randint(0, 4)):
                    await asyncio.sleep(0)
            finally:
                in_flight.discard(key)
                queue.done(key)

    # The timeout only guards against a hang if shut_down failed to release the workers.
    async with asyncio.timeout(5.0), asyncio.TaskGroup() as workers:
        for _ in range(4):
            workers.create_task(worker())
        for _ in range(500):
            key = rng.choice(keys)
            last_add[key] = next(ticks)
            queue.add(key)
            if rng.random() < 0.5:
                await asyncio.sleep(0)
        for _ in range(1000):
            if not in_flight and len(queue) == 0:
                break
            await asyncio.sleep(0)
        queue.shut_down()

    assert shared == []
    assert set(last_start) == set(last_add)
    for key, added in last_add.items():
        assert last_start[key] > added, key
