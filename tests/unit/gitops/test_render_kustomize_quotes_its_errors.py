"""A kustomization kustomize cannot build fails with kustomize's own words."""

from __future__ import annotations

from pathlib import Path

import pytest

from flotilla.gitops.rendering import RenderError, Tools, render

BIN = Path(__file__).resolve().parents[3] / "_output" / "bin"
TOOLS = Tools(kubectl=BIN / "kubectl", helm=BIN / "helm")
pytestmark = pytest.mark.skipif(not TOOLS.kubectl.exists(), reason="no _output/bin/kubectl")


async def test_a_missing_resource_is_quoted(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    with pytest.raises(RenderError) as caught:
        await render(
            tmp_path,
            directory=None,
            kustomize=None,
            helm=None,
            namespace="apps",
            app_name="web",
            tools=TOOLS,
        )
    message = str(caught.value)
    assert caught.value.tool == "kustomize"
    assert message.startswith("kubectl kustomize failed: ")
    assert "missing.yaml" in message
    assert len(message) < 600


async def test_a_kustomization_that_is_not_yaml_is_quoted(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [a\n")
    with pytest.raises(RenderError, match=r"kubectl kustomize failed: .*yaml"):
        await render(
            tmp_path,
            directory=None,
            kustomize=None,
            helm=None,
            namespace="apps",
            app_name="web",
            tools=TOOLS,
        )
