"""Fleet's semantics for a GitRepo's tree, as Fleet documents them: every path and every
directory with a fleet.yaml is a bundle, named ``<gitrepo>-<path>``; targets choose clusters
(all given criteria, first target wins, none given chooses nothing, no targets is the
``default`` group); targetCustomizations (first match, doNotDeploy); the Application per
bundle and cluster (helm values merged, kustomize.dir, namespaces); dependsOn; the states."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flotilla.api.fleet import GitRepoSpec
from flotilla.api.selectors import LabelSelector
from flotilla.gitops.fleetbundles import (
    Cluster,
    FleetError,
    Group,
    application_spec,
    bundle_name,
    bundles_of,
    choices,
    customization,
    depends_on,
    state_of,
)

SHA = "a" * 40
EAST = Cluster("us-east", {"env": "production", "region": "us"})
SOUTH = Cluster("ap-south", {"env": "staging", "region": "ap"})


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def spec(**fields: Any) -> GitRepoSpec:
    return GitRepoSpec.model_validate({"repo": "https://github.com/org/api-server", **fields})


def test_bundle_names_are_fleets() -> None:
    assert bundle_name("api-server", "k8s", {}) == "api-server-k8s"
    assert bundle_name("api-server", "k8s/", {}) == "api-server-k8s"
    assert bundle_name("api-server", "", {}) == "api-server"
    assert bundle_name("r", "k8s", {"name": "mine"}) == "mine"
    # A name changed to fit carries a hash of what was asked, so two such never collide.
    fitted = bundle_name("r", "apps/My_App", {})
    assert fitted.startswith("r-apps-my-app-") and len(fitted) == len("r-apps-my-app-") + 8
    assert fitted != bundle_name("r", "apps/my-app", {}) == "r-apps-my-app"
    long = bundle_name("r", "x" * 80, {})
    assert len(long) == 53 and long.startswith("r-" + "x" * 40)
    assert long != bundle_name("r", "x" * 81, {})


def test_every_path_and_fleet_yaml_directory_is_a_bundle(tmp_path: Path) -> None:
    write(tmp_path, {
        "k8s/cm.yaml": "", "k8s/db/fleet.yaml": "defaultNamespace: db\n", "k8s/db/x.yaml": "",
        "k8s/db/inner/fleet.yaml": "{}\n", "other/fleet.yaml": "{}\n",
    })  # fmt: skip
    bundles = bundles_of(tmp_path, ["k8s/"], "api")
    assert [(b.name, b.path, b.inner) for b in bundles] == [
        ("api-k8s", "k8s", ("db", "db/inner")),
        ("api-k8s-db", "k8s/db", ("inner",)),
        ("api-k8s-db-inner", "k8s/db/inner", ()),
    ]
    assert bundles[1].options == {"defaultNamespace": "db"}
    with pytest.raises(FleetError, match="'nowhere' is not a directory"):
        bundles_of(tmp_path, ["nowhere"], "api")
    with pytest.raises(FleetError, match="inside the repository"):
        bundles_of(tmp_path, ["../etc"], "api")
    write(tmp_path, {"bad/fleet.yaml": "- a list\n"})
    with pytest.raises(FleetError, match=r"bad/fleet\.yaml must be one map"):
        bundles_of(tmp_path, ["bad"], "api")


def test_targets_choose_by_every_criterion_given_and_the_first_wins() -> None:
    repo = spec(targets=[
        {"name": "production", "clusterSelector": {"matchLabels": {"env": "production"}}},
        {"name": "staging", "clusterSelector": {"matchLabels": {"env": "staging"}},
         "clusterName": "eu-west"},
        {"name": "nothing"},
    ])  # fmt: skip
    found = {c.cluster: c for c in choices(repo, [EAST, SOUTH], [])}
    assert found["us-east"].target == "production"
    assert found["ap-south"].target is None
    assert "staging: clusterName is eu-west" in found["ap-south"].why
    assert "nothing: names no cluster, selector or group" in found["ap-south"].why


def test_no_targets_is_the_default_cluster_group() -> None:
    assert all(c.target is None for c in choices(spec(), [EAST, SOUTH], []))
    default = Group(
        "default", selector=LabelSelector.model_validate({"matchLabels": {"env": "staging"}})
    )
    found = {c.cluster: c.target for c in choices(spec(), [EAST, SOUTH], [default])}
    assert found == {"us-east": None, "ap-south": "default"}
    everyone = Group("prod", {"tier": "a"}, LabelSelector())
    by_group = spec(targets=[{"clusterGroupSelector": {"matchLabels": {"tier": "a"}}}])
    assert {c.target for c in choices(by_group, [EAST, SOUTH], [everyone])} == {"targets[0]"}


def test_the_first_matching_customization_wins() -> None:
    options = {"targetCustomizations": [
        {"name": "eu", "clusterSelector": {"matchLabels": {"region": "eu"}}},
        {"name": "prod", "clusterSelector": {"matchLabels": {"env": "production"}},
         "helm": {"values": {"replicas": 3}}},
        {"name": "all", "clusterSelector": {}, "doNotDeploy": True},
    ]}  # fmt: skip
    assert (customization(options, EAST, []) or {}).get("name") == "prod"
    assert (customization(options, SOUTH, []) or {}).get("doNotDeploy") is True


def test_a_helm_bundle_merges_its_customizations_values(tmp_path: Path) -> None:
    write(tmp_path, {"chart/Chart.yaml": "name: web\nversion: 1.0.0\n", "chart/fleet.yaml": ""})
    (bundle,) = bundles_of(tmp_path, ["chart"], "web")
    bundle = type(bundle)(bundle.name, bundle.path, {
        "defaultNamespace": "web",
        "helm": {"values": {"image": {"tag": "1"}, "replicas": 1}, "valuesFiles": ["prod.yaml"]},
    })  # fmt: skip
    custom = {"name": "prod", "helm": {"values": {"replicas": 3}}}
    app = application_spec(spec(), bundle, root=tmp_path, sha=SHA, cluster="us-east", custom=custom)
    assert app["source"]["path"] == "chart"
    assert app["source"]["targetRevision"] == SHA
    assert app["source"]["helm"] == {
        "releaseName": "web-chart",
        "valuesObject": {"image": {"tag": "1"}, "replicas": 3},
        "valueFiles": ["prod.yaml"],
    }
    assert app["destination"] == {"name": "us-east", "namespace": "web"}
    assert app["syncPolicy"]["automated"] == {"prune": True, "selfHeal": False}


def test_kustomize_dir_per_target_and_the_target_namespace_forces(tmp_path: Path) -> None:
    write(tmp_path, {"k8s/overlays/staging/kustomization.yaml": "resources: []\n",
                     "k8s/fleet.yaml": "kustomize: {dir: overlays/production}\n"})  # fmt: skip
    (bundle,) = bundles_of(tmp_path, ["k8s"], "api")
    custom = {"clusterSelector": {}, "kustomize": {"dir": "overlays/staging"}}
    app = application_spec(spec(targetNamespace="shop"), bundle, root=tmp_path, sha=SHA,
                           cluster="ap-south", custom=custom)  # fmt: skip
    assert app["source"]["path"] == "k8s/overlays/staging"
    assert app["source"]["kustomize"] == {"namespace": "shop"}
    assert app["destination"]["namespace"] == "shop"


def test_a_plain_bundle_leaves_out_fleet_yaml_inner_bundles_and_overlays(tmp_path: Path) -> None:
    write(tmp_path, {"k8s/a.yaml": "", "k8s/db/fleet.yaml": "{}\n"})
    bundle = bundles_of(tmp_path, ["k8s"], "api")[0]
    app = application_spec(spec(), bundle, root=tmp_path, sha=SHA, cluster="c", custom=None)
    assert app["source"]["directory"] == {
        "recurse": True,
        "exclude": "{fleet.yaml,db/*,overlays/*}",
    }
    assert "plugin" not in app["source"]
    assert app["destination"]["namespace"] == "default"


def test_a_customizations_overlays_are_the_built_in_plugins(tmp_path: Path) -> None:
    write(tmp_path, {"k8s/a.yaml": "", "k8s/db/fleet.yaml": "{}\n",
                     "k8s/fleet.yaml": "yaml: {overlays: [common]}\n"})  # fmt: skip
    bundle = bundles_of(tmp_path, ["k8s"], "api")[0]
    custom = {"clusterSelector": {}, "yaml": {"overlays": ["eu", "big"]}}
    app = application_spec(spec(), bundle, root=tmp_path, sha=SHA, cluster="c", custom=custom)
    assert "directory" not in app["source"]
    assert app["source"]["path"] == "k8s"
    assert app["source"]["plugin"] == {
        "name": "fleet-overlays",
        "parameters": [
            {"name": "overlays", "array": ["common", "eu", "big"]},
            {"name": "exclude", "string": "{fleet.yaml,db/*}"},
        ],
    }
    plain = application_spec(spec(), bundle, root=tmp_path, sha=SHA, cluster="c", custom=None)
    assert plain["source"]["plugin"]["parameters"][0] == {"name": "overlays", "array": ["common"]}


@pytest.mark.parametrize(
    ("overlays", "message"),
    [("eu", "must be a list of names"), (["../x"], "is not a directory name"), ([""], "not a")],
)
def test_overlays_that_are_not_names_are_refused(
    tmp_path: Path, overlays: Any, message: str
) -> None:
    write(tmp_path, {"a.yaml": ""})
    bundle = bundles_of(tmp_path, [], "api")[0]
    custom = {"yaml": {"overlays": overlays}}
    with pytest.raises(FleetError, match=message):
        application_spec(spec(), bundle, root=tmp_path, sha=SHA, cluster="c", custom=custom)


def test_yaml_that_is_not_a_map_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": ""})
    bundle = bundles_of(tmp_path, [], "api")[0]
    with pytest.raises(FleetError, match="yaml must be a map"):
        application_spec(spec(), bundle, root=tmp_path, sha=SHA, cluster="c", custom={"yaml": "x"})


def test_depends_on_by_name_or_selector(tmp_path: Path) -> None:
    write(tmp_path, {"db/fleet.yaml": "labels: {tier: data}\n",
                     "web/fleet.yaml": "dependsOn: [{selector: {matchLabels: {tier: data}}}]\n",
                     "api/fleet.yaml": "dependsOn: [{name: r-db}]\n",
                     "bad/fleet.yaml": "dependsOn: [{name: nothing}]\n"})  # fmt: skip
    bundles = {b.name: b for b in bundles_of(tmp_path, ["db", "web", "api", "bad"], "r")}
    assert depends_on(bundles["r-web"], list(bundles.values())) == ["r-db"]
    assert depends_on(bundles["r-api"], list(bundles.values())) == ["r-db"]
    with pytest.raises(FleetError, match="names 'nothing', no bundle here"):
        depends_on(bundles["r-bad"], list(bundles.values()))


def app_with(status: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"source": {"targetRevision": SHA}}, "status": status}


def test_states_as_fleet_shows_them() -> None:
    assert state_of(None)[0] == "WaitApplied"
    synced = {"sync": {"status": "Synced"}, "history": [{"revision": SHA}]}
    assert state_of(app_with({**synced, "health": {"status": "Healthy"}}))[0] == "Ready"
    assert state_of(app_with({**synced, "health": {"status": "Progressing"}}))[0] == "NotReady"
    drifted = {"sync": {"status": "OutOfSync"}, "history": [{"revision": SHA}]}
    assert state_of(app_with(drifted))[0] == "Modified"
    assert state_of(app_with({"sync": {"status": "OutOfSync"}}))[0] == "OutOfSync"
    failed = {"conditions": [{"type": "ComparisonError", "message": "no such path"}]}
    assert state_of(app_with(failed)) == ("ErrApplied", "no such path")


def test_compare_patches_become_ignore_differences(tmp_path: Path) -> None:
    write(tmp_path, {"k8s/a.yaml": "", "k8s/fleet.yaml": (
        "diff:\n  comparePatches:\n  - apiVersion: apps/v1\n    kind: Deployment\n    name: web\n"
        "    operations: [{op: remove, path: /spec/replicas}]\n"
        "    jsonPointers: [/spec/paused]\n")})  # fmt: skip
    (bundle,) = bundles_of(tmp_path, ["k8s"], "api")
    app = application_spec(spec(), bundle, root=tmp_path, sha=SHA, cluster="c", custom=None)
    pointers = ["/spec/paused", "/spec/replicas"]
    assert app["ignoreDifferences"] == [
        {
            "group": "apps",
            "kind": "Deployment",
            "name": "web",
            "namespace": "",
            "jsonPointers": pointers,
        }
    ]
    assert "RespectIgnoreDifferences=true" not in app["syncPolicy"]["syncOptions"]
    write(tmp_path, {"k8s/fleet.yaml": "diff: {comparePatches: [{kind: X, operations: "
                                       "[{op: add, path: /a, value: 1}]}]}\n"})  # fmt: skip
    (bundle,) = bundles_of(tmp_path, ["k8s"], "api")
    with pytest.raises(FleetError, match="only remove operations"):
        application_spec(spec(), bundle, root=tmp_path, sha=SHA, cluster="c", custom=None)
