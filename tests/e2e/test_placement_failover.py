"""Failover against the real fleet: a crashed member's replicas move to the survivors, the
stranded copy waits while it is unreachable and goes when it is back; flapping does not
thrash; a controller restarted mid-way converges with nothing lost or duplicated."""

import asyncio
import time
from typing import Any

from flotilla.kube import resource_path
from tests.e2e.controllers import ControllerProcess, Controllers
from tests.e2e.localfleet import LocalFleet
from tests.e2e.placements import (
    HUB,
    condition,
    config_map,
    create,
    deployment,
    get_or_none,
    member_replicas,
    placement,
    placement_status,
    wait_condition,
)
from tests.e2e.waiting import eventually


def _spec(**failover: Any) -> dict[str, Any]:
    return {
        "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "svc"}],
        "replicaScheduling": {"type": "Divided"},
        "failover": {"enabled": True, "tolerationSeconds": 2, **failover},
    }


async def test_replicas_move_off_a_crashed_member_and_the_copy_goes_after_heal(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    victim = fleet.members[-1].name
    survivors = [m.name for m in fleet.members if m.name != victim]
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, deployment("svc", replicas=6))
        await create(hub, hub_ns, placement("svc", _spec(failback=False)))
    await wait_condition(fleet, hub_ns, "svc", "Available", "True", timeout=60)
    assert victim in await member_replicas(fleet, hub_ns, "svc")
    fleet.cli("fault", victim, "crash")
    try:

        async def moved() -> dict[str, Any] | None:
            status = await placement_status(fleet, hub_ns, "svc")
            shares = {d["cluster"]: d["replicas"] for d in status.get("decisions", [])}
            done = set(shares) == set(survivors) and sum(shares.values()) == 6
            available = condition(status, "Available").get("status") == "True"
            return status if done and available else None

        status = await eventually(moved, timeout=60, what="replicas on the survivors")
        live = await member_replicas(fleet, hub_ns, "svc")
        assert sum(live[s] for s in survivors) == 6
        stranded = [c for c in status["clusters"] if c["cluster"] == victim]
        assert stranded and stranded[0]["stranded"] is True
    finally:
        fleet.cli("fault", victim, "heal")
    path = resource_path("apps/v1", "deployments", namespace=hub_ns, name="svc")
    async with fleet.client(victim) as client:

        async def cleaned() -> bool:
            return await get_or_none(client, path) is None

        await eventually(cleaned, timeout=60, what="stranded copy removed after heal")
    shares = {
        d["cluster"]: d["replicas"]
        for d in (await placement_status(fleet, hub_ns, "svc"))["decisions"]
    }
    assert set(shares) == set(survivors)


async def test_a_flapping_member_does_not_make_work_thrash(
    fleet: LocalFleet, hub_ns: str, propagating: ControllerProcess
) -> None:
    """Each hang outlasts detection (3 failed probes, ~9 s) plus tolerationSeconds, so the
    work moves off; each heal plus the next hang's detection is shorter than
    tolerationSeconds, so hysteresis keeps it from moving back. Without hysteresis the
    decisions would flip on every heal."""
    victim = fleet.members[0].name
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, deployment("svc", replicas=6))
        spec = _spec(failback=True)
        spec["failover"]["tolerationSeconds"] = 25
        await create(hub, hub_ns, placement("svc", spec))
    # A member healed by an earlier test may still be backing off in its controllers.
    await wait_condition(fleet, hub_ns, "svc", "Available", "True", timeout=120)
    seen: list[tuple[tuple[str, int], ...]] = []

    async def sample(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status = await placement_status(fleet, hub_ns, "svc")
            decision = tuple(sorted((d["cluster"], d["replicas"]) for d in status["decisions"]))
            if not seen or seen[-1] != decision:
                seen.append(decision)
            await asyncio.sleep(0.5)

    try:
        await sample(1)
        for _ in range(2):
            fleet.cli("fault", victim, "hang")
            await sample(40)
            fleet.cli("fault", victim, "heal")
            await sample(3)
    finally:
        fleet.cli("fault", victim, "heal")
    assert len(seen) == 2, f"expected one move off the flapping member, saw: {seen}"
    assert victim not in {cluster for cluster, _ in seen[-1]}, f"work moved back: {seen}"


async def test_a_controller_restarted_mid_propagation_converges(
    fleet: LocalFleet, hub_ns: str, controllers: Controllers, propagating: ControllerProcess
) -> None:
    member = fleet.members[0].name
    propagating.stop()
    count = 200
    async with fleet.client(HUB) as hub:
        await asyncio.gather(
            *(create(hub, hub_ns, config_map(f"bulk-{i:03d}", {"i": str(i)})) for i in range(count))
        )
        spec = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
            "clusterAffinity": {"clusterNames": [member]},
        }
        await create(hub, hub_ns, placement("bulk", spec))
    first = controllers.start()
    listing = resource_path("v1", "configmaps", namespace=hub_ns)

    async def some_applied() -> int:
        async with fleet.client(member) as client:
            items = (await client.get(listing, labelSelector="flotilla.io/managed-by=flotilla"))[
                "items"
            ]
        return len(items) if 0 < len(items) < count else 0

    await eventually(some_applied, timeout=60, what="propagation under way", every=0.05)
    first.kill()
    controllers.start()
    await wait_condition(fleet, hub_ns, "bulk", "Applied", "True", timeout=120)
    async with fleet.client(member) as client:
        items = (await client.get(listing, labelSelector="flotilla.io/managed-by=flotilla"))[
            "items"
        ]
    names = sorted(item["metadata"]["name"] for item in items)
    assert names == [f"bulk-{i:03d}" for i in range(count)]
