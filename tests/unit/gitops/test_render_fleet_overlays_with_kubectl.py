"""Plain manifests with Fleet's overlays, rendered: strategic merges are kubectl's (lists
merged by their keys for kinds Kubernetes knows), other kinds take a merge patch, the
``exclude`` glob applies to the base only, and an Application's ``fleet-overlays`` plugin
source renders this way (any other plugin is a clear error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flotilla.api.application import ApplicationSource
from flotilla.gitops.desired import options_of
from flotilla.gitops.rendering import Directory, RenderError, Tools, render

BIN = Path(__file__).resolve().parents[3] / "_output" / "bin"
TOOLS = Tools(kubectl=BIN / "kubectl", helm=BIN / "helm")
pytestmark = pytest.mark.skipif(not TOOLS.kubectl.exists(), reason="no _output/bin/kubectl")

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: web:1, env: [{name: A, value: "1"}]}
      - {name: proxy, image: proxy:1}
"""
WIDGET = """\
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {sizes: [1, 2], colour: red}
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


async def rendered(root: Path, directory: Directory) -> dict[str, dict[str, Any]]:
    objects = await render(
        root,
        directory=directory,
        kustomize=None,
        helm=None,
        namespace="default",
        app_name="app",
        tools=TOOLS,
    )
    return {o["kind"]: o for o in objects}


async def test_known_kinds_merge_strategically_others_by_merge_patch(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "deployment.yaml": DEPLOYMENT,
        "widget.yaml": WIDGET,
        "fleet.yaml": "name: not-a-manifest\n",
        "overlays/eu/deployment_patch.yaml":
            "spec:\n  template:\n    spec:\n      containers:\n"
            "      - {name: web, image: web:eu, env: [{name: B, value: '2'}]}\n",
        "overlays/eu/widget_patch.yaml": "spec: {sizes: [3]}\n",
    })  # fmt: skip
    found = await rendered(root, Directory(recurse=True, exclude="fleet.yaml", overlays=("eu",)))
    assert sorted(found) == ["Deployment", "Widget"]
    containers = found["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [
        ("web", "web:eu"),
        ("proxy", "proxy:1"),
    ]
    assert containers[0]["env"] == [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]
    assert found["Widget"]["spec"] == {"sizes": [3], "colour": "red"}


async def test_the_exclude_glob_applies_where_files_end_up(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "deployment.yaml": DEPLOYMENT,
        "overlays/eu/widget.yaml": WIDGET,
        "overlays/eu/inner/widget.yaml": WIDGET.replace("name: w", "name: inner"),
    })  # fmt: skip
    found = await rendered(root, Directory(recurse=True, exclude="inner/*", overlays=("eu",)))
    assert sorted(found) == ["Deployment", "Widget"]
    assert found["Widget"]["metadata"]["name"] == "w"
    without = await rendered(root, Directory(recurse=True, overlays=()))
    assert sorted(without) == ["Deployment"]


async def test_patched_files_keep_their_values_exactly(tmp_path: Path) -> None:
    config = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
        'data: {emoji: "\U0001f680", small: "1"}\n'
    )
    root = write(tmp_path, {
        "widget.yaml": WIDGET,
        "config.yaml": config,
        "overlays/eu/widget_patch.yaml": "spec: {ratio: 0.00001, big: 1.0e+20}\n",
        "overlays/eu/config_patch.yaml": "data: {small: \"2\"}\n",
    })  # fmt: skip
    found = await rendered(root, Directory(recurse=True, overlays=("eu",)))
    assert found["Widget"]["spec"]["ratio"] == 0.00001
    assert found["Widget"]["spec"]["big"] == 1.0e20
    assert found["ConfigMap"]["data"] == {"emoji": "\U0001f680", "small": "2"}


async def test_a_patch_nested_too_deeply_is_a_render_error(tmp_path: Path) -> None:
    deep = "spec: {x: " + "[" * 3000 + "]" * 3000 + "}\n"
    root = write(tmp_path, {"widget.yaml": WIDGET, "overlays/eu/widget_patch.yaml": deep})
    with pytest.raises(RenderError):
        await rendered(root, Directory(recurse=True, overlays=("eu",)))


async def test_a_strategic_merge_kubectl_refuses_is_a_render_error(tmp_path: Path) -> None:
    no_name = "spec:\n  template:\n    spec:\n      containers: [{image: web:eu}]\n"
    root = write(tmp_path, {
        "deployment.yaml": DEPLOYMENT,
        "overlays/eu/deployment_patch.yaml": no_name,
    })  # fmt: skip
    with pytest.raises(RenderError, match=r"deployment_patch\.yaml: the strategic merge failed: .*"
                       "does not contain declared merge key: name"):  # fmt: skip
        await rendered(root, Directory(recurse=True, overlays=("eu",)))


async def test_kubectls_message_is_not_quoted_for_a_secret(tmp_path: Path) -> None:
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2}\n"
    root = write(tmp_path, {
        "secret.yaml": secret,
        "overlays/eu/secret_patch.yaml": "stringData: {$patch: hunter3}\n",
    })  # fmt: skip
    with pytest.raises(RenderError, match="failed") as err:
        await rendered(root, Directory(recurse=True, overlays=("eu",)))
    assert "hunter" not in str(err.value)
    assert "a Secret" in str(err.value)


async def test_a_missing_overlay_is_a_render_error(tmp_path: Path) -> None:
    root = write(tmp_path, {"deployment.yaml": DEPLOYMENT})
    with pytest.raises(RenderError, match="overlay 'eu': the bundle has no overlays/eu/") as err:
        await rendered(root, Directory(recurse=True, overlays=("eu",)))
    assert err.value.tool == "plugin"


def source(**fields: Any) -> ApplicationSource:
    return ApplicationSource.model_validate({"repoURL": "https://example.com/r", **fields})


def test_the_plugin_source_is_a_directory_with_overlays() -> None:
    plugin = {
        "name": "fleet-overlays",
        "parameters": [
            {"name": "overlays", "array": ["eu"]},
            {"name": "exclude", "string": "{fleet.yaml}"},
        ],
    }
    directory, kustomize, helm = options_of(source(plugin=plugin), "app")
    assert directory == Directory(recurse=True, exclude="{fleet.yaml}", overlays=("eu",))
    assert kustomize is None and helm is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"plugin": {"name": "kustomized-helm"}}, "'kustomized-helm' is not available"),
        ({"plugin": {"name": "fleet-overlays"}, "directory": {}}, "cannot also have directory"),
        ({"plugin": {"name": "fleet-overlays", "env": [{"name": "A"}]}}, "takes no env"),
    ],
)
def test_other_plugins_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(RenderError, match=message):
        options_of(source(**fields), "app")
