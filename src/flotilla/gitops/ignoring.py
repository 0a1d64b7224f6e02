"""Argo CD's ``ignoreDifferences``: fields of an Application's objects that a comparison
leaves out. Pure.

A rule matches an object by group and kind (and name and namespace when given); its
``jsonPointers`` (RFC 6901: ``/spec/replicas``, ``/data/a~1b``) name fields, and its
``managedFieldsManagers`` the field managers whose fields do not count. Left out of a
comparison means: left out of the digest that says what git wants (a change in git to an
ignored field is no difference either, as in Argo CD) and no drift when someone else owns
them. A sync still writes them unless ``RespectIgnoreDifferences=true``: then they keep the
values the live object has.

Drift is told by field ownership, and ownership of a list's items is the list's (as
server-side apply records it for lists without merge keys): a pointer into a list item
leaves the item's field out of the digest, but another manager owning the list still counts.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flotilla.api.application import ResourceIgnoreDifferences

Path = tuple[str, ...]


class IgnoreError(Exception):
    """A rule Flotilla cannot apply."""


@dataclass(frozen=True)
class Ignored:
    pointers: tuple[Path, ...] = ()
    managers: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.pointers or self.managers)


NOTHING = Ignored()


def check(rules: Sequence[ResourceIgnoreDifferences]) -> None:
    """Refuse what cannot be honoured (rather than compare as if it were)."""
    for number, rule in enumerate(rules):
        if rule.jq_path_expressions:
            raise IgnoreError(
                f"ignoreDifferences[{number}]: jqPathExpressions are not supported; use "
                "jsonPointers"
            )
        for pointer in rule.json_pointers:
            parse(pointer)


def parse(pointer: str) -> Path:
    """An RFC 6901 pointer as a path of keys (list indexes stay strings)."""
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise IgnoreError(f"{pointer[:80]!r} is not a JSON pointer (it starts with /)")
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/"))


def ignored_for(manifest: Mapping[str, Any], rules: Sequence[ResourceIgnoreDifferences]) -> Ignored:
    """What the rules leave out of ``manifest``'s comparison."""
    group = str(manifest.get("apiVersion") or "").rpartition("/")[0]
    meta = manifest.get("metadata") or {}
    pointers: list[Path] = []
    managers: set[str] = set()
    for rule in rules:
        # Group and kind are globs, as in Argo CD ("*" is any).
        if not fnmatch.fnmatchcase(group, rule.group or "") or not fnmatch.fnmatchcase(
            str(manifest.get("kind") or ""), rule.kind
        ):
            continue
        if rule.name and rule.name != meta.get("name"):
            continue
        if rule.namespace and rule.namespace != meta.get("namespace"):
            continue
        pointers += [parse(p) for p in rule.json_pointers]
        managers |= set(rule.managed_fields_managers)
    return Ignored(tuple(p for p in pointers if p), frozenset(managers))


def without(manifest: Mapping[str, Any], pointers: Sequence[Path]) -> dict[str, Any]:
    """A copy of ``manifest`` without the fields at ``pointers`` (absent ones are fine), and
    without the maps that only they filled."""
    out = copy.deepcopy(dict(manifest))
    for path in pointers:
        parent = _at(out, path[:-1])
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif isinstance(parent, list) and path[-1].isdigit() and int(path[-1]) < len(parent):
            parent.pop(int(path[-1]))
        for depth in range(len(path) - 1, 0, -1):  # a map left empty goes too
            holder, here = _at(out, path[: depth - 1]), _at(out, path[:depth])
            if isinstance(holder, dict) and here == {}:
                holder.pop(path[depth - 1], None)
    return out


def respected(
    manifest: Mapping[str, Any], live: Mapping[str, Any] | None, pointers: Sequence[Path]
) -> dict[str, Any]:
    """``manifest`` with the fields at ``pointers`` as ``live`` has them (left out where
    live has none): what a sync with RespectIgnoreDifferences=true writes."""
    if live is None or not pointers:
        return dict(manifest)
    out = copy.deepcopy(dict(manifest))
    for path in pointers:
        value = _at(live, path)
        if value is _MISSING:
            out = without(out, [path])
        else:
            _put(out, path, copy.deepcopy(value))
    return out


def _put(node: Any, path: Path, value: Any) -> None:
    """Set ``path`` in ``node`` to ``value``, making the maps on the way."""
    for key in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return  # nowhere to put it: the manifest's shape differs
    last = path[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value


_MISSING = object()


def _at(node: Any, path: Path) -> Any:
    for key in path:
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return _MISSING
    return node


__all__ = [
    "NOTHING",
    "IgnoreError",
    "Ignored",
    "check",
    "ignored_for",
    "parse",
    "respected",
    "without",
]
