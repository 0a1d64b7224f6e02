"""With recurse, manifests in subdirectories are read too, ordered by their relative path."""

from __future__ import annotations

from pathlib import Path

from flotilla.gitops.rendering import Directory, Tools, render

TOOLS = Tools(kubectl=Path("/nonexistent/kubectl"), helm=Path("/nonexistent/helm"))


def write(path: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n")


async def test_recurse_reads_every_level_but_hidden_directories(tmp_path: Path) -> None:
    write(tmp_path / "z.yaml", "z")
    write(tmp_path / "a" / "b" / "deep.yaml", "deep")
    write(tmp_path / "a" / "x.yaml", "ax")
    write(tmp_path / ".git" / "config.yaml", "git")
    objects = await render(
        tmp_path,
        directory=Directory(recurse=True),
        kustomize=None,
        helm=None,
        namespace="apps",
        app_name="web",
        tools=TOOLS,
    )
    assert [obj["metadata"]["name"] for obj in objects] == ["deep", "ax", "z"]
