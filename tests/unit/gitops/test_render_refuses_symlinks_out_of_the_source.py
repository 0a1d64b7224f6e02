"""A symlink out of the source directory is refused, so a repository cannot read the host."""

from __future__ import annotations

from pathlib import Path

import pytest

from flotilla.gitops.rendering import Directory, Kustomize, RenderError, Tools, render

TOOLS = Tools(kubectl=Path("/nonexistent/kubectl"), helm=Path("/nonexistent/helm"))
MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    outside = tmp_path / "outside.yaml"
    outside.write_text(MANIFEST.format("secret-of-the-host"))
    root = tmp_path / "repo"
    root.mkdir()
    (root / "inside.yaml").write_text(MANIFEST.format("inside"))
    return root


async def test_a_manifest_linking_outside_is_refused(source: Path) -> None:
    (source / "link.yaml").symlink_to(source.parent / "outside.yaml")
    with pytest.raises(RenderError, match=r"^link\.yaml: a symlink pointing outside"):
        await render(
            source,
            directory=Directory(),
            kustomize=None,
            helm=None,
            namespace="apps",
            app_name="web",
            tools=TOOLS,
        )


async def test_a_manifest_linking_inside_is_read(source: Path) -> None:
    (source / "same.yml").symlink_to(source / "inside.yaml")
    objects = await render(
        source,
        directory=Directory(),
        kustomize=None,
        helm=None,
        namespace="apps",
        app_name="web",
        tools=TOOLS,
    )
    assert [obj["metadata"]["name"] for obj in objects] == ["inside", "inside"]


async def test_a_kustomization_with_a_link_outside_is_refused_before_any_tool_runs(
    source: Path,
) -> None:
    (source / "kustomization.yaml").write_text("resources: [linked/outside.yaml]\n")
    (source / "linked").symlink_to(source.parent)
    with pytest.raises(RenderError, match=r"^linked: a symlink pointing outside") as caught:
        await render(
            source,
            directory=None,
            kustomize=Kustomize(),
            helm=None,
            namespace="apps",
            app_name="web",
            tools=TOOLS,
        )
    assert caught.value.tool == "kustomize"
