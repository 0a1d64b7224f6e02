from flotilla.clusters.health import next_status

from .probing import (
    SETTINGS,
    T0,
    after_failures,
    at,
    condition,
    failure,
    ready_cluster,
    success,
)


def test_successes_keep_the_transition_times_of_a_ready_cluster() -> None:
    status = ready_cluster()
    for second in range(1, 5):
        status = next_status(status, success(latency_ms=second), SETTINGS, now=at(second))

    assert condition(status, "Reachable").last_transition_time == T0
    assert condition(status, "Ready").last_transition_time == T0
    assert status.last_probe_time == at(4)


def test_reachable_moves_at_the_first_failure_and_stays_there() -> None:
    status = after_failures(ready_cluster(), 2)

    assert condition(status, "Reachable").last_transition_time == at(1)
    assert condition(status, "Ready").last_transition_time == T0


def test_ready_moves_when_the_threshold_is_reached_and_stays_there() -> None:
    status = after_failures(ready_cluster(), SETTINGS.failure_threshold + 3)

    assert condition(status, "Reachable").last_transition_time == at(1)
    assert condition(status, "Ready").last_transition_time == at(SETTINGS.failure_threshold)


def test_a_different_failure_reason_keeps_the_transition_time() -> None:
    status = after_failures(ready_cluster(), 1)

    status = next_status(status, failure("ConnectionFailed", "refused"), SETTINGS, now=at(2))

    reachable = condition(status, "Reachable")
    assert (reachable.reason, reachable.last_transition_time) == ("ConnectionFailed", at(1))


def test_both_move_when_a_lost_cluster_comes_back() -> None:
    lost = after_failures(ready_cluster(), SETTINGS.failure_threshold)

    status = next_status(lost, success(), SETTINGS, now=at(30))

    assert condition(status, "Reachable").last_transition_time == at(30)
    assert condition(status, "Ready").last_transition_time == at(30)
