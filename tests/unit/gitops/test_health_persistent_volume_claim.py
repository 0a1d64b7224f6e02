"""PersistentVolumeClaims: Bound, Pending and Lost."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.gitops.health import DEGRADED, HEALTHY, PROGRESSING, UNKNOWN, Health, health_of


def claim(phase: str | None) -> dict[str, Any]:
    status: dict[str, Any] = {} if phase is None else {"phase": phase}
    if phase == "Bound":
        status.update(accessModes=["ReadWriteOnce"], capacity={"storage": "1Gi"})
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "shop"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        "status": status,
    }


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("Bound", Health(HEALTHY)),
        ("Pending", Health(PROGRESSING, "Waiting for the claim to be bound")),
        ("Lost", Health(DEGRADED, "The claim lost its volume")),
        (None, Health(UNKNOWN)),
    ],
)
def test_claim_health(phase: str | None, expected: Health) -> None:
    assert health_of(claim(phase)) == expected
