"""ApplicationSet generators: ``list``, ``clusters``, ``git`` (directories and files),
``matrix`` and ``merge``, the generator-level ``selector``, as Argo CD evaluates them.

Each generator yields parameter sets (one Application each). Their shape follows the
template mode, as in Argo CD: with fasttemplate, parameters are flat strings (a cluster's
label is ``metadata.labels.env``); with ``goTemplate: true`` they keep their structure
(``.metadata.labels.env``). Flat values that are not strings become strings the way Go's
``%v`` would print them; maps are flattened with dots.

What a generator needs from outside comes through :class:`Context`: the registered
clusters, a reader of git trees, and ``interpolate``, which renders a piece of spec with
parameter sets in the ApplicationSet's template mode (a matrix's second generator sees
the first one's parameters; a ``values`` map sees its own generator's).

A generator that cannot be evaluated raises GeneratorError saying which and why; it never
yields nothing in place of an error (an empty result is a real, and guarded, outcome).

Why one module of ~630 lines: the generators are one recursive evaluation (a matrix or merge
holds the others and interpolates them with the same Context), and they share its pieces:
flattening for fasttemplate, the post-selector, ``values``, the bounds. ``git`` is the
largest (tree walk, globs, files); it is kept here because a split would only move the
shared helpers into a third module both would import.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from pydantic import ValidationError

from flotilla.api.selectors import LabelSelector
from flotilla.gitops.rendering import RenderError, read_data
from flotilla.gitops.templating import TemplateError

MAX_PARAM_SETS = 10_000
"""Parameter sets one generator may yield (a matrix multiplies)."""
MAX_FILE_BYTES = 1 << 20
"""Bytes one file of a git files generator may have."""
MAX_GIT_ENTRIES = 10_000
MAX_PATTERN = 1024
"""Directories or files one git generator may walk."""
KINDS = ("list", "clusters", "git", "matrix", "merge")

Params = dict[str, Any]
Interpolate = Callable[[Any, Sequence[Params]], Awaitable[list[Any]]]
"""Render ``node`` once per parameter set, in the ApplicationSet's template mode."""


class GeneratorError(Exception):
    """A generator that cannot be evaluated."""


@dataclass(frozen=True)
class ClusterInfo:
    """A registered cluster as the ``clusters`` generator sees it."""

    name: str
    server: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    problem: str = ""
    """Why its ``server`` is not known (its Secret cannot be read): an error for a
    ``clusters`` generator that selects it (left out, its Applications would be deleted)."""


class GitTrees(Protocol):
    """Checked-out trees of git repositories (the controller's sources and credentials)."""

    async def tree(self, repo_url: str, revision: str) -> Path:
        """The root of ``repo_url``'s tree at ``revision``; raises GeneratorError."""
        ...


class _NoGit:
    async def tree(self, repo_url: str, revision: str) -> Path:
        raise GeneratorError("git: no git repositories can be read here")


@dataclass(frozen=True)
class Context:
    clusters: Sequence[ClusterInfo] = ()
    go_template: bool = False
    interpolate: Interpolate | None = None
    """None: fasttemplate (flat parameters only; Go templates need the helper)."""
    git: GitTrees = field(default_factory=_NoGit)


async def generate(
    generator: Mapping[str, Any], context: Context, *, depth: int = 0
) -> list[Params]:
    """The parameter sets of one generator (with its post-``selector`` applied).

    ``depth`` counts enclosing matrix and merge generators: as in Argo CD, one may hold
    another, which may hold neither."""
    if not isinstance(generator, Mapping):
        raise GeneratorError("a generator must be a map")
    kinds = [k for k in generator if k not in ("selector", "template", "values")]
    if len(kinds) != 1:
        raise GeneratorError(
            f"a generator names exactly one kind ({', '.join(KINDS)}), not "
            f"{', '.join(sorted(kinds)) or 'none'}"
        )
    (kind,) = kinds
    spec = generator[kind]
    if not isinstance(spec, Mapping):
        raise GeneratorError(f"{kind}: the generator is empty or not a map")
    if kind in ("matrix", "merge") and depth >= 2:
        raise GeneratorError(f"{kind}: a matrix or merge may hold one more, but not a third level")
    if kind == "list":
        found = _list(spec, go_template=context.go_template)
    elif kind == "clusters":
        found = await _clusters(spec, context)
    elif kind == "git":
        found = await _git(spec, context)
    elif kind == "matrix":
        found = await _matrix(spec, context, depth=depth + 1)
    elif kind == "merge":
        found = await _merge(spec, context, depth=depth + 1)
    else:
        raise GeneratorError(f"generator {kind!r} is not supported (only {', '.join(KINDS)})")
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


def git_urls(generators: Sequence[Any]) -> list[str]:
    """The repositories git generators in ``generators`` read, nested ones included."""
    urls: list[str] = []
    stack = list(generators)
    while stack:
        node = stack.pop()
        if not isinstance(node, Mapping):
            continue
        git = node.get("git")
        if isinstance(git, Mapping) and isinstance(git.get("repoURL"), str):
            urls.append(git["repoURL"])
        for kind in ("matrix", "merge"):
            children = node.get(kind)
            if isinstance(children, Mapping) and isinstance(children.get("generators"), list):
                stack.extend(children["generators"])
    return urls


@dataclass(frozen=True)
class ClusterChoice:
    """Whether one ``clusters`` generator chose one registered cluster, and why."""

    generator: str
    """Where the generator is: ``generators[0]``, ``generators[0].matrix.generators[1]``."""
    cluster: str
    chosen: bool
    why: str


def cluster_choices(
    generators: Sequence[Any], clusters: Sequence[ClusterInfo]
) -> list[ClusterChoice]:
    """For every ``clusters`` generator in ``generators`` (nested ones included) and every
    registered cluster: chosen or not, naming the label that decided."""
    found: list[ClusterChoice] = []
    stack = [(f"generators[{i}]", g) for i, g in enumerate(generators)]
    while stack:
        where, node = stack.pop(0)
        if not isinstance(node, Mapping):
            continue
        for kind in ("matrix", "merge"):
            inner = node.get(kind)
            if isinstance(inner, Mapping) and isinstance(inner.get("generators"), list):
                stack += [(f"{where}.{kind}.generators[{i}]", g)
                          for i, g in enumerate(inner["generators"])]  # fmt: skip
        spec = node.get("clusters")
        if not isinstance(spec, Mapping):
            continue
        try:
            selector = _selector(spec.get("selector"), what="clusters: selector")
        except GeneratorError as exc:
            found += [ClusterChoice(where, c.name, False, str(exc)) for c in clusters]
            continue
        for cluster in sorted(clusters, key=lambda c: c.name):
            if selector is None or not (selector.match_labels or selector.match_expressions):
                found.append(ClusterChoice(where, cluster.name, True, "no selector: every cluster"))
                continue
            why = selector.mismatch(cluster.labels)
            found.append(ClusterChoice(where, cluster.name, not why, why or "its labels match"))
    return found


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


# -- list ---------------------------------------------------------------------------------


def _list(spec: Mapping[str, Any], *, go_template: bool) -> list[Params]:
    elements = spec.get("elements") or []
    if not isinstance(elements, list):
        raise GeneratorError("list: elements must be a list")
    if spec.get("elementsYaml"):
        parsed = _read(str(spec["elementsYaml"]), "list: elementsYaml")
        if len(parsed) != 1 or not isinstance(parsed[0], list):
            raise GeneratorError("list: elementsYaml must be one YAML list")
        elements = [*elements, *parsed[0]]
    found = []
    for number, element in enumerate(elements, start=1):
        if not isinstance(element, Mapping):
            raise GeneratorError(f"list: element {number} is not a map")
        found.append(dict(element) if go_template else _flat_element(element, number))
    return found


def _flat_element(element: Mapping[str, Any], number: int) -> Params:
    """An element for fasttemplate: string values only (as Argo CD), ``values`` a map of them."""
    params: Params = {}
    for key, value in element.items():
        if key == "values" and isinstance(value, Mapping):
            for name, item in value.items():
                if not isinstance(item, str):
                    raise GeneratorError(f"list: element {number}: values.{name} is not a string")
                params[f"values.{name}"] = item
        elif isinstance(value, str):
            params[key] = value
        else:
            raise GeneratorError(
                f"list: element {number}: {key} is a {type(value).__name__}, not a string "
                "(fasttemplate takes strings only; goTemplate: true takes any value)"
            )
    return params


# -- clusters -----------------------------------------------------------------------------


async def _clusters(spec: Mapping[str, Any], context: Context) -> list[Params]:
    selector = _selector(spec.get("selector"), what="clusters: selector")
    values = _values(spec, "clusters")
    found = []
    for cluster in sorted(context.clusters, key=lambda c: c.name):
        if selector is not None and not selector.matches(cluster.labels):
            continue
        if cluster.problem:
            raise GeneratorError(f"clusters: cluster {cluster.name}: {cluster.problem}")
        found.append(
            {
                "name": cluster.name,
                "nameNormalized": _normalized(cluster.name),
                "server": cluster.server,
                "project": "",
                "metadata": {
                    "labels": dict(cluster.labels),
                    "annotations": dict(cluster.annotations),
                },
            }
        )
    shaped = found if context.go_template else [flatten(params) for params in found]
    return await _with_values(shaped, values, "clusters", context)


def _values(spec: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    values = spec.get("values") or {}
    if not isinstance(values, Mapping):
        raise GeneratorError(f"{kind}: values must be a map")
    return values


async def _with_values(
    found: list[Params], values: Mapping[str, Any], kind: str, context: Context
) -> list[Params]:
    """``found`` (in the template mode's shape) with ``values``, each rendered with its own
    parameter set, as in Argo CD."""
    if not values:
        return found
    try:
        rendered = await _interpolate(context, {k: _text(v) for k, v in values.items()}, found)
    except GeneratorError as exc:
        raise GeneratorError(f"{kind}: values: {exc}") from None
    if context.go_template:
        return [
            {**params, "values": dict(mine)} for params, mine in zip(found, rendered, strict=True)
        ]
    return [
        {**params, **flatten({"values": mine})}
        for params, mine in zip(found, rendered, strict=True)
    ]


# -- git ----------------------------------------------------------------------------------


async def _git(spec: Mapping[str, Any], context: Context) -> list[Params]:
    url = spec.get("repoURL")
    if not isinstance(url, str) or not url:
        raise GeneratorError("git: repoURL is required")
    revision = spec.get("revision") or "HEAD"
    if not isinstance(revision, str):
        raise GeneratorError("git: revision must be a string")
    directories, files = spec.get("directories"), spec.get("files")
    if bool(directories) == bool(files):
        raise GeneratorError("git: give either directories or files")
    prefix = spec.get("pathParamPrefix") or ""
    if not isinstance(prefix, str):
        raise GeneratorError("git: pathParamPrefix must be a string")
    root = await context.git.tree(url, revision)
    if directories:
        paths = [
            PurePosixPath(p)
            for p in _matching(_walk(root, want="dirs"), directories, "directories")
        ]
        found = [_path_params(path, prefix, go_template=context.go_template) for path in paths]
    else:
        found = []
        for relative in _matching(_walk(root, want="files"), files, "files"):
            for document in _file_params(root, relative):
                params = dict(document) if context.go_template else _flat_file(document)
                found.append(
                    {
                        **params,
                        **_path_params(
                            PurePosixPath(relative).parent,
                            prefix,
                            go_template=context.go_template,
                            filename=PurePosixPath(relative).name,
                        ),
                    }
                )
                if len(found) > MAX_PARAM_SETS:
                    raise GeneratorError(f"git: more than {MAX_PARAM_SETS} parameter sets")
    return await _with_values(found, _values(spec, "git"), "git", context)


def _walk(root: Path, *, want: str) -> list[str]:
    """Every directory or regular file under ``root`` (relative, POSIX, sorted), never
    following a symlink and never into ``.git``."""
    found: list[str] = []
    for top, dirs, names in os.walk(root, followlinks=False):
        # Never .git; and (as Argo CD) no hidden directory is an application (.github), while
        # the files generator reads what git has, hidden directories included.
        dirs[:] = sorted(
            d for d in dirs
            if d != ".git" and not (want == "dirs" and d.startswith("."))
            and not os.path.islink(os.path.join(top, d))
        )  # fmt: skip
        relative = Path(top).relative_to(root)
        entries = dirs if want == "dirs" else [n for n in names if _regular(Path(top) / n)]
        for name in entries:
            found.append((relative / name).as_posix())
            if len(found) > MAX_GIT_ENTRIES:
                raise GeneratorError(f"git: the repository has more than {MAX_GIT_ENTRIES} {want}")
    return sorted(found)


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _matching(paths: list[str], rules: Any, what: str) -> list[str]:
    """The paths some rule includes and no ``exclude: true`` rule excludes (exclusions win)."""
    if not isinstance(rules, list) or not all(isinstance(r, Mapping) for r in rules):
        raise GeneratorError(f"git: {what} must be a list of {{path: ...}}")
    include: list[list[str]] = []
    exclude: list[list[str]] = []
    for rule in rules:
        pattern = rule.get("path")
        if not isinstance(pattern, str) or not pattern:
            raise GeneratorError(f"git: every entry of {what} needs a path")
        if len(pattern) > MAX_PATTERN:
            raise GeneratorError(f"git: a path pattern is longer than {MAX_PATTERN} characters")
        (exclude if rule.get("exclude") is True else include).append(pattern.strip("/").split("/"))
    return [
        path for path in paths
        if any(_glob_match(p, path) for p in include)
        and not any(_glob_match(p, path) for p in exclude)
    ]  # fmt: skip


def _glob_match(pattern: list[str], path: str) -> bool:
    """Whether ``path`` matches the glob's segments: ``*``, ``?`` and ``[...]`` within one
    segment (fnmatch's, which does not backtrack without bound), ``**`` any number of whole
    segments. Segment by segment, so the time is patterns x segments, whatever the glob."""
    segments = path.split("/")
    reached = {0}  # how many segments the pattern's segments so far can have matched
    for part in pattern:
        if part == "**":
            reached = set(range(min(reached), len(segments) + 1))
        else:
            reached = {
                at + 1 for at in reached
                if at < len(segments) and fnmatch.fnmatchcase(segments[at], part)
            }  # fmt: skip
        if not reached:
            return False
    return len(segments) in reached


def _file_params(root: Path, relative: str) -> list[Mapping[str, Any]]:
    path = root / relative
    if path.stat().st_size > MAX_FILE_BYTES:
        raise GeneratorError(f"git: {relative} is larger than {MAX_FILE_BYTES >> 20} MiB")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise GeneratorError(f"git: {relative} is not UTF-8 text") from None
    documents = _read(text, f"git: {relative}")
    sets: list[Mapping[str, Any]] = []
    for document in documents:
        if document is None:
            continue
        items = document if isinstance(document, list) else [document]
        for item in items:
            if not isinstance(item, Mapping):
                raise GeneratorError(f"git: {relative}: holds a {type(item).__name__}, not a map")
            sets.append(item)
    return sets


def _flat_file(document: Mapping[str, Any], prefix: str = "") -> Params:
    """A file's content for fasttemplate, flattened with dots, list items by index."""
    flat: Params = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flat_file(value, f"{name}."))
        elif isinstance(value, list):
            flat.update(_flat_file({str(i): v for i, v in enumerate(value)}, f"{name}."))
        else:
            flat[name] = _text(value)
    return flat


def _path_params(
    path: PurePosixPath, prefix: str, *, go_template: bool, filename: str = ""
) -> Params:
    text = "" if str(path) == "." else path.as_posix()
    segments = [s for s in text.split("/") if s]
    basename = segments[-1] if segments else ""
    structured: Params = {
        "path": text,
        "basename": basename,
        "basenameNormalized": _normalized(basename),
        "segments": segments,
    }
    if filename:
        structured["filename"] = filename
        structured["filenameNormalized"] = _normalized(filename)
    if go_template:
        return {prefix: {"path": structured}} if prefix else {"path": structured}
    name = f"{prefix}.path" if prefix else "path"
    flat: Params = {name: text, f"{name}.basename": basename,
                    f"{name}.basenameNormalized": structured["basenameNormalized"]}  # fmt: skip
    if filename:
        flat[f"{name}.filename"] = filename
        flat[f"{name}.filenameNormalized"] = structured["filenameNormalized"]
    flat.update({f"{name}[{i}]": segment for i, segment in enumerate(segments)})
    return flat


# -- matrix and merge -----------------------------------------------------------------------


async def _matrix(spec: Mapping[str, Any], context: Context, *, depth: int) -> list[Params]:
    children = spec.get("generators") or []
    if not isinstance(children, list) or len(children) != 2:
        raise GeneratorError("matrix: needs exactly two generators")
    first = await generate(children[0], context, depth=depth)
    # The second generator sees the first one's parameters, in the template mode.
    try:
        seconds = await _interpolate(context, children[1], first)
    except GeneratorError as exc:
        raise GeneratorError(f"matrix: {exc}") from None
    found: list[Params] = []
    for params, second_spec in zip(first, seconds, strict=True):
        for other in await generate(second_spec, context, depth=depth):
            found.append(_combined(params, other, go_template=context.go_template))
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


async def _merge(spec: Mapping[str, Any], context: Context, *, depth: int) -> list[Params]:
    children = spec.get("generators") or []
    keys = spec.get("mergeKeys") or []
    if not isinstance(children, list) or len(children) < 2:
        raise GeneratorError("merge: needs at least two generators")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise GeneratorError("merge: mergeKeys must name at least one parameter")
    sets = [await generate(child, context, depth=depth) for child in children]
    merged = [dict(params) for params in sets[0]]
    _by_key(merged, keys, context.go_template, number=1)  # duplicates in the base: an error too
    for number, later in enumerate(sets[1:], start=2):
        by_key = _by_key(later, keys, context.go_template, number=number)
        for index, params in enumerate(merged):
            key = _merge_key(params, keys, go_template=context.go_template)
            if key is not None and key in by_key:
                merged[index] = (
                    _deep_merge(params, by_key[key])
                    if context.go_template
                    else {**params, **by_key[key]}
                )
    return merged


def _by_key(
    sets: list[Params], keys: Sequence[str], go_template: bool, *, number: int
) -> dict[tuple[str, ...], Params]:
    """The parameter sets by their merge keys; two with the same keys are an error (Argo
    CD's: which of them would win is not defined)."""
    by_key: dict[tuple[str, ...], Params] = {}
    for params in sets:
        key = _merge_key(params, keys, go_template=go_template)
        if key is None:
            continue
        if key in by_key:
            shown = ", ".join(f"{k}={v!r}" for k, v in zip(keys, key, strict=True))
            raise GeneratorError(f"merge: generator {number} gives two parameter sets with {shown}")
        by_key[key] = params
    return by_key


def _merge_key(params: Params, keys: Sequence[str], *, go_template: bool) -> tuple[str, ...] | None:
    flat = flatten(params) if go_template else params
    if not all(k in flat for k in keys):
        return None
    return tuple(_text(flat[k]) for k in keys)


# -- shared ---------------------------------------------------------------------------------


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


async def _interpolate(context: Context, node: Any, param_sets: Sequence[Params]) -> list[Any]:
    if not param_sets:
        return []
    if context.interpolate is None:
        raise GeneratorError("no template engine was given")
    try:
        return await context.interpolate(node, param_sets)
    except TemplateError as exc:
        raise GeneratorError(str(exc)) from None


def _read(text: str, source: str) -> list[Any]:
    try:
        return read_data(text, source, max_bytes=MAX_FILE_BYTES)
    except RenderError as exc:
        raise GeneratorError(str(exc)) from None


_NOT_IN_NAME = re.compile(r"[^-a-z0-9.]")


def _normalized(name: str) -> str:
    """Argo CD's ``nameNormalized``: a DNS subdomain name of the cluster's name."""
    return _NOT_IN_NAME.sub("-", name.lower())[:253].strip("-.")


__all__ = [
    "KINDS",
    "MAX_PARAM_SETS",
    "ClusterChoice",
    "ClusterInfo",
    "Context",
    "GeneratorError",
    "GitTrees",
    "Interpolate",
    "Params",
    "cluster_choices",
    "flatten",
    "generate",
    "git_urls",
]
