"""A chart helm cannot render fails with helm's own words, bounded, and no secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from flotilla.gitops.rendering import Helm, RenderError, Tools, render

BIN = Path(__file__).resolve().parents[3] / "_output" / "bin"
TOOLS = Tools(kubectl=BIN / "kubectl", helm=BIN / "helm")
pytestmark = pytest.mark.skipif(not TOOLS.helm.exists(), reason="no _output/bin/helm")


def failing_chart(root: Path, message: str) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: broken\nversion: 1.0.0\n")
    (root / "templates" / "check.yaml").write_text(
        '{{- if not .Values.password }}{{ fail "' + message + '" }}{{ end }}\n'
        '{{- if .Values.password }}{{ fail "password is set but the chart refuses it" }}{{ end }}\n'
    )
    return root


async def render_chart(root: Path, helm: Helm) -> None:
    await render(
        root,
        directory=None,
        kustomize=None,
        helm=helm,
        namespace="apps",
        app_name="web",
        tools=TOOLS,
    )


async def test_a_failing_template_is_quoted(tmp_path: Path) -> None:
    root = failing_chart(tmp_path / "chart", "replicas must be positive")
    with pytest.raises(RenderError) as caught:
        await render_chart(root, Helm())
    assert caught.value.tool == "helm"
    assert str(caught.value).startswith("helm template failed: ")
    assert "replicas must be positive" in str(caught.value)
    assert "check.yaml" in str(caught.value)


async def test_a_long_error_is_bounded(tmp_path: Path) -> None:
    root = failing_chart(tmp_path / "chart", "x" * 3000 + " the end")
    with pytest.raises(RenderError) as caught:
        await render_chart(root, Helm())
    message = str(caught.value)
    assert len(message) <= 550
    assert "broken/templates/check.yaml" in message  # where, from the start of helm's error
    assert message.endswith("the end")  # what, from its end


async def test_parameters_are_not_quoted(tmp_path: Path) -> None:
    root = failing_chart(tmp_path / "chart", "unused")
    with pytest.raises(RenderError) as caught:
        await render_chart(root, Helm(parameters=(("password", "hunter2-secret"),)))
    assert "refuses it" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value)


async def test_a_directory_without_a_chart_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"no Chart\.yaml in the source directory"):
        await render_chart(tmp_path, Helm())
