"""Hostile input, end to end: templates members reject, kinds that are missing or vanish,
tenancy boundaries, un-choosing every cluster by mistake, and a member that hangs.

Each case checks its own verdict (a condition, a per-resource error), that nothing was
deleted that should stay, that the controller is alive, and that the canary Placement in
another namespace did not move.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flotilla.kube import NotFound, resource_path
from tests.e2e.controllers import ControllerProcess
from tests.e2e.hostile import (
    SETTLE,
    Canary,
    alive,
    all_hold,
    applied,
    apply_crd,
    configmap_path,
    crd,
    delete_crd,
    is_,
    on_members,
    own_namespace,
    patch_placement,
    placed_canary,
    placement_path,
    unharmed,
    wait_status,
)
from tests.e2e.localfleet import LocalFleet
from tests.e2e.placements import HUB, condition, config_map, create, placement
from tests.e2e.waiting import eventually

CLUSTERS = "/apis/flotilla.io/v1alpha1/clusters"


@pytest.fixture(scope="module")
async def canary(fleet: LocalFleet, propagating: ControllerProcess) -> AsyncIterator[Canary]:
    async with placed_canary(fleet) as placed:
        yield placed


@pytest.fixture
async def space(fleet: LocalFleet) -> AsyncIterator[str]:
    async with own_namespace(fleet) as namespace:
        yield namespace


def _members(fleet: LocalFleet) -> list[str]:
    return [m.name for m in fleet.members]


def _spec(clusters: list[str], *selectors: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceSelectors": list(selectors) or [{"apiVersion": "v1", "kind": "ConfigMap"}],
        "clusterAffinity": {"clusterNames": clusters},
        **extra,
    }


def _errors(status: dict[str, Any]) -> list[str]:
    return [r.get("error") or "" for r in status.get("resources") or [] if not r.get("applied")]


# -- templates members reject --------------------------------------------------------------


async def test_a_service_port_the_member_refuses_is_an_apply_error(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    member = fleet.members[0].name
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
    }
    bad_port = [{"op": "replace", "path": "/spec/ports/0/port", "value": 70000}]
    async with fleet.client(HUB) as hub:
        await create(hub, space, service)
        await create(hub, space, config_map("fine", {"a": "b"}))
        spec = _spec(
            [member],
            {"apiVersion": "v1", "kind": "Service"},
            {"apiVersion": "v1", "kind": "ConfigMap"},
            overrides=[{"jsonPatches": bad_port}],
        )
        spec["overrides"][0]["resourceSelectors"] = [{"apiVersion": "v1", "kind": "Service"}]
        await create(hub, space, placement("ports", spec))
    status = await wait_status(
        fleet, space, "ports", is_("Applied", "False", reason="ApplyFailed"), what="refused",
        generation=1,
    )  # fmt: skip
    assert "Service web" in condition(status, "Applied")["message"]
    assert any("65535" in e for e in _errors(status)), _errors(status)
    path = resource_path("v1", "services", namespace=space, name="web")
    assert (await on_members(fleet, path, members=[member]))[member] is None
    assert await all_hold(fleet, space, ["fine"], members=[member]), "the good object is missing"
    await unharmed(fleet, canary, propagating)


async def test_a_label_value_the_member_refuses_is_an_apply_error(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    member = fleet.members[0].name
    async with fleet.client(HUB) as hub:
        await create(hub, space, config_map("odd", {"a": "b"}))
        spec = _spec([member], overrides=[{"labels": {"tier": "not a valid value!"}}])
        await create(hub, space, placement("odd", spec))
    status = await wait_status(
        fleet, space, "odd", is_("Applied", "False"), what="refused", generation=1
    )
    assert "ConfigMap odd" in condition(status, "Applied")["message"]
    assert (await on_members(fleet, configmap_path(space, "odd"), members=[member]))[member] is None
    await unharmed(fleet, canary, propagating)


# -- kinds members do not have, and kinds that vanish --------------------------------------


@contextlib.asynccontextmanager
async def _gadget_kind(
    fleet: LocalFleet, *, on: list[str], scope: str = "Namespaced"
) -> AsyncIterator[dict[str, Any]]:
    """A CRD installed on the hub and on the members ``on``; removed everywhere afterwards."""
    group = f"h{uuid.uuid4().hex[:6]}.hostile.example.com"
    kind = "Gadget" if scope == "Namespaced" else "Widget"
    definition = crd(group, kind, scope=scope)
    for cluster in [HUB, *on]:
        async with fleet.client(cluster) as client:
            await apply_crd(client, definition)
    try:
        yield definition
    finally:
        for cluster in [HUB, *_members(fleet)]:
            async with fleet.client(cluster) as client:
                await delete_crd(client, definition["metadata"]["name"])


def _gadget(definition: dict[str, Any], name: str) -> dict[str, Any]:
    group = definition["spec"]["group"]
    kind = definition["spec"]["names"]["kind"]
    return {"apiVersion": f"{group}/v1", "kind": kind, "metadata": {"name": name}, "spec": {}}


def _gadget_path(definition: dict[str, Any], namespace: str | None, name: str = "") -> str:
    group, plural = definition["spec"]["group"], definition["spec"]["names"]["plural"]
    return resource_path(f"{group}/v1", plural, namespace=namespace, name=name or None)


async def test_a_kind_only_the_hub_has_is_an_apply_error_for_every_member(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    members = _members(fleet)
    async with _gadget_kind(fleet, on=[]) as definition:
        gadget = _gadget(definition, "g1")
        selector = {"apiVersion": gadget["apiVersion"], "kind": gadget["kind"]}
        async with fleet.client(HUB) as hub:
            await hub.create(_gadget_path(definition, space), gadget)
            await create(hub, space, config_map("plain", {"a": "b"}))
            spec = _spec(members, selector, {"apiVersion": "v1", "kind": "ConfigMap"})
            await create(hub, space, placement("hub-only", spec))
        status = await wait_status(
            fleet, space, "hub-only", is_("Applied", "False"), what="refused", generation=1
        )
        errors = [e for e in _errors(status) if e]
        assert len(errors) == len(members), status.get("resources")
        assert all("Gadget" in e for e in errors), errors
        await eventually(
            lambda: all_hold(fleet, space, ["plain"], members=members),
            timeout=SETTLE, what="the ConfigMap placed regardless",
        )  # fmt: skip
        await unharmed(fleet, canary, propagating)


async def _a_working_neighbour(fleet: LocalFleet, space: str, members: list[str]) -> None:
    """A second Placement of the namespace still follows its template's changes."""
    async with fleet.client(HUB) as hub:
        await hub.merge_patch(configmap_path(space, "neighbour"), {"data": {"v": "2"}})

    async def followed() -> bool:
        copies = await on_members(fleet, configmap_path(space, "neighbour"), members=members)
        return all(c and c["data"] == {"v": "2"} for c in copies.values())

    await eventually(followed, timeout=SETTLE, what="the neighbour Placement still works")


async def _gadgets_and_neighbour(
    fleet: LocalFleet, space: str, definition: dict[str, Any], members: list[str]
) -> None:
    gadget = _gadget(definition, "g1")
    selector = {"apiVersion": gadget["apiVersion"], "kind": gadget["kind"]}
    async with fleet.client(HUB) as hub:
        await hub.create(_gadget_path(definition, space), gadget)
        await create(hub, space, config_map("neighbour", {"v": "1"}))
        await create(hub, space, placement("gadgets", _spec(members, selector)))
        neighbour = {"apiVersion": "v1", "kind": "ConfigMap", "name": "neighbour"}
        await create(hub, space, placement("neighbour", _spec(members, neighbour)))
    await wait_status(fleet, space, "gadgets", applied(len(members)), what="Applied")
    await wait_status(fleet, space, "neighbour", applied(len(members)), what="Applied")


async def test_a_crd_deleted_on_the_hub_under_a_placement_deletes_nothing_on_members(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    members = _members(fleet)
    async with _gadget_kind(fleet, on=members) as definition:
        await _gadgets_and_neighbour(fleet, space, definition, members)
        async with fleet.client(HUB) as hub:
            await delete_crd(hub, definition["metadata"]["name"])
        status = await wait_status(
            fleet, space, "gadgets", is_("Applied", "False"), what="Applied=False"
        )
        assert "Gadget" in condition(status, "Applied")["message"], status
        copies = await on_members(fleet, _gadget_path(definition, space, "g1"))
        assert all(copies.values()), "a member's Gadget was deleted with the hub's CRD"
        await _a_working_neighbour(fleet, space, members)
        alive(propagating)
        await unharmed(fleet, canary, propagating)


async def test_a_crd_deleted_on_one_member_fails_only_that_member(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    members = _members(fleet)
    victim = members[-1]
    async with _gadget_kind(fleet, on=members) as definition:
        await _gadgets_and_neighbour(fleet, space, definition, members)
        async with fleet.client(victim) as client:
            await delete_crd(client, definition["metadata"]["name"])
        async with fleet.client(HUB) as hub:  # a change makes the pass visit every member
            patch = {"metadata": {"labels": {"touched": "yes"}}}
            await hub.merge_patch(_gadget_path(definition, space, "g1"), patch)

        def victim_failed(status: dict[str, Any]) -> bool:
            return any(
                r["cluster"] == victim and not r.get("applied")
                for r in status.get("resources") or []
            )

        status = await wait_status(fleet, space, "gadgets", victim_failed, what="victim fails")
        others = [r for r in status["resources"] if r["cluster"] != victim]
        assert others and all(r["applied"] for r in others), status["resources"]

        async def touched_elsewhere() -> bool:
            copies = await on_members(
                fleet, _gadget_path(definition, space, "g1"), members=members[:-1]
            )
            return all(c and c["metadata"]["labels"].get("touched") for c in copies.values())

        await eventually(touched_elsewhere, timeout=SETTLE, what="other members updated")
        await _a_working_neighbour(fleet, space, members)
        await unharmed(fleet, canary, propagating)


# -- tenancy -------------------------------------------------------------------------------


async def test_a_placement_in_kube_system_places_nothing(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary
) -> None:
    member = fleet.members[0].name
    name = f"hostile-{uuid.uuid4().hex[:6]}"
    spec = _spec([member], {"apiVersion": "v1", "kind": "ConfigMap"})
    try:
        async with fleet.client(HUB) as hub:
            await create(hub, "kube-system", config_map(name, {"a": "b"}))
            await create(hub, "kube-system", placement(name, spec))
        status = await wait_status(
            fleet, "kube-system", name, is_("Scheduled", "False", reason="ReservedNamespace"),
            what="reserved", generation=1,
        )  # fmt: skip
        assert "reserved" in condition(status, "Scheduled")["message"]
        copies = await on_members(fleet, configmap_path("kube-system", name), members=[member])
        assert copies[member] is None
        async with fleet.client(member) as client:
            listed = await client.list(
                resource_path("v1", "configmaps", namespace="kube-system"),
                label_selector="flotilla.io/managed-by=flotilla",
            )
        assert listed["items"] == []
    finally:
        async with fleet.client(HUB) as hub:
            with contextlib.suppress(NotFound):
                await hub.delete(placement_path("kube-system", name))
            with contextlib.suppress(NotFound):
                await hub.delete(configmap_path("kube-system", name))
    await unharmed(fleet, canary, propagating)


async def _cluster_scoped_verdict(
    fleet: LocalFleet, space: str, selector: dict[str, Any], clusters: list[str]
) -> dict[str, Any]:
    """Place ``selector`` (a cluster-scoped kind); the status once it says so. (A kind
    whose CRD was just created may first be "not served" until the hub's discovery has it.)"""
    async with fleet.client(HUB) as hub:
        await create(hub, space, placement("scoped", _spec(clusters, selector)))

    def says_so(status: dict[str, Any]) -> bool:
        return "cluster-scoped" in condition(status, "Applied").get("message", "")

    return await wait_status(
        fleet, space, "scoped", says_so, what="a cluster-scoped verdict", generation=1
    )


def _says_cluster_scoped(status: dict[str, Any]) -> None:
    applied = condition(status, "Applied")
    assert applied["status"] == "False", applied
    assert "cluster-scoped" in applied["message"], applied["message"]


async def _nothing_managed(fleet: LocalFleet, path: str, space: str) -> None:
    for member in _members(fleet):
        async with fleet.client(member) as client:
            listed = await client.list(path, label_selector=f"flotilla.io/placement={space}.scoped")
        assert listed["items"] == [], f"a cluster-scoped object reached {member}"


NAMESPACE = {"apiVersion": "v1", "kind": "Namespace"}
CLUSTER_ROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole"}


async def test_a_namespace_kind_template_is_not_placed(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    await _cluster_scoped_verdict(fleet, space, NAMESPACE, _members(fleet))
    await _nothing_managed(fleet, resource_path("v1", "namespaces"), space)
    await unharmed(fleet, canary, propagating)


async def test_a_namespace_kind_selector_says_it_is_cluster_scoped(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    _says_cluster_scoped(await _cluster_scoped_verdict(fleet, space, NAMESPACE, _members(fleet)))


async def test_a_cluster_role_is_not_placed(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    await _cluster_scoped_verdict(fleet, space, CLUSTER_ROLE, _members(fleet))
    await _nothing_managed(
        fleet, resource_path("rbac.authorization.k8s.io/v1", "clusterroles"), space
    )
    await unharmed(fleet, canary, propagating)


async def test_a_cluster_role_selector_says_it_is_cluster_scoped(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    _says_cluster_scoped(await _cluster_scoped_verdict(fleet, space, CLUSTER_ROLE, _members(fleet)))


@pytest.mark.parametrize(
    "says_why",
    [
        pytest.param(False, id="not-placed"),
        pytest.param(True, id="says-why"),
    ],
)
async def test_a_cluster_scoped_custom_kind_is_not_placed(
    fleet: LocalFleet,
    propagating: ControllerProcess,
    canary: Canary,
    space: str,
    says_why: bool,
) -> None:
    members = _members(fleet)
    async with _gadget_kind(fleet, on=members, scope="Cluster") as definition:
        widget = _gadget(definition, f"w-{space}")
        async with fleet.client(HUB) as hub:
            await hub.create(_gadget_path(definition, None), widget)
        selector = {"apiVersion": widget["apiVersion"], "kind": widget["kind"]}
        status = await _cluster_scoped_verdict(fleet, space, selector, members)
        copies = await on_members(fleet, _gadget_path(definition, None, widget["metadata"]["name"]))
        assert not any(copies.values()), "a cluster-scoped object reached a member"
        await unharmed(fleet, canary, propagating)
        if says_why:
            _says_cluster_scoped(status)


# -- un-choosing every cluster by mistake: the deletion guard holds ------------------------


async def _guarded_placement(
    fleet: LocalFleet, space: str, spec: dict[str, Any], members: list[str]
) -> list[str]:
    names = [f"keep-{i}" for i in range(4)]
    async with fleet.client(HUB) as hub:
        for name in names:
            await create(hub, space, config_map(name, {"n": name}))
        await create(hub, space, placement("guarded", spec))
    await wait_status(fleet, space, "guarded", applied(len(names) * len(members)), what="Applied")
    await eventually(
        lambda: all_hold(fleet, space, names, members=members), timeout=SETTLE,
        what="placed everywhere",
    )  # fmt: skip
    return names


async def _guard_holds(
    fleet: LocalFleet, space: str, names: list[str], members: list[str], generation: int | None
) -> None:
    status = await wait_status(
        fleet, space, "guarded", is_("PruneBlocked", "True"), what="PruneBlocked",
        generation=generation,
    )  # fmt: skip
    assert "confirm-prune" in condition(status, "PruneBlocked")["message"]
    assert await all_hold(fleet, space, names, members=members), "the guard let objects go"


async def test_a_label_typo_in_cluster_affinity_is_held_by_the_guard(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    members = _members(fleet)
    spec = {
        "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
        "clusterAffinity": {"labelSelector": {"matchExpressions": [
            {"key": "region", "operator": "In",
             "values": [fleet.members[0].labels["region"], fleet.members[1].labels["region"]]},
        ]}},
    }  # fmt: skip
    names = await _guarded_placement(fleet, space, spec, members[:2])
    typo = {"spec": {"clusterAffinity": {"labelSelector": {"matchLabels": {"regoin": "us"}}}}}
    generation = await patch_placement(fleet, space, "guarded", typo)
    await _guard_holds(fleet, space, names, members[:2], generation)
    await unharmed(fleet, canary, propagating)


async def test_a_removed_cluster_label_is_held_by_the_guard(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    victim = fleet.members[0].name
    label = f"hostile-{space}"
    async with fleet.client(HUB) as hub:
        await hub.merge_patch(f"{CLUSTERS}/{victim}", {"metadata": {"labels": {label: "yes"}}})
    try:
        spec = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
            "clusterAffinity": {"labelSelector": {"matchLabels": {label: "yes"}}},
        }
        names = await _guarded_placement(fleet, space, spec, [victim])
        async with fleet.client(HUB) as hub:
            await hub.merge_patch(f"{CLUSTERS}/{victim}", {"metadata": {"labels": {label: None}}})
        await _guard_holds(fleet, space, names, [victim], None)
    finally:
        async with fleet.client(HUB) as hub:
            await hub.merge_patch(f"{CLUSTERS}/{victim}", {"metadata": {"labels": {label: None}}})
    await unharmed(fleet, canary, propagating)


async def test_a_no_execute_taint_on_a_cluster_spec_is_held_by_the_guard(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    victim = fleet.members[1].name
    path = f"{CLUSTERS}/{victim}"
    async with fleet.client(HUB) as hub:
        before = (await hub.get(path))["spec"].get("taints") or []
    try:
        names = await _guarded_placement(fleet, space, _spec([victim]), [victim])
        taint = {"key": f"hostile-{space}", "value": "x", "effect": "NoExecute"}
        async with fleet.client(HUB) as hub:
            await hub.merge_patch(path, {"spec": {"taints": [*before, taint]}})
        await _guard_holds(fleet, space, names, [victim], None)
    finally:
        async with fleet.client(HUB) as hub:
            await hub.merge_patch(path, {"spec": {"taints": before or None}})
    await unharmed(fleet, canary, propagating)


# -- a member that hangs mid-apply ---------------------------------------------------------


async def test_a_hung_member_holds_back_no_other_member_or_placement(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, space: str
) -> None:
    members = _members(fleet)
    victim, others = members[-1], members[:-1]
    async with fleet.client(HUB) as hub:
        await create(hub, space, config_map("wide", {"v": "1"}))
        await create(hub, space, config_map("narrow", {"v": "1"}))
        wide = _spec(members, {"apiVersion": "v1", "kind": "ConfigMap", "name": "wide"})
        wide["failover"] = {"enabled": False}
        narrow = _spec(others, {"apiVersion": "v1", "kind": "ConfigMap", "name": "narrow"})
        await create(hub, space, placement("wide", wide))
        await create(hub, space, placement("narrow", narrow))
    await wait_status(fleet, space, "wide", applied(len(members)), what="Applied")
    await wait_status(fleet, space, "narrow", applied(len(others)), what="Applied")
    fleet.cli("fault", victim, "hang")
    try:
        async with fleet.client(HUB) as hub:
            for name in ("wide", "narrow"):
                await hub.merge_patch(configmap_path(space, name), {"data": {"v": "2"}})

        async def converged(name: str, where: list[str]) -> bool:
            copies = await on_members(fleet, configmap_path(space, name), members=where)
            return all(c and c["data"] == {"v": "2"} for c in copies.values())

        await eventually(
            lambda: converged("narrow", others), timeout=SETTLE, what="narrow converged"
        )
        await eventually(
            lambda: converged("wide", others), timeout=SETTLE, what="wide converged elsewhere"
        )

        def victim_reported(status: dict[str, Any]) -> bool:
            return any(
                r["cluster"] == victim and not r.get("applied")
                for r in status.get("resources") or []
            )

        status = await wait_status(
            fleet, space, "wide", victim_reported, what="the hung member reported", timeout=60
        )
        assert condition(status, "Applied")["status"] == "False"
        alive(propagating)
    finally:
        fleet.cli("fault", victim, "heal")
    await eventually(
        lambda: converged("wide", [victim]), timeout=90, what="the healed member converged"
    )
    await wait_status(fleet, space, "wide", applied(len(members)), what="Applied", timeout=90)
    await unharmed(fleet, canary, propagating)
