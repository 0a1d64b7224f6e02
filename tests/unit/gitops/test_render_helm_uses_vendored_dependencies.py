"""Dependencies vendored in charts/ (unpacked or packaged) render with no repository at all."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from flotilla.gitops.rendering import Helm, Tools, render

BIN = Path(__file__).resolve().parents[3] / "_output" / "bin"
TOOLS = Tools(kubectl=BIN / "kubectl", helm=BIN / "helm")
pytestmark = pytest.mark.skipif(not TOOLS.helm.exists(), reason="no _output/bin/helm")

# a repository nobody can reach: any attempt to fetch from it fails the render
UNREACHABLE = "http://127.0.0.1:1/charts"


def write_chart(root: Path, name: str, dependencies: str = "") -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(
        f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n{dependencies}"
    )
    (root / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\n"
        "metadata: {name: '{{ .Chart.Name }}-{{ .Release.Name }}'}\n"
    )
    return root


def parent_with(tmp_path: Path) -> Path:
    dependency = f"dependencies:\n- name: sub\n  version: 1.0.0\n  repository: {UNREACHABLE}\n"
    return write_chart(tmp_path / "parent", "parent", dependency)


def package(chart: Path, *, into: Path, home: Path) -> None:
    into.mkdir()
    subprocess.run(
        [str(TOOLS.helm), "package", str(chart), "-d", str(into)],
        env={"HOME": str(home), "HELM_CACHE_HOME": str(home / "cache")},
        check=True,
        capture_output=True,
    )


async def rendered_names(root: Path) -> list[str]:
    objects = await render(
        root,
        directory=None,
        kustomize=None,
        helm=Helm(),
        namespace="apps",
        app_name="web",
        tools=TOOLS,
        timeout=20,
    )
    return sorted(obj["metadata"]["name"] for obj in objects)


async def test_an_unpacked_dependency_is_used(tmp_path: Path) -> None:
    parent = parent_with(tmp_path)
    write_chart(parent / "charts" / "sub", "sub")
    assert await rendered_names(parent) == ["parent-web", "sub-web"]


async def test_a_packaged_dependency_is_used(tmp_path: Path) -> None:
    parent = parent_with(tmp_path)
    package(write_chart(tmp_path / "sub", "sub"), into=parent / "charts", home=tmp_path)
    assert await rendered_names(parent) == ["parent-web", "sub-web"]
