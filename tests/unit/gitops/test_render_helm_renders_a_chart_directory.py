"""A chart in the source directory renders with ``helm template`` and Argo's helm options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flotilla.gitops.rendering import Helm, Tools, render

BIN = Path(__file__).resolve().parents[3] / "_output" / "bin"
TOOLS = Tools(kubectl=BIN / "kubectl", helm=BIN / "helm")
pytestmark = pytest.mark.skipif(not TOOLS.helm.exists(), reason="no _output/bin/helm")

CONFIG_MAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
  namespace: {{ .Release.Namespace }}
data:
  colour: {{ .Values.colour | quote }}
  size: {{ .Values.size | quote }}
  shape: {{ .Values.shape | quote }}
  list: {{ .Values.list | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
"""
CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
"""


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    root = tmp_path / "chart"
    (root / "templates").mkdir(parents=True)
    (root / "crds").mkdir()
    (root / "values").mkdir()
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\n")
    (root / "values.yaml").write_text("colour: red\nsize: small\nshape: round\nlist: none\n")
    (root / "values" / "big.yaml").write_text("size: big\nshape: square\n")
    (root / "values" / "blue.yaml").write_text("colour: blue\nshape: oval\n")
    (root / "templates" / "configmap.yaml").write_text(CONFIG_MAP)
    (root / "crds" / "widgets.yaml").write_text(CRD)
    return root


async def render_chart(chart: Path, helm: Helm, kube_version: str = "") -> list[dict[str, Any]]:
    return await render(
        chart,
        directory=None,
        kustomize=None,
        helm=helm,
        namespace="apps",
        app_name="shop",
        tools=TOOLS,
        kube_version=kube_version,
    )


def data(objects: list[dict[str, Any]]) -> dict[str, str]:
    (config_map,) = [obj for obj in objects if obj["kind"] == "ConfigMap"]
    result: dict[str, str] = config_map["data"]
    return result


async def test_defaults_use_the_app_name_the_namespace_and_include_crds(chart: Path) -> None:
    objects = await render_chart(chart, Helm())
    assert [obj["kind"] for obj in objects] == ["CustomResourceDefinition", "ConfigMap"]
    assert objects[1]["metadata"] == {"name": "shop-settings", "namespace": "apps"}
    assert data(objects)["colour"] == "red"


async def test_a_chart_is_detected_without_a_spec(chart: Path) -> None:
    objects = await render(
        chart,
        directory=None,
        kustomize=None,
        helm=None,
        namespace="apps",
        app_name="shop",
        tools=TOOLS,
    )
    assert data(objects)["colour"] == "red"


async def test_release_name_and_skip_crds(chart: Path) -> None:
    objects = await render_chart(chart, Helm(release_name="prod", skip_crds=True))
    assert [obj["metadata"]["name"] for obj in objects] == ["prod-settings"]


async def test_value_files_then_inline_values_then_parameters_win(chart: Path) -> None:
    helm = Helm(
        value_files=("values/big.yaml", "values/blue.yaml"),
        values="shape: star\n",
        parameters=(("list", "a,b,c"),),
    )
    assert data(await render_chart(chart, helm)) == {
        "colour": "blue",  # the last value file
        "size": "big",  # the first value file, not overridden
        "shape": "star",  # inline values over the files
        "list": "a,b,c",  # a parameter is one value, commas and all
        "kube": data(await render_chart(chart, Helm()))["kube"],
    }


async def test_values_object_wins_over_values_and_parameters_over_both(chart: Path) -> None:
    helm = Helm(
        values="colour: green\nsize: huge\n",
        values_object={"colour": "black", "shape": "cube"},
        parameters=(("shape", "cone"),),
    )
    found = data(await render_chart(chart, helm))
    assert (found["colour"], found["size"], found["shape"]) == ("black", "small", "cone")


async def test_the_kube_version_reaches_the_templates(chart: Path) -> None:
    assert data(await render_chart(chart, Helm(), kube_version="v1.31.4"))["kube"] == "v1.31.4"


def listing(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


async def test_the_chart_directory_is_left_as_it_was(chart: Path) -> None:
    before = listing(chart)
    await render_chart(chart, Helm(values="colour: green\n", value_files=("values/big.yaml",)))
    assert listing(chart) == before
