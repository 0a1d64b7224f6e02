"""Flotilla's vocabulary: names and, later, the flotilla.io/v1alpha1 kinds.

The bottom layer: it imports nothing else of Flotilla.
"""

from flotilla.api.names import ClusterName

__all__ = ["ClusterName"]
