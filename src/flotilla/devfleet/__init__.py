"""The local fleet of real Kubernetes control planes that tests, demo and benchmarks share."""

from __future__ import annotations

import os
from pathlib import Path

from flotilla.devfleet.binaries import MissingBinaries, find_binaries
from flotilla.devfleet.fleet import ClusterStatus, FaultAction, Fleet, FleetError, FleetStatus
from flotilla.devfleet.topology import (
    DEFAULT_MEMBERS,
    HUB,
    MAX_MEMBERS,
    LocalCluster,
    fleet_topology,
)


def default_directory() -> Path:
    """``$FLOTILLA_DEV_DIR``, else ``$XDG_STATE_HOME/flotilla/dev`` (``~/.local/state``)."""
    if os.environ.get("FLOTILLA_DEV_DIR"):
        return Path(os.environ["FLOTILLA_DEV_DIR"])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "flotilla" / "dev"


__all__ = [
    "DEFAULT_MEMBERS",
    "HUB",
    "MAX_MEMBERS",
    "ClusterStatus",
    "FaultAction",
    "Fleet",
    "FleetError",
    "FleetStatus",
    "LocalCluster",
    "MissingBinaries",
    "default_directory",
    "find_binaries",
    "fleet_topology",
]
