"""Shared pieces of Flotilla's kinds: the model base, conditions, object references.

Models are pydantic, with camelCase names on the wire. They are the one source of truth
for a kind: the CRD's OpenAPI schema is generated from them (``flotilla.api.crds``), and
controllers parse what they read with them. Unknown fields are ignored when reading, so
an older controller does not choke on a newer object.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "flotilla.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
SYSTEM_NAMESPACE = "flotilla-system"

ConditionStatus = Literal["True", "False", "Unknown"]


class Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=False
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict, camelCase, without unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Condition(Model):
    """The state of one aspect of an object, as Kubernetes' metav1.Condition."""

    type: str = Field(description="Type of the condition, e.g. Ready.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(description="CamelCase reason for the last transition.", default="")
    message: str = Field(description="Human-readable details.", default="")
    last_transition_time: datetime.datetime | None = Field(
        description="When the status last changed.", default=None
    )
    observed_generation: int | None = Field(
        description="The .metadata.generation the condition was set for.", default=None
    )


def set_condition(
    conditions: list[Condition],
    *,
    type: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    now: datetime.datetime,
    observed_generation: int | None = None,
) -> bool:
    """Set ``type`` in ``conditions``; keep its transition time if the status is the same.

    ``observed_generation`` is the ``.metadata.generation`` the condition was decided for
    (None: not tracked); a new generation alone is a change, as in ``meta.SetStatusCondition``.
    Returns True when anything changed.
    """
    wanted = (status, reason, message, observed_generation)
    for index, existing in enumerate(conditions):
        if existing.type != type:
            continue
        current = (existing.status, existing.reason, existing.message, existing.observed_generation)
        if current == wanted:
            return False
        transition = existing.last_transition_time if existing.status == status else now
        conditions[index] = Condition(
            type=type,
            status=status,
            reason=reason,
            message=message,
            last_transition_time=transition,
            observed_generation=observed_generation,
        )
        return True
    conditions.append(
        Condition(
            type=type,
            status=status,
            reason=reason,
            message=message,
            last_transition_time=now,
            observed_generation=observed_generation,
        )
    )
    return True


def find_condition(conditions: list[Condition], type: str) -> Condition | None:
    return next((c for c in conditions if c.type == type), None)
