"""What ``flotilla app diff`` prints for one object: live against desired, as a YAML diff. Pure.

Both sides are cleaned of what is not a difference anybody made: the server's bookkeeping
(``managedFields``, ``resourceVersion``, ``uid``, ``generation``, ``creationTimestamp``),
``status``, the controller's digest annotation (``desired.DIGEST_ANNOTATION``) and kubectl's
``last-applied-configuration`` (on a Secret that annotation holds the values themselves).

A Secret's values never reach the text. ``stringData`` is folded into ``data`` (as the API
server does on write), and each key's value becomes a marker: ``UNCHANGED`` on both sides
when the two sides hold the same value, else the live side shows ``HIDDEN`` and the desired
side ``CHANGED``. The diff then says which keys change, never to what.
"""

from __future__ import annotations

import base64
import binascii
import copy
import difflib
from typing import Any

import yaml

from flotilla.gitops.desired import DIGEST_ANNOTATION

NOISE_METADATA = ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp")
NOISE_ANNOTATIONS = (DIGEST_ANNOTATION, "kubectl.kubernetes.io/last-applied-configuration")
CHANGED = "++++++++ (changed)"
UNCHANGED = "******** (unchanged)"
HIDDEN = "********"
"""A live Secret value that git changes (or removes)."""


def object_diff(live: dict[str, Any] | None, desired: dict[str, Any]) -> str:
    """A unified diff from ``live`` (None: not on the cluster) to ``desired``; "" if equal."""
    before = cleaned(live) if live is not None else None
    after = cleaned(desired)
    if _is_secret(desired) or (live is not None and _is_secret(live)):
        before, after = _masked(before, after)
    if before == after:
        return ""
    return "".join(
        difflib.unified_diff(_lines(before), _lines(after), fromfile="live", tofile="desired", n=3)
    )


def cleaned(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` without the fields that are no one's change (see the module docstring)."""
    out = copy.deepcopy(item)
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for name in NOISE_METADATA:
            meta.pop(name, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            for name in NOISE_ANNOTATIONS:
                annotations.pop(name, None)
        if not annotations:
            meta.pop("annotations", None)
        if not meta.get("labels"):
            meta.pop("labels", None)
    return out


def heading(manifest: dict[str, Any]) -> str:
    """``===== apps/Deployment production/web ======``, as ``argocd app diff`` heads an object."""
    group = str(manifest.get("apiVersion") or "").rpartition("/")[0]
    meta = manifest.get("metadata") or {}
    namespace, name = meta.get("namespace") or "", meta.get("name") or ""
    return f"===== {group}/{manifest.get('kind', '')} {namespace}/{name} ======"


def _is_secret(item: dict[str, Any]) -> bool:
    return item.get("kind") == "Secret" and item.get("apiVersion") == "v1"


def _values(secret: dict[str, Any]) -> dict[str, bytes]:
    """The Secret's values as bytes, ``stringData`` winning (undecodable data compares as is)."""
    values: dict[str, bytes] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            values[str(key)] = str(value).encode()
    for key, value in (secret.get("stringData") or {}).items():
        values[str(key)] = str(value).encode()
    return values


def _masked(
    before: dict[str, Any] | None, after: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    old = _values(before) if before is not None else {}
    new = _values(after)
    masked_before = _mask(before, old, new, HIDDEN) if before is not None else None
    return masked_before, _mask(after, new, old, CHANGED)


def _mask(
    item: dict[str, Any], mine: dict[str, bytes], other: dict[str, bytes], marker: str
) -> dict[str, Any]:
    """``item`` with its values replaced: UNCHANGED where ``other`` holds the same, else marker."""
    item.pop("stringData", None)
    item.pop("data", None)
    if mine:
        item["data"] = {
            key: UNCHANGED if other.get(key) == value else marker
            for key, value in sorted(mine.items())
        }
    return item


def _lines(item: dict[str, Any] | None) -> list[str]:
    if item is None:
        return []
    text = yaml.safe_dump(item, sort_keys=True, default_flow_style=False)
    return text.splitlines(keepends=True)


__all__ = [
    "CHANGED",
    "HIDDEN",
    "NOISE_ANNOTATIONS",
    "NOISE_METADATA",
    "UNCHANGED",
    "cleaned",
    "heading",
    "object_diff",
]
