"""A template of an odd shape (a custom resource whose ``spec`` is a list or a string) is
rendered like any other or becomes one failure; it never stops the plan of the others."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from flotilla.api.placement import OverrideRule, PlacementSpec
from flotilla.placement import ClusterView
from flotilla.propagation.planning import plan

SPEC = PlacementSpec.model_validate(
    {
        "resourceSelectors": [{"apiVersion": "example.com/v1", "kind": "Odd"}],
        "replicaScheduling": {"type": "Divided"},
    }
)
RULE = OverrideRule.model_validate(
    {
        "resourceSelectors": [{"apiVersion": "example.com/v1", "kind": "Odd"}],
        "jsonPatches": [{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}],
    }
)


def odd(name: str, spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Odd",
        "metadata": {"name": name, "namespace": "apps"},
        "spec": spec,
    }


@pytest.mark.parametrize("spec", [["a", "b"], "text", 7, None])
def test_a_template_whose_spec_is_not_an_object_is_planned(spec: Any) -> None:
    planned = plan(
        SPEC,
        [odd("odd", spec), odd("fine", {"replicas": 2})],
        [ClusterView(name="east")],
        placement=("apps", "web"),
        rules=[RULE],
        previous={},
        now=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )

    assert sorted(m["metadata"]["name"] for m in planned.desired["east"]) == ["fine", "odd"]
    assert planned.failures == []
