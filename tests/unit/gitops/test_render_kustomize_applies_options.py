"""Argo's kustomize options apply over the source without writing into it."""

from __future__ import annotations

from pathlib import Path

import pytest

from flotilla.gitops.rendering import Kustomize, Tools, render

BIN = Path(__file__).resolve().parents[3] / "_output" / "bin"
TOOLS = Tools(kubectl=BIN / "kubectl", helm=BIN / "helm")
pytestmark = pytest.mark.skipif(not TOOLS.kubectl.exists(), reason="no _output/bin/kubectl")

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: nginx:1.25}
      - {name: proxy, image: envoyproxy/envoy:v1.30.0}
      - {name: agent, image: example.com/agent:1}
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / "kustomization.yaml").write_text("resources: [deployment.yaml]\n")
    (root / "deployment.yaml").write_text(DEPLOYMENT)
    return root


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*"))}


async def test_prefix_suffix_namespace_labels_and_images_apply(source: Path) -> None:
    before = snapshot(source)
    options = Kustomize(
        name_prefix="pre-",
        name_suffix="-suf",
        namespace="team-a",
        common_labels={"team": "a"},
        images=(
            "nginx:1.27",
            "envoyproxy/envoy=mirror.example.com/envoy:v1.31.0",
            "example.com/agent@sha256:" + "0" * 64,
        ),
    )
    objects = await render(
        source,
        directory=None,
        kustomize=options,
        helm=None,
        namespace="apps",
        app_name="web",
        tools=TOOLS,
    )
    (deployment,) = objects
    assert deployment["metadata"] == {
        "name": "pre-web-suf",
        "namespace": "team-a",
        "labels": {"team": "a"},
    }
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "web", "team": "a"}
    assert deployment["spec"]["template"]["metadata"]["labels"] == {"app": "web", "team": "a"}
    images = [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]]
    assert images == [
        "nginx:1.27",
        "mirror.example.com/envoy:v1.31.0",
        "example.com/agent@sha256:" + "0" * 64,
    ]
    assert snapshot(source) == before


async def test_no_options_render_the_source_as_it_is(source: Path) -> None:
    objects = await render(
        source,
        directory=None,
        kustomize=Kustomize(),
        helm=None,
        namespace="apps",
        app_name="web",
        tools=TOOLS,
    )
    assert [obj["metadata"] for obj in objects] == [{"name": "web"}]
