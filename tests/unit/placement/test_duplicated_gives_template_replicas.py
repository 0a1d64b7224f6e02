"""Duplicated: every chosen cluster runs the template's own replica count."""

from __future__ import annotations

from flotilla.placement import ClusterView, schedule
from tests.unit.placement.fleets import NOW, placement


def test_every_cluster_gets_the_template_replicas() -> None:
    fleet = [ClusterView(name="a"), ClusterView(name="b", weight=0)]
    result = schedule(placement(), 5, fleet, {}, NOW)
    assert result.decisions == {"a": None, "b": None}


def test_kinds_without_replicas_are_placed_the_same_way() -> None:
    fleet = [ClusterView(name="a"), ClusterView(name="b")]
    spec = placement(replicaScheduling={"type": "Divided"})
    assert schedule(spec, None, fleet, {}, NOW).decisions == {"a": None, "b": None}
