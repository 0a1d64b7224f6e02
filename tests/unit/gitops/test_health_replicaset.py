"""ReplicaSets: observed spec, a replica failure, available replicas."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.gitops.health import DEGRADED, HEALTHY, PROGRESSING, Health, health_of


def replica_set(*, generation: int = 1, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web-5d8f", "namespace": "shop", "generation": generation},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}},
        "status": status,
    }


FAILURE = {
    "type": "ReplicaFailure",
    "status": "True",
    "reason": "FailedCreate",
    "message": 'pods "web-5d8f-x" is forbidden: exceeded quota: pods',
}


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (
            replica_set(
                observedGeneration=1,
                replicas=2,
                readyReplicas=2,
                availableReplicas=2,
                fullyLabeledReplicas=2,
            ),
            Health(HEALTHY),
        ),
        (
            replica_set(generation=2, observedGeneration=1, replicas=2, availableReplicas=2),
            Health(
                PROGRESSING,
                "Waiting for rollout to finish: observed replica set generation less than desired",
            ),
        ),
        (
            replica_set(observedGeneration=1, replicas=2, availableReplicas=1),
            Health(
                PROGRESSING,
                "Waiting for rollout to finish: 1 out of 2 new replicas are available...",
            ),
        ),
        (
            replica_set(observedGeneration=1, replicas=0, conditions=[FAILURE]),
            Health(DEGRADED, 'pods "web-5d8f-x" is forbidden: exceeded quota: pods'),
        ),
    ],
)
def test_replica_set_health(live: dict[str, Any], expected: Health) -> None:
    assert health_of(live) == expected
