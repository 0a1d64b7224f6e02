"""DaemonSets: observed spec, OnDelete, updated and available pods on every node."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.gitops.health import HEALTHY, PROGRESSING, Health, health_of


def daemon_set(
    strategy: str = "RollingUpdate", *, generation: int = 2, **status: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "kube-system", "generation": generation},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "updateStrategy": {"type": strategy},
        },
        "status": status,
    }


DONE = {
    "observedGeneration": 2,
    "currentNumberScheduled": 4,
    "desiredNumberScheduled": 4,
    "numberAvailable": 4,
    "numberReady": 4,
    "updatedNumberScheduled": 4,
    "numberMisscheduled": 0,
}


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (daemon_set(**DONE), Health(HEALTHY)),
        (
            daemon_set(generation=3, **DONE),
            Health(
                PROGRESSING,
                "Waiting for rollout to finish: observed daemon set generation less than desired",
            ),
        ),
        (
            daemon_set(**{**DONE, "updatedNumberScheduled": 1}),
            Health(
                PROGRESSING,
                "Waiting for daemon set rollout to finish: 1 out of 4 new pods"
                " have been updated...",
            ),
        ),
        (
            daemon_set(**{**DONE, "numberAvailable": 3}),
            Health(
                PROGRESSING,
                "Waiting for daemon set rollout to finish: 3 of 4 updated pods are available...",
            ),
        ),
        (
            daemon_set("OnDelete", **{**DONE, "updatedNumberScheduled": 1}),
            Health(HEALTHY, "OnDelete update strategy: 1 out of 4 new pods have been updated"),
        ),
        (
            daemon_set(
                **{
                    **DONE,
                    "desiredNumberScheduled": 0,
                    "currentNumberScheduled": 0,
                    "numberAvailable": 0,
                    "numberReady": 0,
                    "updatedNumberScheduled": 0,
                }
            ),
            Health(HEALTHY),
        ),
    ],
)
def test_daemon_set_health(live: dict[str, Any], expected: Health) -> None:
    assert health_of(live) == expected
