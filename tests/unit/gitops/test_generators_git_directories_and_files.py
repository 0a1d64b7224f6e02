"""The git generator over a checked-out tree, as Argo CD documents it: directories matched
by globs with excludes winning, files (JSON or YAML, one parameter set per object or per
item of a list) flattened for fasttemplate, path parameters, ``pathParamPrefix`` and
``values``; symlinks and oversized files refused. (Fetching is the sources' and is tested
there and end to end.)"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from flotilla.gitops.generators import MAX_FILE_BYTES, Context, GeneratorError, Params, generate
from flotilla.gitops.templating import interpolator

REPO = "https://git.example/org/fleet"


class Trees:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.asked: list[tuple[str, str]] = []

    async def tree(self, repo_url: str, revision: str) -> Path:
        self.asked.append((repo_url, revision))
        return self.root


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


async def run(root: Path, git: dict[str, Any]) -> list[Params]:
    context = Context(git=Trees(root), interpolate=interpolator(go_template=False))
    return await generate({"git": {"repoURL": REPO, **git}}, context)


async def test_directories_match_globs_and_an_exclude_wins(tmp_path: Path) -> None:
    write(tmp_path, {f"apps/{name}/kustomization.yaml": "" for name in ("web", "api", "tmp")})
    write(tmp_path, {"apps/web/overlays/prod/k.yaml": "", ".git/HEAD": "", "top.yaml": ""})
    found = await run(tmp_path, {"revision": "main", "directories": [
        {"path": "apps/*"}, {"path": "apps/tmp", "exclude": True}]})  # fmt: skip
    assert [p["path"] for p in found] == ["apps/api", "apps/web"]
    web = found[1]
    assert web["path.basename"] == "web"
    assert web["path[0]"] == "apps"
    assert web["path[1]"] == "web"
    assert web["path.basenameNormalized"] == "web"


async def test_double_star_matches_any_depth(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"clusters/eu/prod/config.json": '{"a": "1"}', "clusters/us/config.json": '{"a": "2"}'},
    )
    found = await run(tmp_path, {"files": [{"path": "clusters/**/config.json"}]})
    assert [(p["path"], p["a"]) for p in found] == [("clusters/eu/prod", "1"), ("clusters/us", "2")]


async def test_files_are_flattened_and_a_list_gives_one_set_per_item(tmp_path: Path) -> None:
    write(tmp_path, {
        "envs/prod/config.yaml": "cluster:\n  name: us-east\n  zones: [a, b]\nreplicas: 3\n",
        "envs/list/config.yaml": "- name: one\n- name: two\n",
    })  # fmt: skip
    found = await run(tmp_path, {"files": [{"path": "envs/*/config.yaml"}]})
    assert [p.get("name") or p.get("cluster.name") for p in found] == ["one", "two", "us-east"]
    prod = found[2]
    assert prod["cluster.zones.0"] == "a"
    assert prod["cluster.zones.1"] == "b"
    assert prod["replicas"] == "3"
    assert prod["path"] == "envs/prod"
    assert prod["path.filename"] == "config.yaml"
    assert prod["path.filenameNormalized"] == "config.yaml"


async def test_path_param_prefix_and_values_templated_with_the_set(tmp_path: Path) -> None:
    write(tmp_path, {"apps/web/x.yaml": ""})
    (found,) = await run(tmp_path, {"pathParamPrefix": "src", "directories": [{"path": "apps/*"}],
                                    "values": {"dir": "{{src.path.basename}}-app"}})  # fmt: skip
    assert found["src.path"] == "apps/web"
    assert found["src.path.basename"] == "web"
    assert found["values.dir"] == "web-app"
    assert "path" not in found


async def test_symlinks_are_never_followed_and_big_or_broken_files_are_errors(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    write(outside, {"secret.json": '{"token": "hidden"}'})
    repo = tmp_path / "repo"
    write(repo, {"ok/config.json": '{"a": "1"}'})
    os.symlink(outside / "secret.json", repo / "ok" / "link.json")
    os.symlink(outside, repo / "linked")
    found = await run(repo, {"files": [{"path": "**/*.json"}]})
    assert found == [{"a": "1", "path": "ok", "path.basename": "ok",
                      "path.basenameNormalized": "ok", "path.filename": "config.json",
                      "path.filenameNormalized": "config.json", "path[0]": "ok"}]  # fmt: skip
    write(repo, {"big/config.json": " " * (MAX_FILE_BYTES + 1)})
    with pytest.raises(GeneratorError, match=r"big/config\.json is larger than"):
        await run(repo, {"files": [{"path": "big/*.json"}]})
    write(repo, {"bad/config.yaml": "a: [\n"})
    with pytest.raises(GeneratorError, match=r"bad/config\.yaml: invalid YAML"):
        await run(repo, {"files": [{"path": "bad/*"}]})
    write(repo, {"scalar/config.yaml": "just text\n"})
    with pytest.raises(GeneratorError, match="holds a str, not a map"):
        await run(repo, {"files": [{"path": "scalar/*"}]})


async def test_a_git_generator_needs_a_repository_and_one_of_directories_or_files(
    tmp_path: Path,
) -> None:
    with pytest.raises(GeneratorError, match="repoURL is required"):
        await generate({"git": {"directories": [{"path": "*"}]}}, Context(git=Trees(tmp_path)))
    with pytest.raises(GeneratorError, match="either directories or files"):
        await run(tmp_path, {"directories": [{"path": "*"}], "files": [{"path": "*"}]})
    with pytest.raises(GeneratorError, match="needs a path"):
        await run(tmp_path, {"directories": [{"exclude": True}]})


async def test_the_revision_asked_is_the_one_read(tmp_path: Path) -> None:
    trees = Trees(tmp_path)
    await generate({"git": {"repoURL": REPO, "revision": "v2", "directories": [{"path": "*"}]}},
                   Context(git=trees))  # fmt: skip
    await generate({"git": {"repoURL": REPO, "directories": [{"path": "*"}]}}, Context(git=trees))
    assert trees.asked == [(REPO, "v2"), (REPO, "HEAD")]


async def test_hidden_directories_are_no_applications(tmp_path: Path) -> None:
    write(tmp_path, {"apps/web/a.yaml": "", ".github/workflows/ci.yaml": "", "apps/.tmp/x": ""})
    found = await run(tmp_path, {"directories": [{"path": "*"}, {"path": "apps/*"}]})
    assert [p["path"] for p in found] == ["apps", "apps/web"]


async def test_hostile_globs_take_linear_time(tmp_path: Path) -> None:
    deep = "/".join(["a"] * 25)
    write(tmp_path, {f"{deep}/x.json": '{"k": "v"}', "b/" + "a" * 200 + ".json": '{"k": "v"}'})
    found = await asyncio.wait_for(
        run(tmp_path, {"files": [{"path": "**/" * 12 + "nothing.json"},
                                 {"path": "b/*a*a*a*a*a*a*a*a*a*a*a*a*b.json"}]}),
        timeout=5,
    )  # fmt: skip
    assert found == []
    with pytest.raises(GeneratorError, match="longer than 1024"):
        await run(tmp_path, {"files": [{"path": "*" * 2000}]})
