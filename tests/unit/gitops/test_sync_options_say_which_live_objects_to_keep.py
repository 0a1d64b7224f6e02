"""``status.kept_by(option)``: whether a live object's ``argocd.argoproj.io/sync-options``
annotation sets ``option`` to ``false`` (or ``confirm``, which Flotilla keeps too); a
comma-separated list, spaces allowed, other options ignored. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.gitops.status import kept_by

ANNOTATION = "argocd.argoproj.io/sync-options"


def annotated(value: str | None) -> dict[str, Any]:
    annotations = {} if value is None else {ANNOTATION: value}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"annotations": annotations}}


@pytest.mark.parametrize(
    ("value", "prune", "delete"),
    [
        ("Prune=false", True, False),
        ("Delete=false", False, True),
        ("Prune=confirm", True, False),
        ("Delete=confirm", False, True),
        ("PruneLast=true, Delete=false", False, True),
        ("Replace=true,Prune=false,Delete=false", True, True),
        ("Prune=true", False, False),
        ("Delete=true", False, False),
        ("PruneLast=false", False, False),  # another option that starts with "Prune"
        ("ServerSideApply=true", False, False),
        ("", False, False),
        (None, False, False),
    ],
)
def test_kept_by_reads_the_sync_options_annotation(
    value: str | None, prune: bool, delete: bool
) -> None:
    item = annotated(value)
    assert kept_by("Prune")(item) is prune
    assert kept_by("Delete")(item) is delete


def test_an_object_without_metadata_or_annotations_is_not_kept() -> None:
    items: list[dict[str, Any]] = [
        {},
        {"metadata": {}},
        {"metadata": {"annotations": None}},
        {"metadata": None},
    ]
    for item in items:
        assert kept_by("Prune")(item) is False
        assert kept_by("Delete")(item) is False
