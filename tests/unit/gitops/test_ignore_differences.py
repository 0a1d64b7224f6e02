"""Argo CD's ignoreDifferences: rules by group, kind, name and namespace; RFC 6901 pointers;
what is left out of the digest and of drift (other managers owning an ignored field, or an
ignored manager); what a sync with RespectIgnoreDifferences writes; what is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flotilla.api.application import ResourceIgnoreDifferences
from flotilla.gitops.comparing import OUT_OF_SYNC, SYNCED, compare
from flotilla.gitops.desired import DIGEST_ANNOTATION, stamped
from flotilla.gitops.ignoring import IgnoreError, check, ignored_for, parse, respected, without

DEPLOY: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "annotations": {"a/b": "1"}},
    "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
}  # fmt: skip


def rule(**fields: Any) -> ResourceIgnoreDifferences:
    return ResourceIgnoreDifferences.model_validate(fields)


def test_rules_match_by_group_kind_name_and_namespace() -> None:
    replicas = rule(group="apps", kind="Deployment", jsonPointers=["/spec/replicas"])
    assert ignored_for(DEPLOY, [replicas]).pointers == (("spec", "replicas"),)
    assert not ignored_for(DEPLOY, [rule(group="", kind="Deployment", jsonPointers=["/x"])])
    assert not ignored_for(DEPLOY, [rule(group="apps", kind="Deployment", name="api",
                                         jsonPointers=["/x"])])  # fmt: skip
    assert parse("/metadata/annotations/a~1b") == ("metadata", "annotations", "a/b")
    left = without(DEPLOY, [("metadata", "annotations", "a/b"), ("spec", "nothing")])
    assert "annotations" not in left["metadata"] and left["spec"] == DEPLOY["spec"]


def test_an_ignored_field_is_no_part_of_what_git_wants() -> None:
    rules = [rule(group="apps", kind="Deployment", jsonPointers=["/spec/replicas"])]

    def stamp(replicas: int, rules: list[ResourceIgnoreDifferences]) -> str:
        manifest = {**DEPLOY, "spec": {**DEPLOY["spec"], "replicas": replicas}}
        (item,) = stamped([manifest], owner="argocd.web", namespace="shop",
                          namespaced=lambda _m: True,
                          ignored=lambda m: ignored_for(m, rules))  # fmt: skip
        return str(item["metadata"]["annotations"][DIGEST_ANNOTATION])

    assert stamp(2, rules) == stamp(5, rules)
    assert stamp(2, []) != stamp(5, [])


def managed(manager: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"manager": manager, "operation": "Update", "fieldsV1": fields}


def test_an_ignored_field_taken_by_another_manager_is_no_drift() -> None:
    (manifest,) = stamped([DEPLOY], owner="argocd.web", namespace="shop",
                          namespaced=lambda _m: True)  # fmt: skip
    live = {**manifest, "metadata": {**manifest["metadata"], "managedFields": [
        managed("kubectl-scale", {"f:spec": {"f:replicas": {}}})]}}  # fmt: skip
    assert compare(manifest, live)[0] == OUT_OF_SYNC
    rules = [rule(group="apps", kind="Deployment", jsonPointers=["/spec/replicas"])]
    assert compare(manifest, live, ignored_for(manifest, rules))[0] == SYNCED
    by_manager = [rule(group="apps", kind="Deployment", managedFieldsManagers=["kubectl-scale"])]
    assert compare(manifest, live, ignored_for(manifest, by_manager))[0] == SYNCED


def test_respecting_keeps_the_live_values_of_ignored_fields() -> None:
    live = {**DEPLOY, "spec": {**DEPLOY["spec"], "replicas": 7}}
    written = respected(DEPLOY, live, [("spec", "replicas"), ("spec", "paused")])
    assert written["spec"]["replicas"] == 7
    assert "paused" not in written["spec"]
    assert respected(DEPLOY, None, [("spec", "replicas")])["spec"]["replicas"] == 2


def test_what_cannot_be_honoured_is_refused() -> None:
    with pytest.raises(IgnoreError, match="jqPathExpressions are not supported"):
        check([rule(kind="Deployment", jqPathExpressions=[".spec.replicas"])])
    with pytest.raises(IgnoreError, match="is not a JSON pointer"):
        check([rule(kind="Deployment", jsonPointers=["spec/replicas"])])


def test_globs_lists_and_emptied_maps() -> None:
    assert ignored_for(DEPLOY, [rule(group="*", kind="Deploy*", jsonPointers=["/spec/paused"])])
    one_key = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
               "data": {"k": "v"}}  # fmt: skip
    assert "data" not in without(one_key, [("data", "k")]), "a map only it filled goes too"
    image = ("spec", "template", "spec", "containers", "0", "image")
    live = json.loads(json.dumps(DEPLOY))
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "patched"
    written = respected(DEPLOY, live, [image])
    assert written["spec"]["template"]["spec"]["containers"] == [{"name": "c", "image": "patched"}]
    whole = respected(DEPLOY, live, [("spec", "template", "spec", "containers", "0")])
    assert whole["spec"]["template"]["spec"]["containers"][0]["image"] == "patched"
    bare = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    assert respected(bare, DEPLOY, [("spec", "replicas")])["spec"] == {"replicas": 2}


def test_a_digest_differs_with_a_field_that_is_not_ignored() -> None:
    rules = [rule(group="apps", kind="Deployment", jsonPointers=["/spec/replicas"])]
    (a,) = stamped([DEPLOY], owner="o", namespace="shop", namespaced=lambda _m: True,
                   ignored=lambda m: ignored_for(m, rules))  # fmt: skip
    other = {**DEPLOY, "spec": {**DEPLOY["spec"], "paused": True}}
    (b,) = stamped([other], owner="o", namespace="shop", namespaced=lambda _m: True,
                   ignored=lambda m: ignored_for(m, rules))  # fmt: skip
    assert compare(a, b)[0] == OUT_OF_SYNC
