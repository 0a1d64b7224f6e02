"""YAML whose aliases expand it far beyond the render's size limit is refused; anchors that
expand modestly load as before.

The parser keeps aliases as shared references; whoever serialises the objects (the digest,
the apply) expands them. Nine levels of nine aliases are 9**9 (~387 million) strings once
expanded: the size check must take the time of the parsed document, not of its expansion,
or these tests would not finish.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from flotilla.gitops.rendering import RenderError, Tools, render

NO_TOOLS = Tools(kubectl=Path("/nonexistent/kubectl"), helm=Path("/nonexistent/helm"))
HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\n"


def bomb(levels: int, width: int = 9) -> str:
    lines = [HEAD, "spec:\n", f"  l0: &l0 [{', '.join(['lol'] * width)}]\n"]
    for level in range(1, levels):
        refs = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"  l{level}: &l{level} [{refs}]\n")
    return "".join(lines)


async def render_dir(root: Path, max_bytes: int = 16 << 20) -> list[dict[str, Any]]:
    return await render(
        root,
        directory=None,
        kustomize=None,
        helm=None,
        namespace="apps",
        app_name="web",
        tools=NO_TOOLS,
        max_bytes=max_bytes,
    )


async def test_a_bomb_in_a_manifest_file(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(HEAD.replace("lol", "good"))
    (tmp_path / "lol.yaml").write_text(bomb(9))
    with pytest.raises(RenderError) as caught:
        await render_dir(tmp_path)
    assert caught.value.tool == "directory"
    assert str(caught.value) == (
        f"lol.yaml: expands to more than {2 * (16 << 20)} bytes through YAML aliases"
    )


async def test_an_alias_to_itself(tmp_path: Path) -> None:
    (tmp_path / "loop.yaml").write_text(HEAD + "spec: &loop {again: [*loop]}\n")
    with pytest.raises(RenderError, match=r"^loop\.yaml: refers to itself through YAML aliases$"):
        await render_dir(tmp_path)


async def test_a_bomb_in_helm_output(tmp_path: Path) -> None:
    output = tmp_path / "output.yaml"
    output.write_text(bomb(9))
    helm = tmp_path / "helm"
    helm.write_text(f"#!/bin/sh\ncat {shlex.quote(str(output))}\n")
    helm.chmod(0o755)
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\n")
    with pytest.raises(RenderError, match=r"^helm output: expands to more than \d+ bytes "):
        await render(
            chart,
            directory=None,
            kustomize=None,
            helm=None,
            namespace="apps",
            app_name="web",
            tools=Tools(kubectl=NO_TOOLS.kubectl, helm=helm),
        )


async def test_the_bound_follows_the_render_size_limit(tmp_path: Path) -> None:
    """9**7 (~4.8 million) strings of 3 characters: over 2 MiB, under 32 MiB."""
    (tmp_path / "lol.yaml").write_text(bomb(7))
    objects = await render_dir(tmp_path)
    assert len(objects[0]["spec"]["l6"]) == 9
    with pytest.raises(RenderError, match=r"^lol\.yaml: expands to more than 2097152 bytes"):
        await render_dir(tmp_path, max_bytes=1 << 20)


async def test_anchors_that_expand_modestly_load(tmp_path: Path) -> None:
    (tmp_path / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\n"
        "metadata:\n  name: web\n  labels: &labels {app: web, tier: front}\n"
        "spec:\n  selector: {matchLabels: *labels}\n"
        "  template:\n    metadata: {labels: *labels}\n"
        "    spec:\n      containers: [{name: web, image: nginx, env: &env [{name: A, value: b}]},"
        " {name: side, image: busybox, env: *env}]\n"
    )
    # 3 levels of 20 aliases: 8,000 copies of a small list, as a big values file might hold
    (tmp_path / "config.yaml").write_text(bomb(4, width=20).replace("name: lol", "name: cfg"))
    config, deployment = await render_dir(tmp_path)  # files in name order
    labels = {"app": "web", "tier": "front"}
    assert deployment["spec"]["selector"]["matchLabels"] == labels
    assert deployment["spec"]["template"]["metadata"]["labels"] == labels
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert containers[1]["env"] == [{"name": "A", "value": "b"}]
    assert len(config["spec"]["l3"][19][19][19]) == 20
