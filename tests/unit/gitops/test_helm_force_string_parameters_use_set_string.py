"""A Helm parameter with ``forceString`` is set with ``--set-string``, as in Argo CD.

Argo CD passes every ``--set`` before every ``--set-string``; so does Flotilla.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from flotilla.api.application import ApplicationSource, ApplicationSourceHelm, HelmParameter
from flotilla.gitops.desired import options_of
from flotilla.gitops.rendering import Tools, render


def source() -> ApplicationSource:
    return ApplicationSource(
        repo_url="https://git.example/shop.git",
        helm=ApplicationSourceHelm(
            parameters=[
                HelmParameter(name="tag", value="1.10", force_string=True),
                HelmParameter(name="replicas", value="3"),
                HelmParameter(name="debug", value="true", force_string=True),
            ]
        ),
    )


def test_options_of_keeps_them_apart() -> None:
    _, _, helm = options_of(source(), "shop")
    assert helm is not None
    assert helm.parameters == (("replicas", "3"),)
    assert helm.string_parameters == (("tag", "1.10"), ("debug", "true"))


async def test_helm_gets_set_string(tmp_path: Path) -> None:
    log = tmp_path / "argv"
    helm_tool = tmp_path / "helm"
    helm_tool.write_text(
        f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {shlex.quote(str(log))}\n"
        "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: x}\\n'\n"
    )
    helm_tool.chmod(0o755)
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\n")
    _, _, helm = options_of(source(), "shop")
    await render(
        chart,
        directory=None,
        kustomize=None,
        helm=helm,
        namespace="apps",
        app_name="shop",
        tools=Tools(kubectl=Path("/nonexistent/kubectl"), helm=helm_tool),
    )
    sets = [arg for arg in log.read_text().splitlines() if arg.startswith("--set")]
    assert sets == ["--set=replicas=3", "--set-string=tag=1.10", "--set-string=debug=true"]
