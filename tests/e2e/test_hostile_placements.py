"""Hostile input, end to end: Placements and Overrides at and past every limit.

Past a limit, the hub's API server refuses the object (the CRD's schema); at a limit, or
where only rendering can tell, the Placement says what is wrong in its conditions and
nothing reaches the members. Either way the controller stays alive and the canary
Placement does not move.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from flotilla.kube import Invalid, resource_path
from tests.e2e.controllers import ControllerProcess
from tests.e2e.hostile import (
    Canary,
    applied,
    configmap_path,
    is_,
    on_members,
    own_namespace,
    placed_canary,
    placement_path,
    unharmed,
    wait_status,
)
from tests.e2e.localfleet import LocalFleet
from tests.e2e.placements import HUB, PLACEMENTS, condition, config_map, create, placement

OVERRIDES = f"{PLACEMENTS}/namespaces/{{namespace}}/overrides"


@pytest.fixture(scope="module")
async def canary(fleet: LocalFleet, propagating: ControllerProcess) -> AsyncIterator[Canary]:
    async with placed_canary(fleet) as placed:
        yield placed


@pytest.fixture
async def space(fleet: LocalFleet) -> AsyncIterator[str]:
    async with own_namespace(fleet) as namespace:
        yield namespace


def _spec(fleet: LocalFleet, **extra: Any) -> dict[str, Any]:
    return {
        "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
        "clusterAffinity": {"clusterNames": [fleet.members[0].name]},
        **extra,
    }


def _rule(**fields: Any) -> dict[str, Any]:
    return {"overrides": [fields]}


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """Set a dotted path of the spec (numbers index lists)."""

    def mutate(spec: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = spec
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


SELECTOR = {"apiVersion": "v1", "kind": "ConfigMap"}
REFUSED_PLACEMENTS: dict[str, tuple[Mutation, str]] = {
    # case: (how the spec is broken, a fragment of the API server's refusal)
    "101-resource-selectors": (
        _set("resourceSelectors", [dict(SELECTOR, name=f"c{i}") for i in range(101)]),
        "spec.resourceSelectors: Too many",
    ),
    "no-resource-selectors": (_set("resourceSelectors", []), "spec.resourceSelectors"),
    "selector-name-254-chars": (
        _set("resourceSelectors", [dict(SELECTOR, name="a" * 254)]),
        "spec.resourceSelectors[0].name: Too long",
    ),
    "selector-kind-64-chars": (
        _set("resourceSelectors", [dict(SELECTOR, kind="K" * 64)]),
        "spec.resourceSelectors[0].kind: Too long",
    ),
    "replica-scheduling-type-tripled": (
        _set("replicaScheduling", {"type": "Tripled"}),
        "spec.replicaScheduling.type: Unsupported value",
    ),
    "weighting-guessed": (
        _set("replicaScheduling", {"type": "Divided", "weighting": "Guessed"}),
        "spec.replicaScheduling.weighting: Unsupported value",
    ),
    "toleration-operator-maybe": (
        _set("tolerations", [{"key": "a", "operator": "Maybe"}]),
        "spec.tolerations[0].operator: Unsupported value",
    ),
    "toleration-effect-evict": (
        _set("tolerations", [{"key": "a", "operator": "Exists", "effect": "Evict"}]),
        "spec.tolerations[0].effect: Unsupported value",
    ),
    "deletion-policy-shred": (
        _set("deletionPolicy", "Shred"),
        "spec.deletionPolicy: Unsupported value",
    ),
    "json-patch-op-steal": (
        _set("overrides", [{"jsonPatches": [{"op": "steal", "path": "/data"}]}]),
        "spec.overrides[0].jsonPatches[0].op: Unsupported value",
    ),
    "image-component-everything": (
        _set("overrides", [{"imageOverrides": [{"component": "Everything"}]}]),
        "spec.overrides[0].imageOverrides[0].component: Unsupported value",
    ),
    "replicas-pin-below-zero": (
        _set("overrides", [{"replicas": -1}]),
        "spec.overrides[0].replicas",
    ),
    "max-clusters-zero": (_set("maxClusters", 0), "spec.maxClusters"),
    "max-delete-percent-101": (
        _set("deletionGuard", {"maxDeletePercent": 101}),
        "spec.deletionGuard.maxDeletePercent",
    ),
    "static-weight-negative": (
        _set("replicaScheduling", {"type": "Divided", "staticWeights": [{"weight": -5}]}),
        "spec.replicaScheduling.staticWeights[0].weight",
    ),
    "101-override-rules": (
        _set("overrides", [{"labels": {"a": "b"}} for _ in range(101)]),
        "spec.overrides: Too many",
    ),
    "1001-json-patches": (
        _set(
            "overrides",
            [
                {
                    "jsonPatches": [
                        {"op": "add", "path": f"/data/k{i}", "value": "v"} for i in range(1001)
                    ]
                }
            ],
        ),
        "spec.overrides[0].jsonPatches: Too many",
    ),
    "17-spread-constraints": (
        _set("spreadConstraints", [{"topologyKey": f"k{i}"} for i in range(17)]),
        "spec.spreadConstraints: Too many",
    ),
    "1001-cluster-names": (
        _set("clusterAffinity", {"clusterNames": [f"c{i}" for i in range(1001)]}),
        "spec.clusterAffinity.clusterNames: Too many",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED_PLACEMENTS))
async def test_a_placement_past_a_limit_is_refused_by_the_hub(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str, case: str
) -> None:
    mutate, refusal = REFUSED_PLACEMENTS[case]
    spec = _spec(fleet)
    mutate(spec)
    async with fleet.client(HUB) as hub:
        with pytest.raises(Invalid) as refused:
            await create(hub, space, placement("past", spec))
        assert refusal in str(refused.value), str(refused.value)[:2000]
        listed = await hub.get(placement_path(space))
    assert listed["items"] == []
    await unharmed(fleet, canary, propagating)


async def test_a_placement_name_of_254_characters_is_refused_by_the_hub(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    async with fleet.client(HUB) as hub:
        with pytest.raises(Invalid) as refused:
            await create(hub, space, placement("p" * 254, _spec(fleet)))
    assert "metadata.name" in str(refused.value)
    await unharmed(fleet, canary, propagating)


REFUSED_OVERRIDES: dict[str, tuple[list[dict[str, Any]], str]] = {
    "no-rules": ([], "spec.rules"),
    "101-rules": ([{"labels": {"a": "b"}}] * 101, "spec.rules: Too many"),
    "replicas-below-zero": ([{"replicas": -3}], "spec.rules[0].replicas"),
    "op-steal": ([{"jsonPatches": [{"op": "steal", "path": "/x"}]}], "Unsupported value"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_OVERRIDES))
async def test_an_override_past_a_limit_is_refused_by_the_hub(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str, case: str
) -> None:
    rules, refusal = REFUSED_OVERRIDES[case]
    body = {
        "apiVersion": "flotilla.io/v1alpha1",
        "kind": "Override",
        "metadata": {"name": case},
        "spec": {"rules": rules},
    }
    async with fleet.client(HUB) as hub:
        with pytest.raises(Invalid) as refused:
            await hub.create(OVERRIDES.format(namespace=space), body)
    assert refusal in str(refused.value), str(refused.value)[:2000]
    await unharmed(fleet, canary, propagating)


async def test_exactly_100_resource_selectors_are_accepted_and_placed(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    member = fleet.members[0].name
    spec = _spec(fleet, resourceSelectors=[dict(SELECTOR, name=f"c{i}") for i in range(100)])
    async with fleet.client(HUB) as hub:
        for index in range(3):
            await create(hub, space, config_map(f"c{index}", {"i": str(index)}))
        await create(hub, space, placement("at-limit", spec))
    status = await wait_status(fleet, space, "at-limit", applied(3), what="Applied", generation=1)
    assert condition(status, "Applied")["message"] == "3 objects on 1 clusters"
    copies = await on_members(fleet, configmap_path(space, "c2"), members=[member])
    assert copies[member] and copies[member]["data"] == {"i": "2"}
    await unharmed(fleet, canary, propagating)


async def _refused_render(
    fleet: LocalFleet, space: str, template: dict[str, Any], rule: dict[str, Any]
) -> dict[str, Any]:
    """Place ``template`` with one inline override rule; the Applied=False status."""
    async with fleet.client(HUB) as hub:
        await create(hub, space, template)
        spec = _spec(fleet, **_rule(**rule))
        spec["resourceSelectors"] = [
            {"apiVersion": template["apiVersion"], "kind": template["kind"]}
        ]
        await create(hub, space, placement("refused", spec))
    return await wait_status(
        fleet, space, "refused", is_("Applied", "False"), what="Applied=False", generation=1
    )


async def _nothing_on_members(fleet: LocalFleet, path: str) -> None:
    copies = await on_members(fleet, path)
    assert not any(copies.values()), f"{path} reached a member"


async def test_a_json_patch_copy_that_doubles_the_document_25_times_is_refused(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    doubling = [{"op": "copy", "from": "/data", "path": f"/data/d{i}"} for i in range(25)]
    status = await _refused_render(
        fleet, space, config_map("bomb", {"seed": "x" * 64}), {"jsonPatches": doubling}
    )
    message = condition(status, "Applied")["message"]
    assert "override rule 1" in message and "larger than" in message, message
    assert "JSON patch" in message
    await _nothing_on_members(fleet, configmap_path(space, "bomb"))
    await unharmed(fleet, canary, propagating)


async def test_a_failing_json_patch_test_on_a_secret_never_shows_the_secret(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    value = "hunter2-sekritHostileSecretValue"
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"password": base64.b64encode(value.encode()).decode()},
    }
    async with fleet.client(HUB) as hub:
        await hub.create(resource_path("v1", "secrets", namespace=space), secret)
        spec = _spec(fleet, **_rule(jsonPatches=[
            {"op": "test", "path": "/data/password", "value": "bm90LWl0"},
            {"op": "replace", "path": "/data/password", "value": "cm90YXRlZA=="},
        ]))  # fmt: skip
        spec["resourceSelectors"] = [{"apiVersion": "v1", "kind": "Secret", "name": "db"}]
        await create(hub, space, placement("secretive", spec))
    status = await wait_status(
        fleet, space, "secretive", is_("Applied", "False"), what="Applied=False", generation=1
    )
    message = condition(status, "Applied")["message"]
    assert "override rule 1" in message and "test" in message, message
    text = str(status)
    assert value not in text and secret["data"]["password"] not in text
    await _nothing_on_members(fleet, resource_path("v1", "secrets", namespace=space, name="db"))
    await unharmed(fleet, canary, propagating)


RETARGETS = {
    "name": ("/metadata/name", "someone-else"),
    "namespace": ("/metadata/namespace", "kube-system"),
}


@pytest.mark.parametrize("case", sorted(RETARGETS))
async def test_an_override_that_retargets_the_object_is_refused(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str, case: str
) -> None:
    target, value = RETARGETS[case]
    status = await _refused_render(
        fleet, space, config_map("moved", {"a": "b"}),
        {"jsonPatches": [{"op": "add", "path": target, "value": value}]},
    )  # fmt: skip
    message = condition(status, "Applied")["message"]
    assert "may not change" in message, message
    await _nothing_on_members(fleet, configmap_path(space, "moved"))
    await _nothing_on_members(fleet, configmap_path("kube-system", "moved"))
    await _nothing_on_members(fleet, configmap_path(space, "someone-else"))
    await unharmed(fleet, canary, propagating)


async def test_a_configmap_near_1_mib_is_placed(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    member = fleet.members[0].name
    big = {f"part-{i}": "z" * (100 * 1024) for i in range(10)}  # 1000 KiB of data
    async with fleet.client(HUB) as hub:
        await create(hub, space, config_map("big", big))
        await create(hub, space, placement("big", _spec(fleet)))
    status = await wait_status(fleet, space, "big", applied(1), what="Applied", generation=1)
    copies = await on_members(fleet, configmap_path(space, "big"), members=[member])
    assert copies[member], status
    assert copies[member]["data"] == big
    await unharmed(fleet, canary, propagating)


async def test_a_patch_past_1_5_mib_is_refused(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    big = {f"part-{i}": "z" * (100 * 1024) for i in range(10)}
    more = [{"op": "add", "path": "/data/more", "value": "y" * (600 * 1024)}]
    status = await _refused_render(fleet, space, config_map("big", big), {"jsonPatches": more})
    message = condition(status, "Applied")["message"]
    assert "larger than 1572864 bytes" in message, message
    await _nothing_on_members(fleet, configmap_path(space, "big"))
    await unharmed(fleet, canary, propagating)


async def test_a_template_name_of_253_characters_is_placed(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    member = fleet.members[0].name
    name = ("n" * 62 + ".") * 4 + "n"  # 253: the longest DNS subdomain
    assert len(name) == 253
    async with fleet.client(HUB) as hub:
        await create(hub, space, config_map(name, {"long": "name"}))
        await create(hub, space, placement("long", _spec(fleet)))
    await wait_status(fleet, space, "long", applied(1), what="Applied", generation=1)
    copies = await on_members(fleet, configmap_path(space, name), members=[member])
    assert copies[member] is not None
    await unharmed(fleet, canary, propagating)


async def test_a_placement_whose_name_does_not_fit_in_a_label_says_so(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    # The member label flotilla.io/placement=<namespace>.<name> has at most 63 characters.
    name = "p" * 60
    async with fleet.client(HUB) as hub:
        await create(hub, space, config_map("labelled", {"a": "b"}))
        await create(hub, space, placement(name, _spec(fleet)))
    status = await wait_status(
        fleet, space, name, lambda s: bool(condition(s, "Applied")), what="a verdict",
        generation=1,
    )  # fmt: skip
    applied = condition(status, "Applied")
    assert applied["status"] == "False", applied
    assert "63" in applied["message"], applied["message"]
    await _nothing_on_members(fleet, configmap_path(space, "labelled"))
    await unharmed(fleet, canary, propagating)


async def test_a_template_with_a_unicode_label_is_refused_by_the_hub(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    async with fleet.client(HUB) as hub:
        with pytest.raises(Invalid) as refused:
            await create(hub, space, config_map("unicode", {"a": "b"}, {"caf\u00e9": "cr\u00e8me"}))
    assert "metadata.labels" in str(refused.value)
    await unharmed(fleet, canary, propagating)


async def test_an_override_label_the_member_refuses_is_an_apply_error(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    # The Placement CRD cannot check label syntax; the member can, and its refusal is shown.
    status = await _refused_render(
        fleet,
        space,
        config_map("accented", {"a": "b"}),
        {"labels": {"tier": "cr\u00e8me br\u00fbl\u00e9e"}},
    )
    applied = condition(status, "Applied")
    assert applied["reason"] in ("ApplyFailed", "RenderFailed"), applied
    assert "accented" in applied["message"], applied["message"]
    await _nothing_on_members(fleet, configmap_path(space, "accented"))
    await unharmed(fleet, canary, propagating)


async def test_a_unicode_cluster_label_selector_chooses_no_cluster(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    spec = _spec(fleet)
    spec["clusterAffinity"] = {"labelSelector": {"matchLabels": {"r\u00e9gion": "\u6771\u4eac"}}}
    async with fleet.client(HUB) as hub:
        await create(hub, space, config_map("nowhere", {"a": "b"}))
        try:
            await create(hub, space, placement("nowhere", spec))
        except Invalid as refused:  # refusing it at the hub is as good
            assert "labelSelector" in str(refused)
            await unharmed(fleet, canary, propagating)
            return
    status = await wait_status(
        fleet, space, "nowhere", lambda s: bool(condition(s, "Scheduled")), what="Scheduled",
        generation=1,
    )  # fmt: skip
    assert condition(status, "Scheduled")["status"] == "False"
    await _nothing_on_members(fleet, configmap_path(space, "nowhere"))
    await unharmed(fleet, canary, propagating)


async def test_an_override_of_the_namespace_that_cannot_apply_fails_only_its_namespace(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    override = {
        "apiVersion": "flotilla.io/v1alpha1",
        "kind": "Override",
        "metadata": {"name": "broken"},
        "spec": {"rules": [{"jsonPatches": [{"op": "replace", "path": "/data/gone", "value": 1}]}]},
    }
    async with fleet.client(HUB) as hub:
        await hub.create(OVERRIDES.format(namespace=space), override)
    status = await _refused_render(fleet, space, config_map("local", {"a": "b"}), {})
    message = condition(status, "Applied")["message"]
    assert "/data/gone" in message and "path does not exist" in message, message
    await _nothing_on_members(fleet, configmap_path(space, "local"))
    await unharmed(fleet, canary, propagating)


async def test_the_status_of_120_objects_lists_100_and_counts_all(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    async with fleet.client(HUB) as hub:
        for index in range(120):
            await create(hub, space, config_map(f"many-{index:03}", {"i": str(index)}))
        await create(hub, space, placement("many", _spec(fleet)))
    status = await wait_status(
        fleet, space, "many", applied(120), what="Applied", generation=1, timeout=90
    )
    assert status["resourcesTotal"] == 120
    assert len(status["resources"]) == 100
    member = fleet.members[0].name
    copies = await on_members(fleet, configmap_path(space, "many-119"), members=[member])
    assert copies[member] is not None
    await unharmed(fleet, canary, propagating)


async def test_a_divided_placement_where_every_weight_is_zero_schedules_nothing(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    members = [m.name for m in fleet.members]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "weightless", "labels": {"app": "weightless"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "weightless"}},
            "template": {
                "metadata": {"labels": {"app": "weightless"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
            },
        },
    }
    spec = {
        "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
        "clusterAffinity": {"clusterNames": members},
        "replicaScheduling": {
            "type": "Divided",
            "staticWeights": [{"clusterNames": members, "weight": 0}],
        },
    }
    async with fleet.client(HUB) as hub:
        await create(hub, space, deployment)
        await create(hub, space, placement("weightless", spec))
    status = await wait_status(
        fleet, space, "weightless", is_("Scheduled", "False"), what="not scheduled", generation=1
    )
    assert "weight 0" in condition(status, "Scheduled")["message"]
    path = resource_path("apps/v1", "deployments", namespace=space, name="weightless")
    assert not any((await on_members(fleet, path)).values())
    await unharmed(fleet, canary, propagating)
