"""No live object is Missing; a kind without rules has no health; deleting is Progressing."""

from __future__ import annotations

from flotilla.gitops.health import MISSING, PROGRESSING, Health, health_of


def test_no_live_object_is_missing() -> None:
    assert health_of(None) == Health(MISSING)


def test_kinds_without_rules_have_no_health() -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
    widget = {"apiVersion": "example.com/v1", "kind": "Deployment", "metadata": {"name": "w"}}
    assert health_of(config_map) is None
    assert health_of(widget) is None  # a Deployment of another group is not apps' Deployment


def test_an_object_being_deleted_is_progressing_whatever_its_kind() -> None:
    metadata = {
        "name": "settings",
        "deletionTimestamp": "2024-05-01T10:00:00Z",
        "finalizers": ["example.com/cleanup"],
    }
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}
    assert health_of(config_map) == Health(PROGRESSING, "Pending deletion")
