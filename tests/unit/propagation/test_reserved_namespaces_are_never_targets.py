"""Reserved namespaces (kube-system, ..., and those the hub admin adds) are never targets
unless the admin allows them: a Placement there schedules nothing and says why, and a
rendered manifest that names one is refused."""

from __future__ import annotations

import datetime
from typing import Any

from flotilla.api.placement import PlacementSpec
from flotilla.placement import ClusterView
from flotilla.propagation.planning import Plan, plan
from flotilla.propagation.tenancy import DEFAULT_RESERVED_NAMESPACES, TenancyPolicy

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
SPEC = PlacementSpec.model_validate(
    {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}]}
)


def config_map(namespace: str, name: str = "settings") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"a": "1"},
    }


def planned(namespace: str, *templates: dict[str, Any], **policy: Any) -> Plan:
    extra = {"tenancy": TenancyPolicy(**policy)} if policy else {}
    return plan(
        SPEC,
        list(templates) or [config_map(namespace)],
        [ClusterView(name="east"), ClusterView(name="west")],
        placement=(namespace, "web"),
        rules=[],
        previous={"east": None},
        now=NOW,
        **extra,
    )


def test_the_default_reserved_namespaces_are_the_system_ones() -> None:
    assert {"kube-system", "kube-public", "kube-node-lease", "flotilla-system"} <= (
        DEFAULT_RESERVED_NAMESPACES
    )
    assert TenancyPolicy().reserved_namespaces == DEFAULT_RESERVED_NAMESPACES


def test_a_placement_in_a_reserved_namespace_schedules_nothing_and_says_why() -> None:
    result = planned("kube-system")

    assert result.schedule.scheduled is False
    assert result.schedule.reason == "ReservedNamespace"
    assert "kube-system" in result.schedule.message
    assert result.schedule.decisions == {}
    assert result.desired == {}
    assert result.refused == result.schedule.message
    assert result.may_prune is False


def test_a_placement_in_an_ordinary_namespace_is_scheduled() -> None:
    result = planned("apps")

    assert result.schedule.scheduled is True
    assert sorted(result.desired) == ["east", "west"]
    assert result.refused == ""
    assert result.may_prune is True


def test_the_admin_can_reserve_more_namespaces() -> None:
    result = planned("argocd", reserved_namespaces=DEFAULT_RESERVED_NAMESPACES | {"argocd"})

    assert result.schedule.reason == "ReservedNamespace"
    assert result.desired == {}


def test_the_admin_can_allow_a_reserved_namespace() -> None:
    result = planned("flotilla-system", allowed_reserved={"flotilla-system"})

    assert result.schedule.scheduled is True
    assert sorted(result.desired) == ["east", "west"]


def test_a_rendered_manifest_in_a_reserved_namespace_is_refused_and_blocks_pruning() -> None:
    result = planned("apps", config_map("apps", "fine"), config_map("kube-system", "sneaky"))

    assert [m["metadata"]["name"] for m in result.desired["east"]] == ["fine"]
    assert sorted(f.cluster for f in result.failures) == ["east", "west"]
    assert all("kube-system" in f.error and "reserved" in f.error for f in result.failures)
    assert result.may_prune is False
