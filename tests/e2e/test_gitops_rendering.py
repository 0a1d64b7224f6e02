"""Real Kustomize and real Helm, on the local fleet: an overlay, a chart in git with values
files, inline values and parameters, a chart from a Helm repository served over HTTP, and a
chart that fails to render, quoted in a condition while its objects stay."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from collections.abc import Iterator

import pytest

from flotilla.devfleet.binaries import find_tool
from tests.e2e.controllers import ControllerProcess
from tests.e2e.gitops import (
    application,
    cm,
    cm_path,
    condition,
    create_app,
    dest,
    gitops,
    member_get,
    repo,
    synced,
    wait_app,
)
from tests.e2e.localfleet import LocalFleet
from tests.gitservers import GitRepo

__all__ = ["dest", "gitops", "repo"]

CHART = """apiVersion: v2
name: web
version: {version}
"""
TEMPLATE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  greeting: {{ .Values.greeting | quote }}
  replicas: {{ .Values.replicas | quote }}
  region: {{ .Values.region | default "none" | quote }}
"""


async def _data(fleet: LocalFleet, namespace: str, name: str) -> dict[str, str]:
    live = await member_get(fleet, "us-east", cm_path(namespace, name))
    assert live is not None, f"{namespace}/{name} is not on us-east"
    return dict(live.get("data") or {})


async def test_a_kustomize_overlay_is_built_by_kustomize(
    fleet: LocalFleet, gitops: ControllerProcess, repo: GitRepo, dest: str
) -> None:
    sha = repo.commit(
        {
            "base/kustomization.yaml": "resources:\n- settings.yaml\n",
            "base/settings.yaml": cm("settings", {"tier": "base", "size": "s"}),
            "overlays/prod/kustomization.yaml": (
                "resources:\n- ../../base\nnamePrefix: prod-\npatches:\n- path: bigger.yaml\n"
            ),
            "overlays/prod/bigger.yaml": cm("settings", {"size": "xl"}),
        },
        "base and prod overlay",
    )
    app = application(
        "kust-" + dest[-8:], repo=repo.url_file, path="overlays/prod", namespace=dest,
        automated={}, source={"kustomize": {"commonLabels": {"team": "web"}}},
    )  # fmt: skip
    await create_app(fleet, app)
    await wait_app(fleet, app["metadata"]["name"], lambda a: synced(a, sha))
    assert await _data(fleet, dest, "prod-settings") == {"tier": "base", "size": "xl"}
    live = await member_get(fleet, "us-east", cm_path(dest, "prod-settings"))
    assert live is not None and live["metadata"]["labels"]["team"] == "web"

    broken = repo.commit({"overlays/prod/kustomization.yaml": "resources:\n- ../nowhere\n"}, "x")
    seen = await wait_app(
        fleet, app["metadata"]["name"], lambda a: condition(a, "ComparisonError"),
        what="the broken kustomization",
    )  # fmt: skip
    assert "nowhere" in (condition(seen, "ComparisonError") or "")
    assert seen["status"]["sync"].get("revision") in (sha, broken, None)
    assert await _data(fleet, dest, "prod-settings") == {"tier": "base", "size": "xl"}


async def test_a_chart_in_git_with_values_files_inline_values_and_parameters(
    fleet: LocalFleet, gitops: ControllerProcess, repo: GitRepo, dest: str
) -> None:
    sha = repo.commit(
        {
            "charts/web/Chart.yaml": CHART.format(version="0.1.0"),
            "charts/web/values.yaml": "greeting: hello\nreplicas: 1\n",
            "charts/web/values-prod.yaml": "replicas: 3\n",
            "charts/web/templates/settings.yaml": TEMPLATE,
        },
        "a chart",
    )
    helm = {
        "releaseName": "shop",
        "valueFiles": ["values-prod.yaml"],
        "values": "region: us\n",
        "parameters": [{"name": "greeting", "value": "hi"}],
    }
    app = application(
        "helm-" + dest[-8:], repo=repo.url_file, path="charts/web", namespace=dest,
        automated={}, source={"helm": helm},
    )  # fmt: skip
    await create_app(fleet, app)
    await wait_app(fleet, app["metadata"]["name"], lambda a: synced(a, sha))
    data = await _data(fleet, dest, "shop-settings")
    assert data == {"greeting": "hi", "replicas": "3", "region": "us"}

    repo.commit(
        {"charts/web/templates/settings.yaml": TEMPLATE.replace("quote", "nosuchfunc", 1)},
        "a template that does not parse",
    )
    seen = await wait_app(
        fleet, app["metadata"]["name"], lambda a: condition(a, "ComparisonError"),
        what="helm's error",
    )  # fmt: skip
    assert "nosuchfunc" in (condition(seen, "ComparisonError") or "")
    assert await _data(fleet, dest, "shop-settings") == data


@pytest.fixture(scope="module")
def chart_repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Helm repository: a chart packaged and indexed by helm, served over HTTP."""
    root = tmp_path_factory.mktemp("helm-repo")
    source = root / "src" / "web"
    (source / "templates").mkdir(parents=True)
    (source / "Chart.yaml").write_text(CHART.format(version="1.2.3"))
    (source / "values.yaml").write_text("greeting: from-a-repository\nreplicas: 2\n")
    (source / "templates" / "settings.yaml").write_text(TEMPLATE)
    served = root / "served"
    served.mkdir()
    helm = str(find_tool("helm"))
    subprocess.run([helm, "package", str(source), "-d", str(served)], check=True, timeout=60)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0),
        functools.partial(_QuietHandler, directory=str(served)),
    )
    url = f"http://127.0.0.1:{server.server_address[1]}"
    subprocess.run([helm, "repo", "index", str(served), "--url", url], check=True, timeout=60)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


async def test_a_chart_from_a_helm_repository(
    fleet: LocalFleet, gitops: ControllerProcess, chart_repository: str, dest: str
) -> None:
    app = application(
        "helmrepo-" + dest[-8:], repo=chart_repository, revision="1.2.3", namespace=dest,
        automated={}, source={"chart": "web", "path": "", "helm": {"releaseName": "cat"}},
    )  # fmt: skip
    await create_app(fleet, app)
    await wait_app(fleet, app["metadata"]["name"], synced, what="the repository chart synced")
    assert await _data(fleet, dest, "cat-settings") == {
        "greeting": "from-a-repository", "replicas": "2", "region": "none",
    }  # fmt: skip

    missing = application(
        "helmmiss-" + dest[-8:], repo=chart_repository, revision="9.9.9", namespace=dest,
        automated={}, source={"chart": "web", "path": ""},
    )  # fmt: skip
    await create_app(fleet, missing)
    seen = await wait_app(
        fleet, missing["metadata"]["name"], lambda a: condition(a, "ComparisonError"),
        what="a chart version the repository lacks",
    )  # fmt: skip
    assert "9.9.9" in (condition(seen, "ComparisonError") or "")
