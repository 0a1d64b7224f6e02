"""Deletion safety on the real fleet: unsure never means delete.

A hub namespace being deleted holds its Placements' objects until a person confirms;
``deletionPolicy: Orphan`` leaves objects behind on purpose; objects another hub wrote
are never taken over or pruned.
"""

from __future__ import annotations

from flotilla.kube import resource_path
from tests.e2e.controllers import ControllerProcess, later_passes
from tests.e2e.localfleet import LocalFleet
from tests.e2e.placements import (
    HUB,
    PLACEMENTS,
    condition,
    config_map,
    create,
    get_or_none,
    namespace_of_this_hub,
    placement,
    placement_status,
    wait_condition,
)
from tests.e2e.waiting import eventually


def cm_path(namespace: str, name: str) -> str:
    return resource_path("v1", "configmaps", namespace=namespace, name=name)


async def on_member(fleet: LocalFleet, member: str, namespace: str, names: list[str]) -> list[str]:
    async with fleet.client(member) as client:
        return [n for n in names if await get_or_none(client, cm_path(namespace, n)) is not None]


async def test_deleting_the_hub_namespace_keeps_member_objects_until_confirmed(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    member = fleet.members[0].name
    names = ["keep-0", "keep-1"]
    async with fleet.client(HUB) as hub:
        for name in names:
            await create(hub, hub_ns, config_map(name, {"n": name}))
        spec = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
            "clusterAffinity": {"clusterNames": [member]},
        }
        await create(hub, hub_ns, placement("held", spec))
    await wait_condition(fleet, hub_ns, "held", "Applied", "True")
    assert await on_member(fleet, member, hub_ns, names) == names

    async with fleet.client(HUB) as hub:  # someone deletes the whole hub namespace
        await hub.delete(resource_path("v1", "namespaces", name=hub_ns))

    async def held() -> dict[str, object] | None:
        status = await placement_status(fleet, hub_ns, "held")
        blocked = condition(status, "PruneBlocked")
        return status if blocked.get("reason") == "NamespaceDeleting" else None

    status = await eventually(held, timeout=60, what="the Placement holds its objects")
    assert "confirm-prune" in condition(status, "PruneBlocked")["message"]
    await later_passes(propagating)
    assert await on_member(fleet, member, hub_ns, names) == names, "objects went unconfirmed"

    confirmed = fleet.flotilla("placement", "confirm-prune", "held", "-n", hub_ns)
    assert confirmed.returncode == 0, confirmed.stderr

    async def gone() -> bool:
        return not await on_member(fleet, member, hub_ns, names)

    await eventually(gone, timeout=60, what="member objects deleted after confirmation")

    async def namespace_gone() -> bool:
        async with fleet.client(HUB) as hub:
            return await get_or_none(hub, resource_path("v1", "namespaces", name=hub_ns)) is None

    await eventually(namespace_gone, timeout=90, what="the hub namespace finishes deleting")


async def test_deletion_policy_orphan_leaves_the_objects(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    member = fleet.members[0].name
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, config_map("stay", {"k": "v"}))
        spec = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "stay"}],
            "clusterAffinity": {"clusterNames": [member]},
            "deletionPolicy": "Orphan",
        }
        await create(hub, hub_ns, placement("orphaning", spec))
    await wait_condition(fleet, hub_ns, "orphaning", "Applied", "True")
    async with fleet.client(HUB) as hub:
        await hub.delete(f"{PLACEMENTS}/namespaces/{hub_ns}/placements/orphaning")

        async def placement_gone() -> bool:
            path = f"{PLACEMENTS}/namespaces/{hub_ns}/placements/orphaning"
            return await get_or_none(hub, path) is None

        # The signal: the finalizer ran (and let go without pruning), so the objects are
        # what it left.
        await eventually(placement_gone, timeout=60, what="the Placement lets go")
    assert await on_member(fleet, member, hub_ns, ["stay"]) == ["stay"]


async def test_another_hubs_objects_are_never_taken_over_or_pruned(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    member = fleet.members[0].name
    owner = f"{hub_ns}.web"
    foreign_labels = {
        "flotilla.io/managed-by": "flotilla",
        "flotilla.io/placement": owner,
        "flotilla.io/hub": "another-hub-0000",
    }
    await namespace_of_this_hub(fleet, member, hub_ns)
    async with fleet.client(member) as client:  # a second fleet wrote these here
        for name in ("web-config", "leftover"):
            manifest = config_map(name, {"from": "the other hub"}, labels=foreign_labels)
            await client.apply(cm_path(hub_ns, name), manifest, field_manager="flotilla")
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, config_map("web-config", {"from": "this hub"}))
        spec = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
            "clusterAffinity": {"clusterNames": [member]},
        }
        await create(hub, hub_ns, placement("web", spec))

    status = await wait_condition(fleet, hub_ns, "web", "Applied", "False")
    errors = [r.get("error", "") for r in status.get("resources") or []]
    assert any("something other than this hub" in e for e in errors), errors
    await later_passes(propagating)
    async with fleet.client(member) as client:
        for name in ("web-config", "leftover"):
            item = await get_or_none(client, cm_path(hub_ns, name))
            assert item is not None, f"{name} of the other hub was pruned"
            assert item["data"] == {"from": "the other hub"}, f"{name} was taken over"
