"""Builders for scheduling tests: Placements as users write them, clusters as views."""

from __future__ import annotations

import datetime
from typing import Any

from flotilla.api.placement import PlacementSpec

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)


def placement(**spec: Any) -> PlacementSpec:
    """A Placement spec from its wire form (camelCase), selecting Deployments."""
    return PlacementSpec.model_validate(
        {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}], **spec}
    )


def ago(seconds: float) -> datetime.datetime:
    return NOW - datetime.timedelta(seconds=seconds)


DIVIDED = {"type": "Divided"}
