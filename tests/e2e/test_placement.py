"""Placements against the real fleet: divide, override, status, HPA-owned fields, drift,
prune, the deletion guard, and bad input."""

from typing import Any

import pytest

from flotilla.kube import resource_path
from tests.e2e.controllers import ControllerProcess, later_passes
from tests.e2e.localfleet import LocalFleet
from tests.e2e.placements import (
    HUB,
    condition,
    config_map,
    create,
    deployment,
    get_or_none,
    member_replicas,
    namespace_of_this_hub,
    placement,
    placement_status,
    wait_condition,
)
from tests.e2e.waiting import eventually


def _divided(weights: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    return {
        "resourceSelectors": [
            {"apiVersion": "apps/v1", "kind": "Deployment"},
            {"apiVersion": "v1", "kind": "ConfigMap"},
        ],
        "replicaScheduling": {
            "type": "Divided",
            "staticWeights": [{"clusterNames": [c], "weight": w} for c, w in weights],
        },
        **extra,
    }


async def test_divided_by_weight_with_a_per_region_image_override(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    members = [m.name for m in fleet.members]
    weights = list(zip(members, [1, 2, 3], strict=False))
    eu = next(m for m in fleet.members if m.labels["region"].startswith("eu"))
    override = {
        "targetClusters": {"labelSelector": {"matchLabels": {"region": eu.labels["region"]}}},
        "imageOverrides": [{"component": "Registry", "value": "registry.eu.example"}],
    }
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, deployment("web", replicas=6))
        await create(hub, hub_ns, config_map("web-config", {"mode": "blue"}))
        await create(hub, hub_ns, placement("web", _divided(weights, overrides=[override])))
    status = await wait_condition(fleet, hub_ns, "web", "Available", "True", timeout=60)
    assert condition(status, "Applied")["status"] == "True"
    shares = {d["cluster"]: d["replicas"] for d in status["decisions"]}
    assert sum(shares.values()) == 6
    assert await member_replicas(fleet, hub_ns, "web") == shares
    if len(members) == 3:
        assert shares == dict(zip(members, [1, 2, 3], strict=True))
    for member in fleet.members:
        async with fleet.client(member.name) as client:
            live = await client.get(
                resource_path("apps/v1", "deployments", namespace=hub_ns, name="web")
            )
            cm = await client.get(
                resource_path("v1", "configmaps", namespace=hub_ns, name="web-config")
            )
        image = live["spec"]["template"]["spec"]["containers"][0]["image"]
        expected = "registry.eu.example/nginx:1.27" if member.name == eu.name else "nginx:1.27"
        assert image == expected, member.name
        assert live["metadata"]["labels"]["flotilla.io/placement"] == f"{hub_ns}.web"
        assert cm["data"] == {"mode": "blue"}
    shown = fleet.flotilla("placement", "status", "web", "-n", hub_ns)
    assert shown.returncode == 0, shown.stderr
    assert all(member in shown.stdout for member in members)


async def test_preview_shows_the_plan_without_applying(fleet: LocalFleet, hub_ns: str) -> None:
    members = [m.name for m in fleet.members]
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, deployment("preview", replicas=4))
        spec = _divided([(members[0], 1), (members[1], 1)])
        spec["clusterAffinity"] = {"clusterNames": members[:2]}
        await create(hub, hub_ns, placement("preview", spec))
    shown = fleet.flotilla("placement", "preview", "preview", "-n", hub_ns, "-o", "yaml")
    assert shown.returncode == 0, shown.stderr
    assert f"# cluster: {members[0]}" in shown.stdout
    assert "replicas: 2" in shown.stdout
    assert "flotilla.io/placement" in shown.stdout
    assert "kind: Deployment" in shown.stdout
    table = fleet.flotilla("placement", "preview", "preview", "-n", hub_ns)
    assert table.returncode == 0, table.stderr
    assert "Deployment/preview(2)" in table.stdout


async def test_replicas_owned_by_an_hpa_are_left_alone(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    member = fleet.members[0].name
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, deployment("scaled", replicas=None))
        spec = {
            "resourceSelectors": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "scaled"}
            ],
            "clusterAffinity": {"clusterNames": [member]},
        }
        await create(hub, hub_ns, placement("scaled", spec))
    await wait_condition(fleet, hub_ns, "scaled", "Applied", "True")
    path = resource_path("apps/v1", "deployments", namespace=hub_ns, name="scaled")
    async with fleet.client(member) as client:
        scale = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "scaled"}}
        scale["spec"] = {"replicas": 5}
        await client.apply(path, scale, field_manager="horizontal-pod-autoscaler", force=True)
    async with fleet.client(HUB) as hub:  # a template change forces a new apply
        patch = {"metadata": {"annotations": {"touched": "yes"}}}
        await hub.merge_patch(
            resource_path("apps/v1", "deployments", namespace=hub_ns, name="scaled"), patch
        )

    async def annotated() -> dict[str, Any] | None:
        async with fleet.client(member) as client:
            live = await client.get(path)
        return live if (live["metadata"].get("annotations") or {}).get("touched") else None

    live = await eventually(annotated, timeout=20, what="template change applied")
    assert live["spec"]["replicas"] == 5


async def test_drift_is_reverted_and_reported(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    member = fleet.members[1].name
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, config_map("settings", {"color": "blue"}))
        spec = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "settings"}],
            "clusterAffinity": {"clusterNames": [member]},
        }
        await create(hub, hub_ns, placement("settings", spec))
    await wait_condition(fleet, hub_ns, "settings", "Applied", "True")
    path = resource_path("v1", "configmaps", namespace=hub_ns, name="settings")
    async with fleet.client(member) as client:
        await client.request(
            "PATCH", path, params={"fieldManager": "kubectl-edit"},
            body={"data": {"color": "red"}}, content_type="application/merge-patch+json",
        )  # fmt: skip

        async def reverted() -> bool:
            return bool((await client.get(path))["data"] == {"color": "blue"})

        await eventually(reverted, timeout=10, what="drift reverted")
    status = await wait_condition(fleet, hub_ns, "settings", "Drifted", "True")
    assert "kubectl-edit" in condition(status, "Drifted")["message"]
    (summary,) = [c for c in status["clusters"] if c["cluster"] == member]
    assert summary["driftCorrections"] >= 1
    async with fleet.client(HUB) as hub:
        events = await hub.get(resource_path("events.k8s.io/v1", "events", namespace=hub_ns))
    notes = [e.get("note", "") for e in events["items"] if e.get("reason") == "DriftCorrected"]
    assert any("kubectl-edit" in note for note in notes)


async def test_unselected_templates_are_pruned_and_foreign_objects_kept(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    member = fleet.members[0].name
    async with fleet.client(HUB) as hub:
        for index in range(4):
            await create(hub, hub_ns, config_map(f"cm-{index}", {"i": str(index)}, {"set": "a"}))
        spec = {
            "resourceSelectors": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "labelSelector": {"matchLabels": {"set": "a"}},
                }
            ],
            "clusterAffinity": {"clusterNames": [member]},
        }
        await create(hub, hub_ns, placement("prune", spec))
    await wait_condition(fleet, hub_ns, "prune", "Applied", "True")
    async with fleet.client(member) as client:
        cm3 = resource_path("v1", "configmaps", namespace=hub_ns, name="cm-3")
        await eventually(lambda: get_or_none(client, cm3), timeout=20, what="cm-3 on the member")
        await client.create(
            resource_path("v1", "configmaps", namespace=hub_ns),
            config_map("foreign", {"mine": "yes"}, {"set": "a"}),
        )
    async with fleet.client(HUB) as hub:
        await hub.delete(resource_path("v1", "configmaps", namespace=hub_ns, name="cm-3"))
    async with fleet.client(member) as client:

        async def pruned() -> bool:
            gone = await get_or_none(
                client, resource_path("v1", "configmaps", namespace=hub_ns, name="cm-3")
            )
            return gone is None

        await eventually(pruned, timeout=20, what="cm-3 pruned")
        for name in ("cm-0", "foreign"):
            assert await get_or_none(
                client, resource_path("v1", "configmaps", namespace=hub_ns, name=name)
            )


async def test_the_deletion_guard_stops_a_mass_prune_until_confirmed(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    member = fleet.members[0].name
    async with fleet.client(HUB) as hub:
        for index in range(4):
            await create(hub, hub_ns, config_map(f"g-{index}", {"i": str(index)}))
        spec = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
            "clusterAffinity": {"clusterNames": [member]},
        }
        await create(hub, hub_ns, placement("guarded", spec))
    await wait_condition(fleet, hub_ns, "guarded", "Applied", "True")
    async with fleet.client(HUB) as hub:  # the template namespace is emptied by mistake
        await hub.delete(resource_path("v1", "configmaps", namespace=hub_ns))
    status = await wait_condition(fleet, hub_ns, "guarded", "PruneBlocked", "True")
    assert "confirm-prune" in condition(status, "PruneBlocked")["message"]
    await later_passes(propagating)  # further passes must not prune either
    async with fleet.client(member) as client:
        kept = 0
        for index in range(4):
            path = resource_path("v1", "configmaps", namespace=hub_ns, name=f"g-{index}")
            kept += await get_or_none(client, path) is not None
    assert kept == 4, "the guard let objects go"
    confirmed = fleet.flotilla("placement", "confirm-prune", "guarded", "-n", hub_ns)
    assert confirmed.returncode == 0, confirmed.stderr
    async with fleet.client(member) as client:

        async def all_gone() -> bool:
            for index in range(4):
                path = resource_path("v1", "configmaps", namespace=hub_ns, name=f"g-{index}")
                if await get_or_none(client, path) is not None:
                    return False
            return True

        await eventually(all_gone, timeout=30, what="pruned after confirmation")


async def test_bad_input_is_a_condition_and_harms_no_other_placement(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    member = fleet.members[0].name
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, config_map("fine", {"ok": "yes"}))
        unknown = {
            "resourceSelectors": [{"apiVersion": "example.com/v1", "kind": "Gadget"}],
            "clusterAffinity": {"clusterNames": [member]},
        }
        await create(hub, hub_ns, placement("unknown-kind", unknown))
        broken = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "fine"}],
            "clusterAffinity": {"clusterNames": [member]},
            "overrides": [
                {"jsonPatches": [{"op": "replace", "path": "/spec/nothing", "value": 1}]}
            ],
        }
        await create(hub, hub_ns, placement("broken-override", broken))
        good = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "fine"}],
            "clusterAffinity": {"clusterNames": [member]},
        }
        await create(hub, hub_ns, placement("good", good))
    status = await wait_condition(fleet, hub_ns, "unknown-kind", "Applied", "False")
    assert "Gadget" in condition(status, "Applied")["message"]
    status = await wait_condition(fleet, hub_ns, "broken-override", "Applied", "False")
    assert "/spec/nothing" in condition(status, "Applied")["message"]
    await wait_condition(fleet, hub_ns, "good", "Applied", "True")
    assert propagating.process.poll() is None
    listed = fleet.flotilla("placement", "list", "-n", hub_ns)
    assert "broken-override" in listed.stdout


async def test_deleting_a_placement_removes_its_objects(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    member = fleet.members[2 % len(fleet.members)].name
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, config_map("temp", {"a": "b"}))
        spec = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "temp"}],
            "clusterAffinity": {"clusterNames": [member]},
        }
        await create(hub, hub_ns, placement("temp", spec))
    await wait_condition(fleet, hub_ns, "temp", "Applied", "True")
    path = resource_path("v1", "configmaps", namespace=hub_ns, name="temp")
    async with fleet.client(HUB) as hub:
        await hub.delete(f"/apis/flotilla.io/v1alpha1/namespaces/{hub_ns}/placements/temp")
    async with fleet.client(member) as client:

        async def gone() -> bool:
            return await get_or_none(client, path) is None

        await eventually(gone, timeout=20, what="objects of a deleted placement removed")


async def test_override_objects_of_the_namespace_apply_after_inline_rules(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    first, second = fleet.members[0].name, fleet.members[1].name
    override = {
        "apiVersion": "flotilla.io/v1alpha1",
        "kind": "Override",
        "metadata": {"name": "tier"},
        "spec": {
            "rules": [
                {
                    "targetClusters": {"clusterNames": [first]},
                    "labels": {"tier": "gold"},
                    "jsonPatches": [{"op": "replace", "path": "/data/mode", "value": "fast"}],
                }
            ]
        },
    }
    async with fleet.client(HUB) as hub:
        await hub.create(f"/apis/flotilla.io/v1alpha1/namespaces/{hub_ns}/overrides", override)
        await create(hub, hub_ns, config_map("tuned", {"mode": "safe"}))
        spec = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "tuned"}],
            "clusterAffinity": {"clusterNames": [first, second]},
        }
        await create(hub, hub_ns, placement("tuned", spec))
    await wait_condition(fleet, hub_ns, "tuned", "Applied", "True")
    path = resource_path("v1", "configmaps", namespace=hub_ns, name="tuned")
    async with fleet.client(first) as client:
        tuned = await client.get(path)
    async with fleet.client(second) as client:
        plain = await client.get(path)
    assert (tuned["data"], tuned["metadata"]["labels"].get("tier")) == ({"mode": "fast"}, "gold")
    assert (plain["data"], plain["metadata"]["labels"].get("tier")) == ({"mode": "safe"}, None)


@pytest.mark.parametrize("others", [0, 9], ids=["alone", "among-many"])
async def test_an_object_flotilla_did_not_create_is_never_taken_over_or_pruned(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess, others: int
) -> None:
    # Alone, the member is asked for the object itself; among many of its kind, the
    # namespace's objects are listed once: both must see the object that is already there.
    member = fleet.members[0].name
    path = resource_path("v1", "configmaps", namespace=hub_ns, name="mine")
    labels = {"set": "takeover"}
    await namespace_of_this_hub(fleet, member, hub_ns)
    async with fleet.client(member) as client:
        await client.create(
            resource_path("v1", "configmaps", namespace=hub_ns), config_map("mine", {"by": "hand"})
        )
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, config_map("mine", {"by": "flotilla"}, labels))
        for number in range(others):
            await create(hub, hub_ns, config_map(f"other-{number}", {"by": "flotilla"}, labels))
        selector = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "labelSelector": {"matchLabels": labels},
        }
        spec = {"resourceSelectors": [selector], "clusterAffinity": {"clusterNames": [member]}}
        await create(hub, hub_ns, placement("mine", spec))
    status = await wait_condition(fleet, hub_ns, "mine", "Applied", "False")
    assert f"1 failed; {member} ConfigMap mine:" in condition(status, "Applied")["message"]
    assert "not touched" in condition(status, "Applied")["message"]
    async with fleet.client(member) as client:
        placed = await client.list(
            resource_path("v1", "configmaps", namespace=hub_ns), label_selector="set=takeover"
        )
    assert sorted(item["metadata"]["name"] for item in placed["items"]) == [
        f"other-{number}" for number in range(others)
    ]
    mine = f"/apis/flotilla.io/v1alpha1/namespaces/{hub_ns}/placements/mine"
    async with fleet.client(HUB) as hub:
        await hub.delete(mine)

        async def finalized() -> bool:  # the finalizer ran its prune and let go
            return await get_or_none(hub, mine) is None

        await eventually(finalized, timeout=60, what="the deleted Placement let go")
    async with fleet.client(member) as client:
        kept = await client.get(path)
    assert kept["data"] == {"by": "hand"}
    assert "flotilla.io/placement" not in (kept["metadata"].get("labels") or {})


async def test_two_placements_of_one_template_do_not_take_it_from_each_other(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    member = fleet.members[0].name
    path = resource_path("v1", "configmaps", namespace=hub_ns, name="shared")
    spec = {
        "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "shared"}],
        "clusterAffinity": {"clusterNames": [member]},
    }
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, config_map("shared", {"by": "flotilla"}))
        await create(hub, hub_ns, placement("first", spec))
        before = await wait_condition(fleet, hub_ns, "first", "Applied", "True")
        await create(hub, hub_ns, placement("second", spec))
    status = await wait_condition(fleet, hub_ns, "second", "Applied", "False")
    assert (
        f"managed by placement {hub_ns}.first; not touched"
        in condition(status, "Applied")["message"]
    )
    async with fleet.client(member) as client:
        live = await client.get(path)
    assert live["metadata"]["labels"]["flotilla.io/placement"] == f"{hub_ns}.first"
    await later_passes(propagating)  # the first Placement has been looked at again since
    after = await placement_status(fleet, hub_ns, "first")
    # Never lost it: still Applied, and not even briefly False (the transition time is
    # the one from before the second Placement came).
    kept = ("status", "reason", "message", "lastTransitionTime")
    assert {k: condition(after, "Applied").get(k) for k in kept} == {
        k: condition(before, "Applied").get(k) for k in kept
    }
    assert live["data"] == {"by": "flotilla"}
