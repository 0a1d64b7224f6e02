"""A directory of plain manifests renders to its objects: YAML and JSON, in a stable order."""

from __future__ import annotations

import json
from pathlib import Path

from flotilla.gitops.rendering import Directory, Tools, render

TOOLS = Tools(kubectl=Path("/nonexistent/kubectl"), helm=Path("/nonexistent/helm"))


def config_map(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


async def rendered_names(root: Path, directory: Directory | None = None) -> list[str]:
    objects = await render(
        root,
        directory=directory,
        kustomize=None,
        helm=None,
        namespace="apps",
        app_name="web",
        tools=TOOLS,
    )
    return [obj["metadata"]["name"] for obj in objects]


async def test_files_are_read_in_sorted_order_with_every_document(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(config_map("b1") + "---\n" + config_map("b2"))
    (tmp_path / "a.yml").write_text(config_map("a"))
    (tmp_path / "c.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}})
    )
    (tmp_path / "README.md").write_text("not a manifest")
    assert await rendered_names(tmp_path) == ["a", "b1", "b2", "c"]


async def test_empty_documents_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("---\n# only a comment\n---\n" + config_map("a") + "---\n")
    (tmp_path / "empty.yaml").write_text("")
    assert await rendered_names(tmp_path) == ["a"]


async def test_list_items_are_flattened(tmp_path: Path) -> None:
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}} for n in "xy"]
    (tmp_path / "list.yaml").write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    )
    typed = {"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {}, "items": items[:1]}
    (tmp_path / "typed.json").write_text(json.dumps(typed))
    assert await rendered_names(tmp_path) == ["x", "y", "x"]


async def test_objects_keep_their_namespace_and_labels_as_written(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        config_map("a") + "---\n" + config_map("b") + "  namespace: other\n"
    )
    objects = await render(
        tmp_path,
        directory=None,
        kustomize=None,
        helm=None,
        namespace="apps",
        app_name="web",
        tools=TOOLS,
    )
    assert objects == [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "other"}},
    ]


async def test_subdirectories_and_hidden_files_are_not_read_by_default(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.yaml").write_text(config_map("deep"))
    (tmp_path / ".gitlab-ci.yml").write_text("stages: [build]\n")
    (tmp_path / "top.yaml").write_text(config_map("top"))
    assert await rendered_names(tmp_path) == ["top"]
