from flotilla.api import UNREACHABLE_TAINT, Taint
from flotilla.clusters.health import next_status

from .probing import SETTINGS, T0, after_failures, at, condition, ready_cluster, success


def test_one_successful_probe_makes_a_lost_cluster_ready_again() -> None:
    lost = after_failures(ready_cluster(), SETTINGS.failure_threshold + 2)

    status = next_status(lost, success(), SETTINGS, now=at(60))

    assert condition(status, "Reachable").status == "True"
    ready = condition(status, "Ready")
    assert (ready.status, ready.reason) == ("True", "ClusterReady")
    assert status.consecutive_failures == 0


def test_one_successful_probe_lifts_the_unreachable_taint_and_only_it() -> None:
    cluster = ready_cluster()
    maintenance = Taint(key="example.com/maintenance", effect="NoSchedule", time_added=T0)
    cluster.taints.append(maintenance)
    lost = after_failures(cluster, SETTINGS.failure_threshold)
    assert UNREACHABLE_TAINT in [t.key for t in lost.taints]

    status = next_status(lost, success(), SETTINGS, now=at(60))

    assert status.taints == [maintenance]


def test_a_success_below_the_threshold_resets_the_count() -> None:
    flaky = after_failures(ready_cluster(), SETTINGS.failure_threshold - 1)
    recovered = next_status(flaky, success(), SETTINGS, now=at(10))

    status = after_failures(recovered, SETTINGS.failure_threshold - 1, start=11)

    assert condition(status, "Ready").status == "True"
    assert status.taints == []
