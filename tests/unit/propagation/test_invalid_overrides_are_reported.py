"""An Override the models refuse (stored before a limit existed) is left out of rendering,
and said: the Placement must not silently place its templates without those rules."""

from __future__ import annotations

from typing import Any

from flotilla.api.placement import MAX_OVERRIDE_RULES, PlacementSpec
from flotilla.propagation.planning import invalid_overrides, override_rules

SPEC = PlacementSpec.model_validate({"resourceSelectors": [{"apiVersion": "v1", "kind": "Secret"}]})


def override(name: str, rules: list[dict[str, Any]], namespace: str = "apps") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"rules": rules}}


OVERRIDES = [
    override("fine", [{"labels": {"a": "b"}}]),
    override("too-many", [{}] * (MAX_OVERRIDE_RULES + 1)),
    override("elsewhere", [{}] * (MAX_OVERRIDE_RULES + 1), namespace="other"),
]


def test_an_invalid_override_is_named_and_its_rules_are_left_out() -> None:
    assert len(override_rules(SPEC, "apps", OVERRIDES)) == 1
    (problem,) = invalid_overrides("apps", OVERRIDES)
    assert problem.startswith("Override too-many is invalid (spec.rules: ")
    assert "{" not in problem


def test_valid_overrides_are_no_problem() -> None:
    assert invalid_overrides("apps", OVERRIDES[:1]) == []
