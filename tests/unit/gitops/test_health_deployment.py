"""Deployments: Argo's rollout rules, on objects shaped like the API server's answers."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.gitops.health import DEGRADED, HEALTHY, PROGRESSING, SUSPENDED, Health, health_of


def deployment(
    *, generation: int = 2, desired: int = 3, paused: bool = False, **status: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": desired,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
        },
        "progressDeadlineSeconds": 600,
    }
    if paused:
        spec["paused"] = True
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "generation": generation, "uid": "1"},
        "spec": spec,
        "status": status,
    }


def progressing(reason: str, message: str) -> list[dict[str, str]]:
    return [
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
        {
            "type": "Progressing",
            "status": "True" if reason != "ProgressDeadlineExceeded" else "False",
            "reason": reason,
            "message": message,
        },
    ]


ROLLED_OUT = {
    "observedGeneration": 2,
    "replicas": 3,
    "updatedReplicas": 3,
    "readyReplicas": 3,
    "availableReplicas": 3,
    "conditions": progressing("NewReplicaSetAvailable", "done"),
}


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (deployment(**ROLLED_OUT), Health(HEALTHY)),
        (deployment(paused=True, **ROLLED_OUT), Health(SUSPENDED, "Deployment is paused")),
        (
            deployment(generation=3, **ROLLED_OUT),
            Health(
                PROGRESSING,
                "Waiting for rollout to finish: observed deployment generation less than desired",
            ),
        ),
        (
            deployment(
                **{
                    **ROLLED_OUT,
                    "updatedReplicas": 1,
                    "conditions": progressing("ReplicaSetUpdated", ""),
                }
            ),
            Health(
                PROGRESSING,
                "Waiting for rollout to finish: 1 out of 3 new replicas have been updated...",
            ),
        ),
        (
            deployment(**{**ROLLED_OUT, "replicas": 4}),
            Health(
                PROGRESSING,
                "Waiting for rollout to finish: 1 old replicas are pending termination...",
            ),
        ),
        (
            deployment(**{**ROLLED_OUT, "availableReplicas": 1}),
            Health(
                PROGRESSING,
                "Waiting for rollout to finish: 1 of 3 updated replicas are available...",
            ),
        ),
        (
            deployment(
                **{
                    **ROLLED_OUT,
                    "availableReplicas": 1,
                    "conditions": progressing(
                        "ProgressDeadlineExceeded",
                        'ReplicaSet "web-5d8f" has timed out progressing.',
                    ),
                }
            ),
            Health(DEGRADED, "Deployment 'web' exceeded its progress deadline"),
        ),
        (deployment(desired=0, observedGeneration=2), Health(HEALTHY)),
        (
            deployment(observedGeneration=1),
            Health(
                PROGRESSING,
                "Waiting for rollout to finish: observed deployment generation less than desired",
            ),
        ),
    ],
)
def test_deployment_health(live: dict[str, Any], expected: Health) -> None:
    assert health_of(live) == expected
