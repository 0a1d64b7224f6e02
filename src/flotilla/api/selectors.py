"""Label selectors, as Kubernetes' metav1.LabelSelector, and how they match."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from flotilla.api.meta import Model


class LabelSelectorRequirement(Model):
    key: str = Field(min_length=1, description="Label key.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(
        description="In, NotIn, Exists or DoesNotExist."
    )
    values: list[str] = Field(default_factory=list, description="Values for In and NotIn.")


class LabelSelector(Model):
    """Selects by labels; an empty selector selects everything."""

    match_labels: dict[str, str] = Field(default_factory=dict, description="Exact labels.")
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, description="Set-based requirements, all must hold."
    )

    def matches(self, labels: Mapping[str, str]) -> bool:
        if any(labels.get(key) != value for key, value in self.match_labels.items()):
            return False
        for requirement in self.match_expressions:
            present = requirement.key in labels
            value = labels.get(requirement.key)
            if requirement.operator == "In" and value not in requirement.values:
                return False
            if requirement.operator == "NotIn" and present and value in requirement.values:
                return False
            if requirement.operator == "Exists" and not present:
                return False
            if requirement.operator == "DoesNotExist" and present:
                return False
        return True
