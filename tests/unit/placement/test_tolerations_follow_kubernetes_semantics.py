"""Taints keep a Placement off a cluster unless tolerated, as in Kubernetes."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.api.cluster import UNREACHABLE_TAINT, Taint
from flotilla.placement import NO_MATCHING_CLUSTERS, ClusterView, schedule
from tests.unit.placement.fleets import NOW, placement

GPU = Taint(key="gpu", value="true", effect="NoSchedule")
DRAIN = Taint(key="drain", value="", effect="NoExecute")


def chosen(tolerations: list[dict[str, Any]], *taints: Taint, before: bool = False) -> bool:
    view = ClusterView(name="a", taints=taints)
    spec = placement(tolerations=tolerations)
    return "a" in schedule(spec, 1, [view], {"a": None} if before else {}, NOW).decisions


@pytest.mark.parametrize(
    "toleration",
    [
        {"key": "gpu", "operator": "Equal", "value": "true"},
        {"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
        {"key": "gpu", "operator": "Exists"},
        {"operator": "Exists"},
        {"operator": "Exists", "effect": "NoSchedule"},
    ],
)
def test_a_matching_toleration_lets_the_placement_in(toleration: dict[str, Any]) -> None:
    assert chosen([toleration], GPU)


@pytest.mark.parametrize(
    "toleration",
    [
        {"key": "gpu", "operator": "Equal", "value": "false"},
        {"key": "gpu", "operator": "Equal"},
        {"key": "gpu", "operator": "Exists", "effect": "NoExecute"},
        {"key": "other", "operator": "Exists"},
        {"operator": "Exists", "effect": "NoExecute"},
    ],
)
def test_a_toleration_that_does_not_match_keeps_it_out(toleration: dict[str, Any]) -> None:
    assert not chosen([toleration], GPU)


def test_every_taint_must_be_tolerated() -> None:
    assert not chosen([{"key": "gpu", "operator": "Exists"}], GPU, DRAIN)
    assert chosen([{"key": "gpu", "operator": "Exists"}, {"key": "drain", "operator": "Exists"}],
                  GPU, DRAIN)  # fmt: skip


def test_no_schedule_keeps_only_new_work_off() -> None:
    assert not chosen([], GPU)
    assert chosen([], GPU, before=True)


def test_no_execute_moves_work_away() -> None:
    assert not chosen([], DRAIN, before=True)
    result = schedule(placement(), 1, [ClusterView(name="a", taints=(DRAIN,))], {"a": 1}, NOW)
    assert (result.decisions, result.reason) == ({}, NO_MATCHING_CLUSTERS)


def test_the_unreachable_taint_is_left_to_failover() -> None:
    unreachable = Taint(key=UNREACHABLE_TAINT, effect="NoExecute")
    assert chosen([], unreachable)
    assert chosen([], unreachable, before=True)
