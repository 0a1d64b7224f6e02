"""Who owns which field: ``metadata.managedFields`` as a real server keeps it.

A field set is a set of paths to leaves: a scalar, a list, or an empty map. Its wire form,
``fieldsV1``, nests them: ``{"f:spec": {"f:replicas": {}}}``. Two simplifications against
a real server, invisible to a reader that stops at lists (as Flotilla's drift check does):
lists are atomic (a real server tracks items of keyed lists such as ``containers`` one by
one, ``k:{"name":"app"}``), and maps carry no ``"."`` entry of their own.

The rules kept are those a controller relies on:

- an update (create, PUT, merge or JSON patch) takes the fields whose values it changed
  from whoever owned them;
- an apply owns exactly the fields of its body; a field another manager owns with a
  different value is a conflict, which ``force`` takes over; a field the manager applied
  before and no longer applies is removed, unless someone else owns it too.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

Path = tuple[str, ...]


class _Missing:
    """Where a path leads nowhere; it survives ``copy.deepcopy`` as itself."""

    def __repr__(self) -> str:
        return "MISSING"

    def __deepcopy__(self, memo: dict[int, Any]) -> _Missing:
        return self


MISSING: Any = _Missing()

SERVER_FIELDS: frozenset[Path] = frozenset(
    {("apiVersion",), ("kind",)}
    | {
        ("metadata", name)
        for name in (
            "name",
            "namespace",
            "generateName",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
            "selfLink",
        )
    }
)
"""Fields no manager owns: identity and what the server itself keeps."""


def leaves(obj: Any, prefix: Path = ()) -> set[Path]:
    """The field set of ``obj``: every path to a leaf, less ``SERVER_FIELDS``."""
    if not (isinstance(obj, dict) and obj):
        return {prefix} if prefix else set()
    found: set[Path] = set()
    for key, value in obj.items():
        path = (*prefix, key)
        if path not in SERVER_FIELDS:
            found |= leaves(value, path)
    return found


def value_at(obj: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return MISSING
        obj = obj[key]
    return obj


def remove(obj: dict[str, Any], path: Path, *, keep: set[Path]) -> None:
    """Delete ``path`` from ``obj``, then the maps it leaves empty unless ``keep`` has them."""
    parents = [obj]
    for key in path[:-1]:
        child = parents[-1].get(key)
        if not isinstance(child, dict):
            return
        parents.append(child)
    parents[-1].pop(path[-1], None)
    for depth in range(len(path) - 1, 0, -1):
        if parents[depth] or path[:depth] in keep:
            return
        parents[depth - 1].pop(path[depth - 1], None)


def overlap(a: Path, b: Path) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return root


def from_fields_v1(node: dict[str, Any], prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    for key, child in node.items():
        if key == ".":
            continue
        if not key.startswith("f:"):  # an item of a list (k:, v:, i:): the list as a whole
            return {prefix}
        paths |= from_fields_v1(child or {}, (*prefix, key[2:]))
    return paths or ({prefix} if prefix else set())


@dataclass
class Entry:
    manager: str
    operation: str
    """``Apply`` or ``Update``."""
    subresource: str
    api_version: str
    time: str
    fields: set[Path]


class Ownership:
    """The managedFields of one object, changed by one write."""

    def __init__(self, managed_fields: list[dict[str, Any]] | None, *, now: str) -> None:
        self.now = now
        self.entries = [
            Entry(
                manager=str(raw.get("manager", "")),
                operation=str(raw.get("operation", "Update")),
                subresource=str(raw.get("subresource", "")),
                api_version=str(raw.get("apiVersion", "")),
                time=str(raw.get("time", "")),
                fields=from_fields_v1(raw.get("fieldsV1") or {}),
            )
            for raw in managed_fields or []
        ]
        self._before = [(entry.manager, frozenset(entry.fields)) for entry in self.entries]

    def entry(self, manager: str, operation: str, subresource: str, api_version: str) -> Entry:
        for entry in self.entries:
            if (entry.manager, entry.operation, entry.subresource) == (
                manager,
                operation,
                subresource,
            ):
                entry.api_version = api_version
                return entry
        entry = Entry(manager, operation, subresource, api_version, self.now, set())
        self.entries.append(entry)
        return entry

    def update(self, entry: Entry, old: dict[str, Any], new: dict[str, Any]) -> None:
        """``entry`` changed ``old`` into ``new``: it takes every field whose value changed."""
        changed = {path for path in leaves(new) if value_at(old, path) != value_at(new, path)}
        removed = {path for path in leaves(old) if value_at(new, path) is MISSING}
        touched = changed | removed
        for other in self.entries:
            other.fields = {q for q in other.fields if not any(overlap(q, p) for p in touched)}
        entry.fields |= changed

    def conflicts(
        self, manager: str, applied: set[Path], live: dict[str, Any], body: dict[str, Any]
    ) -> list[tuple[Entry, Path]]:
        """Fields of ``body`` that another manager owns with a different live value."""
        found = []
        for other in self.entries:
            if other.manager == manager:
                continue
            for owned in sorted(other.fields):
                for path in applied:
                    deeper = path if len(path) >= len(owned) else owned
                    if overlap(owned, path) and value_at(live, deeper) != value_at(body, deeper):
                        found.append((other, owned))
                        break
        return found

    def owned_by_others(self, entry: Entry, path: Path) -> bool:
        return any(
            overlap(path, owned)
            for other in self.entries
            if other is not entry
            for owned in other.fields
        )

    def all_fields(self) -> set[Path]:
        return {path for entry in self.entries for path in entry.fields}

    def to_wire(self) -> list[dict[str, Any]]:
        wire = []
        before = dict(enumerate(self._before))
        for index, entry in enumerate(self.entries):
            if not entry.fields:
                continue
            if before.get(index) != (entry.manager, frozenset(entry.fields)):
                entry.time = self.now
            raw: dict[str, Any] = {
                "manager": entry.manager,
                "operation": entry.operation,
                "apiVersion": entry.api_version,
                "time": entry.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_fields_v1(entry.fields),
            }
            if entry.subresource:
                raw["subresource"] = entry.subresource
            wire.append(copy.deepcopy(raw))
        return wire
