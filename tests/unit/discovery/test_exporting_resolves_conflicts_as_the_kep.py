"""KEP-1645's rules for one service exported from several clusters: invalid exports add
nothing, the oldest export (creation time, then cluster id) decides every property it
conflicts on, ports are the union with clashes won by the oldest, every export involved
carries the reasons, and a conflict that clears changes no field of the import."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from flotilla.discovery.exporting import (
    CLUSTERSET_IP,
    HEADLESS,
    Export,
    Port,
    ServiceFacts,
    derive,
    facts_of,
)

HTTP = Port("http", "TCP", 80)
BASE = ServiceFacts(type="ClusterIP", headless=False, ports=(HTTP,), ip_families=("IPv4",))


def export(cluster: str, created: str, **changes: Any) -> Export:
    labels = changes.pop("labels", {})
    annotations = changes.pop("annotations", {})
    service = dataclasses.replace(BASE, **changes)
    return Export(cluster, created, service, labels=labels, annotations=annotations)


def test_one_export_gives_its_service() -> None:
    result = derive([export("east", "2026-01-01T00:00:00Z")])
    assert result.derived is not None
    assert result.derived.type == CLUSTERSET_IP
    assert result.derived.ports == (HTTP,)
    assert result.derived.clusters == ("east",)
    assert result.states["east"].conflicts == () and result.states["east"].invalid is None


def test_invalid_exports_add_nothing_and_say_why() -> None:
    external = Export("west", "2026-01-01T00:00:00Z", ServiceFacts("ExternalName", False))
    missing = Export("south", "2026-01-01T00:00:00Z", None)
    result = derive([external, missing])
    assert result.derived is None
    assert result.states["west"].invalid == "InvalidServiceType"
    assert result.states["south"].invalid == "NoService"
    with_valid = derive([external, export("east", "2026-02-01T00:00:00Z")])
    assert with_valid.derived is not None and with_valid.derived.clusters == ("east",)


@pytest.mark.parametrize(
    ("change", "reason", "field", "oldest_value"),
    [
        ({"headless": True}, "TypeConflict", "type", CLUSTERSET_IP),
        ({"session_affinity": "ClientIP"}, "SessionAffinityConflict", "session_affinity", "None"),
        ({"internal_traffic_policy": "Local"}, "InternalTrafficPolicyConflict",
         "internal_traffic_policy", None),
        ({"traffic_distribution": "PreferClose"}, "TrafficDistributionConflict",
         "traffic_distribution", None),
        ({"ip_families": ("IPv6",)}, "IPFamilyConflict", "ip_families", ("IPv4",)),
        ({"labels": {"tier": "web"}}, "LabelsConflict", "labels", {}),
        ({"annotations": {"a": "b"}}, "AnnotationsConflict", "annotations", {}),
    ],
)  # fmt: skip
def test_the_oldest_export_wins_and_both_carry_the_reason(
    change: dict[str, Any], reason: str, field: str, oldest_value: Any
) -> None:
    older = export("west", "2026-01-01T00:00:00Z")
    newer = export("east", "2026-01-02T00:00:00Z", **change)
    for order in ([older, newer], [newer, older]):
        result = derive(order)
        assert result.derived is not None
        assert getattr(result.derived, field) == oldest_value
        assert result.states["west"].conflicts == (reason,)
        assert result.states["east"].conflicts == (reason,)
    # the newer one being oldest flips the winner
    flipped = derive([dataclasses.replace(newer, created="2025-12-31T00:00:00Z"), older])
    assert flipped.derived is not None and getattr(flipped.derived, field) != oldest_value


def test_a_headless_services_ip_families_conflict_with_nothing() -> None:
    older = export("west", "2026-01-01T00:00:00Z", headless=True)
    dual = export("east", "2026-01-02T00:00:00Z", headless=True, ip_families=("IPv4", "IPv6"))
    assert derive([older, dual]).states["east"].conflicts == ()
    typed = export("east", "2026-01-02T00:00:00Z", ip_families=("IPv4", "IPv6"))
    assert derive([older, typed]).states["east"].conflicts == ("TypeConflict",)


def test_a_tie_in_creation_time_goes_to_the_lower_cluster_id() -> None:
    a = export("b-cluster", "2026-01-01T00:00:00Z", headless=True)
    b = export("a-cluster", "2026-01-01T00:00:00Z")
    result = derive([a, b])
    assert result.derived is not None and result.derived.type == CLUSTERSET_IP
    assert result.derived.clusters == ("a-cluster", "b-cluster")


def test_ports_are_the_union_and_any_difference_is_a_conflict_on_every_export() -> None:
    metrics = Port("metrics", "TCP", 9090)
    older = export("west", "2026-01-01T00:00:00Z")
    newer = export("east", "2026-01-02T00:00:00Z", ports=(HTTP, metrics))
    union = derive([older, newer])
    assert union.derived is not None and union.derived.ports == (HTTP, metrics)
    assert union.states["east"].conflicts == ("PortConflict",)
    assert union.states["west"].conflicts == ("PortConflict",)
    renumbered = export("east", "2026-01-02T00:00:00Z", ports=(Port("http", "TCP", 8080),))
    clash = derive([older, renumbered])
    assert clash.derived is not None and clash.derived.ports == (HTTP,)  # the oldest's
    renamed = export("east", "2026-01-02T00:00:00Z", ports=(Port("web", "TCP", 80),))
    named = derive([older, renamed])
    assert named.derived is not None and named.derived.ports == (HTTP,)
    assert named.states["east"].conflicts == ("PortConflict",)
    same = derive([older, export("east", "2026-01-02T00:00:00Z"), export("south", "2026-01-03")])
    assert all(state.conflicts == () for state in same.states.values())


def test_reasons_are_joined_and_a_cleared_conflict_changes_no_field() -> None:
    older = export("west", "2026-01-01T00:00:00Z")
    newer = export("east", "2026-01-02T00:00:00Z", headless=True, session_affinity="ClientIP")
    both = derive([older, newer])
    assert both.states["east"].conflicts == ("SessionAffinityConflict", "TypeConflict")
    cleared = derive([older, export("east", "2026-01-02T00:00:00Z")])
    assert both.derived is not None and cleared.derived is not None
    assert dataclasses.replace(cleared.derived, clusters=()) == dataclasses.replace(
        both.derived, clusters=()
    )
    assert cleared.states["east"].conflicts == ()


def test_facts_of_a_service_with_the_api_servers_defaults() -> None:
    facts = facts_of(
        {"spec": {"clusterIP": "None", "ports": [{"port": 53, "protocol": "UDP", "name": "dns"}]}}
    )
    assert facts.headless and facts.type == "ClusterIP"
    assert facts.ports == (Port("dns", "UDP", 53),)
    assert facts.session_affinity == "None"
    assert derive([Export("c", "t", facts)]).derived.type == HEADLESS  # type: ignore[union-attr]
