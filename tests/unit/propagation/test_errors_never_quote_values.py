"""Render errors never quote a template's values: they reach Placement status, which more
people may read than may read the Secrets of the namespace.

Every message is written in our own words with paths, rule and patch numbers and ops;
exception texts of jsonpatch and jsonpointer (which embed the values they compared or
could not index into) are never passed on.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest

from flotilla.api.placement import ImageOverride, JsonPatchOperation, OverrideRule, PlacementSpec
from flotilla.placement import ClusterView
from flotilla.propagation import RenderError, render
from flotilla.propagation.planning import plan

SECRET = "hunter2-correct-horse-battery"
ENCODED = base64.b64encode(SECRET.encode()).decode()
IMAGE = "registry.internal/project-hunter2/app:v1"


def secret() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "apps"},
        "data": {"password": ENCODED},
        "stringData": {"list": [SECRET, SECRET]},
        "type": "Opaque",
    }


def pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "db", "namespace": "apps"},
        "spec": {"containers": [{"name": "app", "image": IMAGE}]},
    }


def patch(**operation: Any) -> OverrideRule:
    return OverrideRule(json_patches=[JsonPatchOperation.model_validate(operation)])


FAILING = [
    patch(op="test", path="/data/password", value="guess"),
    patch(op="test", path="/data", value={}),
    patch(op="test", path="/stringData/list", value=[]),
    patch(op="replace", path="/data/password/x", value=1),
    patch(op="add", path="/data/password/x", value=1),
    patch(op="remove", path="/data/password/0"),
    patch(op="add", path="/stringData/list/7", value="x"),
    patch(op="add", path="/stringData/list/first", value="x"),
    patch(op="add", path="/stringData/list/01", value="x"),
    patch(op="replace", path="/stringData/list/9", value="x"),
    patch(op="copy", **{"from": "/data/password/x"}, path="/data/y"),
    patch(op="copy", **{"from": "/stringData/list/5"}, path="/data/y"),
    patch(op="copy", **{"from": "/data"}, path="/stringData/list/7"),
    patch(op="move", **{"from": "/data"}, path="/data/inner"),
    patch(op="move", **{"from": "/stringData/list/0"}, path="/data/password/x"),
    patch(op="replace", path="", value=[ENCODED]),
    patch(op="add", path="~2", value=1),
]


def leaks(text: str) -> bool:
    return any(value in text for value in (SECRET, ENCODED, "hunter2"))


@pytest.mark.parametrize(
    "rule", FAILING, ids=lambda r: f"{r.json_patches[0].op} {r.json_patches[0].path}"
)
def test_a_failing_patch_on_a_secret_never_quotes_its_data(rule: OverrideRule) -> None:
    with pytest.raises(RenderError) as caught:
        render(
            secret(),
            placement=("apps", "db"),
            cluster="east",
            replicas=None,
            rules=[rule],
            cluster_labels={},
        )

    error = caught.value
    assert str(error).startswith("override rule 1, JSON patch 1 (")
    assert not leaks(str(error)), str(error)
    assert not leaks(error.reason)


def test_an_image_override_that_fails_does_not_quote_the_image() -> None:
    rule = OverrideRule(image_overrides=[ImageOverride(component="Repository", operator="remove")])

    with pytest.raises(RenderError) as caught:
        render(
            pod(),
            placement=("apps", "db"),
            cluster="east",
            replicas=None,
            rules=[rule],
            cluster_labels={},
        )

    assert "repository" in str(caught.value)
    assert not leaks(str(caught.value)), str(caught.value)


def test_the_errors_a_plan_reports_never_quote_the_secret() -> None:
    spec = PlacementSpec.model_validate(
        {"resourceSelectors": [{"apiVersion": "v1", "kind": "Secret"}]}
    )
    view = ClusterView(name="east", ready=True)

    planned = plan(
        spec,
        [secret()],
        [view],
        placement=("apps", "db"),
        rules=FAILING[:1],
        previous={},
        now=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )

    assert [f.cluster for f in planned.failures] == ["east"]
    assert "not equal" in planned.failures[0].error
    assert not leaks(planned.failures[0].error)
    assert not leaks(repr(planned.failures[0]))
