"""Charts from a Helm repository: a chart named by repo_url, and dependencies not vendored.

The repository is real: ``helm package`` and ``helm repo index`` output served over HTTP on
127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flotilla.gitops.rendering import Helm, RenderError, Tools, render

BIN = Path(__file__).resolve().parents[3] / "_output" / "bin"
TOOLS = Tools(kubectl=BIN / "kubectl", helm=BIN / "helm")
pytestmark = pytest.mark.skipif(not TOOLS.helm.exists(), reason="no _output/bin/helm")


def write_chart(root: Path, *, name: str, version: str, colour: str) -> Path:
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")
    (root / "values.yaml").write_text(f"colour: {colour}\n")
    (root / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\n"
        "metadata: {name: '{{ .Chart.Name }}-{{ .Release.Name }}'}\n"
        "data: {colour: '{{ .Values.colour }}', version: '{{ .Chart.Version }}'}\n"
    )
    return root


def publish(repo: Path, chart: Path, scratch: Path) -> None:
    helm = [str(TOOLS.helm)]
    env = {
        "HOME": str(scratch),
        "HELM_CACHE_HOME": str(scratch / "cache"),
        "HELM_CONFIG_HOME": str(scratch / "config"),
        "HELM_DATA_HOME": str(scratch / "data"),
    }
    subprocess.run(
        [*helm, "package", str(chart), "-d", str(repo)], env=env, check=True, capture_output=True
    )
    subprocess.run([*helm, "repo", "index", str(repo)], env=env, check=True, capture_output=True)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(the repository's URL, its directory) with charts sub 0.1.0 and 0.2.0."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for version, colour in (("0.1.0", "red"), ("0.2.0", "green")):
        chart = write_chart(tmp_path / "src" / version, name="sub", version=version, colour=colour)
        publish(repo, chart, tmp_path / "helm-home")
    handler = functools.partial(Quiet, directory=str(repo))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", repo
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def render_helm(root: Path, helm: Helm) -> list[dict[str, Any]]:
    return await render(
        root,
        directory=None,
        kustomize=None,
        helm=helm,
        namespace="apps",
        app_name="web",
        tools=TOOLS,
        timeout=20,
    )


async def test_a_repository_chart_renders_at_its_version(
    repository: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = repository
    empty = tmp_path / "source"
    empty.mkdir()
    objects = await render_helm(empty, Helm(chart="sub", repo_url=url, version="0.1.0"))
    assert [(o["metadata"]["name"], o["data"]) for o in objects] == [
        ("sub-web", {"colour": "red", "version": "0.1.0"})
    ]
    latest = await render_helm(empty, Helm(chart="sub", repo_url=url, values="colour: blue\n"))
    assert latest[0]["data"] == {"colour": "blue", "version": "0.2.0"}


async def test_helm_homes_are_private_and_removed_afterwards(
    repository: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = repository
    ours = tmp_path / "our-helm"
    for variable in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        monkeypatch.setenv(variable, str(ours / variable.lower()))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    empty = tmp_path / "source"
    empty.mkdir()
    await render_helm(empty, Helm(chart="sub", repo_url=url, version="0.1.0"))
    assert not ours.exists()  # our own helm settings were neither used nor written
    assert list(scratch.iterdir()) == []  # the render's homes and downloads are gone


async def test_a_chart_name_that_is_a_path_is_refused(
    repository: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = repository
    local = write_chart(tmp_path / "local", name="local", version="1.0.0", colour="red")
    with pytest.raises(RenderError, match=r"chart name .* is not valid"):
        await render_helm(tmp_path, Helm(chart=str(local), repo_url=url))


async def test_dependencies_not_vendored_are_built_in_a_copy(
    repository: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = repository
    parent = write_chart(tmp_path / "parent", name="parent", version="1.0.0", colour="red")
    with (parent / "Chart.yaml").open("a") as chart_yaml:
        chart_yaml.write(f"dependencies:\n- name: sub\n  version: 0.1.0\n  repository: {url}\n")
    (parent / "values.yaml").write_text("colour: red\nsub: {colour: orange}\n")
    before = sorted(p.name for p in parent.iterdir())
    objects = await render_helm(parent, Helm())
    assert sorted((o["metadata"]["name"], o["data"]["colour"]) for o in objects) == [
        ("parent-web", "red"),
        ("sub-web", "orange"),
    ]
    assert sorted(p.name for p in parent.iterdir()) == before  # no charts/, no Chart.lock


async def test_an_unreachable_dependency_repository_is_a_clear_error(tmp_path: Path) -> None:
    parent = write_chart(tmp_path / "parent", name="parent", version="1.0.0", colour="red")
    with (parent / "Chart.yaml").open("a") as chart_yaml:
        chart_yaml.write("dependencies:\n- name: sub\n  version: 0.1.0\n")
        chart_yaml.write("  repository: http://deployer:s3cr3t-pw@127.0.0.1:1/charts\n")
    with pytest.raises(RenderError) as caught:
        await render_helm(parent, Helm())
    message = str(caught.value)
    assert message.startswith("helm dependency build (the chart's dependencies are not in")
    assert 'Unable to get an update from the "http://***@127.0.0.1:1/charts"' in message
    assert message.endswith("connection refused")
    assert "s3cr3t" not in message
    assert "s3cr3t" not in repr(caught.value)


async def test_credentials_in_a_repository_url_are_not_quoted(
    repository: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = repository
    with_password = url.replace("http://", "http://deployer:s3cr3t-pw@") + "/missing"
    with pytest.raises(RenderError) as caught:
        await render_helm(tmp_path, Helm(chart="sub", repo_url=with_password))
    message = str(caught.value)
    assert message.startswith("helm template failed: ")
    assert "deployer" not in message
    assert "s3cr3t" not in message
    assert "***@127.0.0.1" in message
