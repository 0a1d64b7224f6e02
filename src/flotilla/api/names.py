"""Typed names, so a cluster name is never confused with any other string."""

from typing import NewType

ClusterName = NewType("ClusterName", str)
