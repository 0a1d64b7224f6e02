"""Render gives the same manifest for the same inputs, marked as Flotilla's."""

from __future__ import annotations

import copy
import json
from typing import Any

from flotilla.api.placement import ImageOverride, JsonPatchOperation, OverrideRule
from flotilla.propagation import MANAGED_BY_LABEL, PLACEMENT_LABEL, managed_labels, render

TEMPLATE: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "namespace": "shop",
        "uid": "u-1",
        "resourceVersion": "12",
        "labels": {"app": "web"},
    },
    "spec": {
        "replicas": 6,
        "template": {"spec": {"containers": [{"name": "app", "image": "web:1"}]}},
    },
    "status": {"replicas": 6},
}
RULES = [
    OverrideRule(
        image_overrides=[ImageOverride(component="Registry", value="mirror.local")],
        json_patches=[
            JsonPatchOperation(
                op="add", path="/spec/template/spec/containers/0/args", value=["--fast"]
            )
        ],
        labels={"zone": "a"},
        annotations={"owner": "shop"},
    )
]


def rendered() -> dict[str, Any]:
    return render(
        TEMPLATE,
        placement=("shop", "web"),
        cluster="east",
        replicas=2,
        rules=RULES,
        cluster_labels={"region": "eu"},
    )


def test_managed_labels() -> None:
    assert managed_labels("shop", "web") == {
        PLACEMENT_LABEL: "shop.web",
        MANAGED_BY_LABEL: "flotilla",
    }
    assert PLACEMENT_LABEL == "flotilla.io/placement"
    assert MANAGED_BY_LABEL == "flotilla.io/managed-by"


def test_render_strips_sets_replicas_overrides_and_labels() -> None:
    assert rendered() == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "labels": {
                "app": "web",
                "zone": "a",
                "flotilla.io/placement": "shop.web",
                "flotilla.io/managed-by": "flotilla",
            },
            "annotations": {"owner": "shop"},
        },
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "image": "mirror.local/web:1", "args": ["--fast"]}
                    ]
                }
            },
        },
    }


def test_render_is_deterministic_to_the_byte_and_leaves_its_input_alone() -> None:
    before = copy.deepcopy(TEMPLATE)

    first, second = rendered(), rendered()

    assert json.dumps(first) == json.dumps(second)
    assert before == TEMPLATE


def test_managed_labels_win_over_a_rule() -> None:
    rule = OverrideRule(labels={PLACEMENT_LABEL: "other.placement"})

    result = render(
        TEMPLATE,
        placement=("shop", "web"),
        cluster="east",
        replicas=None,
        rules=[rule],
        cluster_labels={},
    )

    assert result["metadata"]["labels"][PLACEMENT_LABEL] == "shop.web"


def test_a_template_without_metadata_labels_gets_the_managed_labels() -> None:
    template = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}

    result = render(
        template, placement=("ns", "p"), cluster="east", replicas=3, rules=[], cluster_labels={}
    )

    assert result == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": managed_labels("ns", "p")},
    }
