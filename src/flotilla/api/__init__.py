"""Flotilla's vocabulary: names and the flotilla.io/v1alpha1 kinds.

The bottom layer: it imports nothing else of Flotilla.
"""

from flotilla.api.cluster import UNREACHABLE_TAINT, ClusterSpec, ClusterStatus, SecretKeyRef, Taint
from flotilla.api.crds import KindInfo, crd
from flotilla.api.kinds import ALL_KINDS, CLUSTER, OVERRIDE, PLACEMENT
from flotilla.api.meta import (
    API_VERSION,
    GROUP,
    SYSTEM_NAMESPACE,
    VERSION,
    Condition,
    find_condition,
    set_condition,
)
from flotilla.api.names import ClusterName

__all__ = [
    "ALL_KINDS",
    "API_VERSION",
    "CLUSTER",
    "GROUP",
    "OVERRIDE",
    "PLACEMENT",
    "SYSTEM_NAMESPACE",
    "UNREACHABLE_TAINT",
    "VERSION",
    "ClusterName",
    "ClusterSpec",
    "ClusterStatus",
    "Condition",
    "KindInfo",
    "SecretKeyRef",
    "Taint",
    "crd",
    "find_condition",
    "set_condition",
]
