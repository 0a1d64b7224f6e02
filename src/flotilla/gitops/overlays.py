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
as ``directory.exclude``). Pure but for ``strategic``, which the renderer gives (kubectl).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import jsonpatch

PLUGIN = "fleet-overlays"
OVERLAYS_DIR = "overlays"
MAX_OVERLAYS = 32
_PATCH_MARK = "_patch."

Strategic = Callable[[str, Mapping[str, Any], Mapping[str, Any]], Awaitable[Any]]
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


async def overlaid(
    files: Mapping[str, str],
    overlays: Sequence[str],
    *,
    parse: Parse,
    strategic: Strategic,
) -> dict[str, str]:
    """The bundle's manifest files (path to text) once ``overlays`` are laid over them.

    ``files`` holds every manifest file of the bundle, those under ``overlays/`` included;
    none of those is in the result.
    """
    result = {path: text for path, text in files.items() if not is_overlay_file(path)}
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
            where = f"{prefix}{path}"
            if target not in result:
                raise OverlayError(f"{where}: there is no {target} to patch")
            original = _one(parse(result[target], target), target)
            patch = _one(parse(text, where), where)
            patched = await _apply(where, original, patch, strategic)
            result[target] = json.dumps(patched, sort_keys=True)
    return result


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


async def _apply(where: str, original: Any, patch: Any, strategic: Strategic) -> Any:
    if not isinstance(original, Mapping):
        raise OverlayError(f"{where}: the file it patches does not hold an object")
    if isinstance(patch, list):
        try:
            return jsonpatch.apply_patch(dict(original), patch)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as exc:
            # jsonpatch quotes values (a failed ``test`` the value it found): not a Secret's
            why = "the object is a Secret" if original.get("kind") == "Secret" else str(exc)
            raise OverlayError(f"{where}: the JSON patch does not apply: {why}") from None
    if not isinstance(patch, Mapping):
        raise OverlayError(f"{where}: a patch is a map (a merge patch) or a list (a JSON patch)")
    merged = await strategic(where, original, patch)
    return merge_patch(original, patch) if merged is NotImplemented else merged


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
