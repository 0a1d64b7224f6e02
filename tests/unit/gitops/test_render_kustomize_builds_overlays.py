"""A kustomization renders through kubectl's own kustomize: bases, overlays and patches."""

from __future__ import annotations

from pathlib import Path

import pytest

from flotilla.gitops.rendering import Tools, render

BIN = Path(__file__).resolve().parents[3] / "_output" / "bin"
TOOLS = Tools(kubectl=BIN / "kubectl", helm=BIN / "helm")
pytestmark = pytest.mark.skipif(not TOOLS.kubectl.exists(), reason="no _output/bin/kubectl")

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.25}]
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def test_an_overlay_patches_its_base(tmp_path: Path) -> None:
    write(tmp_path / "base" / "deployment.yaml", DEPLOYMENT)
    write(tmp_path / "base" / "kustomization.yaml", "resources: [deployment.yaml]\n")
    write(
        tmp_path / "overlays" / "prod" / "kustomization.yaml",
        "resources: [../../base, config.yaml]\n"
        "namePrefix: prod-\n"
        "patches:\n"
        "- target: {kind: Deployment, name: web}\n"
        "  patch: |\n"
        "    - {op: replace, path: /spec/replicas, value: 3}\n",
    )
    write(
        tmp_path / "overlays" / "prod" / "config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {level: prod}\n",
    )
    objects = await render(
        tmp_path / "overlays" / "prod",
        directory=None,
        kustomize=None,
        helm=None,
        namespace="apps",
        app_name="web",
        tools=TOOLS,
    )
    by_kind = {obj["kind"]: obj for obj in objects}
    assert sorted(by_kind) == ["ConfigMap", "Deployment"]
    assert by_kind["Deployment"]["metadata"] == {"name": "prod-web"}
    assert by_kind["Deployment"]["spec"]["replicas"] == 3
    assert by_kind["ConfigMap"]["metadata"] == {"name": "prod-settings"}
