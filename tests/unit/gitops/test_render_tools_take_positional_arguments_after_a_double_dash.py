"""Helm and kubectl get their positional arguments after ``--`` and every option as one
``--flag=value`` item, so no value from the spec or the repository is read as a flag.

The tools are fakes that record their command line and print a ConfigMap.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from flotilla.gitops.rendering import Helm, Kustomize, Tools, render

CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shown\n"
VALUELESS = {"--include-crds", "--skip-crds"}


@pytest.fixture
def tools(tmp_path: Path) -> Tools:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("helm", "kubectl"):
        log = shlex.quote(str(tmp_path / f"{name}.log"))
        script = bin_dir / name
        script.write_text(
            "#!/bin/sh\n"
            f"{{ printf '%s\\0' \"$@\"; printf '\\n'; }} >> {log}\n"
            'case "$1" in template|kustomize) printf '
            f"{shlex.quote(CONFIG_MAP)};; esac\n"
        )
        script.chmod(0o755)
    return Tools(kubectl=bin_dir / "kubectl", helm=bin_dir / "helm")


def calls(tools: Tools, name: str = "helm") -> list[list[str]]:
    """The arguments of each run of the fake ``name``."""
    records = (tools.helm.parent.parent / f"{name}.log").read_bytes().split(b"\0\n")
    return [[arg.decode() for arg in record.split(b"\0")] for record in records if record]


def assert_options_are_single_items(options: list[str]) -> None:
    for option in options:
        assert option.startswith("--") and ("=" in option or option in VALUELESS), option


def chart_dir(root: Path, chart_yaml: str = "") -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(chart_yaml or "apiVersion: v2\nname: demo\nversion: 1.0.0\n")
    (root / "values").mkdir()
    (root / "values" / "prod.yaml").write_text("a: 1\n")
    return root


async def render_helm(root: Path, helm: Helm, tools: Tools) -> None:
    objects = await render(
        root,
        directory=None,
        kustomize=None,
        helm=helm,
        namespace="apps",
        app_name="shop",
        tools=tools,
        kube_version="1.31.0",
    )
    assert [obj["metadata"]["name"] for obj in objects] == ["shown"]


async def test_helm_template_of_a_chart_directory(tmp_path: Path, tools: Tools) -> None:
    root = chart_dir(tmp_path / "chart")
    helm = Helm(
        release_name="web",
        value_files=("values/prod.yaml",),
        values="b: 2\n",
        parameters=(("image.tag", "1.2"),),
    )
    await render_helm(root, helm, tools)
    ((command, *options),) = calls(tools)
    assert command == "template"
    assert options[-3:] == ["--", "web", str(root.resolve())]
    assert "--namespace=apps" in options
    assert "--kube-version=1.31.0" in options
    assert "--set=image.tag=1.2" in options
    assert_options_are_single_items(options[:-3])


async def test_helm_dependency_build_then_template(tmp_path: Path, tools: Tools) -> None:
    root = chart_dir(
        tmp_path / "chart",
        "apiVersion: v2\nname: demo\nversion: 1.0.0\n"
        "dependencies: [{name: sub, version: 0.1.0, repository: 'https://charts.example'}]\n",
    )
    await render_helm(root, Helm(), tools)
    build, template = calls(tools)
    assert build[:3] == ["dependency", "build", "--"]
    assert len(build) == 4 and Path(build[3]).name == "chart"
    assert template[-3:] == ["--", "shop", build[3]]
    assert_options_are_single_items(template[1:-3])


async def test_helm_template_of_a_repository_chart(tmp_path: Path, tools: Tools) -> None:
    helm = Helm(chart="web", repo_url="https://charts.example/stable", version="1.2.3")
    await render_helm(tmp_path, helm, tools)
    ((command, *options),) = calls(tools)
    assert command == "template"
    assert options[-3:] == ["--", "shop", "web"]
    assert "--repo=https://charts.example/stable" in options
    assert "--version=1.2.3" in options
    assert_options_are_single_items(options[:-3])


async def test_helm_template_of_an_oci_chart(tmp_path: Path, tools: Tools) -> None:
    helm = Helm(chart="web", repo_url="oci://registry.example/charts", version="1.2.3")
    await render_helm(tmp_path, helm, tools)
    ((command, *options),) = calls(tools)
    assert command == "template"
    assert options[-3:] == ["--", "shop", "oci://registry.example/charts/web"]
    assert_options_are_single_items(options[:-3])


@pytest.mark.parametrize("options", [None, Kustomize(name_prefix="p-")], ids=["plain", "wrapped"])
async def test_kubectl_kustomize(tmp_path: Path, tools: Tools, options: Kustomize | None) -> None:
    root = tmp_path / "overlay"
    root.mkdir()
    (root / "kustomization.yaml").write_text("resources: []\n")
    await render(
        root,
        directory=None,
        kustomize=options,
        helm=None,
        namespace="apps",
        app_name="shop",
        tools=tools,
    )
    ((command, *arguments),) = calls(tools, "kubectl")
    assert command == "kustomize"
    assert arguments[0] == "--" and len(arguments) == 2
    if options is None:
        assert arguments[1] == str(root.resolve())
