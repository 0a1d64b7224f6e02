from typing import Any

import pytest
from pydantic import BaseModel

from flotilla.api import ALL_KINDS, crd
from flotilla.api.crds import SchemaError, structural


def _walk(node: dict[str, Any], path: str = "") -> list[str]:
    """Paths of schema nodes that a structural schema does not allow."""
    bad = []
    untyped = ("x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string")
    if "type" not in node and not any(node.get(allowed) for allowed in untyped):
        bad.append(f"{path}: no type")
    for forbidden in ("$ref", "anyOf", "oneOf", "allOf", "title", "$defs"):
        if forbidden in node:
            bad.append(f"{path}: {forbidden}")
    for name, child in node.get("properties", {}).items():
        bad += _walk(child, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            bad += _walk(node[key], f"{path}[{key}]")
    return bad


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda kind: kind.kind)
def test_every_schema_node_is_typed_and_inline(kind: Any) -> None:
    schema = crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert _walk(schema) == []


def test_optional_fields_become_nullable() -> None:
    class Thing(BaseModel):
        maybe: int | None = None

    node = structural(Thing.model_json_schema())
    assert node["properties"]["maybe"] == {"type": "integer", "nullable": True}


def test_a_union_of_types_is_refused_but_int_or_string() -> None:
    class Thing(BaseModel):
        either: int | bool

    with pytest.raises(SchemaError, match="choice of 2 types"):
        structural(Thing.model_json_schema())

    class Count(BaseModel):
        count: int | str | None = None  # 3 or "25%", as Kubernetes' IntOrString

    node = structural(Count.model_json_schema())
    assert node["properties"]["count"] == {"x-kubernetes-int-or-string": True, "nullable": True}


def test_the_cluster_crd_has_status_and_useful_columns() -> None:
    (cluster,) = [kind for kind in ALL_KINDS if kind.kind == "Cluster"]
    version = crd(cluster)["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]][:4] == [
        "Ready",
        "Version",
        "Nodes",
        "Region",
    ]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["required"] == ["kubeconfigSecretRef"]
    assert spec["properties"]["weight"]["maximum"] == 1000
