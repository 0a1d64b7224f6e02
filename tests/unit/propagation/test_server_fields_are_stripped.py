"""What the hub's API server added to a template never reaches a member."""

from __future__ import annotations

import copy
from typing import Any

from flotilla.propagation import strip_server_fields


def hub_metadata(**extra: Any) -> dict[str, Any]:
    return {
        "name": "web",
        "namespace": "shop",
        "uid": "0b6a4f1e-1111-2222-3333-444455556666",
        "resourceVersion": "4711",
        "generation": 3,
        "creationTimestamp": "2025-01-01T00:00:00Z",
        "deletionTimestamp": "2025-01-02T00:00:00Z",
        "deletionGracePeriodSeconds": 0,
        "selfLink": "/apis/apps/v1/namespaces/shop/deployments/web",
        "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u"}],
        "labels": {"app": "web"},
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "team": "checkout",
        },
        **extra,
    }


def test_deployment_loses_bookkeeping_and_status_but_keeps_the_users_fields() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": hub_metadata(finalizers=["example.com/keep"]),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"replicas": 3, "readyReplicas": 3},
    }
    original = copy.deepcopy(deployment)

    stripped = strip_server_fields(deployment)

    assert stripped == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "labels": {"app": "web"},
            "annotations": {"team": "checkout"},
            "finalizers": ["example.com/keep"],
        },
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
    }
    assert deployment == original


def test_an_annotations_map_holding_only_last_applied_goes_away() -> None:
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "settings",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
        },
        "data": {"a": "1"},
    }

    assert strip_server_fields(config_map)["metadata"] == {"name": "settings"}


def test_service_loses_allocated_cluster_ips_and_node_ports() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "type": "LoadBalancer",
            "clusterIP": "10.0.0.12",
            "clusterIPs": ["10.0.0.12"],
            "ipFamilies": ["IPv4"],
            "healthCheckNodePort": 31000,
            "externalTrafficPolicy": "Local",
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080},
                {"name": "https", "port": 443, "targetPort": 8443, "nodePort": 30443},
            ],
        },
    }

    assert strip_server_fields(service)["spec"] == {
        "type": "LoadBalancer",
        "ipFamilies": ["IPv4"],
        "externalTrafficPolicy": "Local",
        "ports": [
            {"name": "http", "port": 80, "targetPort": 8080},
            {"name": "https", "port": 443, "targetPort": 8443},
        ],
    }


def test_a_headless_service_stays_headless() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "db"},
        "spec": {"clusterIP": "None", "clusterIPs": ["None"], "ports": [{"port": 5432}]},
    }

    spec = strip_server_fields(service)["spec"]

    assert spec["clusterIP"] == "None"
    assert spec["clusterIPs"] == ["None"]


def test_a_custom_kind_named_service_is_left_alone() -> None:
    knative = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "hello"},
        "spec": {"clusterIP": "kept"},
    }

    assert strip_server_fields(knative)["spec"] == {"clusterIP": "kept"}


def test_namespace_loses_the_kubernetes_finalizer() -> None:
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": hub_metadata(name="shop", namespace=None),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }

    stripped = strip_server_fields(namespace)

    assert "spec" not in stripped
    assert "status" not in stripped


def test_persistent_volume_claim_loses_its_volume_name() -> None:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"volumeName": "pv-hub", "resources": {"requests": {"storage": "1Gi"}}},
    }

    assert strip_server_fields(claim)["spec"] == {"resources": {"requests": {"storage": "1Gi"}}}


def job(*, manual: bool) -> dict[str, Any]:
    uid_labels = {"batch.kubernetes.io/controller-uid": "abc", "controller-uid": "abc"}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": dict(uid_labels)},
        "template": {
            "metadata": {"labels": {"job-name": "migrate", **uid_labels}},
            "spec": {"containers": [{"name": "m", "image": "migrate:1"}]},
        },
    }
    if manual:
        spec["manualSelector"] = True
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"}, "spec": spec}


def test_job_loses_the_selector_generated_from_the_hub_uid() -> None:
    spec = strip_server_fields(job(manual=False))["spec"]

    assert "selector" not in spec
    assert spec["template"]["metadata"]["labels"] == {"job-name": "migrate"}


def test_job_with_a_manual_selector_keeps_it() -> None:
    original = job(manual=True)

    assert strip_server_fields(original) == original
