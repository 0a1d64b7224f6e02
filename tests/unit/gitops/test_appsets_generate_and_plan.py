"""What an ApplicationSet generates and the plan against what exists: the seed's
ApplicationSet, generator templates and templatePatch, the checks on each generated
Application, ownership, ``applicationsSync`` and the rule that an error deletes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.api.application import RESOURCES_FINALIZER
from flotilla.gitops.appsets import AppSetError, ClusterInfo, generated
from flotilla.gitops.ownedapps import plan

CLUSTERS = [
    ClusterInfo("us-east", "https://127.0.2.1:6443", {"env": "production"}),
    ClusterInfo("eu-west", "https://127.0.3.1:6443", {"env": "production"}),
    ClusterInfo("ap-south", "https://127.0.4.1:6443", {"env": "staging"}),
]
SEED: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "ApplicationSet",
    "metadata": {"name": "api-server", "namespace": "argocd", "uid": "u-1"},
    "spec": {
        "generators": [{"clusters": {"selector": {"matchLabels": {"env": "production"}}}}],
        "template": {
            "metadata": {"name": "api-server-{{name}}"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://github.com/org/api-server",
                           "targetRevision": "HEAD", "path": "k8s/overlays/production"},
                "destination": {"server": "{{server}}", "namespace": "production"},
                "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
            },
        },
    },
}  # fmt: skip


def with_spec(**changes: Any) -> dict[str, Any]:
    return {**SEED, "spec": {**SEED["spec"], **changes}}


async def test_the_seed_gives_one_owned_application_per_production_cluster() -> None:
    out = await generated(SEED, clusters=CLUSTERS)
    assert out.errors == []
    names = [app["metadata"]["name"] for app in out.applications]
    assert names == ["api-server-eu-west", "api-server-us-east"]
    east = out.applications[1]
    assert east["metadata"]["namespace"] == "argocd"
    assert east["spec"]["destination"]["server"] == "https://127.0.2.1:6443"
    assert east["metadata"]["finalizers"] == [RESOURCES_FINALIZER]
    (owner,) = east["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "ApplicationSet", "api-server", "u-1", True)  # fmt: skip


async def test_preserve_resources_on_deletion_leaves_out_the_finalizer() -> None:
    out = await generated(
        with_spec(syncPolicy={"preserveResourcesOnDeletion": True}), clusters=CLUSTERS
    )
    assert all("finalizers" not in app["metadata"] for app in out.applications)


async def test_a_generator_template_and_the_template_patch_are_merged_in() -> None:
    spec = SEED["spec"]
    appset = with_spec(
        generators=[{**spec["generators"][0],
                     "template": {"metadata": {"labels": {"team": "api"}},
                                  "spec": {"source": {"path": "k8s/{{name}}"}}}}],
        templatePatch="spec:\n  source:\n    targetRevision: '{{metadata.labels.env}}'\n"
                      "  syncPolicy: null\n",
    )  # fmt: skip
    out = await generated(appset, clusters=CLUSTERS)
    east = out.applications[1]
    assert east["metadata"]["labels"] == {"team": "api"}
    assert east["spec"]["source"]["path"] == "k8s/us-east"
    assert east["spec"]["source"]["repoURL"] == "https://github.com/org/api-server"
    assert east["spec"]["source"]["targetRevision"] == "production"
    assert "syncPolicy" not in east["spec"]


async def test_a_bad_application_is_an_error_and_the_others_still_count() -> None:
    appset = with_spec(generators=[{"list": {"elements": [
        {"n": "ok", "ns": "production"}, {"n": "Not_A_Name", "ns": "production"}]}}])  # fmt: skip
    appset["spec"]["template"] = {**SEED["spec"]["template"], "metadata": {"name": "{{n}}"}}
    destination = {"name": "x", "namespace": "{{ns}}"}
    appset["spec"]["template"]["spec"] = {
        **SEED["spec"]["template"]["spec"],
        "destination": destination,
    }
    out = await generated(appset, clusters=CLUSTERS)
    assert [a["metadata"]["name"] for a in out.applications] == ["ok"]
    (error,) = out.errors
    assert "parameter set 2" in error and "not a valid Application name" in error


async def test_duplicate_names_another_namespace_and_a_failing_generator_are_errors() -> None:
    same = with_spec()
    same["spec"]["template"] = {**SEED["spec"]["template"], "metadata": {"name": "api-server"}}
    with pytest.raises(AppSetError, match="two parameter sets give the Application name"):
        await generated(same, clusters=CLUSTERS)
    elsewhere = with_spec()
    meta = {"name": "{{name}}", "namespace": "default"}
    elsewhere["spec"]["template"] = {**SEED["spec"]["template"], "metadata": meta}
    out = await generated(elsewhere, clusters=CLUSTERS)
    assert out.applications == [] and "ApplicationSet's namespace (argocd)" in out.errors[0]
    with pytest.raises(AppSetError, match="generator 1: clusters: selector"):
        await generated(with_spec(generators=[{"clusters": {"selector": {"matchExpressions": [
            {"key": "env", "operator": "Maybe"}]}}}]), clusters=CLUSTERS)  # fmt: skip


async def test_the_plan_creates_updates_deletes_and_never_touches_what_it_does_not_own() -> None:
    out = await generated(SEED, clusters=CLUSTERS)
    east, west = out.applications[1], out.applications[0]
    stale = {**east, "spec": {**east["spec"], "project": "other"}}
    gone = {**east, "metadata": {**east["metadata"], "name": "api-server-old"}}
    foreign = {"metadata": {"name": "api-server-eu-west", "ownerReferences": []}, "spec": {}}
    existing = {"api-server-us-east": stale, "api-server-old": gone}
    result = plan(out.applications, existing, uid="u-1", policy="", deletes_allowed=True)
    assert [a["metadata"]["name"] for a in result.create] == ["api-server-eu-west"]
    assert [a["metadata"]["name"] for a in result.update] == ["api-server-us-east"]
    assert [a["metadata"]["name"] for a in result.delete] == ["api-server-old"]
    held = plan([west], {"api-server-eu-west": foreign}, uid="u-1", policy="", deletes_allowed=True)
    assert held.held == ["api-server-eu-west"] and not (held.create or held.update)
    same = plan([east], {"api-server-us-east": east}, uid="u-1", policy="", deletes_allowed=True)
    assert same.unchanged == ["api-server-us-east"]


@pytest.mark.parametrize(
    ("policy", "updates", "deletes"),
    [("sync", True, True), ("create-update", True, False), ("create-delete", False, True),
     ("create-only", False, False)],
)  # fmt: skip
async def test_applications_sync_says_what_may_change(
    policy: str, updates: bool, deletes: bool
) -> None:
    out = await generated(SEED, clusters=CLUSTERS)
    east = out.applications[1]
    stale = {**east, "spec": {**east["spec"], "project": "other"}}
    gone = {**east, "metadata": {**east["metadata"], "name": "api-server-old"}}
    existing = {"api-server-us-east": stale, "api-server-old": gone}
    result = plan(out.applications, existing, uid="u-1", policy=policy, deletes_allowed=True)
    assert len(result.create) == 1
    assert bool(result.update) == updates and bool(result.delete) == deletes
    assert ("update: api-server-us-east" in result.skipped) != updates
    assert ("delete: api-server-old" in result.skipped) != deletes
    unsure = plan(out.applications, existing, uid="u-1", policy=policy, deletes_allowed=False)
    assert unsure.delete == []
