"""Cluster health: how fast a lost member is detected, and what probing costs.

Measures, on a fleet of its own (hub + 3 members, in a temporary state directory):
- crash and hang detection: from `fault crash|hang` to the Cluster's Ready=False on the hub,
  median and max over --trials trials each (the controller runs as its own process);
- controller memory (RSS/PSS) with 1, 3 and 8 registered clusters, and MB per member
  (clusters beyond the 3 members are extra registrations of the same members);
- probe cost: controller CPU time per probe with 8 clusters.

Usage: python bench/cluster_health.py [--trials 10]
Needs the fleet's addresses free: stop a running dev fleet first (`flotilla dev down`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from flotilla.api import ClusterName
from flotilla.clusters import register, remove, storable_connection, stored_kubeconfig
from flotilla.devfleet import FaultAction, Fleet
from flotilla.kube import KubeClient, load_kubeconfig

HUB = ClusterName("hub")
TICKS = os.sysconf("SC_CLK_TCK")


def _memory_kib(pid: int) -> tuple[int, int]:
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value, *_ = line.split()
        values[key.rstrip(":")] = int(value)
    return values["Rss"], values["Pss"]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Bench:
    def __init__(self, directory: Path) -> None:
        self.fleet = Fleet(directory)
        self.kubeconfig = directory / "kubeconfig"
        self.logs = directory / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def hub(self) -> KubeClient:
        return KubeClient(load_kubeconfig(self.kubeconfig, context=HUB), timeout=5)

    def start_controller(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        command = [
            sys.executable, "-m", "flotilla", "controller", "run",
            "--kubeconfig", str(self.kubeconfig), "--metrics-bind-address", "127.0.0.1:0",
            "--log-level", "warning",
        ]  # fmt: skip
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    async def ready(self, name: str) -> str | None:
        async with self.hub() as hub:
            cluster = await hub.get(f"/apis/flotilla.io/v1alpha1/clusters/{name}")
        for condition in cluster.get("status", {}).get("conditions", []):
            if condition["type"] == "Ready":
                return str(condition["status"])
        return None

    async def wait_ready(self, name: str, want: str, *, timeout: float = 60) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if await self.ready(name) == want:
                return time.perf_counter() - start
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{name} not Ready={want} within {timeout}s")

    async def detection(self, victim: str, fault: FaultAction, trials: int) -> list[float]:
        times = []
        for _ in range(trials):
            await self.wait_ready(victim, "True")
            await asyncio.sleep(1.5)  # a few healthy probes in between
            await self.fleet.fault(victim, fault)
            times.append(await self.wait_ready(victim, "False"))
            await self.fleet.fault(victim, FaultAction.HEAL)
        return times

    async def set_clusters(self, count: int, members: list[str]) -> None:
        async with self.hub() as hub:
            listed = await hub.get("/apis/flotilla.io/v1alpha1/clusters")
            for item in listed["items"]:
                await remove(hub, item["metadata"]["name"])
            for index in range(count):
                member = members[index % len(members)]
                path = self.fleet.layout(ClusterName(member)).kubeconfig("admin")
                name = ClusterName(f"bench-{index}")
                await register(
                    hub,
                    name=name,
                    kubeconfig=stored_kubeconfig(storable_connection(path, None), name=name),
                    labels={},
                )


def _row(name: str, values: list[float]) -> str:
    return (
        f"{name:<22} median {statistics.median(values):5.2f} s   max {max(values):5.2f} s   "
        f"min {min(values):5.2f} s   (n={len(values)})"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flotilla-bench-") as tmp:
        bench = Bench(Path(tmp))
        memory: dict[int, tuple[int, int]] = {}
        cost: dict[str, Any] = {}
        try:
            status = await bench.fleet.up(members=3)
            members = [c.name for c in status.clusters if c.role == "member"]
            controller = bench.start_controller("detection")
            try:
                victim = members[-1]
                crash = await bench.detection(victim, FaultAction.CRASH, args.trials)
                hang = await bench.detection(victim, FaultAction.HANG, args.trials)
            finally:
                controller.terminate()
                controller.wait()
            for count in (1, 3, 8):
                await bench.set_clusters(count, members)
                controller = bench.start_controller(f"memory-{count}")
                try:
                    for index in range(count):
                        await bench.wait_ready(f"bench-{index}", "True")
                    await asyncio.sleep(5)
                    memory[count] = _memory_kib(controller.pid)
                    if count == 8:
                        before, start = _cpu_seconds(controller.pid), time.perf_counter()
                        await asyncio.sleep(20)
                        cpu = _cpu_seconds(controller.pid) - before
                        elapsed = time.perf_counter() - start
                        cost = {"cpu": cpu, "elapsed": elapsed, "probes": count * elapsed}
                finally:
                    controller.terminate()
                    controller.wait()
        finally:
            await bench.fleet.down(purge=True)
    print("cluster health, hub + 3 members; probes: 1 s period, 2 s timeout, 3 failures")
    print(_row("crash -> Ready=False", crash))
    print(_row("hang -> Ready=False", hang))
    print()
    print(f"{'clusters':>8} {'RSS MiB':>8} {'PSS MiB':>8}")
    for count, (rss, pss) in memory.items():
        print(f"{count:>8} {rss / 1024:8.1f} {pss / 1024:8.1f}")
    per_member = (memory[8][1] - memory[1][1]) / 1024 / 7
    print(f"PSS per additional member: {per_member:.2f} MiB")
    print(
        f"probe cost with 8 clusters: {cost['cpu'] / cost['probes'] * 1000:.2f} ms controller CPU "
        f"per probe ({cost['cpu'] / cost['elapsed'] * 100:.1f}% of a core for 8 clusters)"
    )


if __name__ == "__main__":
    asyncio.run(main())
