"""The placement package exports a small, deliberate set of names."""

from __future__ import annotations

import flotilla.placement


def test_all() -> None:
    assert sorted(flotilla.placement.__all__) == [
        "ClusterView",
        "NO_MATCHING_CLUSTERS",
        "NO_READY_CLUSTERS",
        "NO_WEIGHT",
        "SCHEDULED",
        "SPREAD_UNSATISFIABLE",
        "ScheduleResult",
        "schedule",
    ]
    for name in flotilla.placement.__all__:
        assert hasattr(flotilla.placement, name)
