"""Propagation: templates rendered per cluster, applied to members, pruned and kept in place.

The rendering step is pure (``render``, ``overrides``) so that the controller and
``flotilla placement preview`` compute exactly the same manifests.
"""

from flotilla.propagation.overrides import ImageReference, RenderError, apply_rule, rule_applies
from flotilla.propagation.render import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    PLACEMENT_LABEL,
    apply_order,
    managed_labels,
    prune_order,
    render,
    strip_server_fields,
)

__all__ = [
    "MANAGED_BY",
    "MANAGED_BY_LABEL",
    "PLACEMENT_LABEL",
    "ImageReference",
    "RenderError",
    "apply_order",
    "apply_rule",
    "managed_labels",
    "prune_order",
    "render",
    "rule_applies",
    "strip_server_fields",
]
