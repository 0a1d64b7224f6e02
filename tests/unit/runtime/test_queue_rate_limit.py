import pytest

from flotilla.runtime.clock import FakeClock
from flotilla.runtime.queue import (
    BucketLimiter,
    ItemExponentialLimiter,
    MaxOfLimiter,
    WorkQueue,
    default_controller_rate_limiter,
)


async def _advance_to(clock: FakeClock, when: float) -> None:
    await clock.advance(when - clock.monotonic())


def test_item_backoff_doubles_from_base_and_stops_at_cap() -> None:
    limiter = ItemExponentialLimiter[str](base=0.005, cap=1000.0)
    delays = [limiter.when("a") for _ in range(21)]
    assert delays[:5] == [0.005, 0.01, 0.02, 0.04, 0.08]
    assert delays[17] == 655.36  # 0.005 * 2**17, the last one under the cap
    assert delays[18:] == [1000.0, 1000.0, 1000.0]
    assert limiter.num_requeues("a") == 21


def test_item_backoff_is_per_key_and_forget_starts_it_over() -> None:
    limiter = ItemExponentialLimiter[str](base=0.005, cap=1000.0)
    assert [limiter.when("a"), limiter.when("a"), limiter.when("a")] == [0.005, 0.01, 0.02]
    assert limiter.when("b") == 0.005
    assert (limiter.num_requeues("a"), limiter.num_requeues("b")) == (3, 1)
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 0.005
    assert limiter.when("b") == 0.01


def test_item_backoff_does_not_overflow_after_very_many_failures() -> None:
    limiter = ItemExponentialLimiter[str](base=0.005, cap=30.0)
    for _ in range(2000):
        delay = limiter.when("a")
    assert delay == 30.0


def test_bucket_lets_a_burst_through_then_spaces_tries_by_qps() -> None:
    clock = FakeClock()
    limiter = BucketLimiter(qps=10.0, burst=100, clock=clock)
    assert [limiter.when(f"k{i}") for i in range(100)] == [0.0] * 100
    assert [limiter.when("x"), limiter.when("y"), limiter.when("z")] == [0.1, 0.2, 0.3]
    assert limiter.num_requeues("x") == 0


async def test_bucket_refills_with_clock_time_but_never_beyond_the_burst() -> None:
    clock = FakeClock()
    limiter = BucketLimiter(qps=10.0, burst=100, clock=clock)
    for i in range(102):
        limiter.when(i)  # two tokens borrowed: the bucket stands at -2
    await clock.advance(0.5)  # +5 tokens: 3 free tries
    assert [limiter.when(i) for i in range(4)] == [0.0, 0.0, 0.0, 0.1]
    await clock.advance(3600.0)
    assert [limiter.when(i) for i in range(101)] == [0.0] * 100 + [0.1]


def test_max_of_limiters_waits_the_longest_and_asks_and_forgets_them_all() -> None:
    fast = ItemExponentialLimiter[str](base=0.001, cap=1.0)
    flat = ItemExponentialLimiter[str](base=0.004, cap=0.004)
    limiter = MaxOfLimiter(fast, flat)
    assert [limiter.when("a") for _ in range(5)] == [0.004, 0.004, 0.004, 0.008, 0.016]
    assert (fast.num_requeues("a"), flat.num_requeues("a")) == (5, 5)
    assert limiter.num_requeues("a") == 5
    limiter.forget("a")
    assert (fast.num_requeues("a"), flat.num_requeues("a")) == (0, 0)
    assert limiter.when("a") == 0.004


def test_limiters_refuse_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        ItemExponentialLimiter[str](base=0.0, cap=1.0)
    with pytest.raises(ValueError):
        ItemExponentialLimiter[str](base=2.0, cap=1.0)
    with pytest.raises(ValueError):
        BucketLimiter(qps=0.0, burst=1, clock=FakeClock())
    with pytest.raises(ValueError):
        BucketLimiter(qps=1.0, burst=0, clock=FakeClock())
    with pytest.raises(ValueError):
        MaxOfLimiter[str]()


def test_default_limiter_backs_off_per_key_until_the_shared_bucket_runs_dry() -> None:
    limiter = default_controller_rate_limiter(clock=FakeClock())
    assert [limiter.when("a") for _ in range(3)] == [0.005, 0.01, 0.02]
    assert [limiter.when(i) for i in range(97)] == [0.005] * 97  # 100 tokens used
    assert limiter.when("b") == 0.1
    assert limiter.when("c") == 0.2
    assert limiter.num_requeues("a") == 3


async def test_rate_limited_adds_come_back_after_5_10_20_ms_and_after_forget_5_again() -> None:
    clock = FakeClock()
    async with WorkQueue[str](name="test", clock=clock) as queue:
        for expected in [0.005, 0.01, 0.02, 0.005]:
            if expected == 0.005:
                queue.forget("a")
            start = clock.monotonic()
            queue.add_rate_limited("a")
            await clock.advance(expected * 0.9)
            assert len(queue) == 0, expected
            await _advance_to(clock, start + expected)
            assert len(queue) == 1, expected
            queue.done(await queue.get())
        assert queue.num_requeues("a") == 1


async def test_rate_limited_adds_use_the_limiter_given_to_the_queue() -> None:
    clock = FakeClock()
    limiter = ItemExponentialLimiter[str](base=1.0, cap=2.0)
    async with WorkQueue[str](name="test", clock=clock, rate_limiter=limiter) as queue:
        queue.add_rate_limited("a")
        queue.add_rate_limited("b")
        queue.add_rate_limited("b")  # 2 s, but "b" is already due at 1 s
        await clock.advance(1.0)
        assert len(queue) == 2
        assert limiter.num_requeues("b") == 2
