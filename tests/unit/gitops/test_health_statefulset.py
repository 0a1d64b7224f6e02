"""StatefulSets: observed spec, ready pods, partitioned and OnDelete updates, revisions."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.gitops.health import HEALTHY, PROGRESSING, Health, health_of


def stateful_set(strategy: dict[str, Any], *, generation: int = 4, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "shop", "generation": generation},
        "spec": {
            "replicas": 3,
            "serviceName": "db",
            "updateStrategy": strategy,
            "podManagementPolicy": "OrderedReady",
        },
        "status": status,
    }


ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
PARTITIONED = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
DONE = {
    "observedGeneration": 4,
    "replicas": 3,
    "readyReplicas": 3,
    "currentReplicas": 3,
    "updatedReplicas": 3,
    "availableReplicas": 3,
    "currentRevision": "db-7c9",
    "updateRevision": "db-7c9",
}


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (
            stateful_set(ROLLING, **DONE),
            Health(HEALTHY, "partitioned roll out complete: 3 new pods have been updated..."),
        ),
        (
            stateful_set(ROLLING, generation=5, **DONE),
            Health(PROGRESSING, "Waiting for statefulset spec update to be observed..."),
        ),
        (
            stateful_set(ROLLING),
            Health(PROGRESSING, "Waiting for statefulset spec update to be observed..."),
        ),
        (
            {**stateful_set(ROLLING), "metadata": {"name": "db"}},
            Health(PROGRESSING, "Waiting for statefulset spec update to be observed..."),
        ),
        (
            stateful_set(ROLLING, **{**DONE, "readyReplicas": 1}),
            Health(PROGRESSING, "Waiting for 2 pods to be ready..."),
        ),
        (
            stateful_set(ROLLING, **{**DONE, "updatedReplicas": 2, "updateRevision": "db-8d1"}),
            Health(
                PROGRESSING,
                "Waiting for partitioned roll out to finish: 2 out of 3 new pods"
                " have been updated...",
            ),
        ),
        (
            stateful_set(PARTITIONED, **{**DONE, "updatedReplicas": 1, "updateRevision": "db-8d1"}),
            Health(HEALTHY, "partitioned roll out complete: 1 new pods have been updated..."),
        ),
        (
            stateful_set(PARTITIONED, **{**DONE, "updatedReplicas": 0, "updateRevision": "db-8d1"}),
            Health(
                PROGRESSING,
                "Waiting for partitioned roll out to finish: 0 out of 1 new pods"
                " have been updated...",
            ),
        ),
        (
            stateful_set(
                {"type": "OnDelete"}, **{**DONE, "updatedReplicas": 0, "updateRevision": "db-8d1"}
            ),
            Health(HEALTHY, "OnDelete update strategy: pods are updated when deleted"),
        ),
        (
            stateful_set({}, **{**DONE, "updateRevision": "db-8d1"}),
            Health(
                PROGRESSING,
                "waiting for statefulset rolling update to complete 3 pods at revision db-8d1...",
            ),
        ),
        (
            stateful_set({}, **DONE),
            Health(HEALTHY, "statefulset rolling update complete 3 pods at revision db-7c9..."),
        ),
    ],
)
def test_stateful_set_health(live: dict[str, Any], expected: Health) -> None:
    assert health_of(live) == expected
