"""CustomResourceDefinitions generated from the pydantic models: one schema, no copies.

pydantic writes JSON Schema; Kubernetes wants a *structural* OpenAPI v3 schema: every node
typed, no ``$ref``, no ``anyOf`` of alternatives, ``nullable`` instead of a null type. The
``structural`` function converts one into the other and refuses what it cannot express.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from flotilla.api.meta import GROUP, VERSION

_DROP = {"title", "$defs", "discriminator"}


class SchemaError(Exception):
    """A model uses a construct a structural schema cannot express."""


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0


@dataclass(frozen=True)
class KindInfo:
    """Everything the CRD of one kind says besides its schema."""

    kind: str
    plural: str
    scope: str  # "Namespaced" or "Cluster"
    spec: type[BaseModel]
    status: type[BaseModel] | None
    description: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ("flotilla",)
    columns: tuple[PrinterColumn, ...] = field(default_factory=tuple)
    spec_required: bool = True
    group: str = GROUP
    version: str = VERSION
    top_level: tuple[tuple[str, type[BaseModel]], ...] = ()
    """Fields beside spec and status (an Application's ``operation``)."""

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


def structural(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Convert a pydantic JSON Schema node into a structural OpenAPI v3 schema node."""
    defs = schema.get("$defs", defs or {})
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        merged = {**defs[name], **{k: v for k, v in schema.items() if k != "$ref"}}
        return structural(merged, defs)
    if "anyOf" in schema:
        options = [option for option in schema["anyOf"] if option.get("type") != "null"]
        if sorted(str(option.get("type")) for option in options) == ["integer", "string"]:
            # An int or a string ("25%"): Kubernetes' IntOrString.
            node = {k: v for k, v in schema.items() if k not in ("anyOf", "default", "title")}
            node["x-kubernetes-int-or-string"] = True
            if len(options) != len(schema["anyOf"]):
                node["nullable"] = True
            return node
        if len(options) != 1:
            raise SchemaError(f"cannot express a choice of {len(options)} types: {schema}")
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        node = structural({**options[0], **rest}, defs)
        if len(options) != len(schema["anyOf"]):
            node["nullable"] = True
            if "default" in node and node["default"] is None:
                del node["default"]
        return node
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP:
            continue
        if key == "const":
            out["enum"] = [value]
        elif key == "properties":
            out["properties"] = {name: structural(sub, defs) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = structural(value, defs)
        elif key == "additionalProperties" and value is True:
            out["x-kubernetes-preserve-unknown-fields"] = True  # any map, kept as it is
        else:
            out[key] = value
    if "type" not in out:
        if set(out) - {"description", "default"}:
            raise SchemaError(f"schema node without a type: {schema}")
        # Any JSON value (a JSON patch's value): keep it as it is.
        out.pop("default", None)
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    return structural(model.model_json_schema(by_alias=True, mode="validation"))


def crd(info: KindInfo) -> dict[str, Any]:
    """The CustomResourceDefinition of ``info``'s kind."""
    properties: dict[str, Any] = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": _model_schema(info.spec),
    }
    for name, model in info.top_level:
        properties[name] = _model_schema(model)
    if info.status is not None:
        properties["status"] = _model_schema(info.status)
    root: dict[str, Any] = {
        "type": "object",
        "description": info.description,
        "properties": properties,
    }
    if info.spec_required:
        root["required"] = ["spec"]
    version: dict[str, Any] = {
        "name": info.version,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": root},
        "additionalPrinterColumns": [
            {
                "name": column.name,
                "type": column.type,
                "jsonPath": column.json_path,
                **({"description": column.description} if column.description else {}),
                **({"priority": column.priority} if column.priority else {}),
            }
            for column in info.columns
        ],
    }
    if info.status is not None:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": info.crd_name},
        "spec": {
            "group": info.group,
            "scope": info.scope,
            "names": {
                "kind": info.kind,
                "listKind": f"{info.kind}List",
                "plural": info.plural,
                "singular": info.singular,
                "shortNames": list(info.short_names),
                "categories": list(info.categories),
            },
            "versions": [version],
        },
    }
