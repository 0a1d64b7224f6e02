"""ApplicationSet generators that need nothing but the spec and the registered clusters:
``list``, ``clusters``, ``matrix`` and ``merge``, and the generator-level ``selector``. Pure.

Each generator yields parameter sets (one Application each). Their shape follows the
template mode, as in Argo CD: with fasttemplate, parameters are flat strings (a cluster's
label is ``metadata.labels.env``); with ``goTemplate: true`` they keep their structure
(``.metadata.labels.env``). Flat values that are not strings become strings the way Go's
``%v`` would print them; maps are flattened with dots, lists become JSON.

A generator that cannot be evaluated raises GeneratorError saying which and why; it never
yields nothing in place of an error (an empty result is a real, and guarded, outcome).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from flotilla.api.selectors import LabelSelector
from flotilla.gitops.templating import TemplateError, fasttemplate

MAX_PARAM_SETS = 10_000
"""Parameter sets one generator may yield (a matrix multiplies)."""

Params = dict[str, Any]


class GeneratorError(Exception):
    """A generator that cannot be evaluated."""


@dataclass(frozen=True)
class ClusterInfo:
    """A registered cluster as the ``clusters`` generator sees it."""

    name: str
    server: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


def generate(
    generator: Mapping[str, Any],
    *,
    clusters: Sequence[ClusterInfo] = (),
    go_template: bool = False,
) -> list[Params]:
    """The parameter sets of one generator (with its post-``selector`` applied)."""
    kinds = [k for k in generator if k not in ("selector", "template")]
    if len(kinds) != 1:
        raise GeneratorError(
            f"a generator names exactly one kind (list, clusters, matrix, merge), not "
            f"{', '.join(sorted(kinds)) or 'none'}"
        )
    (kind,) = kinds
    spec = generator[kind]
    if not isinstance(spec, Mapping):
        raise GeneratorError(f"{kind}: the generator is empty or not a map")
    if kind == "list":
        found = _list(spec, go_template=go_template)
    elif kind == "clusters":
        found = _clusters(spec, clusters, go_template=go_template)
    elif kind == "matrix":
        found = _matrix(spec, clusters, go_template=go_template)
    elif kind == "merge":
        found = _merge(spec, clusters, go_template=go_template)
    else:
        raise GeneratorError(f"generator {kind!r} is not supported here")
    if len(found) > MAX_PARAM_SETS:
        raise GeneratorError(f"{kind} yields more than {MAX_PARAM_SETS} parameter sets")
    return _post_select(found, generator.get("selector"), kind=kind)


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flat string parameters (fasttemplate's): nested maps joined with dots."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = _text(value)
    return flat


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _list(spec: Mapping[str, Any], *, go_template: bool) -> list[Params]:
    elements = spec.get("elements") or []
    if spec.get("elementsYaml"):
        try:
            parsed = yaml.safe_load(str(spec["elementsYaml"]))
        except yaml.YAMLError as exc:
            raise GeneratorError(f"list: elementsYaml is not YAML: {exc}") from None
        if not isinstance(parsed, list):
            raise GeneratorError("list: elementsYaml must be a YAML list")
        elements = [*elements, *parsed]
    if not isinstance(elements, list):
        raise GeneratorError("list: elements must be a list")
    found = []
    for number, element in enumerate(elements):
        if not isinstance(element, Mapping):
            raise GeneratorError(f"list: element {number + 1} is not a map")
        found.append(dict(element) if go_template else flatten(element))
    return found


def _clusters(
    spec: Mapping[str, Any], clusters: Sequence[ClusterInfo], *, go_template: bool
) -> list[Params]:
    selector = _selector(spec.get("selector"), what="clusters: selector")
    values = spec.get("values") or {}
    if not isinstance(values, Mapping):
        raise GeneratorError("clusters: values must be a map")
    found = []
    for cluster in sorted(clusters, key=lambda c: c.name):
        if selector is not None and not selector.matches(cluster.labels):
            continue
        params: Params = {
            "name": cluster.name,
            "nameNormalized": _normalized(cluster.name),
            "server": cluster.server,
            "project": "",
            "metadata": {"labels": dict(cluster.labels),
                         "annotations": dict(cluster.annotations)},
        }  # fmt: skip
        flat = flatten(params)
        # values may use the cluster's own parameters (fasttemplate), as in Argo CD.
        try:
            rendered = {k: fasttemplate(_text(v), flat) for k, v in values.items()}
        except TemplateError as exc:
            raise GeneratorError(f"clusters: values: {exc}") from None
        params["values"] = rendered
        found.append(params if go_template else flatten(params))
    return found


def _matrix(
    spec: Mapping[str, Any], clusters: Sequence[ClusterInfo], *, go_template: bool
) -> list[Params]:
    children = spec.get("generators") or []
    if not isinstance(children, list) or len(children) != 2:
        raise GeneratorError("matrix: needs exactly two generators")
    first = generate(children[0], clusters=clusters, go_template=go_template)
    found: list[Params] = []
    for params in first:
        # The second generator sees the first one's parameters (fasttemplate, in its spec).
        second_spec = _interpolated(children[1], flatten(params))
        for other in generate(second_spec, clusters=clusters, go_template=go_template):
            found.append(_combined(params, other, go_template=go_template))
            if len(found) > MAX_PARAM_SETS:
                raise GeneratorError(f"matrix yields more than {MAX_PARAM_SETS} parameter sets")
    return found


def _combined(first: Params, second: Params, *, go_template: bool) -> Params:
    if not go_template:
        clash = sorted(k for k in set(first) & set(second) if first[k] != second[k])
        if clash:
            raise GeneratorError(
                f"matrix: both generators give the parameter {clash[0]!r}, differently"
            )
        return {**first, **second}
    return _deep_merge(second, first)  # the first generator's parameters win, as in Argo CD


def _deep_merge(base: Params, over: Mapping[str, Any]) -> Params:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _merge(
    spec: Mapping[str, Any], clusters: Sequence[ClusterInfo], *, go_template: bool
) -> list[Params]:
    children = spec.get("generators") or []
    keys = spec.get("mergeKeys") or []
    if not isinstance(children, list) or len(children) < 2:
        raise GeneratorError("merge: needs at least two generators")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise GeneratorError("merge: mergeKeys must name at least one parameter")
    sets = [generate(child, clusters=clusters, go_template=go_template) for child in children]
    base = sets[0]
    merged = [dict(params) for params in base]
    for later in sets[1:]:
        by_key: dict[tuple[str, ...], Params] = {}
        for params in later:
            key = _merge_key(params, keys, go_template=go_template)
            if key is not None:
                by_key.setdefault(key, params)
        for index, params in enumerate(merged):
            key = _merge_key(params, keys, go_template=go_template)
            if key is not None and key in by_key:
                merged[index] = (
                    _deep_merge(params, by_key[key]) if go_template
                    else {**params, **by_key[key]}
                )  # fmt: skip
    return merged


def _merge_key(params: Params, keys: Sequence[str], *, go_template: bool) -> tuple[str, ...] | None:
    flat = flatten(params) if go_template else params
    if not all(k in flat for k in keys):
        return None
    return tuple(_text(flat[k]) for k in keys)


def _post_select(found: list[Params], raw: Any, *, kind: str) -> list[Params]:
    selector = _selector(raw, what=f"{kind}: selector")
    if selector is None:
        return found
    return [p for p in found if selector.matches(flatten(p))]


def _selector(raw: Any, *, what: str) -> LabelSelector | None:
    if raw is None:
        return None
    try:
        return LabelSelector.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise GeneratorError(f"{what}: {where}: {first['msg']}") from None


def _interpolated(node: Any, params: Mapping[str, str]) -> Any:
    try:
        if isinstance(node, str):
            return fasttemplate(node, params)
        if isinstance(node, Mapping):
            return {k: _interpolated(v, params) for k, v in node.items()}
        if isinstance(node, list):
            return [_interpolated(v, params) for v in node]
    except TemplateError as exc:
        raise GeneratorError(f"matrix: {exc}") from None
    return node


_NOT_IN_NAME = re.compile(r"[^-a-z0-9.]")


def _normalized(name: str) -> str:
    """Argo CD's ``nameNormalized``: a DNS subdomain name of the cluster's name."""
    return _NOT_IN_NAME.sub("-", name.lower())[:253].strip("-.")


__all__ = ["MAX_PARAM_SETS", "ClusterInfo", "GeneratorError", "Params", "flatten", "generate"]
