"""ApplicationSets on the local fleet with a real git server: the seed's, verbatim; the
clusters generator following cluster labels, with the guard against an emptied generator;
git directories in a matrix with Go templates; applicationsSync; deletion with the set."""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flotilla.api import ClusterName
from flotilla.api.application import ApplicationSpec
from flotilla.kube import NotFound, resource_path
from tests.e2e.controllers import ControllerProcess, Controllers
from tests.e2e.gitops import APPS, HUB, PUBLIC, cm, cm_path, member_get, mirror, mirrored, synced
from tests.e2e.localfleet import LocalFleet
from tests.e2e.waiting import eventually
from tests.gitservers import GitDaemon, GitRepo

__all__ = ["mirror"]

APPSETS = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applicationsets"
CLUSTERS = "/apis/flotilla.io/v1alpha1/clusters"

# The seed's ApplicationSet (../shared/seed/multi-cluster-skill.md), as written.
SEED = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: api-server
  namespace: argocd
spec:
  generators:
  - clusters:
      selector:
        matchLabels:
          env: production
  template:
    metadata:
      name: 'api-server-{{name}}'
    spec:
      project: default
      source:
        repoURL: https://github.com/org/api-server
        targetRevision: HEAD
        path: k8s/overlays/production
      destination:
        server: '{{server}}'
        namespace: production
      syncPolicy:
        automated:
          prune: true
          selfHeal: true
"""


@pytest.fixture(scope="module")
def appsets(controllers: Controllers, mirror: tuple[Path, GitDaemon]) -> ControllerProcess:
    """A controller polling git every 5 s, github.com/org/ served by the local daemon."""
    return mirrored(controllers, mirror, "--git-poll-interval", "5")


async def apply_appset(fleet: LocalFleet, appset: dict[str, Any]) -> None:
    async with fleet.client(HUB) as client:
        await client.create(APPSETS, appset)


async def delete_appset(fleet: LocalFleet, name: str) -> None:
    async with fleet.client(HUB) as client:
        with contextlib.suppress(NotFound):
            await client.delete(f"{APPSETS}/{name}", propagationPolicy="Foreground")

    async def gone() -> bool:
        async with fleet.client(HUB) as client:
            try:
                await client.get(f"{APPSETS}/{name}")
            except NotFound:
                return True
            return False

    await eventually(gone, timeout=60, what=f"ApplicationSet {name} gone")


async def apps_of(fleet: LocalFleet, appset: str) -> dict[str, dict[str, Any]]:
    async with fleet.client(HUB) as client:
        items = (await client.list(APPS)).get("items") or []
    return {
        item["metadata"]["name"]: item
        for item in items
        if any(ref.get("name") == appset for ref in item["metadata"].get("ownerReferences") or [])
    }


async def wait_apps(
    fleet: LocalFleet, appset: str, names: set[str], *, what: str, timeout: float = 60
) -> dict[str, dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}

    async def done() -> bool:
        seen.update({"apps": await apps_of(fleet, appset)})
        live = {n for n, a in seen["apps"].items() if not a["metadata"].get("deletionTimestamp")}
        return live == names

    await eventually(done, timeout=timeout, what=what)
    return seen["apps"]


async def appset_of(fleet: LocalFleet, name: str) -> dict[str, Any]:
    async with fleet.client(HUB) as client:
        found: dict[str, Any] = await client.get(f"{APPSETS}/{name}")
        return found


def condition(appset: dict[str, Any], type_: str) -> dict[str, Any]:
    for item in (appset.get("status") or {}).get("conditions") or []:
        if item.get("type") == type_:
            return dict(item)
    return {}


@contextlib.asynccontextmanager
async def labelled(
    fleet: LocalFleet, labels: dict[str, dict[str, str | None]]
) -> AsyncIterator[None]:
    """Clusters carry ``labels`` (None removes one) for the block, and lose them after."""

    async def patch(name: str, values: dict[str, str | None]) -> None:
        async with fleet.client(HUB) as client:
            await client.merge_patch(f"{CLUSTERS}/{name}", {"metadata": {"labels": values}})

    for name, values in labels.items():
        await patch(name, values)
    try:
        yield
    finally:
        for name, values in labels.items():
            await patch(name, dict.fromkeys(values))


async def test_the_seeds_application_set_works_as_written(
    fleet: LocalFleet, appsets: ControllerProcess, mirror: tuple[Path, GitDaemon]
) -> None:
    repo = GitRepo.create(mirror[0], "api-server")
    sha = repo.commit({
        "k8s/base/kustomization.yaml": "resources: [api.yaml]\n",
        "k8s/base/api.yaml": cm("api-server", {"replicas": "2"}),
        "k8s/overlays/production/kustomization.yaml":
            "resources: [../../base, namespace.yaml]\n"
            "patches:\n- target: {kind: ConfigMap, name: api-server}\n"
            "  patch: |\n    - {op: replace, path: /data/replicas, value: '5'}\n",
        "k8s/overlays/production/namespace.yaml":
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: production\n",
    }, "api-server")  # fmt: skip
    seed_file = mirror[0] / "seed-appset.yaml"
    seed_file.write_text(SEED)
    preview = fleet.flotilla("appset", "generate", str(seed_file), "-o", "json",
                             "--git-url-rewrite", f"{PUBLIC}={mirror[1].url('')}")  # fmt: skip
    assert preview.returncode == 0, preview.stderr
    previewed = {app["metadata"]["name"]: app for app in json.loads(preview.stdout)}
    assert set(previewed) == {"api-server-us-east", "api-server-eu-west"}
    assert (
        "# ap-south: skipped by generators[0]: env=production is asked and it has env=staging"
        in (preview.stderr)
    )
    assert "# us-east: chosen by generators[0]: its labels match" in preview.stderr
    async with fleet.client(HUB) as client:  # generate applies nothing
        assert await apps_of(fleet, "api-server") == {}
        with pytest.raises(NotFound):
            await client.get(f"{APPSETS}/api-server")
    await apply_appset(fleet, yaml.safe_load(SEED))
    try:
        apps = await wait_apps(fleet, "api-server", {"api-server-us-east", "api-server-eu-west"},
                               what="one Application per production cluster")  # fmt: skip
        east = apps["api-server-us-east"]
        assert east["spec"]["destination"]["server"] == "https://127.0.2.1:6443"
        assert "resources-finalizer.argocd.argoproj.io" in east["metadata"]["finalizers"]

        async def both_synced() -> bool:
            found = await apps_of(fleet, "api-server")
            return len(found) == 2 and all(synced(a, sha) for a in found.values())

        await eventually(both_synced, timeout=90, what="both Applications synced")
        for member in ("us-east", "eu-west"):
            live = await member_get(fleet, member, cm_path("production", "api-server"))
            assert live is not None and live["data"] == {"replicas": "5"}, member
        assert await member_get(fleet, "ap-south", cm_path("production", "api-server")) is None

        async def reported() -> bool:
            status = (await appset_of(fleet, "api-server")).get("status") or {}
            resources = {r["name"]: r for r in status.get("resources") or []}
            return (
                condition({"status": status}, "ResourcesUpToDate").get("status") == "True"
                and {r.get("status") for r in resources.values()} == {"Synced"}
                and len(resources) == 2
            )

        await eventually(reported, timeout=30, what="the ApplicationSet's status")
        normal = ApplicationSpec.model_validate  # the API server fills in the defaults
        assert normal(previewed["api-server-us-east"]["spec"]) == normal(east["spec"])
        listed = fleet.flotilla("appset", "list")
        assert listed.returncode == 0, listed.stderr
        (line,) = [s for s in listed.stdout.splitlines() if s.startswith("api-server ")]
        assert line.split()[:5] == ["api-server", "2", "2/2", "2/2", "ApplicationSetUpToDate"]
        shown = fleet.flotilla("appset", "get", "api-server")
        assert shown.returncode == 0, shown.stderr
        assert "Generators:  clusters" in shown.stdout
        assert re.search(r"api-server-eu-west\s+Synced\s+Healthy", shown.stdout), shown.stdout
    finally:
        await delete_appset(fleet, "api-server")
    # Deleting the set deletes its Applications, and their finalizer their objects.
    await wait_apps(fleet, "api-server", set(), what="Applications gone with their set")

    async def removed() -> bool:
        return await member_get(fleet, "us-east", cm_path("production", "api-server")) is None

    await eventually(removed, timeout=60, what="objects removed with the Applications")


def labelled_set(name: str, label: str, repo_url: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "generators": [{"clusters": {"selector": {"matchLabels": {label: "on"}}}}],
            "template": {
                "metadata": {"name": f"{name}-{{{{name}}}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo_url, "targetRevision": "main", "path": "k8s"},
                    "destination": {"name": "{{name}}", "namespace": name},
                    "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
                },
            },
            **spec,
        },
    }


async def test_applications_follow_cluster_labels_and_an_emptied_generator_waits(
    fleet: LocalFleet, appsets: ControllerProcess, mirror: tuple[Path, GitDaemon]
) -> None:
    name = f"labels-{uuid.uuid4().hex[:6]}"
    label = f"e2e-{name}"
    repo = GitRepo.create(mirror[0], name)
    repo.commit({"k8s/cm.yaml": cm("one", {"v": "1"})}, "one")
    await apply_appset(fleet, labelled_set(name, label, repo.url_file))
    try:
        async with labelled(fleet, {"us-east": {label: "on"}, "ap-south": {label: "on"}}):
            await wait_apps(fleet, name, {f"{name}-us-east", f"{name}-ap-south"},
                            what="an Application per labelled cluster")  # fmt: skip
            async with fleet.client(HUB) as client:
                await client.merge_patch(
                    f"{CLUSTERS}/ap-south", {"metadata": {"labels": {label: None}}}
                )
            # One of two is half: the guard lets it go.
            await wait_apps(fleet, name, {f"{name}-us-east"}, what="the unlabelled one deleted")
            async with fleet.client(HUB) as client:
                await client.merge_patch(
                    f"{CLUSTERS}/us-east", {"metadata": {"labels": {label: None}}}
                )

            async def held() -> bool:
                found = condition(await appset_of(fleet, name), "ResourcesUpToDate")
                return found.get("reason") == "DeletionBlocked"

            await eventually(held, timeout=30, what="the guard holding the last Application")
            message = condition(await appset_of(fleet, name), "ResourcesUpToDate")["message"]
            assert re.search(r"would remove \d+ of \d+ Applications", message), message
            assert "flotilla appset confirm-delete" in message
            assert set(await apps_of(fleet, name)) == {f"{name}-us-east"}
            confirmed = fleet.flotilla("appset", "confirm-delete", name)
            assert confirmed.returncode == 0, confirmed.stderr
            await wait_apps(fleet, name, set(), what="the confirmed deletion")
            again = fleet.flotilla("appset", "confirm-delete", name)
            assert again.returncode == 1 and "holds nothing" in again.stderr
    finally:
        await delete_appset(fleet, name)


async def test_git_directories_times_clusters_with_go_templates(
    fleet: LocalFleet, appsets: ControllerProcess, mirror: tuple[Path, GitDaemon]
) -> None:
    name = f"dirs-{uuid.uuid4().hex[:6]}"
    repo = GitRepo.create(mirror[0], name)
    repo.commit({
        "apps/web/cm.yaml": cm("web", {"app": "web"}),
        "apps/api/cm.yaml": cm("api", {"app": "api"}),
        "apps/scratch/cm.yaml": cm("scratch", {"app": "scratch"}),
    }, "three apps")  # fmt: skip
    appset = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"matrix": {"generators": [
                {"git": {"repoURL": f"{PUBLIC}{name}", "revision": "main",
                         "directories": [{"path": "apps/*"},
                                         {"path": "apps/scratch", "exclude": True}]}},
                {"clusters": {"selector": {"matchLabels": {"env": "production"}}}},
            ]}}],
            "template": {
                "metadata": {"name": "{{ .path.basename }}-{{ .name }}",
                             "labels": {"app": "{{ .path.basename }}"}},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": f"{PUBLIC}{name}", "targetRevision": "main",
                               "path": "{{ .path.path }}"},
                    "destination": {"name": "{{ .name }}", "namespace": name},
                    "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]},
                },
            },
        },
    }  # fmt: skip
    await apply_appset(fleet, appset)
    try:
        expected = {
            f"{app}-{cluster}" for app in ("web", "api") for cluster in ("us-east", "eu-west")
        }
        apps = await wait_apps(fleet, name, expected, what="git directories x clusters")
        assert apps["api-eu-west"]["spec"]["source"]["path"] == "apps/api"
        assert apps["api-eu-west"]["metadata"]["labels"]["app"] == "api"

        async def deployed() -> bool:
            live = await member_get(fleet, "eu-west", cm_path(name, "api"))
            return live is not None and live["data"] == {"app": "api"}

        await eventually(deployed, timeout=60, what="api synced to eu-west")
        # A new directory in git is a new Application per cluster (the poll sees it).
        repo.commit({"apps/jobs/cm.yaml": cm("jobs", {"app": "jobs"})}, "jobs")
        await wait_apps(fleet, name, expected | {"jobs-us-east", "jobs-eu-west"},
                        what="a new directory's Applications")  # fmt: skip
    finally:
        await delete_appset(fleet, name)
    for member in ("us-east", "eu-west"):
        async with fleet.client(ClusterName(member)) as client:
            with contextlib.suppress(Exception):
                await client.delete(resource_path("v1", "namespaces", name=name))


async def test_a_broken_generator_is_reported_and_deletes_nothing(
    fleet: LocalFleet, appsets: ControllerProcess, mirror: tuple[Path, GitDaemon]
) -> None:
    name = f"broken-{uuid.uuid4().hex[:6]}"
    repo = GitRepo.create(mirror[0], name)
    repo.commit({"k8s/cm.yaml": cm("one", {"v": "1"})}, "one")
    appset = labelled_set(name, "env", repo.url_file)
    appset["spec"]["generators"] = [
        {"clusters": {"selector": {"matchLabels": {"env": "production"}}}}
    ]
    await apply_appset(fleet, appset)
    try:
        await wait_apps(
            fleet, name, {f"{name}-us-east", f"{name}-eu-west"}, what="two Applications"
        )
        async with fleet.client(HUB) as client:
            await client.merge_patch(f"{APPSETS}/{name}", {"spec": {"generators": [
                {"clusters": {"selector": {"matchExpressions": [
                    {"key": "env", "operator": "In", "values": ["production"]}]}},
                 "list": {"elements": []}}]}})  # fmt: skip

        async def reported() -> bool:
            found = condition(await appset_of(fleet, name), "ErrorOccurred")
            return found.get("status") == "True" and "exactly one kind" in found.get("message", "")

        await eventually(reported, timeout=30, what="the broken generator reported")
        assert set(await apps_of(fleet, name)) == {f"{name}-us-east", f"{name}-eu-west"}
    finally:
        await delete_appset(fleet, name)


NEVER_READY = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
    "  progressDeadlineSeconds: 1\n  selector: {matchLabels: {app: web}}\n  template:\n"
    "    metadata: {labels: {app: web}}\n    spec:\n      nodeSelector: {nowhere: 'true'}\n"
    "      containers: [{name: web, image: web}]\n"
)


async def test_a_progressive_rollout_goes_step_by_step_and_rolls_back_a_degraded_step(
    fleet: LocalFleet, appsets: ControllerProcess, mirror: tuple[Path, GitDaemon]
) -> None:
    name = f"roll-{uuid.uuid4().hex[:6]}"
    repo = GitRepo.create(mirror[0], name)
    repo.commit({"v1/cm.yaml": cm("web", {"v": "1"}), "v2/cm.yaml": cm("web", {"v": "2"}),
                 "bad/web.yaml": NEVER_READY}, "three versions")  # fmt: skip
    elements = [
        {"cluster": c, "env": e}
        for c, e in (("us-east", "production"), ("eu-west", "production"), ("ap-south", "staging"))
    ]
    appset = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "generators": [{"list": {"elements": elements}}],
            "strategy": {"type": "RollingSync", "rollingSync": {"bakeTime": "1s", "steps": [
                {"matchExpressions": [{"key": "env", "operator": "In", "values": ["staging"]}]},
                {"matchExpressions": [{"key": "env", "operator": "In", "values": ["production"]}],
                 "maxUpdate": 1},
            ]}},
            "template": {
                "metadata": {"name": f"{name}-{{{{cluster}}}}", "labels": {"env": "{{env}}"}},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo.url_file, "targetRevision": "main", "path": "v1"},
                    "destination": {"name": "{{cluster}}", "namespace": name},
                    "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]},
                },
            },
        },
    }  # fmt: skip
    clusters = ("us-east", "eu-west", "ap-south")

    async def paths() -> dict[str, str]:
        return {n.removeprefix(f"{name}-"): a["spec"]["source"]["path"]
                for n, a in (await apps_of(fleet, name)).items()}  # fmt: skip

    async def all_healthy() -> bool:
        found = await apps_of(fleet, name)
        return len(found) == 3 and all(
            (a.get("status") or {}).get("health", {}).get("status") == "Healthy"
            for a in found.values()
        )

    async def set_path(path: str) -> None:
        async with fleet.client(HUB) as client:
            await client.merge_patch(f"{APPSETS}/{name}", {"spec": {"template": {"spec": {
                "source": {"path": path}}}}})  # fmt: skip

    async def rollout(phase: str) -> dict[str, Any]:
        seen: dict[str, Any] = {}

        async def done() -> bool:
            seen["r"] = ((await appset_of(fleet, name)).get("status") or {}).get("rollout") or {}
            return seen["r"].get("phase") == phase

        await eventually(done, timeout=90, what=f"the rollout {phase}")
        return seen["r"]

    await apply_appset(fleet, appset)
    try:
        await eventually(all_healthy, timeout=60, what="three Applications at v1, Healthy")
        # A good change: staging first, then production one at a time; all of it lands.
        await set_path("v2")
        record = await rollout("Succeeded")
        assert [s["applications"] for s in record["steps"]] == [
            [f"{name}-ap-south"],
            [f"{name}-eu-west", f"{name}-us-east"],
        ]
        assert await paths() == dict.fromkeys(clusters, "v2")
        starts = [datetime.datetime.fromisoformat(s["startedAt"]) for s in record["steps"]]
        healthy = datetime.datetime.fromisoformat(record["steps"][0]["healthySince"])
        assert starts[1] >= healthy + datetime.timedelta(seconds=1), "production after the bake"
        live = await member_get(fleet, "us-east", cm_path(name, "web"))
        assert live is not None and live["data"] == {"v": "2"}

        # A bad change: staging turns Degraded, is put back, production never sees it.
        await eventually(all_healthy, timeout=60, what="Healthy again before the next change")
        await set_path("bad")
        record = await rollout("RolledBack")
        assert f"{name}-ap-south turned Degraded" in record["message"]
        assert record["updated"] == [f"{name}-ap-south"], "production was never changed"
        await eventually(lambda: _equals(paths, dict.fromkeys(clusters, "v2")), timeout=30,
                         what="staging put back at v2")  # fmt: skip
        shown = fleet.flotilla("appset", "rollout", name)
        assert shown.returncode == 0 and "Rollout:   RolledBack" in shown.stdout, shown.stderr
        found = condition(await appset_of(fleet, name), "RolloutProgressing")
        assert found.get("status") == "False" and found.get("reason") == "RolloutRolledBack"
    finally:
        await delete_appset(fleet, name)


async def _equals(probe: Any, expected: Any) -> bool:
    return bool(await probe() == expected)


async def test_merge_of_clusters_and_git_files_overrides_per_cluster(
    fleet: LocalFleet, appsets: ControllerProcess, mirror: tuple[Path, GitDaemon]
) -> None:
    name = f"merge-{uuid.uuid4().hex[:6]}"
    repo = GitRepo.create(mirror[0], name)
    repo.commit({
        "k8s/cm.yaml": cm("one", {"v": "1"}),
        "clusters/us-east.json": json.dumps({"name": "us-east", "tier": "gold"}),
        "clusters/extra/eu-west.yaml": "name: eu-west\ntier: silver\n",
    }, "per-cluster settings")  # fmt: skip
    appset = labelled_set(name, "env", repo.url_file)
    appset["spec"]["generators"] = [{"merge": {"mergeKeys": ["name"], "generators": [
        {"clusters": {"values": {"tier": "bronze"}}},
        {"git": {"repoURL": f"{PUBLIC}{name}", "revision": "main",
                 "files": [{"path": "clusters/**/*.json"}, {"path": "clusters/**/*.yaml"}]}},
    ]}}]  # fmt: skip
    # An annotation: a tag no parameter fills stays as written (Argo CD's fasttemplate).
    appset["spec"]["template"]["metadata"]["annotations"] = {"tier": "{{tier}}/{{values.tier}}"}
    await apply_appset(fleet, appset)
    try:
        clusters = ("us-east", "eu-west", "ap-south")
        apps = await wait_apps(fleet, name, {f"{name}-{c}" for c in clusters},
                               what="one Application per cluster")  # fmt: skip
        tiers = {n.removeprefix(f"{name}-"): a["metadata"]["annotations"]["tier"]
                 for n, a in apps.items()}  # fmt: skip
        # A cluster a file names gets the file's tier beside the clusters generator's values.
        assert tiers == {"us-east": "gold/bronze", "eu-west": "silver/bronze",
                         "ap-south": "{{tier}}/bronze"}  # fmt: skip
    finally:
        await delete_appset(fleet, name)
