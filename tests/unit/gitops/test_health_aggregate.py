"""An application's health is the worst of its objects', in Argo's order."""

from __future__ import annotations

import pytest

from flotilla.gitops.health import (
    DEGRADED,
    HEALTHY,
    MISSING,
    PROGRESSING,
    SUSPENDED,
    UNKNOWN,
    Health,
    aggregate,
)


def test_nothing_is_healthy() -> None:
    assert aggregate([]) == Health(HEALTHY)
    assert aggregate([None, None]) == Health(HEALTHY)


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        (HEALTHY, SUSPENDED),
        (SUSPENDED, PROGRESSING),
        (PROGRESSING, MISSING),
        (MISSING, DEGRADED),
        (DEGRADED, UNKNOWN),
    ],
)
def test_the_worse_status_wins_in_either_order(better: str, worse: str) -> None:
    assert aggregate([Health(better, "b"), Health(worse, "w")]) == Health(worse, "w")
    assert aggregate([Health(worse, "w"), Health(better, "b")]) == Health(worse, "w")


def test_objects_without_health_do_not_count_and_the_first_worst_message_is_kept() -> None:
    healths = [Health(HEALTHY), None, Health(PROGRESSING, "first"), Health(PROGRESSING, "second")]
    assert aggregate(healths) == Health(PROGRESSING, "first")


def test_the_worst_of_a_generator() -> None:
    assert aggregate(h for h in [Health(SUSPENDED), Health(HEALTHY)]) == Health(SUSPENDED)
