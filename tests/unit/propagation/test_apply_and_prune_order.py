"""Objects are applied dependencies first, and pruned in the reverse order."""

from __future__ import annotations

from typing import Any

from flotilla.propagation import apply_order, prune_order


def obj(api_version: str, kind: str, name: str = "x") -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}


MIXED = [
    obj("autoscaling/v2", "HorizontalPodAutoscaler"),
    obj("apps/v1", "Deployment", "web"),
    obj("v1", "Service", "web"),
    obj("example.com/v1", "Widget"),
    obj("v1", "ConfigMap", "a"),
    obj("rbac.authorization.k8s.io/v1", "RoleBinding"),
    obj("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    obj("batch/v1", "CronJob"),
    obj("v1", "Secret"),
    obj("v1", "Namespace"),
    obj("v1", "ServiceAccount"),
    obj("v1", "ConfigMap", "b"),
    obj("serving.knative.dev/v1", "Service"),
    obj("v1", "PersistentVolumeClaim"),
    obj("rbac.authorization.k8s.io/v1", "ClusterRole"),
    obj("apps/v1", "StatefulSet"),
]


def kinds(manifests: list[dict[str, Any]]) -> list[str]:
    return [f"{m['kind']}/{m['metadata']['name']}" for m in manifests]


def test_apply_order_by_class_and_stable_within_one() -> None:
    assert kinds(apply_order(MIXED)) == [
        "Namespace/x",
        "CustomResourceDefinition/x",
        "ConfigMap/a",
        "RoleBinding/x",
        "Secret/x",
        "ServiceAccount/x",
        "ConfigMap/b",
        "PersistentVolumeClaim/x",
        "ClusterRole/x",
        "Service/web",
        "Deployment/web",
        "CronJob/x",
        "StatefulSet/x",
        "HorizontalPodAutoscaler/x",
        "Widget/x",
        "Service/x",  # serving.knative.dev: a custom resource, not a core Service
    ]


def test_prune_order_is_the_reverse() -> None:
    assert prune_order(MIXED) == apply_order(MIXED)[::-1]
    assert kinds(prune_order(MIXED))[0] == "Service/x"
    assert kinds(prune_order(MIXED))[-1] == "Namespace/x"


def test_the_input_list_is_not_reordered() -> None:
    before = list(MIXED)

    apply_order(MIXED)
    prune_order(MIXED)

    assert before == MIXED
