"""HorizontalPodAutoscalers: failures to scale are Degraded, being able to scale is Healthy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flotilla.gitops.health import DEGRADED, HEALTHY, PROGRESSING, Health, health_of


def condition(kind: str, status: str, reason: str, message: str) -> dict[str, str]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2024-05-01T10:00:00Z",
    }


def hpa(*conditions: dict[str, str]) -> dict[str, Any]:
    status: dict[str, Any] = {"currentReplicas": 2, "desiredReplicas": 2}
    if conditions:
        status["conditions"] = list(conditions)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "minReplicas": 2,
            "maxReplicas": 5,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        },
        "status": status,
    }


ABLE = condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
ACTIVE = condition(
    "ScalingActive", "True", "ValidMetricFound", "the HPA was able to compute the replica count"
)
UNLIMITED = condition(
    "ScalingLimited",
    "False",
    "DesiredWithinRange",
    "the desired count is within the acceptable range",
)
NO_METRICS = condition(
    "ScalingActive",
    "False",
    "FailedGetResourceMetric",
    "the HPA was unable to compute the replica count: no metrics returned",
)
NO_SCALE = condition(
    "AbleToScale", "False", "FailedGetScale", 'deployments/scale.apps "web" not found'
)
DISABLED = condition(
    "ScalingActive",
    "False",
    "ScalingDisabled",
    "scaling is disabled since the replica count of the target is zero",
)
BACKOFF = condition(
    "AbleToScale",
    "False",
    "BackoffBoth",
    "the time since the previous scale is still within the window",
)


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (hpa(ABLE, ACTIVE, UNLIMITED), Health(HEALTHY, ABLE["message"])),
        (hpa(ABLE, NO_METRICS, UNLIMITED), Health(DEGRADED, NO_METRICS["message"])),
        (hpa(NO_SCALE), Health(DEGRADED, NO_SCALE["message"])),
        (hpa(ABLE, DISABLED), Health(HEALTHY, ABLE["message"])),
        (hpa(BACKOFF, ACTIVE, UNLIMITED), Health(PROGRESSING, "Waiting to Autoscale")),
        (hpa(), Health(PROGRESSING, "Waiting to Autoscale")),
    ],
)
def test_hpa_health(live: dict[str, Any], expected: Health) -> None:
    assert health_of(live) == expected


def test_autoscaling_v1_conditions_are_read_from_their_annotation() -> None:
    live = hpa()
    live["apiVersion"] = "autoscaling/v1"
    live["metadata"]["annotations"] = {
        "autoscaling.alpha.kubernetes.io/conditions": json.dumps([ABLE, NO_METRICS])
    }
    assert health_of(live) == Health(DEGRADED, NO_METRICS["message"])
