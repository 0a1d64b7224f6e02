"""A tool that hangs is killed, with its children, when the render's time is up."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from flotilla.gitops.rendering import Helm, RenderError, Tools, render


def hanging_tool(tmp_path: Path) -> tuple[Path, Path]:
    """A tool that starts a child, records the child's pid, and waits for it forever."""
    pid_file = tmp_path / "child.pid"
    tool = tmp_path / "hang"
    tool.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pid_file}\nwait\n")
    tool.chmod(0o755)
    return tool, pid_file


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def gone(pid: int) -> bool:
    """Whether the process ends soon (SIGKILL is delivered, not instant)."""
    for _ in range(200):
        if not running(pid):
            return True
        await asyncio.sleep(0.01)
    return False


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    root = tmp_path / "chart"
    root.mkdir()
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\n")
    return root


async def test_helm_is_killed_after_the_timeout(tmp_path: Path, chart: Path) -> None:
    tool, pid_file = hanging_tool(tmp_path)
    tools = Tools(kubectl=tool, helm=tool)
    with pytest.raises(RenderError, match=r"^helm template timed out after 0\.3s$") as caught:
        await render(
            chart,
            directory=None,
            kustomize=None,
            helm=Helm(),
            namespace="apps",
            app_name="web",
            tools=tools,
            timeout=0.3,
        )
    assert caught.value.tool == "helm"
    assert await gone(int(pid_file.read_text()))


async def test_kustomize_is_killed_after_the_timeout(tmp_path: Path) -> None:
    tool, pid_file = hanging_tool(tmp_path)
    source = tmp_path / "app"
    source.mkdir()
    (source / "kustomization.yaml").write_text("resources: []\n")
    with pytest.raises(RenderError, match=r"^kubectl kustomize timed out after 0\.3s$"):
        await render(
            source,
            directory=None,
            kustomize=None,
            helm=None,
            namespace="apps",
            app_name="web",
            tools=Tools(kubectl=tool, helm=tool),
            timeout=0.3,
        )
    assert await gone(int(pid_file.read_text()))


async def test_a_cancelled_render_kills_the_tool(tmp_path: Path, chart: Path) -> None:
    tool, pid_file = hanging_tool(tmp_path)
    task = asyncio.create_task(
        render(
            chart,
            directory=None,
            kustomize=None,
            helm=Helm(),
            namespace="apps",
            app_name="web",
            tools=Tools(kubectl=tool, helm=tool),
            timeout=60,
        )
    )
    for _ in range(500):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await gone(int(pid_file.read_text()))
    assert os.listdir(tmp_path / "chart") == ["Chart.yaml"]
