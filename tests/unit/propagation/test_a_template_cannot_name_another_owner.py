"""A template that carries another owner's label (a Placement's or an Application's) is
rendered with this Placement's alone: on a member it never looks owned by someone else, so
the ownership check cannot be talked past and the other owner cannot prune it."""

from __future__ import annotations

from flotilla.api.labels import APPLICATION_LABEL, OWNER_LABELS, PLACEMENT_LABEL, owner_of
from flotilla.propagation import render


def test_owner_labels_of_the_template_are_replaced_by_this_placements() -> None:
    template = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "settings",
            "namespace": "shop",
            "labels": {
                "app": "web",
                PLACEMENT_LABEL: "other.victim",
                APPLICATION_LABEL: "argocd.victim",
            },
        },
    }
    result = render(
        template, placement=("shop", "web"), cluster="m1", replicas=None, rules=[],
        cluster_labels={},
    )  # fmt: skip
    labels = result["metadata"]["labels"]
    assert labels["app"] == "web"
    assert {k: v for k, v in labels.items() if k in OWNER_LABELS} == {PLACEMENT_LABEL: "shop.web"}
    assert owner_of(result) == "placement shop.web"
