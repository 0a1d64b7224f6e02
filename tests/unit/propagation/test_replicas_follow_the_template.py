"""A cluster's replica share is written only where the template sets ``spec.replicas``."""

from __future__ import annotations

from typing import Any

from flotilla.api.placement import OverrideRule
from flotilla.propagation import render


def deployment(spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", **metadata},
        "spec": spec,
    }


def rendered(template: dict[str, Any], replicas: int | None, *rules: OverrideRule) -> Any:
    return render(
        template,
        placement=("shop", "web"),
        cluster="east",
        replicas=replicas,
        rules=rules,
        cluster_labels={},
    )


def test_a_template_without_replicas_gets_none_even_with_a_divided_share() -> None:
    # Left to an HPA on the member: writing a share would fight it.
    result = rendered(deployment({"template": {}}), 4)

    assert "replicas" not in result["spec"]


def test_a_template_with_replicas_gets_the_clusters_share() -> None:
    assert rendered(deployment({"replicas": 9}), 4)["spec"]["replicas"] == 4


def test_no_share_keeps_the_templates_replicas() -> None:
    assert rendered(deployment({"replicas": 9}), None)["spec"]["replicas"] == 9


def test_replicas_the_hub_defaulted_are_left_out() -> None:
    # Applied server-side without replicas; the hub's defaulting added replicas: 1.
    owned = [{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {"f:x": {}}}}]
    template = deployment({"replicas": 1}, managedFields=owned)

    assert "replicas" not in rendered(template, 4)["spec"]


def test_replicas_a_field_manager_owns_get_the_share() -> None:
    owned = [
        {"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
    ]
    template = deployment({"replicas": 1}, managedFields=owned)

    assert rendered(template, 4)["spec"]["replicas"] == 4


def test_a_replica_pin_is_written_even_where_the_template_has_none() -> None:
    result = rendered(deployment({"template": {}}), 4, OverrideRule(replicas=2))

    assert result["spec"]["replicas"] == 2


def test_a_replica_pin_wins_over_the_share() -> None:
    assert rendered(deployment({"replicas": 9}), 4, OverrideRule(replicas=0))["spec"] == {
        "replicas": 0
    }
