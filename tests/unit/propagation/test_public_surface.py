"""The propagation package exports a small, deliberate set of names."""

from __future__ import annotations

import flotilla.propagation


def test_all() -> None:
    assert sorted(flotilla.propagation.__all__) == [
        "ImageReference",
        "MANAGED_BY",
        "MANAGED_BY_LABEL",
        "PLACEMENT_LABEL",
        "RenderError",
        "apply_order",
        "apply_rule",
        "managed_labels",
        "prune_order",
        "render",
        "rule_applies",
        "strip_server_fields",
    ]
    for name in flotilla.propagation.__all__:
        assert hasattr(flotilla.propagation, name)
