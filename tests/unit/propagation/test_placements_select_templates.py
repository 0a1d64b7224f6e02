"""A Placement selects the templates of its own namespace, each once, in a stable order."""

from __future__ import annotations

from typing import Any

from flotilla.api.placement import ResourceSelector
from flotilla.api.selectors import LabelSelector
from flotilla.propagation.planning import selected


def template(kind: str, name: str, namespace: str = "apps", **labels: str) -> dict[str, Any]:
    api_version = "apps/v1" if kind == "Deployment" else "v1"
    metadata = {"name": name, "namespace": namespace, "labels": labels}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def names(templates: list[dict[str, Any]]) -> list[str]:
    return [f"{t['kind']}/{t['metadata']['name']}" for t in templates]


def test_two_selectors_that_match_one_template_select_it_once_in_sorted_order() -> None:
    config_maps = [template("ConfigMap", "b", tier="web"), template("ConfigMap", "a")]
    by_name = ResourceSelector.model_validate(
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "b"}
    )
    by_label = ResourceSelector(
        api_version="v1",
        kind="ConfigMap",
        label_selector=LabelSelector(match_labels={"tier": "web"}),
    )
    every = ResourceSelector(api_version="v1", kind="ConfigMap")
    assert names(selected("apps", [(by_name, config_maps), (by_label, config_maps)])) == [
        "ConfigMap/b"
    ]
    assert names(selected("apps", [(every, config_maps)])) == ["ConfigMap/a", "ConfigMap/b"]


def test_templates_of_other_namespaces_or_being_deleted_are_not_selected() -> None:
    going = template("Deployment", "going")
    going["metadata"]["deletionTimestamp"] = "2026-11-23T00:00:00Z"
    items = [template("Deployment", "web"), template("Deployment", "web", "other"), going]
    every = ResourceSelector(api_version="apps/v1", kind="Deployment")
    assert names(selected("apps", [(every, items)])) == ["Deployment/web"]
