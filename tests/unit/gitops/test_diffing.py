"""``diffing.object_diff`` and ``heading``: what ``flotilla app diff`` prints for an object."""

import base64
import copy
from typing import Any

import pytest

from flotilla.gitops.diffing import CHANGED, HIDDEN, UNCHANGED, heading, object_diff


def deployment(replicas: int = 2, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "production", **meta},
        "spec": {"replicas": replicas},
    }


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(*, data: dict[str, str] | None = None, string_data: dict[str, str] | None = None,
           **meta: Any) -> dict[str, Any]:  # fmt: skip
    item: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "production", **meta},
        "type": "Opaque",
    }
    if data is not None:
        item["data"] = {k: b64(v) for k, v in data.items()}
    if string_data is not None:
        item["stringData"] = string_data
    return item


NOISE = {
    "managedFields": [{"manager": "kubectl", "operation": "Update"}],
    "resourceVersion": "812",
    "uid": "0b6e",
    "generation": 4,
    "creationTimestamp": "2026-01-01T00:00:00Z",
    "annotations": {
        "flotilla.io/desired-digest": "ab12",
        "kubectl.kubernetes.io/last-applied-configuration": '{"spec":{}}',
    },
}


@pytest.mark.parametrize(
    ("live", "desired"),
    [
        (deployment(), deployment()),
        (deployment(**copy.deepcopy(NOISE)), deployment()),
        ({**deployment(), "status": {"readyReplicas": 1}}, deployment()),
        (deployment(labels={}), deployment()),
    ],
    ids=["same", "server-bookkeeping", "status", "empty-labels"],
)
def test_no_difference_is_the_empty_string(live: dict[str, Any], desired: dict[str, Any]) -> None:
    assert object_diff(live, desired) == ""


def test_a_changed_field_is_a_unified_diff_of_yaml() -> None:
    text = object_diff(deployment(2, **copy.deepcopy(NOISE)), deployment(3))
    assert text.startswith("--- live\n+++ desired\n")
    assert "-  replicas: 2\n" in text and "+  replicas: 3\n" in text
    for noise in ("managedFields", "resourceVersion", "812", "desired-digest", "last-applied"):
        assert noise not in text


def test_an_object_not_on_the_cluster_is_all_additions() -> None:
    text = object_diff(None, deployment())
    lines = text.splitlines()[2:]
    assert lines[0].startswith("@@")
    assert all(line.startswith("+") for line in lines[1:])
    assert "+kind: Deployment" in lines


def test_the_inputs_are_not_changed() -> None:
    live, desired = deployment(**copy.deepcopy(NOISE)), deployment(3)
    before = (copy.deepcopy(live), copy.deepcopy(desired))
    object_diff(live, desired)
    assert (live, desired) == before


def test_heading_names_group_kind_namespace_and_name() -> None:
    assert heading(deployment()) == "===== apps/Deployment production/web ======"
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
    }
    assert heading(service) == "===== /Service shop/web ======"
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "reader"}}  # fmt: skip
    assert heading(role) == "===== rbac.authorization.k8s.io/ClusterRole /reader ======"


SECRET_CASES = [
    # live, desired, lines the diff has, lines it must not have
    (
        secret(data={"password": "old-canary-1", "user": "ada"}),
        secret(data={"password": "new-canary-2", "user": "ada"}),
        [f"-  password: '{HIDDEN}'", f"+  password: {CHANGED}", f"   user: '{UNCHANGED}'"],
    ),
    (
        None,
        secret(string_data={"password": "new-canary-2"}),
        [f"+  password: {CHANGED}"],
    ),
    (
        secret(data={"password": "old-canary-1", "gone": "old-canary-3"}),
        secret(data={"password": "old-canary-1"}),
        [f"-  gone: '{HIDDEN}'", f"   password: '{UNCHANGED}'"],
    ),
    (
        secret(data={"password": "old-canary-1"}),
        secret(string_data={"password": "new-canary-2"}),
        [f"-  password: '{HIDDEN}'", f"+  password: {CHANGED}"],
    ),
]


@pytest.mark.parametrize(("live", "desired", "expected"), SECRET_CASES,
                         ids=["changed", "new", "removed-key", "string-data"])  # fmt: skip
def test_secret_values_are_masked_and_say_whether_they_change(
    live: dict[str, Any] | None, desired: dict[str, Any], expected: list[str]
) -> None:
    text = object_diff(live, desired)
    for line in expected:
        assert line in text.splitlines(), text
    assert "canary" not in text
    assert b64("old-canary-1") not in text and b64("new-canary-2") not in text


def test_a_secret_whose_values_are_the_same_differs_only_where_it_does() -> None:
    live = secret(data={"password": "old-canary-1"}, labels={"a": "1"})
    desired = secret(string_data={"password": "old-canary-1"}, labels={"a": "2"})
    text = object_diff(live, desired)
    assert "-    a: '1'" in text and "+    a: '2'" in text
    assert not [line for line in text.splitlines() if "password" in line and line[0] in "+-"]
    assert object_diff(secret(data={"k": "v"}), secret(string_data={"k": "v"})) == ""


def test_a_secrets_last_applied_annotation_never_shows_its_values() -> None:
    applied = '{"data":{"password":"' + b64("old-canary-1") + '"}}'
    live = secret(
        data={"password": "old-canary-1"},
        annotations={"kubectl.kubernetes.io/last-applied-configuration": applied},
    )
    text = object_diff(live, secret(data={"password": "new-canary-2"}))
    assert text and "canary" not in text and b64("old-canary-1") not in text
