import asyncio

from flotilla.runtime.queue import WorkQueue


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_key_added_again_while_it_waits_is_held_once() -> None:
    queue = WorkQueue[str](name="test")
    queue.add("a")
    queue.add("a")
    queue.add("a")
    assert len(queue) == 1
    assert await queue.get() == "a"
    assert len(queue) == 0


async def test_keys_come_out_in_the_order_they_were_first_added() -> None:
    queue = WorkQueue[str](name="test")
    for key in ["c", "a", "b", "a", "c", "d"]:
        queue.add(key)
    got = [await queue.get() for _ in range(len(queue))]
    assert got == ["c", "a", "b", "d"]


async def test_a_getter_waits_until_a_key_is_added() -> None:
    queue = WorkQueue[str](name="test")
    getter = asyncio.create_task(queue.get())
    await _settle()
    assert not getter.done()
    queue.add("a")
    await _settle()
    assert getter.done()
    assert getter.result() == "a"


async def test_each_added_key_wakes_one_waiting_getter() -> None:
    queue = WorkQueue[str](name="test")
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await _settle()
    queue.add("a")
    queue.add("b")
    await _settle()
    assert sorted(g.result() for g in getters if g.done()) == ["a", "b"]
    (waiting,) = [g for g in getters if not g.done()]
    queue.add("c")
    await _settle()
    assert waiting.done()
    assert waiting.result() == "c"


async def test_a_getter_cancelled_after_being_woken_passes_the_key_on() -> None:
    queue = WorkQueue[str](name="test")
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await _settle()
    queue.add("a")  # wakes `first`, which has not run yet
    first.cancel()
    await _settle()
    assert first.cancelled()
    assert second.done()
    assert second.result() == "a"
