"""Value files are read from the source directory only."""

from __future__ import annotations

from pathlib import Path

import pytest

from flotilla.gitops.rendering import Helm, RenderError, Tools, render

BIN = Path(__file__).resolve().parents[3] / "_output" / "bin"
TOOLS = Tools(kubectl=BIN / "kubectl", helm=BIN / "helm")
pytestmark = pytest.mark.skipif(not TOOLS.helm.exists(), reason="no _output/bin/helm")


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    root = tmp_path / "chart"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\n")
    (root / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"
        "data: {v: {{ .Values.v | quote }}}\n"
    )
    (root / "env.yaml").write_text("v: from-env\n")
    (tmp_path / "outside.yaml").write_text("v: from-outside\n")
    return root


async def render_with(chart: Path, *value_files: str) -> str:
    objects = await render(
        chart,
        directory=None,
        kustomize=None,
        helm=Helm(value_files=value_files),
        namespace="apps",
        app_name="web",
        tools=TOOLS,
    )
    value: str = objects[0]["data"]["v"]
    return value


@pytest.mark.parametrize("value_file", ["../outside.yaml", "sub/../../outside.yaml"])
async def test_a_value_file_above_the_source_is_refused(chart: Path, value_file: str) -> None:
    with pytest.raises(RenderError, match="is outside the source directory") as caught:
        await render_with(chart, value_file)
    assert caught.value.tool == "helm"


async def test_a_value_file_linking_outside_is_refused(chart: Path) -> None:
    (chart / "link.yaml").symlink_to(chart.parent / "outside.yaml")
    with pytest.raises(RenderError, match=r"link\.yaml: a symlink pointing outside"):
        await render_with(chart, "env.yaml")


async def test_a_missing_value_file_is_named(chart: Path) -> None:
    with pytest.raises(RenderError, match=r"value file 'nope\.yaml' does not exist"):
        await render_with(chart, "nope.yaml")


async def test_an_absolute_value_file_is_taken_from_the_source_root(chart: Path) -> None:
    assert await render_with(chart, "/env.yaml") == "from-env"
