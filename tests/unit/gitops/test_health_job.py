"""Jobs: complete, failed, suspended, or still running."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.gitops.health import DEGRADED, HEALTHY, PROGRESSING, SUSPENDED, Health, health_of


def job(
    *conditions: tuple[str, str, str], suspend: bool = False, active: int = 0
) -> dict[str, Any]:
    status: dict[str, Any] = {"startTime": "2024-05-01T10:00:00Z"}
    if active:
        status["active"] = active
    if conditions:
        status["conditions"] = [
            {
                "type": kind,
                "status": "True",
                "reason": reason,
                "message": message,
                "lastTransitionTime": "2024-05-01T10:01:00Z",
            }
            for kind, reason, message in conditions
        ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "shop"},
        "spec": {"suspend": suspend, "backoffLimit": 6, "completions": 1},
        "status": status,
    }


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (
            job(
                (
                    "SuccessCriteriaMet",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                ),
                ("Complete", "CompletionsReached", "Reached expected number of succeeded pods"),
            ),
            Health(HEALTHY, "Reached expected number of succeeded pods"),
        ),
        (
            job(
                (
                    "FailureTarget",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                ),
                ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
            ),
            Health(DEGRADED, "Job has reached the specified backoff limit"),
        ),
        (
            job(("Suspended", "JobSuspended", "Job suspended"), suspend=True),
            Health(SUSPENDED, "Job suspended"),
        ),
        (job(suspend=True), Health(SUSPENDED, "Job suspended")),
        (job(active=1), Health(PROGRESSING, "1 active pods")),
    ],
)
def test_job_health(live: dict[str, Any], expected: Health) -> None:
    assert health_of(live) == expected
