"""include and exclude pick files by globs on their path relative to the source directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from flotilla.gitops.rendering import Directory, Tools, render

TOOLS = Tools(kubectl=Path("/nonexistent/kubectl"), helm=Path("/nonexistent/helm"))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel in ("config.json", "app.yaml", "extra.yml", "env-usw2/app.yaml", "env-euw1/app.yaml"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        name = rel.replace("/", "-").replace(".", "-")
        path.write_text(
            f'{{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {{"name": "{name}"}}}}'
        )
    return tmp_path


@pytest.mark.parametrize(
    ("directory", "expected"),
    [
        (
            Directory(recurse=True, include="*.yaml"),
            ["app-yaml", "env-euw1-app-yaml", "env-usw2-app-yaml"],
        ),
        (
            Directory(recurse=True, include="{config.json,env-usw2/*}"),
            ["config-json", "env-usw2-app-yaml"],
        ),
        (Directory(recurse=True, exclude="env-*"), ["app-yaml", "config-json", "extra-yml"]),
        (
            Directory(recurse=True, exclude="{config.json,*.yml}"),
            ["app-yaml", "env-euw1-app-yaml", "env-usw2-app-yaml"],
        ),
        (
            Directory(recurse=True, include="*.{yaml,yml}", exclude="env-euw1/*"),
            ["app-yaml", "env-usw2-app-yaml", "extra-yml"],
        ),
        (Directory(include="*.yaml"), ["app-yaml"]),
    ],
)
async def test_globs_select_files(tree: Path, directory: Directory, expected: list[str]) -> None:
    objects = await render(
        tree,
        directory=directory,
        kustomize=None,
        helm=None,
        namespace="apps",
        app_name="web",
        tools=TOOLS,
    )
    assert sorted(obj["metadata"]["name"] for obj in objects) == expected
