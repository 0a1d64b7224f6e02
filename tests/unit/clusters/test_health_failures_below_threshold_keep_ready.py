from flotilla.api import UNREACHABLE_TAINT
from flotilla.clusters.health import next_status

from .probing import SETTINGS, after_failures, at, condition, failure, ready_cluster


def test_one_failed_probe_makes_the_cluster_unreachable_at_once() -> None:
    status = next_status(
        ready_cluster(), failure("ConnectionFailed", "refused"), SETTINGS, now=at(1)
    )

    reachable = condition(status, "Reachable")
    assert (reachable.status, reachable.reason) == ("False", "ConnectionFailed")
    assert reachable.message == "ConnectionFailed: refused"
    assert status.consecutive_failures == 1


def test_failures_below_the_threshold_keep_the_cluster_ready_and_untainted() -> None:
    status = after_failures(ready_cluster(), SETTINGS.failure_threshold - 1)

    assert condition(status, "Ready").status == "True"
    assert condition(status, "Reachable").status == "False"
    assert status.consecutive_failures == SETTINGS.failure_threshold - 1
    assert not any(t.key == UNREACHABLE_TAINT for t in status.taints)


def test_a_failure_keeps_the_last_inventory() -> None:
    status = after_failures(ready_cluster(), 1)

    assert (status.nodes, status.ready_nodes, status.kubernetes_version) == (3, 3, "v1.31.2")
    assert status.last_probe_time == at(1)
