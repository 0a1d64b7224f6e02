"""JSON patches (RFC 6902) change rendered manifests; a failing one says where and why."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.api.placement import JsonPatchOperation, OverrideRule
from flotilla.propagation import RenderError, apply_rule, render


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "image": "app:v1", "env": [{"name": "A", "value": "1"}]}
                    ]
                }
            },
        },
    }


def patched(*operations: dict[str, Any]) -> dict[str, Any]:
    rule = OverrideRule(json_patches=[JsonPatchOperation.model_validate(op) for op in operations])
    return apply_rule(deployment(), rule)


def render_error(*operations: dict[str, Any]) -> str:
    rule = OverrideRule(json_patches=[JsonPatchOperation.model_validate(op) for op in operations])
    with pytest.raises(RenderError) as caught:
        render(
            deployment(),
            placement=("shop", "web"),
            cluster="east",
            replicas=None,
            rules=[OverrideRule(), rule],
            cluster_labels={},
        )
    return str(caught.value)


def test_patches_apply_in_order() -> None:
    env = "/spec/template/spec/containers/0/env"
    result = patched(
        {"op": "add", "path": f"{env}/-", "value": {"name": "REGION", "value": "east"}},
        {"op": "replace", "path": f"{env}/0/value", "value": "2"},
        {"op": "copy", "from": "/spec/replicas", "path": "/spec/revisionHistoryLimit"},
        {"op": "move", "from": "/spec/revisionHistoryLimit", "path": "/spec/minReadySeconds"},
        {"op": "test", "path": "/spec/minReadySeconds", "value": 2},
        {"op": "remove", "path": "/spec/replicas"},
    )

    assert result["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "2"},
        {"name": "REGION", "value": "east"},
    ]
    assert result["spec"]["minReadySeconds"] == 2
    assert "replicas" not in result["spec"]
    assert "revisionHistoryLimit" not in result["spec"]


def test_add_can_set_null() -> None:
    assert patched({"op": "add", "path": "/spec/paused", "value": None})["spec"]["paused"] is None


def test_replacing_a_path_that_does_not_exist_names_rule_patch_and_object() -> None:
    message = render_error(
        {"op": "add", "path": "/metadata/labels", "value": {}},
        {"op": "replace", "path": "/spec/foo", "value": 1},
    )

    assert message == (
        "override rule 2, JSON patch 2 (replace /spec/foo) on Deployment shop/web: "
        "path does not exist"
    )


@pytest.mark.parametrize(
    ("operation", "reason"),
    [
        ({"op": "remove", "path": "/spec/foo/bar"}, "path does not exist"),
        ({"op": "test", "path": "/spec/foo", "value": 1}, "path does not exist"),
        (
            {"op": "add", "path": "/spec/strategy/type", "value": "Recreate"},
            "the parent of the path does not exist",
        ),
        (
            {"op": "move", "from": "/spec/nope", "path": "/spec/x"},
            "from path /spec/nope does not exist",
        ),
        ({"op": "copy", "path": "/spec/x"}, "a move or copy needs a from path"),
        ({"op": "replace", "path": "spec/replicas", "value": 1}, "invalid JSON pointer"),
        (
            {"op": "add", "path": "/spec/template/spec/containers/first", "value": {}},
            "a list index must be a number or -",
        ),
        (
            {"op": "move", "from": "/spec/template", "path": "/spec/template/spec/x"},
            "a value cannot be moved into itself",
        ),
        ({"op": "remove", "path": ""}, "the whole document cannot be removed"),
        (
            {"op": "test", "path": "/spec/replicas", "value": 3},
            "the value at the path is not equal to the tested value",
        ),
        (
            {"op": "add", "path": "/spec/template/spec/containers/5", "value": {}},
            "the list index is past the end of the list",
        ),
    ],
)
def test_failures_say_why(operation: dict[str, Any], reason: str) -> None:
    message = render_error(operation)

    assert message.startswith(f"override rule 2, JSON patch 1 ({operation['op']} ")
    assert reason in message


def test_a_failed_patch_leaves_the_input_alone() -> None:
    template = deployment()
    rule = OverrideRule(
        json_patches=[
            JsonPatchOperation(op="replace", path="/spec/replicas", value=7),
            JsonPatchOperation(op="remove", path="/spec/missing"),
        ]
    )

    with pytest.raises(RenderError):
        apply_rule(template, rule)

    assert template == deployment()
