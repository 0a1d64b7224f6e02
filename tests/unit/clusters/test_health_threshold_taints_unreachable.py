from flotilla.api import UNREACHABLE_TAINT, Taint
from flotilla.api.cluster import ProbeSettings
from flotilla.clusters.health import next_status

from .probing import SETTINGS, T0, after_failures, at, condition, failure, ready_cluster


def test_reaching_the_failure_threshold_makes_the_cluster_not_ready_unreachable() -> None:
    status = after_failures(ready_cluster(), SETTINGS.failure_threshold)

    ready = condition(status, "Ready")
    assert (ready.status, ready.reason) == ("False", "Unreachable")
    assert "Timeout: no answer within 2s" in ready.message


def test_reaching_the_failure_threshold_adds_one_no_execute_unreachable_taint() -> None:
    status = after_failures(ready_cluster(), SETTINGS.failure_threshold)

    assert status.taints == [Taint(key=UNREACHABLE_TAINT, effect="NoExecute", time_added=at(3))]


def test_further_failures_do_not_add_the_taint_again() -> None:
    status = after_failures(ready_cluster(), SETTINGS.failure_threshold + 5)

    assert [t.key for t in status.taints] == [UNREACHABLE_TAINT]
    assert status.taints[0].time_added == at(SETTINGS.failure_threshold)
    assert status.consecutive_failures == SETTINGS.failure_threshold + 5


def test_a_threshold_of_one_makes_the_first_failure_not_ready() -> None:
    settings = ProbeSettings(failure_threshold=1)

    status = next_status(ready_cluster(), failure(), settings, now=at(1))

    assert condition(status, "Ready").status == "False"
    assert [t.key for t in status.taints] == [UNREACHABLE_TAINT]


def test_other_taints_are_kept_beside_the_unreachable_one() -> None:
    cluster = ready_cluster()
    cluster.taints.append(Taint(key="example.com/maintenance", effect="NoSchedule", time_added=T0))

    status = after_failures(cluster, SETTINGS.failure_threshold)

    assert [t.key for t in status.taints] == ["example.com/maintenance", UNREACHABLE_TAINT]
