from datetime import UTC, datetime, timedelta

from flotilla.runtime.clock import FakeClock, LoopClock

START = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


async def test_the_fake_wall_clock_moves_with_its_monotonic_time() -> None:
    clock = FakeClock(wall=START)
    assert clock.now() == START
    await clock.advance(90.5)
    assert clock.now() == START + timedelta(seconds=90.5)


async def test_the_fake_wall_clock_starts_on_a_fixed_utc_date_by_default() -> None:
    first, second = FakeClock(), FakeClock(start=5.0)
    assert first.now() == second.now()
    assert first.now().tzinfo is UTC


async def test_the_loop_clock_tells_utc_wall_time() -> None:
    before = datetime.now(UTC)
    now = LoopClock().now()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)
