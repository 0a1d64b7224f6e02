"""APIServices: healthy when Available, progressing until then."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.gitops.health import HEALTHY, PROGRESSING, Health, health_of


def api_service(*conditions: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": "v1beta1.metrics.k8s.io"},
        "spec": {
            "group": "metrics.k8s.io",
            "version": "v1beta1",
            "service": {"name": "metrics-server", "namespace": "kube-system"},
        },
        "status": {"conditions": list(conditions)} if conditions else {},
    }


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (
            api_service(
                {
                    "type": "Available",
                    "status": "True",
                    "reason": "Passed",
                    "message": "all checks passed",
                }
            ),
            Health(HEALTHY, "Passed: all checks passed"),
        ),
        (
            api_service(
                {
                    "type": "Available",
                    "status": "False",
                    "reason": "MissingEndpoints",
                    "message": 'service/metrics-server in "kube-system" has no endpoints',
                }
            ),
            Health(
                PROGRESSING,
                'MissingEndpoints: service/metrics-server in "kube-system" has no endpoints',
            ),
        ),
        (api_service(), Health(PROGRESSING, "Waiting to be processed")),
    ],
)
def test_api_service_health(live: dict[str, Any], expected: Health) -> None:
    assert health_of(live) == expected
