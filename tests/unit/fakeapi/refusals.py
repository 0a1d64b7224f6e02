"""Refusals: the ``Status`` answers a real server gives, with its codes, reasons and messages."""

from __future__ import annotations

from typing import Any

from tests.unit.fakeapi.fields import Entry, Path
from tests.unit.fakeapi.paths import Target
from tests.unit.fakeapi.wire import status


class Refused(Exception):
    """A request the server refuses; ``body`` is the ``Status`` it answers with."""

    def __init__(self, code: int, reason: str, message: str, **details: Any) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.body = status(code, reason, message, **details)


def not_served() -> Refused:
    return Refused(404, "NotFound", "the server could not find the requested resource")


def not_found(target: Target) -> Refused:
    return Refused(
        404, "NotFound", f'{target.qualified} "{target.name}" not found',
        name=target.name, group=target.group, kind=target.plural,
    )  # fmt: skip


def conflict(target: Target) -> Refused:
    return Refused(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {target.qualified} "{target.name}": the object has '
        "been modified; please apply your changes to the latest version and try again",
        name=target.name, group=target.group, kind=target.plural,
    )  # fmt: skip


def apply_conflict(target: Target, conflicts: list[tuple[Entry, Path]]) -> Refused:
    causes = [
        {
            "type": "FieldManagerConflict",
            "message": f'conflict with "{entry.manager}" using {entry.api_version}',
            "field": "." + ".".join(path),
        }
        for entry, path in conflicts
    ]
    listed = "; ".join(f"{cause['message']}: {cause['field']}" for cause in causes)
    plural = "conflict" if len(causes) == 1 else "conflicts"
    return Refused(
        409, "Conflict", f"Apply failed with {len(causes)} {plural}: {listed}",
        name=target.name, group=target.group, kind=target.plural, causes=causes,
    )  # fmt: skip
