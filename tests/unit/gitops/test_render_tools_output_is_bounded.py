"""A tool's output beyond max_bytes stops the render instead of filling memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from flotilla.gitops.rendering import Directory, Helm, RenderError, Tools, render


def endless_tool(tmp_path: Path) -> Path:
    tool = tmp_path / "endless"
    tool.write_text("#!/bin/sh\nexec yes 'apiVersion: v1'\n")
    tool.chmod(0o755)
    return tool


async def test_endless_helm_output_is_cut_at_the_limit(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\n")
    tool = endless_tool(tmp_path)
    with pytest.raises(RenderError, match=r"^helm template: output larger than 4096 bytes$"):
        await render(
            tmp_path,
            directory=None,
            kustomize=None,
            helm=Helm(),
            namespace="apps",
            app_name="web",
            tools=Tools(kubectl=tool, helm=tool),
            timeout=10,
            max_bytes=4096,
        )


async def test_endless_kustomize_output_is_cut_at_the_limit(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    tool = endless_tool(tmp_path)
    with pytest.raises(RenderError, match=r"^kubectl kustomize: output larger than 4096 bytes$"):
        await render(
            tmp_path,
            directory=None,
            kustomize=None,
            helm=None,
            namespace="apps",
            app_name="web",
            tools=Tools(kubectl=tool, helm=tool),
            timeout=10,
            max_bytes=4096,
        )


async def test_manifests_beyond_the_limit_are_refused(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\n"
            f"metadata: {{name: {name}}}\ndata: {{x: {'y' * 600}}}\n"
        )
    tools = Tools(kubectl=Path("/nonexistent"), helm=Path("/nonexistent"))
    with pytest.raises(RenderError, match=r"^manifests larger than 1000 bytes$"):
        await render(
            tmp_path,
            directory=Directory(),
            kustomize=None,
            helm=None,
            namespace="apps",
            app_name="web",
            tools=tools,
            max_bytes=1000,
        )


async def test_a_tool_that_is_not_there_is_named(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\n")
    tools = Tools(kubectl=tmp_path / "no-kubectl", helm=tmp_path / "no-helm")
    with pytest.raises(RenderError, match=r"^helm template could not start: No such file"):
        await render(
            tmp_path,
            directory=None,
            kustomize=None,
            helm=Helm(),
            namespace="apps",
            app_name="web",
            tools=tools,
        )
