"""A release name, chart or repository URL that starts with ``-`` is refused before helm runs.

Helm gets them after ``--`` anyway; this is for objects the CRD's patterns never checked (a
fake hub, an Application stored before them). The helm here is a fake that records that it
ran: it must not have.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from flotilla.gitops.rendering import Helm, RenderError, Tools, render

TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


@pytest.fixture
def tools(tmp_path: Path) -> Tools:
    helm = tmp_path / "helm"
    ran = shlex.quote(str(tmp_path / "ran"))
    helm.write_text(
        f"#!/bin/sh\ntouch {ran}\n"
        "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: x}\\n'\n"
    )
    helm.chmod(0o755)
    return Tools(kubectl=Path("/nonexistent/kubectl"), helm=helm)


async def refused(root: Path, helm: Helm, tools: Tools) -> RenderError:
    with pytest.raises(RenderError) as caught:
        await render(
            root,
            directory=None,
            kustomize=None,
            helm=helm,
            namespace="apps",
            app_name="shop",
            tools=tools,
        )
    assert caught.value.tool == "helm"
    assert not (tools.helm.parent / "ran").exists()
    return caught.value


@pytest.mark.parametrize("release", ["--post-renderer=sh", f"--set-file=x={TOKEN}", "-n"])
async def test_a_release_name(tmp_path: Path, tools: Tools, release: str) -> None:
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\n")
    error = await refused(chart, Helm(release_name=release), tools)
    assert str(error) == f"release name {release!r} must not start with '-'"


@pytest.mark.parametrize("repo_url", ["https://charts.example", "oci://registry.example/charts"])
async def test_a_chart(tmp_path: Path, tools: Tools, repo_url: str) -> None:
    helm = Helm(chart=f"--set-file=x={TOKEN}", repo_url=repo_url, version="1.0.0")
    error = await refused(tmp_path, helm, tools)
    assert "must not start with '-'" in str(error)


async def test_a_repository_url_unquoted(tmp_path: Path, tools: Tools) -> None:
    helm = Helm(chart="web", repo_url="--post-renderer=https://user:hunter2@x", version="1")
    error = await refused(tmp_path, helm, tools)
    assert str(error) == "the Helm repository URL must not start with '-'"
