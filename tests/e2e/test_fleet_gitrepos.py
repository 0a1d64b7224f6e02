"""Fleet GitRepos on the local fleet with a real git server: the seed's, verbatim, with a
fleet.yaml choosing a Kustomize overlay per target; Helm values per target; dependsOn
holding a bundle until the one it needs is Ready; raw-YAML overlays per target (a strategic
merge by kubectl); Fleet's states in the GitRepo's status."""

from __future__ import annotations

import contextlib
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from flotilla.kube import NotFound, resource_path
from tests.e2e.controllers import ControllerProcess, Controllers, later_passes
from tests.e2e.gitops import HUB, PUBLIC, cm, cm_path, member_get, mirror, mirrored, tune
from tests.e2e.localfleet import LocalFleet
from tests.e2e.waiting import eventually
from tests.gitservers import GitDaemon, GitRepo

__all__ = ["mirror"]

REPOS = "/apis/fleet.cattle.io/v1alpha1/namespaces/fleet-default/gitrepos"
APPS = "/apis/argoproj.io/v1alpha1/namespaces/fleet-default/applications"

# The seed's GitRepo (../shared/seed/multi-cluster-skill.md), as written.
SEED = """\
apiVersion: fleet.cattle.io/v1alpha1
kind: GitRepo
metadata:
  name: api-server
  namespace: fleet-default
spec:
  repo: https://github.com/org/api-server
  branch: main
  paths:
  - k8s/
  targets:
  - clusterSelector:
      matchLabels:
        env: production
    name: production
  - clusterSelector:
      matchLabels:
        env: staging
    name: staging
"""


@pytest.fixture(scope="module")
def fleet_controller(controllers: Controllers, mirror: tuple[Path, GitDaemon]) -> ControllerProcess:
    return mirrored(controllers, mirror)


async def gitrepo_of(fleet: LocalFleet, name: str) -> dict[str, Any]:
    async with fleet.client(HUB) as client:
        found: dict[str, Any] = await client.get(f"{REPOS}/{name}")
        return found


def states(repo: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (bundle["name"], cluster["cluster"]): cluster["state"]
        for bundle in (repo.get("status") or {}).get("bundles") or []
        for cluster in bundle.get("clusters") or []
    }


async def wait_states(
    fleet: LocalFleet, name: str, expected: dict[tuple[str, str], str], *, what: str
) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def done() -> bool:
        seen["repo"] = await gitrepo_of(fleet, name)
        return states(seen["repo"]) == expected

    await eventually(done, timeout=90, what=what)
    return seen["repo"]


@contextlib.asynccontextmanager
async def gitrepo(fleet: Any, body: dict[str, Any]) -> Any:
    async with fleet.client(HUB) as client:
        await client.create(REPOS, body)
    try:
        yield
    finally:
        async with fleet.client(HUB) as client:
            with contextlib.suppress(NotFound):
                await client.delete(f"{REPOS}/{body['metadata']['name']}",
                                    propagationPolicy="Foreground")  # fmt: skip

        async def gone() -> bool:
            async with fleet.client(HUB) as client:
                items = (await client.list(APPS)).get("items") or []
            return not [
                i for i in items if i["metadata"]["name"].startswith(body["metadata"]["name"])
            ]

        await eventually(gone, timeout=60, what="the GitRepo's Applications gone")


async def test_the_seeds_gitrepo_works_as_written(
    fleet: LocalFleet, fleet_controller: ControllerProcess, mirror: tuple[Path, GitDaemon]
) -> None:
    repo = GitRepo.create(mirror[0], "api-server")
    overlay = "resources: [../../base]\nnamePrefix: {env}-\n"
    sha = repo.commit({
        "k8s/fleet.yaml": "defaultNamespace: api-server\nkustomize: {dir: overlays/production}\n"
                          "targetCustomizations:\n- name: staging\n"
                          "  clusterSelector: {matchLabels: {env: staging}}\n"
                          "  kustomize: {dir: overlays/staging}\n",
        "k8s/base/kustomization.yaml": "resources: [api.yaml]\n",
        "k8s/base/api.yaml": cm("api", {"tier": "api"}),
        "k8s/overlays/production/kustomization.yaml": overlay.format(env="production"),
        "k8s/overlays/staging/kustomization.yaml": overlay.format(env="staging"),
    }, "api-server for fleet")  # fmt: skip
    async with gitrepo(fleet, yaml.safe_load(SEED)):
        expected = {("api-server-k8s", c): "Ready" for c in ("us-east", "eu-west", "ap-south")}
        found = await wait_states(fleet, "api-server", expected, what="Ready on all three")
        status = found["status"]
        assert status["commit"] == sha
        assert status["display"]["readyBundleDeployments"] == "3/3"
        for member in ("us-east", "eu-west"):
            live = await member_get(fleet, member, cm_path("api-server", "production-api"))
            assert live is not None and live["data"] == {"tier": "api"}, member
        staging = await member_get(fleet, "ap-south", cm_path("api-server", "staging-api"))
        assert staging is not None
        assert await member_get(fleet, "ap-south", cm_path("api-server", "production-api")) is None
        targets = fleet.flotilla("gitrepo", "targets", "api-server")
        assert targets.returncode == 0, targets.stderr
        assert re.search(r"ap-south\s+staging\s+target staging matches", targets.stdout), (
            targets.stdout
        )
        listed = fleet.flotilla("gitrepo", "list")
        assert listed.returncode == 0, listed.stderr
        assert re.search(
            r"api-server\s+https://github.com/org/api-server\s+\w{7}\s+3/3", listed.stdout
        )


async def test_helm_values_per_target_and_depends_on(
    fleet: LocalFleet, fleet_controller: ControllerProcess, mirror: tuple[Path, GitDaemon]
) -> None:
    name = f"shop-{uuid.uuid4().hex[:6]}"
    repo = GitRepo.create(mirror[0], name)
    never_ready = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: db}\nspec:\n"
        "  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n"
        "    spec:\n      nodeSelector: {nowhere: 'true'}\n"
        "      containers: [{name: db, image: db}]\n"
    )
    repo.commit({
        "db/fleet.yaml": f"defaultNamespace: {name}\nlabels: {{tier: data}}\n",
        "db/db.yaml": never_ready,
        "web/fleet.yaml": f"defaultNamespace: {name}\n"
                          "dependsOn: [{selector: {matchLabels: {tier: data}}}]\n"
                          "helm:\n  values: {replicas: 1}\n"
                          "targetCustomizations:\n- name: prod\n"
                          "  clusterSelector: {matchLabels: {env: production}}\n"
                          "  helm: {values: {replicas: 3}}\n",
        "web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"
                                 "data: {replicas: '{{ .Values.replicas }}'}\n",
    }, "db never ready")  # fmt: skip
    body = {
        "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "GitRepo",
        "metadata": {"name": name, "namespace": "fleet-default"},
        "spec": {"repo": f"{PUBLIC}{name}", "branch": "main", "paths": ["db", "web"],
                 "pollingInterval": "2s",
                 "targets": [{"clusterSelector": {"matchExpressions": [
                     {"key": "env", "operator": "In", "values": ["production", "staging"]}]}}]},
    }  # fmt: skip
    async with gitrepo(fleet, body):

        async def web_waits() -> bool:
            found = await gitrepo_of(fleet, name)
            clusters = {c["cluster"]: c for b in found.get("status", {}).get("bundles", [])
                        if b["name"] == f"{name}-web" for c in b["clusters"]}  # fmt: skip
            return len(clusters) == 3 and all(
                c["state"] == "WaitApplied" and "waiting for" in c["message"]
                for c in clusters.values()
            )

        await eventually(web_waits, timeout=60, what="web waiting for db")
        async with fleet.client(HUB) as client:
            items = (await client.list(APPS)).get("items") or []
        names = {i["metadata"]["name"] for i in items}
        assert f"{name}-db-us-east" in names and f"{name}-web-us-east" not in names
        # db becomes Ready (a ConfigMap instead): web follows, with its values per target.
        repo.commit({"db/db.yaml": cm("db", {"ok": "yes"})}, "db ready")
        expected = {(f"{name}-{b}", c): "Ready" for b in ("db", "web")
                    for c in ("us-east", "eu-west", "ap-south")}  # fmt: skip
        await wait_states(fleet, name, expected, what="db and web Ready everywhere")
        east = await member_get(fleet, "us-east", cm_path(name, "web"))
        south = await member_get(fleet, "ap-south", cm_path(name, "web"))
        assert east is not None and east["data"] == {"replicas": "3"}
        assert south is not None and south["data"] == {"replicas": "1"}


async def test_compare_patches_are_no_drift_and_correct_drift_reverts_the_rest(
    fleet: LocalFleet, fleet_controller: ControllerProcess, mirror: tuple[Path, GitDaemon]
) -> None:
    name = f"tuned-{uuid.uuid4().hex[:6]}"
    repo = GitRepo.create(mirror[0], name)
    repo.commit({
        "app/cm.yaml": cm("tuned", {"tuned": "1", "other": "1"}),
        "app/fleet.yaml": f"defaultNamespace: {name}\ncorrectDrift: {{enabled: true}}\n"
                          "diff:\n  comparePatches:\n  - apiVersion: v1\n    kind: ConfigMap\n"
                          "    name: tuned\n    operations: [{op: remove, path: /data/tuned}]\n",
    }, "tuned")  # fmt: skip
    body = {
        "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "GitRepo",
        "metadata": {"name": name, "namespace": "fleet-default"},
        "spec": {"repo": f"{PUBLIC}{name}", "branch": "main", "paths": ["app"],
                 "targets": [{"clusterName": "us-east"}]},
    }  # fmt: skip
    async with gitrepo(fleet, body):
        await wait_states(fleet, name, {(f"{name}-app", "us-east"): "Ready"}, what="Ready")

        await tune(fleet, name, "tuned")
        await later_passes(fleet_controller, 2, of="gitops")
        await wait_states(fleet, name, {(f"{name}-app", "us-east"): "Ready"}, what="still Ready")
        live = await member_get(fleet, "us-east", cm_path(name, "tuned"))
        assert live is not None and live["data"]["tuned"] == "9", "no drift: not corrected"
        await tune(fleet, name, "other")

        async def corrected() -> bool:
            found = await member_get(fleet, "us-east", cm_path(name, "tuned"))
            return found is not None and found["data"]["other"] == "1"

        # Drift elsewhere is corrected (and, as Fleet's correction, writes what git says).
        await eventually(corrected, timeout=30, what="other corrected")


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "example.com/web:1"}
      - {name: proxy, image: "example.com/proxy:1"}
"""


async def test_raw_yaml_overlays_per_target_and_a_bad_one_deletes_nothing(
    fleet: LocalFleet, fleet_controller: ControllerProcess, mirror: tuple[Path, GitDaemon]
) -> None:
    name = f"raw-{uuid.uuid4().hex[:6]}"
    repo = GitRepo.create(mirror[0], name)
    fleet_yaml = (
        f"defaultNamespace: {name}\ntargetCustomizations:\n- name: eu\n"
        "  clusterName: eu-west\n  yaml: {{overlays: [{overlays}]}}\n"
    )
    repo.commit({
        "app/fleet.yaml": fleet_yaml.format(overlays="eu, extra"),
        "app/deployment.yaml": DEPLOYMENT,
        "app/config.yaml": cm("config", {"region": "base"}),
        # replaces config.yaml on eu-west
        "app/overlays/eu/config.yaml": cm("config", {"region": "eu"}),
        # a strategic merge: the web container by name, the proxy kept
        "app/overlays/eu/deployment_patch.yaml":
            "spec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n"
            "      - {name: web, image: 'example.com/web:eu'}\n",
        # a file the base does not have
        "app/overlays/extra/added.yaml": cm("added", {"by": "extra"}),
    }, "raw yaml with overlays")  # fmt: skip
    body = {
        "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "GitRepo",
        "metadata": {"name": name, "namespace": "fleet-default"},
        "spec": {"repo": f"{PUBLIC}{name}", "branch": "main", "paths": ["app"],
                 "pollingInterval": "2s",
                 "targets": [{"clusterName": "us-east"}, {"clusterName": "eu-west"}]},
    }  # fmt: skip
    deployment = resource_path("apps/v1", "deployments", namespace=name, name="web")
    async with gitrepo(fleet, body):
        expected = {(f"{name}-app", c): "Ready" for c in ("us-east", "eu-west")}
        await wait_states(fleet, name, expected, what="Ready on both")
        images = {}
        for member in ("us-east", "eu-west"):
            live = await member_get(fleet, member, deployment)
            assert live is not None, member
            containers = live["spec"]["template"]["spec"]["containers"]
            images[member] = (
                live["spec"]["replicas"],
                [(c["name"], c["image"]) for c in containers],
            )
        assert images["us-east"] == (
            1,
            [("web", "example.com/web:1"), ("proxy", "example.com/proxy:1")],
        )
        assert images["eu-west"] == (
            2,
            [("web", "example.com/web:eu"), ("proxy", "example.com/proxy:1")],
        )
        east = await member_get(fleet, "us-east", cm_path(name, "config"))
        west = await member_get(fleet, "eu-west", cm_path(name, "config"))
        assert east is not None and east["data"] == {"region": "base"}
        assert west is not None and west["data"] == {"region": "eu"}
        assert await member_get(fleet, "eu-west", cm_path(name, "added")) is not None
        assert (
            await member_get(fleet, "us-east", cm_path(name, "added")) is None
        )  # overlays/ never deployed
        async with fleet.client(HUB) as client:
            app = await client.get(f"{APPS}/{name}-app-eu-west")
        assert app["spec"]["source"]["plugin"]["name"] == "fleet-overlays"
        assert app["status"]["sourceType"] == "Plugin"

        # An overlay the bundle does not have: a clear error, and nothing is deleted.
        repo.commit({"app/fleet.yaml": fleet_yaml.format(overlays="eu, extar")}, "typo")

        async def refused() -> bool:
            found = await gitrepo_of(fleet, name)
            west = next(c for b in found["status"]["bundles"] for c in b["clusters"]
                        if c["cluster"] == "eu-west")  # fmt: skip
            return west["state"] == "ErrApplied" and "overlay 'extar'" in west["message"]

        await eventually(refused, timeout=60, what="eu-west refused with the overlay named")
        await later_passes(fleet_controller, 2, of="gitops")
        assert await member_get(fleet, "eu-west", cm_path(name, "added")) is not None
        live = await member_get(fleet, "eu-west", deployment)
        assert live is not None and live["spec"]["replicas"] == 2
