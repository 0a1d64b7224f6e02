"""A rendered manifest stays under the size of an object an API server stores.

Patches can grow a document fast (each ``copy`` of a document into itself doubles it), so
the size is checked before every operation, and the number of operations one manifest gets
over all its rules is capped too. The error names the rule and the patch, never a value.
"""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.api.placement import JsonPatchOperation, OverrideRule
from flotilla.propagation import RenderError, render
from flotilla.propagation.overrides import MAX_MANIFEST_BYTES, MAX_PATCH_OPERATIONS


def config_map(payload: str = "x") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "big", "namespace": "apps"},
        "data": {"payload": payload},
    }


def copies(count: int) -> OverrideRule:
    """A rule whose every patch doubles ``data``."""
    return OverrideRule(
        json_patches=[
            JsonPatchOperation.model_validate(
                {"op": "copy", "from": "/data", "path": f"/data/c{i}"}
            )
            for i in range(count)
        ]
    )


def render_error(template: dict[str, Any], *rules: OverrideRule) -> RenderError:
    with pytest.raises(RenderError) as caught:
        render(
            template,
            placement=("apps", "big"),
            cluster="east",
            replicas=None,
            rules=list(rules),
            cluster_labels={},
        )
    return caught.value


def test_a_copy_that_doubles_the_document_25_times_is_refused_before_it_is_built() -> None:
    error = render_error(config_map(), OverrideRule(), copies(25))

    assert error.rule == 2
    assert str(error).startswith("override rule 2, JSON patch ")
    assert "larger than" in error.reason
    assert str(MAX_MANIFEST_BYTES) in error.reason


def test_a_large_template_copied_a_few_times_is_refused_at_the_patch_that_crosses_the_cap() -> None:
    # 400 kB doubled: 800 kB, 1.6 MB (> 1.5 MiB) at the second copy.
    error = render_error(config_map("s" * 400_000), copies(5))

    assert str(error).startswith("override rule 1, JSON patch 2 (copy /data/c1)")
    assert "s" * 100 not in str(error)


def test_annotations_that_push_the_manifest_past_the_cap_are_refused() -> None:
    big = {f"note-{i}": "a" * 250_000 for i in range(7)}

    error = render_error(config_map(), OverrideRule(annotations=big))

    assert error.rule == 1
    assert "larger than" in error.reason
    assert "a" * 100 not in str(error)


def test_more_patch_operations_than_the_cap_over_all_rules_are_refused() -> None:
    half = MAX_PATCH_OPERATIONS // 2 + 100
    rule = OverrideRule(
        json_patches=[JsonPatchOperation(op="test", path="/kind", value="ConfigMap")] * half
    )

    error = render_error(config_map(), rule, rule)

    assert str(error).startswith(
        f"override rule 2, JSON patch {MAX_PATCH_OPERATIONS - half + 1} (test /kind)"
    )
    assert str(MAX_PATCH_OPERATIONS) in error.reason


def test_a_manifest_just_under_the_cap_renders() -> None:
    template = config_map("s" * (MAX_MANIFEST_BYTES // 2 - 1000))

    manifest = render(
        template,
        placement=("apps", "big"),
        cluster="east",
        replicas=None,
        rules=[copies(1)],
        cluster_labels={},
    )

    assert manifest["data"]["c0"] == template["data"]
