"""A namespace tenant cannot push cluster-scoped objects (a ClusterRoleBinding to
cluster-admin, a webhook that sees every request, a CRD) unless the hub admin allows the
kind: a Placement's reach on members is its namespace."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from flotilla.api.placement import PlacementSpec
from flotilla.placement import ClusterView
from flotilla.propagation.planning import Plan, plan
from flotilla.propagation.tenancy import REFUSED_CLUSTER_KINDS, TenancyPolicy

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
SPEC = PlacementSpec.model_validate(
    {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}]}
)


def manifest(api_version: str, kind: str, *, namespace: str | None = "apps") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "x"}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def planned(*templates: dict[str, Any], tenancy: TenancyPolicy | None = None) -> Plan:
    return plan(
        SPEC,
        list(templates),
        [ClusterView(name="east")],
        placement=("apps", "web"),
        rules=[],
        previous={},
        now=NOW,
        **({"tenancy": tenancy} if tenancy else {}),
    )


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("v1", "Namespace"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
        ("storage.k8s.io/v1", "StorageClass"),
    ],
)
def test_a_cluster_scoped_kind_is_refused_by_default(api_version: str, kind: str) -> None:
    result = planned(manifest(api_version, kind), manifest("v1", "ConfigMap"))

    assert [m["kind"] for m in result.desired["east"]] == ["ConfigMap"]
    (failure,) = result.failures
    assert kind in failure.error and "cluster-scoped" in failure.error
    assert result.may_prune is False


def test_a_manifest_without_a_namespace_is_cluster_scoped_and_refused() -> None:
    result = planned(manifest("example.com/v1", "Widget", namespace=None))

    assert result.desired["east"] == []
    assert "cluster-scoped" in result.failures[0].error


def test_the_admin_can_allow_a_cluster_scoped_kind() -> None:
    policy = TenancyPolicy(allowed_cluster_kinds={"ClusterRole.rbac.authorization.k8s.io"})

    result = planned(
        manifest("rbac.authorization.k8s.io/v1", "ClusterRole", namespace=None),
        manifest("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", namespace=None),
        tenancy=policy,
    )

    assert [m["kind"] for m in result.desired["east"]] == ["ClusterRole"]
    assert [f.template["kind"] for f in result.failures] == ["ClusterRoleBinding"]


def test_core_kinds_are_named_without_a_group() -> None:
    assert "Namespace" in REFUSED_CLUSTER_KINDS
    assert (
        TenancyPolicy(allowed_cluster_kinds={"Namespace"}).manifest_refusal(
            manifest("v1", "Namespace", namespace=None)
        )
        is None
    )


def test_namespaced_kinds_in_the_placements_namespace_are_allowed() -> None:
    for api_version, kind in [("v1", "ConfigMap"), ("rbac.authorization.k8s.io/v1", "Role")]:
        assert TenancyPolicy().manifest_refusal(manifest(api_version, kind)) is None
