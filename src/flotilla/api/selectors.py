"""Label selectors, as Kubernetes' metav1.LabelSelector, and how they match.

Lengths are Kubernetes' own (a label key is an optional 253-character DNS prefix, ``/``,
and a 63-character name; a value is at most 63 characters); counts are far above honest use
and keep one object's worth of matching cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from flotilla.api.meta import Model

MAX_LABEL_KEY_LENGTH = 317
"""A label key: a DNS subdomain prefix (253), ``/``, and a name (63)."""
MAX_LABEL_VALUE_LENGTH = 63
MAX_SELECTOR_LABELS = 100
"""Entries of ``matchLabels``, and requirements of ``matchExpressions``."""
MAX_SELECTOR_VALUES = 100
"""Values of one ``In`` or ``NotIn`` requirement."""

LabelValue = Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE_LENGTH)]


class LabelSelectorRequirement(Model):
    key: str = Field(min_length=1, max_length=MAX_LABEL_KEY_LENGTH, description="Label key.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(
        description="In, NotIn, Exists or DoesNotExist."
    )
    values: list[LabelValue] = Field(
        default_factory=list, max_length=MAX_SELECTOR_VALUES, description="Values for In and NotIn."
    )


class LabelSelector(Model):
    """Selects by labels; an empty selector selects everything."""

    match_labels: dict[str, LabelValue] = Field(
        default_factory=dict, max_length=MAX_SELECTOR_LABELS, description="Exact labels."
    )
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list,
        max_length=MAX_SELECTOR_LABELS,
        description="Set-based requirements, all must hold.",
    )

    def matches(self, labels: Mapping[str, str]) -> bool:
        return not self.mismatch(labels)

    def mismatch(self, labels: Mapping[str, str]) -> str:
        """Why ``labels`` do not match (the first requirement they fail); "" when they do."""

        def has(key: str) -> str:
            return f"has {key}={labels[key]}" if key in labels else f"has no label {key}"

        for key, value in self.match_labels.items():
            if labels.get(key) != value:
                return f"{key}={value} is asked and it {has(key)}"
        for requirement in self.match_expressions:
            key, values = requirement.key, requirement.values
            present = key in labels
            found = labels.get(key)
            shown = ", ".join(values)
            if requirement.operator == "In" and found not in values:
                return f"{key} in ({shown}) is asked and it {has(key)}"
            if requirement.operator == "NotIn" and present and found in values:
                return f"{key} notin ({shown}) is asked and it {has(key)}"
            if requirement.operator == "Exists" and not present:
                return f"label {key} is asked and it {has(key)}"
            if requirement.operator == "DoesNotExist" and present:
                return f"no label {key} is asked and it {has(key)}"
        return ""
