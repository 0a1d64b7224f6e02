from flotilla.api import UNREACHABLE_TAINT, ClusterStatus
from flotilla.clusters.health import next_status, unusable_status

from .probing import SETTINGS, T0, after_failures, at, condition, ready_cluster, success


def test_a_ready_cluster_with_unusable_credentials_is_not_ready_and_tainted_at_once() -> None:
    status = unusable_status(ready_cluster(), reason="CredentialsInvalid", message="m", now=at(5))

    ready = condition(status, "Ready")
    assert (ready.status, ready.reason, ready.message) == ("False", "CredentialsInvalid", "m")
    assert ready.last_transition_time == at(5)
    assert condition(status, "Reachable").status == "Unknown"
    assert [(t.key, t.effect, t.time_added) for t in status.taints] == [
        (UNREACHABLE_TAINT, "NoExecute", at(5))
    ]


def test_a_cluster_that_was_lost_already_keeps_when_it_became_not_ready() -> None:
    lost = after_failures(ready_cluster(), SETTINGS.failure_threshold)

    status = unusable_status(lost, reason="CredentialsInvalid", message="m", now=at(60))

    assert condition(status, "Ready").last_transition_time == at(SETTINGS.failure_threshold)
    assert [t.time_added for t in status.taints] == [at(SETTINGS.failure_threshold)]


def test_a_new_cluster_with_unusable_credentials_is_not_ready_from_now() -> None:
    status = unusable_status(ClusterStatus(), reason="CredentialsMissing", message="m", now=T0)

    assert condition(status, "Ready").last_transition_time == T0
    assert len(status.taints) == 1


def test_fixed_credentials_and_one_good_probe_lift_the_taint() -> None:
    broken = unusable_status(ready_cluster(), reason="CredentialsInvalid", message="m", now=at(5))

    status = next_status(broken, success(), SETTINGS, now=at(9))

    assert condition(status, "Ready").status == "True"
    assert status.taints == []
