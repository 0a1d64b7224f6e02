"""Placements and Overrides have limits: the CRD states them and the models enforce them.

The API server refuses what the CRD schema refuses; the controller parses with the same
models, so an object that slipped past (stored before a limit existed) is refused there too.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from flotilla.api import crd
from flotilla.api import placement as limits
from flotilla.api.kinds import OVERRIDE, PLACEMENT
from flotilla.api.placement import OverrideSpec, PlacementSpec
from flotilla.api.selectors import MAX_SELECTOR_VALUES


def spec_schema(kind: Any) -> dict[str, Any]:
    schema = crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    spec: dict[str, Any] = schema["properties"]["spec"]
    return spec


def unbounded(node: dict[str, Any], path: str = "spec") -> list[str]:
    """Paths of lists, strings and maps in a schema that have no upper bound."""
    found = []
    if node.get("type") == "array" and "maxItems" not in node:
        found.append(f"{path}: array without maxItems")
    if node.get("type") == "string" and "maxLength" not in node and "enum" not in node:
        found.append(f"{path}: string without maxLength")
    if isinstance(node.get("additionalProperties"), dict) and "maxProperties" not in node:
        found.append(f"{path}: map without maxProperties")
    for name, child in node.get("properties", {}).items():
        found += unbounded(child, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found += unbounded(node[key], f"{path}[{key}]")
    return found


@pytest.mark.parametrize("kind", [PLACEMENT, OVERRIDE], ids=lambda kind: kind.kind)
def test_every_list_string_and_map_of_the_spec_is_bounded(kind: Any) -> None:
    assert unbounded(spec_schema(kind)) == []


def test_the_crd_states_the_named_limits() -> None:
    spec = spec_schema(PLACEMENT)["properties"]
    rule = spec["overrides"]["items"]["properties"]
    assert spec["resourceSelectors"]["maxItems"] == limits.MAX_RESOURCE_SELECTORS
    assert spec["overrides"]["maxItems"] == limits.MAX_OVERRIDE_RULES
    assert spec["tolerations"]["maxItems"] == limits.MAX_TOLERATIONS
    assert spec["clusterAffinity"]["properties"]["clusterNames"]["maxItems"] == (
        limits.MAX_CLUSTER_NAMES
    )
    assert rule["jsonPatches"]["maxItems"] == limits.MAX_JSON_PATCHES
    assert rule["jsonPatches"]["items"]["properties"]["path"]["maxLength"] == (
        limits.MAX_JSON_POINTER_LENGTH
    )
    assert rule["labels"]["maxProperties"] == limits.MAX_LABELS
    assert spec_schema(OVERRIDE)["properties"]["rules"]["maxItems"] == limits.MAX_OVERRIDE_RULES


def selector(name: str = "") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": name}


def placement(**spec: Any) -> dict[str, Any]:
    return {"resourceSelectors": [selector()], **spec}


def patches(count: int) -> list[dict[str, Any]]:
    return [{"op": "test", "path": "/kind", "value": "ConfigMap"}] * count


@pytest.mark.parametrize(
    ("case", "spec"),
    [
        ("selectors", {"resourceSelectors": [selector()] * (limits.MAX_RESOURCE_SELECTORS + 1)}),
        ("inline rules", placement(overrides=[{}] * (limits.MAX_OVERRIDE_RULES + 1))),
        (
            "patches",
            placement(overrides=[{"jsonPatches": patches(limits.MAX_JSON_PATCHES + 1)}]),
        ),
        (
            "cluster names",
            placement(clusterAffinity={"clusterNames": ["c"] * (limits.MAX_CLUSTER_NAMES + 1)}),
        ),
        ("tolerations", placement(tolerations=[{"key": "k"}] * (limits.MAX_TOLERATIONS + 1))),
        (
            "template name",
            {"resourceSelectors": [selector("n" * (limits.MAX_NAME_LENGTH + 1))]},
        ),
        (
            "label value",
            placement(overrides=[{"labels": {"k": "v" * (limits.MAX_LABEL_VALUE_LENGTH + 1)}}]),
        ),
        (
            "labels",
            placement(overrides=[{"labels": {f"k{i}": "v" for i in range(limits.MAX_LABELS + 1)}}]),
        ),
        (
            "patch path",
            placement(
                overrides=[
                    {
                        "jsonPatches": [
                            {"op": "remove", "path": "/" + "p" * limits.MAX_JSON_POINTER_LENGTH}
                        ]
                    }
                ]
            ),
        ),
        (
            "selector values",
            placement(
                clusterAffinity={
                    "labelSelector": {
                        "matchExpressions": [
                            {
                                "key": "region",
                                "operator": "In",
                                "values": ["x"] * (MAX_SELECTOR_VALUES + 1),
                            }
                        ]
                    }
                }
            ),
        ),
    ],
)
def test_a_placement_past_a_limit_is_refused(case: str, spec: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PlacementSpec.model_validate(spec)


def test_an_override_with_too_many_rules_is_refused() -> None:
    with pytest.raises(ValidationError):
        OverrideSpec.model_validate({"rules": [{}] * (limits.MAX_OVERRIDE_RULES + 1)})


def test_a_placement_at_every_limit_is_accepted() -> None:
    spec = PlacementSpec.model_validate(
        {
            "resourceSelectors": [selector("n" * limits.MAX_NAME_LENGTH)]
            * limits.MAX_RESOURCE_SELECTORS,
            "clusterAffinity": {"clusterNames": ["c"] * limits.MAX_CLUSTER_NAMES},
            "tolerations": [{"key": "k"}] * limits.MAX_TOLERATIONS,
            "overrides": [{"jsonPatches": patches(limits.MAX_JSON_PATCHES)}]
            * limits.MAX_OVERRIDE_RULES,
        }
    )
    assert len(spec.overrides[-1].json_patches) == limits.MAX_JSON_PATCHES
