"""Fleet's raw-YAML overlays: per-cluster files laid over a bundle's manifests by file name.

A Fleet bundle of plain manifests may hold ``overlays/<name>/`` directories; fleet.yaml's
``targetCustomizations[].yaml.overlays`` picks some of them, in order, for the clusters a
customization matches. The ``overlays/`` directory itself is never deployed. Each chosen
overlay's files are laid over what the base (and the overlays before it) left:

- a file ``foo.yaml`` (at any depth in the overlay) replaces or adds ``foo.yaml`` at the same
  path in the bundle;
- a file whose name holds ``_patch.`` patches the file named without it
  (``deployment_patch.yaml`` patches ``deployment.yaml``); the patched file must exist and
  hold one object. The patch's content picks the strategy, as Fleet's does: a list is a JSON
  Patch (RFC 6902); a map is a strategic merge patch for kinds Kubernetes knows and a JSON
  merge patch (RFC 7386) for the rest.

Within one overlay, replacements go before patches, so an overlay may both bring a file and
patch it. Unlike Fleet, naming an overlay the bundle does not have is an error, not a
silent no-op: a typo would otherwise deploy the base to the clusters it was meant to change.

In an Application this is a config management plugin source (Argo CD's ``source.plugin``)
named ``fleet-overlays``, built in: parameters ``overlays`` (array) and ``exclude`` (a glob,
as ``directory.exclude``, applied to where files end up, so an overlay cannot bring back
what the source leaves out). Pure but for ``strategic``, which the renderer gives (kubectl),
and bounded: the weight of what is laid, the operations of a JSON patch, the deadline.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import jsonpatch

PLUGIN = "fleet-overlays"
OVERLAYS_DIR = "overlays"
MAX_OVERLAYS = 32
_PATCH_MARK = "_patch."

Strategic = Callable[[str, Mapping[str, Any], Mapping[str, Any]], Any]
"""``(where, original, patch)`` to the strategically merged object, or ``NotImplemented``
when Kubernetes does not know the kind (a merge patch is used then)."""

Parse = Callable[[str, str], list[Any]]
"""``(text, path)`` to the documents of a manifest file (RenderError when it cannot)."""


class OverlayError(Exception):
    """The overlays cannot be laid over the bundle; the message names the file."""


@dataclass(frozen=True)
class PluginOptions:
    overlays: tuple[str, ...]
    exclude: str


def plugin_options(name: str, parameters: Sequence[Mapping[str, Any]]) -> PluginOptions:
    """The options of a ``fleet-overlays`` plugin source (OverlayError when they are wrong)."""
    if name != PLUGIN:
        raise OverlayError(
            f"config management plugin {name[:63]!r} is not available; "
            f"Flotilla has one built in: {PLUGIN}"
        )
    overlays: tuple[str, ...] = ()
    exclude = ""
    for parameter in parameters:
        key = parameter.get("name")
        if key == "overlays":
            values = parameter.get("array")
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise OverlayError(f"{PLUGIN}: parameter overlays takes an array of names")
            overlays = tuple(values)
        elif key == "exclude":
            text = parameter.get("string")
            if not isinstance(text, str):
                raise OverlayError(f"{PLUGIN}: parameter exclude takes a string")
            exclude = text
        else:
            raise OverlayError(f"{PLUGIN}: unknown parameter {str(key)[:63]!r}")
    check_names(overlays)
    return PluginOptions(overlays, exclude)


def check_names(overlays: Sequence[str]) -> None:
    if len(overlays) > MAX_OVERLAYS:
        raise OverlayError(f"more than {MAX_OVERLAYS} overlays")
    for name in overlays:
        if not name or "/" in name or name in (".", "..") or name.startswith("."):
            raise OverlayError(f"overlay {name[:63]!r} is not a directory name")


def is_overlay_file(path: str) -> bool:
    """Whether ``path`` (relative to the bundle) is under ``overlays/``: never deployed."""
    return path == OVERLAYS_DIR or path.startswith(f"{OVERLAYS_DIR}/")


Laid = str | list[Any]
"""A file's text, or the documents of a file a patch made (kept parsed: written back as text
they would be read again differently)."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    """What the laid files may weigh together, patched documents measured as JSON."""
    remaining: Callable[[], float]
    """Seconds left to the render's deadline."""
    max_operations: int = 1000
    """JSON patch operations in one patch file."""


def overlaid(
    files: Mapping[str, str],
    overlays: Sequence[str],
    *,
    parse: Parse,
    strategic: Strategic,
    keep: Callable[[str], bool],
    limits: Limits,
) -> dict[str, Laid]:
    """The bundle's manifest files once ``overlays`` are laid over them (runs in a worker).

    ``files`` holds every manifest file of the bundle, those under ``overlays/`` included.
    The result holds the paths ``keep`` keeps (the source's include and exclude, applied to
    where files end up) and none under ``overlays/``.
    """
    result: dict[str, Laid] = {p: t for p, t in files.items() if not is_overlay_file(p)}
    for name in overlays:
        prefix = f"{OVERLAYS_DIR}/{name}/"
        mine = sorted((p.removeprefix(prefix), t) for p, t in files.items() if p.startswith(prefix))
        if not mine:
            raise OverlayError(f"overlay {name!r}: the bundle has no {prefix} with manifests")
        patches = []
        for path, text in mine:
            target = _patched(path)
            if target is None:
                result[path] = text
            else:
                patches.append((path, target, text))
        for path, target, text in patches:
            if limits.remaining() <= 0:
                raise OverlayError("laying the overlays took longer than the render may")
            where = f"{prefix}{path}"
            if target not in result:
                raise OverlayError(f"{where}: there is no {target} to patch")
            laid = result[target]
            original = _one(parse(laid, target) if isinstance(laid, str) else laid, target)
            patch = _one(parse(text, where), where)
            result[target] = [_apply(where, original, patch, strategic, limits)]
            if _weight(result, limits.max_bytes) > limits.max_bytes:
                raise OverlayError(
                    f"the overlaid manifests are larger than {limits.max_bytes} bytes"
                )
    return {p: laid for p, laid in result.items() if not is_overlay_file(p) and keep(p)}


def _patched(path: str) -> str | None:
    """The file a patch file patches, None for a file that is not a patch."""
    pure = PurePosixPath(path)
    if _PATCH_MARK not in pure.name:
        return None
    return str(pure.with_name(pure.name.replace(_PATCH_MARK, ".", 1)))


def _one(documents: list[Any], where: str) -> Any:
    present = [d for d in documents if d is not None]
    if len(present) != 1:
        raise OverlayError(
            f"{where}: a patched file and a patch hold one document each, not {len(present)}"
        )
    return present[0]


def _apply(where: str, original: Any, patch: Any, strategic: Strategic, limits: Limits) -> Any:
    if not isinstance(original, Mapping):
        raise OverlayError(f"{where}: the file it patches does not hold an object")
    if "items" in original or str(original.get("kind") or "").endswith("List"):
        raise OverlayError(f"{where}: a patch applies to one object, not to a list of them")
    secret = original.get("kind") == "Secret"
    if isinstance(patch, list):
        if len(patch) > limits.max_operations:
            raise OverlayError(f"{where}: more than {limits.max_operations} operations")
        document: Any = copy.deepcopy(dict(original))
        for operation in patch:
            try:
                document = jsonpatch.apply_patch(document, [operation], in_place=True)
            except (
                jsonpatch.JsonPatchException,
                jsonpatch.JsonPointerException,
                TypeError,
                AttributeError,
            ) as exc:
                # jsonpatch quotes values (a failed ``test``, the value it found): not a Secret's
                why = "the object is a Secret" if secret else str(exc)[:300]
                raise OverlayError(f"{where}: the JSON patch does not apply: {why}") from None
            # ``copy`` doubles what it copies: measured after every operation
            if _size(document, limits.max_bytes) > limits.max_bytes:
                raise OverlayError(f"{where}: the patch makes the object larger than allowed")
        return document
    if not isinstance(patch, Mapping):
        raise OverlayError(f"{where}: a patch is a map (a merge patch) or a list (a JSON patch)")
    merged = strategic(where, original, patch) if _maybe_builtin(original) else NotImplemented
    return merge_patch(original, patch) if merged is NotImplemented else merged


def _maybe_builtin(document: Mapping[str, Any]) -> bool:
    """Whether kubectl may know the kind (a strategic merge): the core group, the groups
    without a dot (apps, batch, ...) and ``*.k8s.io`` ones; a CRD's group is asked too
    when it is one of those, and kubectl's refusal then means a merge patch."""
    api_version = document.get("apiVersion")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    return "." not in group or group.endswith(".k8s.io")


def _weight(result: Mapping[str, Laid], limit: int) -> int:
    total = 0
    for laid in result.values():
        total += len(laid.encode()) if isinstance(laid, str) else _size(laid, limit - total)
        if total > limit:
            break
    return total


def _size(root: Any, limit: int) -> int:
    """About what ``root`` weighs as JSON (a lower bound), counted only up to past ``limit``;
    iterative, so depth costs no recursion."""
    total = 0
    stack = [root]
    while stack and total <= limit:
        node = stack.pop()
        total += 1
        if isinstance(node, Mapping):
            total += sum(len(str(key)) for key in node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            total += len(node)
        else:
            total += 8
    return total


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merged, null removes, anything else replaces (copied: the result
    shares nothing with ``patch``)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
