"""Planning is pure, so the controller may run it in a worker thread: it changes none of
its inputs (informer caches, parsed specs), and what it returns shares nothing mutable
with them."""

from __future__ import annotations

import concurrent.futures
import copy
import datetime
from typing import Any

from flotilla.api.placement import OverrideRule, PlacementSpec
from flotilla.placement import ClusterView
from flotilla.propagation.planning import plan

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps", "labels": {"app": "web"}},
        "spec": {
            "replicas": 4,
            "template": {"spec": {"containers": [{"name": "app", "image": "app:v1"}]}},
        },
    }


SPEC = PlacementSpec.model_validate(
    {
        "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
        "replicaScheduling": {"type": "Divided"},
    }
)
RULES = [
    OverrideRule.model_validate(
        {
            "jsonPatches": [
                {"op": "add", "path": "/spec/template/spec/volumes", "value": []},
                {"op": "add", "path": "/spec/template/spec/volumes/-", "value": {"name": "v"}},
                {"op": "copy", "from": "/metadata/labels", "path": "/spec/template/metadata"},
            ],
            "labels": {"tier": "front"},
            "imageOverrides": [{"component": "Registry", "value": "mirror.example"}],
        }
    )
]
VIEWS = [ClusterView(name=name) for name in ("east", "west", "north")]


def run() -> Any:
    return plan(
        SPEC,
        [deployment()],
        VIEWS,
        placement=("apps", "web"),
        rules=RULES,
        previous={},
        now=NOW,
    )


def test_plan_changes_none_of_its_inputs() -> None:
    templates = [deployment()]
    rules_before = [rule.model_dump() for rule in RULES]
    spec_before = SPEC.model_dump()

    plan(SPEC, templates, VIEWS, placement=("apps", "web"), rules=RULES, previous={}, now=NOW)

    assert templates == [deployment()]
    assert [rule.model_dump() for rule in RULES] == rules_before
    assert SPEC.model_dump() == spec_before


def test_every_cluster_gets_its_own_copy_of_what_a_rule_adds() -> None:
    result = run()
    east, west = result.desired["east"][0], result.desired["west"][0]

    east["spec"]["template"]["spec"]["volumes"].append({"name": "extra"})

    assert west["spec"]["template"]["spec"]["volumes"] == [{"name": "v"}]
    assert run().desired["east"][0]["spec"]["template"]["spec"]["volumes"] == [{"name": "v"}]


def test_plans_in_threads_equal_a_plan_on_the_loop() -> None:
    expected = copy.deepcopy(run().desired)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: run().desired, range(32)))

    assert all(result == expected for result in results)
