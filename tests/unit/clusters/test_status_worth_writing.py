import pytest

from flotilla.api import ClusterStatus
from flotilla.clusters.health import next_status, worth_writing

from .probing import SETTINGS, after_failures, at, failure, ready_cluster, success


def _probed(status: ClusterStatus, *, seconds: float, latency_ms: float) -> ClusterStatus:
    return next_status(status, success(latency_ms=latency_ms), SETTINGS, now=at(seconds))


def test_latency_jitter_is_not_worth_a_write() -> None:
    old = _probed(ready_cluster(), seconds=1, latency_ms=5)

    assert not worth_writing(old, _probed(old, seconds=2, latency_ms=8))


def test_a_big_latency_change_is_worth_a_write() -> None:
    old = _probed(ready_cluster(), seconds=1, latency_ms=5)

    assert worth_writing(old, _probed(old, seconds=2, latency_ms=200))


@pytest.mark.parametrize(("before", "after"), [(100, 140), (100, 60), (10, 30)])
def test_a_change_within_half_the_latency_or_twenty_ms_is_jitter(
    before: float, after: float
) -> None:
    old = _probed(ready_cluster(), seconds=1, latency_ms=before)

    assert not worth_writing(old, _probed(old, seconds=2, latency_ms=after))


def test_a_probe_time_only_change_is_not_worth_a_write() -> None:
    old = _probed(ready_cluster(), seconds=1, latency_ms=5)

    assert not worth_writing(old, _probed(old, seconds=29, latency_ms=5))


def test_thirty_seconds_without_a_write_is_worth_a_heartbeat() -> None:
    old = _probed(ready_cluster(), seconds=1, latency_ms=5)

    assert worth_writing(old, _probed(old, seconds=31, latency_ms=5))


def test_the_heartbeat_period_can_be_chosen() -> None:
    old = _probed(ready_cluster(), seconds=1, latency_ms=5)
    new = _probed(old, seconds=11, latency_ms=5)

    assert worth_writing(old, new, heartbeat=10)
    assert not worth_writing(old, new, heartbeat=60)


def test_a_changed_condition_is_worth_a_write() -> None:
    old = _probed(ready_cluster(), seconds=1, latency_ms=5)

    assert worth_writing(old, next_status(old, failure(), SETTINGS, now=at(2)))


def test_a_changed_inventory_is_worth_a_write() -> None:
    old = _probed(ready_cluster(), seconds=1, latency_ms=5)
    new = old.model_copy(update={"nodes": 4, "ready_nodes": 4, "last_probe_time": at(2)})

    assert worth_writing(old, new)


def test_a_status_never_written_is_worth_a_write() -> None:
    new = ready_cluster()

    assert worth_writing(ClusterStatus(), new)


def test_failures_below_the_threshold_after_the_first_are_not_worth_a_write() -> None:
    first = after_failures(ready_cluster(), 1)

    assert not worth_writing(first, after_failures(first, 1, start=2))


def test_a_bare_failure_count_of_a_not_ready_cluster_is_not_worth_a_write() -> None:
    lost = after_failures(ready_cluster(), SETTINGS.failure_threshold)
    four = lost.model_copy(update={"consecutive_failures": 4, "last_probe_time": at(4)})
    five = lost.model_copy(update={"consecutive_failures": 5, "last_probe_time": at(5)})

    assert not worth_writing(lost, four)
    assert not worth_writing(four, five)


def test_the_first_failure_after_successes_is_worth_a_write_for_its_count() -> None:
    old = ready_cluster()
    new = old.model_copy(update={"consecutive_failures": 1, "last_probe_time": at(1)})

    assert worth_writing(old, new)


def test_counting_failures_3_4_5_of_a_not_ready_cluster_is_not_worth_a_write() -> None:
    three = after_failures(ready_cluster(), 3)
    four = after_failures(three, 1, start=4)
    five = after_failures(four, 1, start=5)

    assert not worth_writing(three, four)
    assert not worth_writing(four, five)
