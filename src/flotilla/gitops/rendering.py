"""Turn a checked-out source directory into the manifests it stands for, as Argo CD would.

A GitOps source is one of three things: a directory of plain manifests, a kustomization, or a
Helm chart (in the tree, or fetched from a Helm repository). :func:`detect` picks one the way
Argo CD does and :func:`render` produces the list of objects, in a stable order, as plain dicts.

What is not obvious:

- The source tree is read-only. Kustomize options go into a generated wrapper kustomization in
  a private temporary directory that points back at the source, and ``helm dependency build``
  runs on a temporary copy. Helm gets private cache/config/data homes per render so nothing
  (repositories, credentials, cached charts) leaks from one render into the next.
- Every tool is a subprocess under one deadline for the whole render and an output limit;
  either one kills the process group. The tools get a small environment (no credentials of
  ours, a private ``HOME``), and nothing of their command line is quoted in errors: ``--set``
  values and repository URLs may hold secrets. A tool's own error text is quoted, bounded,
  with any ``user:password@`` in URLs masked.
- Nothing from the spec or the repository is an argument a tool could read as a flag:
  options are single ``--flag=value`` items, positional arguments come after ``--``, and a
  release name, chart or repository URL that starts with ``-`` is refused anyway.
- YAML is parsed off the event loop. Aliases are kept as shared references by the parser
  and expanded by whoever serialises the objects (the digest, the apply): a document whose
  aliases expand it beyond what the render's size limit allows ("billion laughs") is
  refused, as is one whose aliases refer to themselves. Objects are returned as rendered:
  no namespace is defaulted and no label is added, the caller does both.
- Kustomize may read bases outside the source directory (``../base`` of an overlay): that is
  how overlays work, so the source directory handed in should sit inside the checked-out
  repository. Symlinks that point out of the source directory are refused in every mode.

Plain manifests may also have Fleet's raw-YAML overlays laid over them (``Directory.overlays``,
:mod:`overlays`); their strategic merge patches are kubectl's (``kubectl patch --local``).

``RenderError.tool`` says which part failed: ``"directory"``, ``"kustomize"``, ``"helm"`` or
``"plugin"`` (the overlays).

Why one module of ~1150 lines: the three renderers (and Fleet's overlays over plain
manifests, whose strategic merges are kubectl's) share the subprocess runner with its
deadline and output bound, the read-only copy of the source, the path checks that keep value
files and symlinks inside it, and one parser of the output; each renderer is a short
function over those.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flotilla.gitops import overlays

# libyaml's safe loader when PyYAML was built with it: the same documents, parsed faster.
_Loader: Any = type("_Loader", (getattr(yaml, "CSafeLoader", yaml.SafeLoader),), {})
# Kubernetes reads YAML as JSON: an unquoted 2024-01-01 is a string there, not a date.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_JSON_SCALARS = (str, int, float, bool, type(None))

__all__ = [
    "Directory",
    "Helm",
    "Kustomize",
    "RenderError",
    "Tools",
    "detect",
    "read_data",
    "render",
]

_MESSAGE_LIMIT = 500
_STDERR_LIMIT = 64 << 10
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Passed through to the tools: what they need to find programs and reach the network.
_PASSED_ENV = (
    "PATH",
    "LANG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)
_CWD = "cwd"
_KILL_WAIT = 5.0
"""How long a killed tool's exit and closing pipes are waited for."""
_HELM_DEBUG_HINT = "Use --debug flag to render out invalid YAML"
_CHART_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_URL_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@\"']+@")


@dataclass(frozen=True)
class Directory:
    """Plain manifests, as Argo's ``spec.source.directory``.

    ``include`` and ``exclude`` are globs (or ``{a,b}`` lists of globs) matched against each
    file's path relative to the source directory; ``*`` also matches ``/``, as in Argo.
    Files and directories whose names start with ``.`` (``.git``, CI files) are skipped, and
    symlinked directories are not followed.
    """

    recurse: bool = False
    include: str = ""
    exclude: str = ""
    overlays: tuple[str, ...] | None = None
    """Fleet's overlays laid over the files, in order (:mod:`overlays`); with any value,
    even none, what is under ``overlays/`` is not deployed."""


@dataclass(frozen=True)
class Kustomize:
    """Options applied over the source kustomization, as Argo's ``spec.source.kustomize``.

    ``images`` take kustomize's ``edit set image`` form: ``[old=]new[:tag|@digest]``.
    """

    name_prefix: str = ""
    name_suffix: str = ""
    images: tuple[str, ...] = ()
    common_labels: Mapping[str, str] = field(default_factory=dict)
    namespace: str = ""


@dataclass(frozen=True)
class Helm:
    """Options for ``helm template``, as Argo's ``spec.source.helm``.

    With ``chart`` and ``repo_url`` the chart comes from a Helm repository (or an ``oci://``
    registry) at ``version`` instead of from the source directory; value files are still
    read from the source directory. ``values_object`` wins over ``values`` when both are set.
    """

    release_name: str = ""
    value_files: tuple[str, ...] = ()
    values: str = ""
    values_object: Mapping[str, Any] | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    string_parameters: tuple[tuple[str, str], ...] = ()
    """Parameters set with ``--set-string`` (Argo's ``forceString``), after ``parameters``."""
    skip_crds: bool = False
    chart: str = ""
    repo_url: str = ""
    version: str = ""


@dataclass(frozen=True)
class Tools:
    """Where the external programs are."""

    kubectl: Path
    helm: Path


class RenderError(Exception):
    """The source could not be rendered; the message says why and never holds a credential."""

    def __init__(self, message: str, *, tool: str) -> None:
        super().__init__(message)
        self.tool = tool


def detect(
    root: Path,
    *,
    directory: Directory | None,
    kustomize: Kustomize | None,
    helm: Helm | None,
) -> str:
    """Which tool renders ``root``: an explicit spec wins, else what the files say."""
    explicit = [
        name
        for name, spec in (("directory", directory), ("kustomize", kustomize), ("helm", helm))
        if spec is not None
    ]
    if len(explicit) > 1:
        raise RenderError(
            f"only one of directory, kustomize and helm may be set, not {' and '.join(explicit)}",
            tool=explicit[0],
        )
    if explicit:
        return explicit[0]
    if (root / "Chart.yaml").is_file():
        return "helm"
    if any((root / name).is_file() for name in _KUSTOMIZATION_FILES):
        return "kustomize"
    return "directory"


async def render(
    root: Path,
    *,
    directory: Directory | None,
    kustomize: Kustomize | None,
    helm: Helm | None,
    namespace: str,
    app_name: str,
    tools: Tools,
    timeout: float = 60.0,
    max_bytes: int = 16 << 20,
    kube_version: str = "",
) -> list[dict[str, Any]]:
    """The objects ``root`` renders to, in a stable order.

    Raises :class:`RenderError` for anything wrong with the source or a tool.
    """
    kind = await asyncio.to_thread(
        detect, root, directory=directory, kustomize=kustomize, helm=helm
    )
    deadline = _Deadline(timeout)
    if kind == "directory" and directory is not None and directory.overlays is not None:
        return await _read_overlaid(
            root, directory, tools=tools, deadline=deadline, max_bytes=max_bytes
        )
    if kind == "directory":
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.to_thread(
                    _read_directory, root, directory or Directory(), max_bytes
                )
        except TimeoutError:
            raise RenderError(
                f"reading manifests timed out after {timeout:g}s", tool=kind
            ) from None
    top = await asyncio.to_thread(_source_tree, root, tool=kind)
    work = await asyncio.to_thread(_scratch)
    try:
        env = _tool_env(work)
        if kind == "kustomize":
            output = await _kustomize(
                top,
                kustomize or Kustomize(),
                tools=tools,
                work=work,
                env=env,
                deadline=deadline,
                max_bytes=max_bytes,
            )
        else:
            output = await _helm(
                top,
                helm or Helm(),
                namespace=namespace,
                app_name=app_name,
                kube_version=kube_version,
                tools=tools,
                work=work,
                env=env,
                deadline=deadline,
                max_bytes=max_bytes,
            )
    finally:
        await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)
    return await asyncio.to_thread(_parse_output, output, kind, max_bytes)


# --- directories of plain manifests ---------------------------------------------------------


def _read_directory(root: Path, spec: Directory, max_bytes: int) -> list[dict[str, Any]]:
    return _parsed(_manifest_texts(root, spec, max_bytes), max_bytes, tool="directory")


def _manifest_texts(root: Path, spec: Directory, max_bytes: int) -> dict[str, str]:
    """The manifest files ``spec`` chooses (path to text), in order. With overlays, the
    files under ``overlays/`` are all there, whatever ``include`` and ``exclude`` say."""
    tool = "directory" if spec.overlays is None else "plugin"
    top = root.resolve()
    if not top.is_dir():
        raise RenderError(f"source directory {root.name!r} does not exist", tool=tool)
    include = _expand_braces(spec.include) if spec.include else []
    exclude = _expand_braces(spec.exclude) if spec.exclude else []
    texts: dict[str, str] = {}
    total = 0
    for rel in _manifest_files(top, recurse=spec.recurse):
        if spec.overlays is None or not overlays.is_overlay_file(rel):
            if include and not _matches(rel, include):
                continue
            if exclude and _matches(rel, exclude):
                continue
        path = top / rel
        target = path.resolve()
        if not target.is_relative_to(top):
            raise RenderError(f"{rel}: a symlink pointing outside the source directory", tool=tool)
        if not target.is_file():
            raise RenderError(f"{rel}: not a readable file", tool=tool)
        total += target.stat().st_size
        if total > max_bytes:
            raise RenderError(f"manifests larger than {max_bytes} bytes", tool=tool)
        texts[rel] = target.read_text(encoding="utf-8", errors="replace")
    return texts


def _parsed(texts: Mapping[str, str], max_bytes: int, *, tool: str) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    budget = _Budget(max_bytes)
    for rel, text in texts.items():
        documents = _documents(text, rel, tool=tool)
        budget.spend(documents, rel, tool=tool)
        objects.extend(_objects(documents, rel, tool=tool))
    return objects


def _documents(text: str, rel: str, *, tool: str = "directory") -> list[Any]:
    try:
        return _load_json(text, rel) if rel.endswith(".json") else _load_yaml(text, rel)
    except RenderError as exc:
        exc.tool = tool
        raise


async def _read_overlaid(
    root: Path,
    spec: Directory,
    *,
    tools: Tools,
    deadline: _Deadline,
    max_bytes: int,
) -> list[dict[str, Any]]:
    """Plain manifests with Fleet's overlays laid over them (``overlays``), in a worker."""
    end = time.monotonic() + deadline.remaining()  # the loop's clock is not the worker's

    def remaining() -> float:
        return max(0.0, end - time.monotonic())

    try:
        async with asyncio.timeout(deadline.remaining()):
            return await asyncio.to_thread(
                _overlaid,
                root,
                spec,
                tools=tools,
                remaining=remaining,
                seconds=deadline.seconds,
                max_bytes=max_bytes,
            )
    except TimeoutError:
        raise RenderError(
            f"laying the overlays timed out after {deadline.seconds:g}s", tool="plugin"
        ) from None


def _overlaid(
    root: Path,
    spec: Directory,
    *,
    tools: Tools,
    remaining: Callable[[], float],
    seconds: float,
    max_bytes: int,
) -> list[dict[str, Any]]:
    texts = _manifest_texts(root, spec, max_bytes)
    include = _expand_braces(spec.include) if spec.include else []
    exclude = _expand_braces(spec.exclude) if spec.exclude else []

    def keep(rel: str) -> bool:
        return (not include or _matches(rel, include)) and not (exclude and _matches(rel, exclude))

    def parse(text: str, rel: str) -> list[Any]:
        documents = _documents(text, rel, tool="plugin")
        _Budget(max_bytes).spend(documents, rel, tool="plugin")
        return documents

    work = _scratch()
    try:
        env = _tool_env(work)

        def strategic(where: str, original: Mapping[str, Any], patch: Mapping[str, Any]) -> Any:
            return _strategic_merge(
                where,
                original,
                patch,
                tools=tools,
                work=work,
                env=env,
                remaining=remaining,
                seconds=seconds,
            )

        limits = overlays.Limits(max_bytes=max_bytes, remaining=remaining)
        laid = overlays.overlaid(
            texts, spec.overlays or (), parse=parse, strategic=strategic, keep=keep, limits=limits
        )
    except overlays.OverlayError as exc:
        raise RenderError(str(exc), tool="plugin") from None
    except RecursionError:
        raise RenderError("a patch or a patched file is nested too deeply", tool="plugin") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    objects: list[dict[str, Any]] = []
    budget = _Budget(max_bytes)
    for rel, one in laid.items():
        documents = _documents(one, rel, tool="plugin") if isinstance(one, str) else one
        budget.spend(documents, rel, tool="plugin")
        objects.extend(_objects(documents, rel, tool="plugin"))
    return objects


_NO_STRATEGIC = b"strategic merge patch is not supported"


def _strategic_merge(
    where: str,
    original: Mapping[str, Any],
    patch: Mapping[str, Any],
    *,
    tools: Tools,
    work: Path,
    env: Mapping[str, str],
    remaining: Callable[[], float],
    seconds: float,
) -> Any:
    """kubectl's strategic merge of ``patch`` into ``original`` (offline, in a worker),
    NotImplemented for kinds kubectl does not know (a merge patch is theirs, as in Fleet)."""
    (work / "original.json").write_text(json.dumps(original))
    (work / "patch.json").write_text(json.dumps(patch))
    argv = [
        str(tools.kubectl),
        "patch",
        "--local",
        "--filename=original.json",
        "--type=strategic",
        "--patch-file=patch.json",
        "--output=json",
    ]
    what = f"{where}: the strategic merge"
    try:
        done = subprocess.run(
            argv,
            cwd=work,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=max(remaining(), 0.001),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(f"{what} timed out after {seconds:g}s", tool="plugin") from None
    except OSError as error:
        raise RenderError(f"{what} could not start: {error.strerror}", tool="plugin") from None
    if done.returncode != 0:
        if _NO_STRATEGIC in done.stderr:
            return NotImplemented
        if original.get("kind") == "Secret":  # kubectl quotes the maps it could not merge
            raise RenderError(
                f"{what} failed (kubectl's message is not shown: the object is a Secret)",
                tool="plugin",
            )
        raise RenderError(f"{what} failed: {_quote(done.stderr[:_STDERR_LIMIT])}", tool="plugin")
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise RenderError(f"{what}: kubectl gave no JSON", tool="plugin") from None


def _manifest_files(top: Path, *, recurse: bool) -> list[str]:
    """Paths (relative, with ``/``) of the manifest files, sorted; hidden entries skipped."""
    found: list[str] = []
    for current, dirs, files in os.walk(top):
        here = Path(current)
        dirs[:] = [] if not recurse else sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith(".") or not name.endswith(_MANIFEST_SUFFIXES):
                continue
            found.append((here / name).relative_to(top).as_posix())
    return sorted(found)


def _expand_braces(pattern: str) -> list[str]:
    """``"{a,b}/*.{yaml,yml}"`` -> the plain globs it stands for."""
    start = pattern.find("{")
    if start < 0:
        return [pattern]
    depth = 0
    parts: list[str] = []
    last = start + 1
    for index in range(start, len(pattern)):
        char = pattern[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                parts.append(pattern[last:index])
                head, tail = pattern[:start], pattern[index + 1 :]
                return [
                    expanded for part in parts for expanded in _expand_braces(head + part + tail)
                ]
        elif char == "," and depth == 1:
            parts.append(pattern[last:index])
            last = index + 1
    return [pattern]  # an unclosed brace is taken literally


def _matches(rel: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(rel, glob) for glob in globs)


_MIN_EXPANSION = 1 << 20
"""The smallest expansion budget: what a Chart.yaml may expand to, say."""


class _Budget:
    """How much the parsed documents of one render may expand to, aliases expanded.

    The measure is one per node plus the length of every string (keys too): a lower bound
    of the JSON the objects serialise to. YAML without aliases measures at most about one
    and a half times its own size, so twice the render's byte limit refuses only documents
    that aliases blow up.
    """

    def __init__(self, max_bytes: int) -> None:
        self.limit = max(2 * max_bytes, _MIN_EXPANSION)
        self.remaining = self.limit

    def spend(self, documents: Sequence[Any], source: str, *, tool: str) -> None:
        for document in documents:
            size = _expanded_size(document, self.remaining)
            if size is None:
                raise RenderError(f"{source}: refers to itself through YAML aliases", tool=tool)
            if size > self.remaining:
                raise RenderError(
                    f"{source}: expands to more than {self.limit} bytes through YAML aliases",
                    tool=tool,
                )
            self.remaining -= size
            _check_json(document, source, tool=tool)


def _string_keys(node: dict[Any, Any], source: str, *, tool: str) -> None:
    """Scalar keys as Kubernetes' YAML reading makes them (``80`` -> "80", ``on`` ->
    "true", ``~`` -> "null"), in place: ``sort_keys`` cannot compare a str with an int."""
    items = list(node.items())
    node.clear()
    for key, value in items:
        if isinstance(key, str):
            node[key] = value
        elif isinstance(key, bool) or key is None:
            node[json.dumps(key)] = value
        elif isinstance(key, (int, float)):
            node[str(key)] = value
        else:
            raise RenderError(
                f"{source}: a {type(key).__name__} as a mapping key, which JSON cannot hold",
                tool=tool,
            )


def _check_json(root: Any, source: str, *, tool: str) -> None:
    """Refuse what JSON cannot say (an explicit ``!!timestamp``, ``!!binary`` or ``!!set``):
    Kubernetes would not take it, and the digest could not be computed. Each distinct
    container is looked at once (aliases are not expanded again)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, dict):
                if not all(isinstance(key, str) for key in node):
                    _string_keys(node, source, tool=tool)
                stack.extend(node.values())
            else:
                stack.extend(node)
        elif not isinstance(node, _JSON_SCALARS):
            raise RenderError(
                f"{source}: a {type(node).__name__} value, which JSON cannot hold "
                "(quote it to make it a string)",
                tool=tool,
            )


def _expanded_size(root: Any, limit: int) -> int | None:
    """``root``'s measure (see ``_Budget``) with shared references counted each time.

    Each distinct container is visited once and its size remembered, so this takes the time
    of the parsed (not the expanded) document; it stops at the first container over
    ``limit`` (returning more than ``limit``). None: a container contains itself.
    """
    sizes: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        if not isinstance(node, (dict, list)) or (not closing and id(node) in sizes):
            continue
        key = id(node)
        if not closing:
            if key in open_:
                return None
            open_.add(key)
            stack.append((node, True))
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, False) for child in children if isinstance(child, (dict, list)))
            continue
        open_.discard(key)
        size = 1
        if isinstance(node, dict):
            for name, value in node.items():
                size += _scalar_size(name) + _size_of(value, sizes)
                if size > limit:
                    return size
        else:
            for value in node:
                size += _size_of(value, sizes)
                if size > limit:
                    return size
        sizes[key] = size
    return _size_of(root, sizes)


def _size_of(node: Any, sizes: Mapping[int, int]) -> int:
    return sizes[id(node)] if isinstance(node, (dict, list)) else _scalar_size(node)


def _scalar_size(node: Any) -> int:
    return 1 + len(node) if isinstance(node, (str, bytes, set)) else 1


def _load_yaml(text: str, source: str) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = error.problem or error.context or "cannot be parsed"
        raise RenderError(
            f"{source}: invalid YAML{where}: {problem}", tool=_tool_of(source)
        ) from None
    except yaml.YAMLError as error:
        raise RenderError(f"{source}: invalid YAML: {error}", tool=_tool_of(source)) from None


def read_data(text: str, source: str, *, max_bytes: int) -> list[Any]:
    """The documents of a JSON (``source`` ends in ``.json``) or YAML text, read as the
    manifests of a source are: no dates, no alias bombs, nothing JSON cannot hold."""
    documents = _load_json(text, source) if source.endswith(".json") else _load_yaml(text, source)
    _Budget(max_bytes).spend(documents, source, tool="directory")
    return documents


def _load_json(text: str, source: str) -> list[Any]:
    try:
        return [json.loads(text)] if text.strip() else []
    except json.JSONDecodeError as error:
        raise RenderError(
            f"{source}: invalid JSON at line {error.lineno}: {error.msg}", tool="directory"
        ) from None


def _tool_of(source: str) -> str:
    return {"kustomize output": "kustomize", "helm output": "helm"}.get(source, "directory")


def _objects(documents: Sequence[Any], source: str, *, tool: str) -> Iterator[dict[str, Any]]:
    """The Kubernetes objects of parsed documents: empty ones skipped, Lists flattened."""
    for number, document in enumerate(documents, start=1):
        if document is None:
            continue
        where = f"{source}: document {number}"
        if isinstance(document, dict) and _is_list(document):
            items = document.get("items") or []
            if not isinstance(items, list):
                raise RenderError(f"{where}: a List whose items are not a list", tool=tool)
            for item_number, item in enumerate(items, start=1):
                yield _checked(item, f"{where}, item {item_number}", tool=tool)
        else:
            yield _checked(document, where, tool=tool)


def _is_list(document: Mapping[str, Any]) -> bool:
    """``kind: List``, or a typed list (``ConfigMapList``): no name, so never a real object."""
    kind = document.get("kind")
    if kind == "List":
        return True
    metadata = document.get("metadata")
    named = isinstance(metadata, dict) and bool(metadata.get("name"))
    return isinstance(kind, str) and kind.endswith("List") and "items" in document and not named


def _checked(document: Any, where: str, *, tool: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise RenderError(
            f"{where} is not a Kubernetes object (a {type(document).__name__}, not a mapping)",
            tool=tool,
        )
    metadata = document.get("metadata")
    missing = [
        name
        for name, value in (
            ("apiVersion", document.get("apiVersion")),
            ("kind", document.get("kind")),
            ("metadata.name", metadata.get("name") if isinstance(metadata, dict) else None),
        )
        if not isinstance(value, str) or not value
    ]
    if missing:
        raise RenderError(
            f"{where} is not a Kubernetes object (no {', '.join(missing)})", tool=tool
        )
    return document


def _parse_output(output: bytes, kind: str, max_bytes: int) -> list[dict[str, Any]]:
    source = f"{kind} output"
    text = output.decode("utf-8", errors="replace")
    documents = _load_yaml(text, source)
    _Budget(max_bytes).spend(documents, source, tool=kind)
    return list(_objects(documents, source, tool=kind))


def _source_tree(root: Path, *, tool: str) -> Path:
    """``root`` resolved, once no symlink in it points outside it."""
    top = root.resolve()
    if not top.is_dir():
        raise RenderError(f"source directory {root.name!r} does not exist", tool=tool)
    for current, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in (*dirs, *files):
            path = Path(current) / name
            if path.is_symlink() and not path.resolve().is_relative_to(top):
                rel = path.relative_to(top).as_posix()
                raise RenderError(
                    f"{rel}: a symlink pointing outside the source directory", tool=tool
                )
    return top


# --- kustomize ----------------------------------------------------------------------------


async def _kustomize(
    top: Path,
    spec: Kustomize,
    *,
    tools: Tools,
    work: Path,
    env: Mapping[str, str],
    deadline: _Deadline,
    max_bytes: int,
) -> bytes:
    wrapper = await asyncio.to_thread(_wrapper_kustomization, top, spec, work / "wrapper")
    target = top if wrapper is None else wrapper
    return await _run(
        [str(tools.kubectl), "kustomize", "--", str(target)],
        tool="kustomize",
        what="kubectl kustomize",
        cwd=work / _CWD,
        env=env,
        deadline=deadline,
        max_bytes=max_bytes,
    )


def _wrapper_kustomization(source: Path, spec: Kustomize, wrapper: Path) -> Path | None:
    """A kustomization over ``source`` that applies ``spec``; None when there is nothing to apply.

    Kustomize refuses absolute paths to other kustomizations, so the wrapper names the source
    by a relative path.
    """
    document: dict[str, Any] = {}
    if spec.name_prefix:
        document["namePrefix"] = spec.name_prefix
    if spec.name_suffix:
        document["nameSuffix"] = spec.name_suffix
    if spec.namespace:
        document["namespace"] = spec.namespace
    if spec.images:
        document["images"] = [_kustomize_image(image) for image in spec.images]
    if spec.common_labels:
        # commonLabels' meaning (selectors and templates too), without its deprecation warning
        document["labels"] = [{"pairs": dict(spec.common_labels), "includeSelectors": True}]
    if not document:
        return None
    wrapper.mkdir()
    document = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(source, wrapper.resolve())],
        **document,
    }
    (wrapper / "kustomization.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return wrapper


def _kustomize_image(image: str) -> dict[str, str]:
    """``[old=]new[:tag|@digest]`` -> a kustomize ``images`` entry."""
    old, sep, new = image.partition("=")
    if not sep:
        old, new = "", image
    name, tag, digest = _split_image(new)
    entry: dict[str, str] = {"name": _split_image(old)[0] if old else name}
    if old and name and name != entry["name"]:
        entry["newName"] = name
    if digest:
        entry["digest"] = digest
    elif tag:
        entry["newTag"] = tag
    if not entry["name"]:
        raise RenderError(f"kustomize image {image!r} names no image", tool="kustomize")
    return entry


def _split_image(image: str) -> tuple[str, str, str]:
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest
    return name, "", digest


# --- helm ---------------------------------------------------------------------------------


async def _helm(
    top: Path,
    spec: Helm,
    *,
    namespace: str,
    app_name: str,
    kube_version: str,
    tools: Tools,
    work: Path,
    env: dict[str, str],
    deadline: _Deadline,
    max_bytes: int,
) -> bytes:
    for home in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        env[home] = str(work / home.lower())
    options = await asyncio.to_thread(_helm_options, top, spec, work, namespace, kube_version)
    release = spec.release_name or app_name
    # helm reads these as positional arguments (after "--"); one that looks like a flag is
    # refused all the same, for a helm that would not honour "--"
    if release.startswith("-"):
        raise RenderError(f"release name {release!r} must not start with '-'", tool="helm")
    flags: list[str] = []
    if spec.chart or spec.repo_url:
        if not (spec.chart and spec.repo_url):
            raise RenderError("a Helm repository chart needs both chart and repo_url", tool="helm")
        if spec.chart.startswith("-"):
            raise RenderError(f"chart name {spec.chart!r} must not start with '-'", tool="helm")
        if spec.repo_url.startswith("-"):  # not quoted: a URL may hold credentials
            raise RenderError("the Helm repository URL must not start with '-'", tool="helm")
        if spec.repo_url.startswith("oci://"):
            if ".." in spec.chart.split("/"):
                raise RenderError(f"chart name {spec.chart!r} is not valid", tool="helm")
            chart = [f"{spec.repo_url.rstrip('/')}/{spec.chart}"]
        else:
            # helm looks for a local directory of that name first: a plain name only
            if not _CHART_NAME.fullmatch(spec.chart):
                raise RenderError(f"chart name {spec.chart!r} is not valid", tool="helm")
            flags.append(f"--repo={spec.repo_url}")
            chart = [spec.chart]
        if spec.version:
            flags.append(f"--version={spec.version}")
    else:
        chart_dir = top
        if await asyncio.to_thread(_missing_dependencies, top):
            chart_dir = work / "chart"
            await asyncio.to_thread(
                shutil.copytree,
                top,
                chart_dir,
                symlinks=True,
                ignore=shutil.ignore_patterns(".git"),
            )
            await _run(
                [str(tools.helm), "dependency", "build", "--", str(chart_dir)],
                tool="helm",
                what="helm dependency build (the chart's dependencies are not in charts/)",
                explain=_dependency_build_failure,
                cwd=work / _CWD,
                env=env,
                deadline=deadline,
                max_bytes=max_bytes,
            )
        chart = [str(chart_dir)]
    return await _run(
        [str(tools.helm), "template", *options, *flags, "--", release, *chart],
        tool="helm",
        what="helm template",
        cwd=work / _CWD,
        env=env,
        deadline=deadline,
        max_bytes=max_bytes,
    )


def _helm_options(
    top: Path, spec: Helm, work: Path, namespace: str, kube_version: str
) -> list[str]:
    """Argo's order: value files, then inline values over them, then parameters over all.

    Every option is one ``--flag=value`` item: a value is never an argument of its own.
    """
    options = [f"--namespace={namespace}"] if namespace else []
    for value_file in spec.value_files:
        path = (top / value_file.lstrip("/")).resolve()
        if not path.is_relative_to(top):
            raise RenderError(
                f"value file {value_file!r} is outside the source directory", tool="helm"
            )
        if not path.is_file():
            raise RenderError(f"value file {value_file!r} does not exist", tool="helm")
        options.append(f"--values={path}")
    inline: str | None = None
    if spec.values_object is not None:
        inline = yaml.safe_dump(dict(spec.values_object))
    elif spec.values:
        inline = spec.values
    if inline is not None:
        inline_file = work / "inline-values.yaml"
        inline_file.write_text(inline)
        options.append(f"--values={inline_file}")
    for name, value in spec.parameters:
        options.append(f"--set={name}={_escape_set_value(value)}")
    for name, value in spec.string_parameters:
        options.append(f"--set-string={name}={_escape_set_value(value)}")
    options.append("--skip-crds" if spec.skip_crds else "--include-crds")
    if kube_version:
        options.append(f"--kube-version={kube_version}")
    return options


def _dependency_build_failure(stdout: bytes, stderr: bytes) -> bytes:
    """Why ``helm dependency build`` failed: a repository it could not reach, when that is it.

    Its stderr then only says that some hashed cache file is missing; the repository and the
    network error are in the warning it logged on stdout (with an indented detail line).
    """
    lines = stdout.decode("utf-8", errors="replace").splitlines()
    warnings: list[str] = []
    for number, line in enumerate(lines):
        if "Unable to get an update from" in line:
            warnings.append(line.lstrip("."))
            detail = lines[number + 1] if number + 1 < len(lines) else ""
            if detail[:1].isspace():
                warnings.append(detail)
    return "\n".join(warnings).encode() if warnings else stderr


def _escape_set_value(value: str) -> str:
    """A parameter is one value: its commas do not start new ones (a ``{a,b}`` list aside)."""
    if value.startswith("{") and value.endswith("}"):
        return value
    return re.sub(r"(?<!\\),", r"\\,", value)


def _missing_dependencies(chart: Path) -> list[str]:
    """Dependencies declared (Chart.yaml or v1 requirements.yaml) but not found in charts/."""
    if not (chart / "Chart.yaml").is_file():
        raise RenderError("no Chart.yaml in the source directory", tool="helm")
    declared: list[Any] = []
    for name in ("Chart.yaml", "requirements.yaml"):
        path = chart / name
        if path.is_file():
            try:
                document = yaml.load(path.read_text(), Loader=_Loader)
            except yaml.YAMLError as error:
                raise RenderError(f"{name}: invalid YAML: {error}", tool="helm") from None
            _Budget(0).spend([document], name, tool="helm")
            if isinstance(document, dict):
                declared += document.get("dependencies") or []
    wanted = {
        dependency["name"]
        for dependency in declared
        if isinstance(dependency, dict) and isinstance(dependency.get("name"), str)
    }
    if not wanted:
        return []
    vendored: set[str] = set()
    charts = chart / "charts"
    if charts.is_dir():
        for entry in charts.iterdir():
            if entry.is_dir() and (entry / "Chart.yaml").is_file():
                vendored.add(entry.name)
                with contextlib.suppress(yaml.YAMLError, OSError):
                    meta = yaml.load((entry / "Chart.yaml").read_text(), Loader=_Loader)
                    _Budget(0).spend([meta], f"charts/{entry.name}/Chart.yaml", tool="helm")
                    if isinstance(meta, dict) and isinstance(meta.get("name"), str):
                        vendored.add(meta["name"])
            elif entry.name.endswith(".tgz"):
                vendored.update(name for name in wanted if entry.name.startswith(f"{name}-"))
    return sorted(wanted - vendored)


# --- running tools ------------------------------------------------------------------------


class _Deadline:
    """One time budget for all the tools one render runs."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = asyncio.get_running_loop().time() + seconds

    def remaining(self) -> float:
        return max(0.0, self._at - asyncio.get_running_loop().time())


class _TooLarge(Exception):
    pass


def _scratch() -> Path:
    """A private directory for one render, with an empty one inside to run the tools in.

    Empty, because ``helm template NAME --repo URL`` takes a local directory named NAME first.
    """
    work = Path(tempfile.mkdtemp(prefix="flotilla-render-"))
    (work / _CWD).mkdir()
    return work


def _tool_env(home: Path) -> dict[str, str]:
    env = {name: value for name in _PASSED_ENV if (value := os.environ.get(name)) is not None}
    env["HOME"] = str(home)
    env["TMPDIR"] = str(home)
    env["KUBECONFIG"] = os.devnull
    return env


async def _run(
    argv: Sequence[str],
    *,
    tool: str,
    what: str,
    cwd: Path,
    env: Mapping[str, str],
    deadline: _Deadline,
    max_bytes: int,
    explain: Callable[[bytes, bytes], bytes] | None = None,
) -> bytes:
    """The standard output of ``argv``; RenderError quoting its error output when it fails.

    ``explain`` picks what to quote from (stdout, stderr) for tools that log the cause of a
    failure on their standard output; the default quotes stderr.
    """
    starting = asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,  # so a kill reaches the tool's own children too
        )
    )
    try:
        process = await asyncio.shield(starting)
    except OSError as error:
        raise RenderError(f"{what} could not start: {error.strerror}", tool=tool) from None
    except asyncio.CancelledError:
        # Cancelled while the tool was starting: it may already run (and have children);
        # asyncio would kill only the tool itself, so its whole group goes here.
        with contextlib.suppress(Exception):
            started = await starting
            with contextlib.suppress(ProcessLookupError):
                os.killpg(started.pid, signal.SIGKILL)
            async with asyncio.timeout(_KILL_WAIT):
                await started.wait()
        raise
    assert process.stdout is not None and process.stderr is not None
    readers = [
        asyncio.ensure_future(_read(process.stdout, max_bytes, fail=True)),
        asyncio.ensure_future(_read(process.stderr, _STDERR_LIMIT, fail=False)),
    ]
    try:
        async with asyncio.timeout(deadline.remaining()):
            stdout, stderr = await asyncio.gather(*readers)
            code = await process.wait()
    except TimeoutError:
        raise RenderError(f"{what} timed out after {deadline.seconds:g}s", tool=tool) from None
    except _TooLarge:
        raise RenderError(f"{what}: output larger than {max_bytes} bytes", tool=tool) from None
    finally:
        for reader in readers:  # gather leaves the other reader running when one fails
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            # asyncio's wait() returns only once the pipes are closed too, and a pipe whose
            # reader stopped at the limit is paused and never sees its end: read them out.
            with contextlib.suppress(TimeoutError, OSError):
                async with asyncio.timeout(_KILL_WAIT):
                    await asyncio.gather(_drain(process.stdout), _drain(process.stderr))
                    await process.wait()
    if code != 0:
        explanation = stderr if explain is None else explain(stdout, stderr)
        raise RenderError(f"{what} failed: {_quote(explanation)}", tool=tool)
    return stdout


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(1 << 16):
        pass


async def _read(stream: asyncio.StreamReader, limit: int, *, fail: bool) -> bytes:
    """Up to ``limit`` bytes; beyond it raise (``fail``) or drain and drop the rest."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(1 << 16):
        if size + len(chunk) > limit:
            if fail:
                raise _TooLarge
            chunk = chunk[: max(0, limit - size)]
        size += len(chunk)
        if chunk:
            chunks.append(chunk)
    return b"".join(chunks)


def _quote(stderr: bytes) -> str:
    """A tool's error text on one line, bounded by cutting out its middle.

    The start says where (helm: the template and line), the end says what. Helm's hint to
    use --debug is dropped: whoever reads this cannot pass flags to it.
    """
    text = _URL_USERINFO.sub(r"\1***@", stderr.decode("utf-8", errors="replace"))
    lines = [line.strip() for line in text.splitlines()]
    text = " ".join(line for line in lines if line and not line.startswith(_HELM_DEBUG_HINT))
    if not text:
        return "no error output"
    if len(text) <= _MESSAGE_LIMIT:
        return text
    head = _MESSAGE_LIMIT * 2 // 5
    return text[:head] + " ... " + text[-(_MESSAGE_LIMIT - head) :]
