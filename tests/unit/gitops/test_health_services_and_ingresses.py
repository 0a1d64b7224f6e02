"""Services and Ingresses: healthy once there is an address, when one is expected."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.gitops.health import HEALTHY, PROGRESSING, Health, health_of


def service(kind: str, status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "type": kind,
            "ports": [{"port": 80, "protocol": "TCP"}],
            "clusterIP": "10.96.0.10",
        },
        "status": status,
    }


def ingress(status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "shop", "generation": 1},
        "spec": {"rules": [{"host": "shop.example.com"}]},
        "status": status,
    }


ADDRESS = {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}
NO_ADDRESS: dict[str, Any] = {"loadBalancer": {}}


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (service("ClusterIP", NO_ADDRESS), Health(HEALTHY)),
        (service("NodePort", NO_ADDRESS), Health(HEALTHY)),
        (service("LoadBalancer", ADDRESS), Health(HEALTHY)),
        (
            service("LoadBalancer", NO_ADDRESS),
            Health(PROGRESSING, "Waiting for the load balancer to get an address"),
        ),
        (ingress(ADDRESS), Health(HEALTHY)),
        (ingress({"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}), Health(HEALTHY)),
        (
            ingress(NO_ADDRESS),
            Health(PROGRESSING, "Waiting for the ingress controller to publish an address"),
        ),
        (
            {**ingress({}), "apiVersion": "extensions/v1beta1"},
            Health(PROGRESSING, "Waiting for the ingress controller to publish an address"),
        ),
    ],
)
def test_health(live: dict[str, Any], expected: Health) -> None:
    assert health_of(live) == expected
