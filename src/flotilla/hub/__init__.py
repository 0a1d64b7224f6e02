"""The hub's side of Flotilla: what ``flotilla hub install`` puts there."""

from flotilla.hub.install import install
from flotilla.hub.manifests import controller_manifests, hub_manifests

__all__ = ["controller_manifests", "hub_manifests", "install"]
