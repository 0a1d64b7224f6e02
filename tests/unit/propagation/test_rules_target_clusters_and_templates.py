"""A rule is for the clusters it targets and the templates it selects; empty means all."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.api.placement import ClusterAffinity, OverrideRule, ResourceSelector
from flotilla.api.selectors import LabelSelector, LabelSelectorRequirement
from flotilla.propagation import render, rule_applies

TEMPLATE: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"tier": "front"}},
    "spec": {"replicas": 1},
}
LABELS = {"region": "eu", "env": "prod"}


def applies(rule: OverrideRule, cluster: str = "east", labels: dict[str, str] = LABELS) -> bool:
    return rule_applies(rule, cluster=cluster, cluster_labels=labels, template=TEMPLATE)


def test_an_empty_rule_applies_everywhere() -> None:
    assert applies(OverrideRule())
    assert applies(OverrideRule(target_clusters=ClusterAffinity()))


def test_cluster_names() -> None:
    rule = OverrideRule(target_clusters=ClusterAffinity(cluster_names=["east", "west"]))

    assert applies(rule, "east")
    assert not applies(rule, "north")


def test_cluster_labels() -> None:
    selector = LabelSelector(
        match_labels={"region": "eu"},
        match_expressions=[LabelSelectorRequirement(key="env", operator="In", values=["prod"])],
    )
    rule = OverrideRule(target_clusters=ClusterAffinity(label_selector=selector))

    assert applies(rule, labels={"region": "eu", "env": "prod"})
    assert not applies(rule, labels={"region": "eu", "env": "dev"})
    assert not applies(rule, labels={})


def test_exclusions_win_over_names_and_labels() -> None:
    rule = OverrideRule(
        target_clusters=ClusterAffinity(
            cluster_names=["east", "west"],
            label_selector=LabelSelector(match_labels={"region": "eu"}),
            exclude_clusters=["east"],
        )
    )

    assert not applies(rule, "east")
    assert applies(rule, "west")


def test_names_and_labels_must_both_allow_the_cluster() -> None:
    rule = OverrideRule(
        target_clusters=ClusterAffinity(
            cluster_names=["east"], label_selector=LabelSelector(match_labels={"region": "us"})
        )
    )

    assert not applies(rule, "east")


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        (ResourceSelector(api_version="apps/v1", kind="Deployment"), True),
        (ResourceSelector(api_version="apps/v1", kind="Deployment", name="web"), True),
        (ResourceSelector(api_version="apps/v1", kind="Deployment", name="api"), False),
        (ResourceSelector(api_version="apps/v1", kind="StatefulSet"), False),
        (ResourceSelector(api_version="extensions/v1beta1", kind="Deployment"), False),
        (
            ResourceSelector(
                api_version="apps/v1",
                kind="Deployment",
                label_selector=LabelSelector(match_labels={"tier": "front"}),
            ),
            True,
        ),
        (
            ResourceSelector(
                api_version="apps/v1",
                kind="Deployment",
                label_selector=LabelSelector(match_labels={"tier": "back"}),
            ),
            False,
        ),
    ],
)
def test_template_selectors(selector: ResourceSelector, selected: bool) -> None:
    assert applies(OverrideRule(resource_selectors=[selector])) is selected


def test_any_one_template_selector_is_enough() -> None:
    rule = OverrideRule(
        resource_selectors=[
            ResourceSelector(api_version="v1", kind="ConfigMap"),
            ResourceSelector(api_version="apps/v1", kind="Deployment", name="web"),
        ]
    )

    assert applies(rule)


def test_render_applies_only_the_rules_for_the_cluster_in_order() -> None:
    rules = [
        OverrideRule(labels={"rule": "all"}),
        OverrideRule(
            target_clusters=ClusterAffinity(cluster_names=["west"]), labels={"rule": "west"}
        ),
        OverrideRule(
            target_clusters=ClusterAffinity(label_selector=LabelSelector(match_labels=LABELS)),
            labels={"rule": "eu-prod"},
            annotations={"note": "eu"},
        ),
    ]

    east = render(
        TEMPLATE,
        placement=("shop", "web"),
        cluster="east",
        replicas=None,
        rules=rules,
        cluster_labels=LABELS,
    )
    west = render(
        TEMPLATE,
        placement=("shop", "web"),
        cluster="west",
        replicas=None,
        rules=rules,
        cluster_labels={},
    )

    assert east["metadata"]["labels"]["rule"] == "eu-prod"
    assert east["metadata"]["annotations"] == {"note": "eu"}
    assert west["metadata"]["labels"]["rule"] == "west"
    assert "annotations" not in west["metadata"]
