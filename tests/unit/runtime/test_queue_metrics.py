from flotilla.runtime.clock import FakeClock
from flotilla.runtime.queue import WorkQueue


async def test_depth_counts_keys_waiting_to_be_got() -> None:
    clock = FakeClock()
    async with WorkQueue[str](name="test", clock=clock) as queue:
        queue.add("a")
        queue.add("b")
        queue.add_after("c", 1.0)
        assert (queue.depth, len(queue)) == (2, 2)
        await queue.get()
        assert queue.depth == 1


async def test_adds_total_counts_adds_that_were_not_deduped() -> None:
    queue = WorkQueue[str](name="test")
    queue.add("a")
    queue.add("a")  # deduped
    queue.add("b")
    assert queue.adds_total == 2
    await queue.get()  # "a" is processing
    queue.add("a")  # marks it dirty: counted
    queue.add("a")  # already dirty: not counted
    assert queue.adds_total == 3


async def test_retries_total_counts_every_accepted_delayed_add() -> None:
    clock = FakeClock()
    async with WorkQueue[str](name="test", clock=clock) as queue:
        queue.add_after("a", 1.0)
        queue.add_after("a", 2.0)
        queue.add_after("b", 0.0)
        queue.add_rate_limited("c")
        assert queue.retries_total == 4
        assert queue.adds_total == 1


async def test_work_in_progress_is_measured_on_the_clock() -> None:
    clock = FakeClock()
    queue = WorkQueue[str](name="test", clock=clock)
    assert (queue.unfinished_work_seconds, queue.longest_running_processor_seconds) == (0, 0)
    queue.add("a")
    queue.add("b")
    await queue.get()
    await clock.advance(2.0)
    await queue.get()
    await clock.advance(1.0)
    assert queue.unfinished_work_seconds == 4.0
    assert queue.longest_running_processor_seconds == 3.0
    queue.done("a")
    assert queue.unfinished_work_seconds == 1.0
    assert queue.longest_running_processor_seconds == 1.0
    queue.done("b")
    assert (queue.unfinished_work_seconds, queue.longest_running_processor_seconds) == (0, 0)
