"""Bad manifests fail the render with the file, and the line or document, to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from flotilla.gitops.rendering import RenderError, Tools, render

TOOLS = Tools(kubectl=Path("/nonexistent/kubectl"), helm=Path("/nonexistent/helm"))
GOOD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n"


async def render_dir(root: Path) -> None:
    await render(
        root,
        directory=None,
        kustomize=None,
        helm=None,
        namespace="apps",
        app_name="web",
        tools=TOOLS,
    )


async def test_invalid_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "bad.yaml").write_text(GOOD + "---\napiVersion: v1\nkind: ConfigMap: x\n")
    with pytest.raises(RenderError) as caught:
        await render_dir(tmp_path)
    assert caught.value.tool == "directory"
    # libyaml and PyYAML's own parser word the problem differently
    assert str(caught.value).startswith("bad.yaml: invalid YAML at line 7: mapping values are")


async def test_invalid_json_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{\n  "apiVersion": "v1",\n  "kind": \n}\n')
    with pytest.raises(RenderError, match=r"^bad\.json: invalid JSON at line 4"):
        await render_dir(tmp_path)


@pytest.mark.parametrize(
    ("second", "problem"),
    [
        ("- a\n- b\n", "document 2 is not a Kubernetes object (a list, not a mapping)"),
        (
            "kind: ConfigMap\nmetadata:\n  name: x\n",
            "document 2 is not a Kubernetes object (no apiVersion)",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
            "document 2 is not a Kubernetes object (no metadata.name)",
        ),
        ("just a string\n", "document 2 is not a Kubernetes object (a str, not a mapping)"),
    ],
)
async def test_a_document_that_is_not_an_object_is_named(
    tmp_path: Path, second: str, problem: str
) -> None:
    (tmp_path / "mixed.yaml").write_text(GOOD + "---\n" + second)
    with pytest.raises(RenderError) as caught:
        await render_dir(tmp_path)
    assert str(caught.value) == f"mixed.yaml: {problem}"


async def test_a_bad_list_item_is_named_by_document_and_item(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: good}}\n"
        "- {kind: Pod}\n"
    )
    with pytest.raises(RenderError, match=r"^list\.yaml: document 1, item 2 is not a Kubernetes"):
        await render_dir(tmp_path)
