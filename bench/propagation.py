"""Placement and propagation, measured on a fleet of its own.

1. latency: one Deployment placed on 3, then 8 members, from Placement creation to its
   arrival on every member (seen by watches), p50/p99 over --trials trials, beside the limit
   measured trial by trial in the same run: the same apply sent directly to every member;
2. bulk: 500 ConfigMaps placed on 4 members, time to converge, against the limit measured
   in the same run: the same server-side applies sent directly by a minimal concurrent client;
3. failover: member crash to all replicas Available on the survivors, median of --failovers,
   with the default failover settings (tolerationSeconds 10);
4. drift: a managed field changed on a member (one object per trial: the same object
   changed back again and again is a fight, backed off from), time to revert, p50/p99;
5. controller memory per managed object (PSS before and after the bulk placement).

Usage: python bench/propagation.py [--trials 20] [--failovers 5] [--parts latency8,bulk]
Needs the fleet's addresses free: stop a running dev fleet first (`flotilla dev down`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from flotilla.api import ClusterName
from flotilla.devfleet import FaultAction, Fleet
from flotilla.kube import KubeClient, NotFound, load_kubeconfig, resource_path

HUB = ClusterName("hub")
PLACEMENTS = "/apis/flotilla.io/v1alpha1"


def _pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(name: str, values: list[float]) -> str:
    return (
        f"{name:<34} p50 {_percentile(values, 0.5) * 1000:7.0f} ms   "
        f"p99 {_percentile(values, 0.99) * 1000:7.0f} ms   (n={len(values)})"
    )


class Bench:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.fleet = Fleet(directory)
        self.kubeconfig = directory / "kubeconfig"
        self.controller: subprocess.Popen[bytes] | None = None
        self.members: list[str] = []

    def client(self, cluster: str, timeout: float = 10) -> KubeClient:
        return KubeClient(load_kubeconfig(self.kubeconfig, context=cluster), timeout=timeout)

    async def up(self, members: int) -> None:
        status = await self.fleet.up(members=members)
        self.members = [c.name for c in status.clusters if c.role == "member"]
        self.start_controller()
        await self.wait_clusters_ready()

    def start_controller(self) -> None:
        log = (self.directory / "controller.log").open("ab")
        command = [
            sys.executable, "-m", "flotilla", "controller", "run", "--kubeconfig",
            str(self.kubeconfig), "--metrics-bind-address", "127.0.0.1:0", "--log-level", "warning",
            # The latency part watches member namespaces it creates before the controller does.
            "--adopt-namespace", "*",
        ]  # fmt: skip
        self.controller = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def stop_controller(self) -> None:
        if self.controller and self.controller.poll() is None:
            self.controller.terminate()
            self.controller.wait()

    async def wait_clusters_ready(self) -> None:
        async with self.client(HUB) as hub:
            for _ in range(600):
                items = (await hub.get(f"{PLACEMENTS}/clusters"))["items"]
                ready = [
                    c for c in items
                    if any(x["type"] == "Ready" and x["status"] == "True"
                           for x in c.get("status", {}).get("conditions", []))
                ]  # fmt: skip
                if len(ready) == len(self.members):
                    return
                await asyncio.sleep(0.1)
        raise TimeoutError("clusters not Ready")

    async def namespace(self) -> str:
        name = f"bench-{uuid.uuid4().hex[:6]}"
        async with self.client(HUB) as hub:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            await hub.create(resource_path("v1", "namespaces"), body)
        return name

    async def place(self, namespace: str, name: str, spec: dict[str, Any]) -> None:
        body = {
            "apiVersion": "flotilla.io/v1alpha1",
            "kind": "Placement",
            "metadata": {"name": name},
            "spec": spec,
        }
        async with self.client(HUB) as hub:
            await hub.create(f"{PLACEMENTS}/namespaces/{namespace}/placements", body)

    async def latency(
        self, trials: int, members: list[str]
    ) -> tuple[list[float], list[float], float]:
        """(Flotilla, direct SSA, Flotilla's cold first trial), interleaved trial by trial.

        Arrival on a member is seen by a watch on each member, opened before the trials:
        polling eight API servers would load the very machine being measured.
        """
        namespace = await self.namespace()
        clients = {member: self.client(member) for member in members}
        seen: dict[str, dict[str, float]] = {}
        watches = [
            asyncio.create_task(_watch_deployments(client, namespace, member, seen))
            for member, client in clients.items()
        ]
        flotilla: list[float] = []
        direct: list[float] = []
        try:
            async with self.client(HUB) as hub:
                await asyncio.sleep(1)  # the watches are open
                for trial in range(trials + 1):
                    name = f"lat-{trial}"
                    await hub.create(
                        resource_path("apps/v1", "deployments", namespace=namespace),
                        _deployment(name, 1),
                    )
                    await asyncio.sleep(0.3)  # the template reached the controller's cache
                    spec = {
                        "resourceSelectors": [
                            {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
                        ],
                        "clusterAffinity": {"clusterNames": members},
                    }
                    start = time.perf_counter()
                    await self.place(namespace, name, spec)
                    flotilla.append(await _arrived(seen, name, members) - start)
                    await asyncio.sleep(0.5)
                    name = f"direct-{trial}"
                    manifest = _deployment(name, 1)
                    manifest["metadata"]["namespace"] = namespace
                    path = resource_path("apps/v1", "deployments", namespace=namespace, name=name)
                    start = time.perf_counter()
                    await asyncio.gather(
                        *(c.apply(path, manifest, field_manager="direct") for c in clients.values())
                    )
                    direct.append(await _arrived(seen, name, members) - start)
                    await asyncio.sleep(0.5)
        finally:
            for task in watches:
                task.cancel()
            for client in clients.values():
                await client.aclose()
        return flotilla[1:], direct[1:], flotilla[0]

    async def bulk(self, count: int, members: list[str]) -> tuple[float, float, int]:
        namespace = await self.namespace()
        async with self.client(HUB) as hub:
            sem = asyncio.Semaphore(32)

            async def make(i: int) -> None:
                async with sem:
                    await hub.create(
                        resource_path("v1", "configmaps", namespace=namespace), _config_map(i)
                    )

            await asyncio.gather(*(make(i) for i in range(count)))
        pss_before = _pss_kib(self.controller.pid) if self.controller else 0
        spec = {
            "resourceSelectors": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "labelSelector": {"matchLabels": {"bulk": "yes"}},
                }
            ],
            "clusterAffinity": {"clusterNames": members},
        }
        start = time.perf_counter()
        await self.place(namespace, "bulk", spec)
        await self._wait_counts(namespace, members, count)
        flotilla_seconds = time.perf_counter() - start
        await asyncio.sleep(3)
        pss_after = _pss_kib(self.controller.pid) if self.controller else 0
        # The limit: the same applies, sent directly, 16 at a time per member.
        direct_ns = await self.namespace()
        start = time.perf_counter()
        await asyncio.gather(*(self._direct(m, direct_ns, count) for m in members))
        direct_seconds = time.perf_counter() - start
        per_object = (pss_after - pss_before) / (count * len(members))
        return flotilla_seconds, direct_seconds, int(per_object * 1024)

    async def _direct(self, member: str, namespace: str, count: int) -> None:
        async with self.client(member) as client:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            await client.create(resource_path("v1", "namespaces"), body)
            sem = asyncio.Semaphore(16)

            async def apply(i: int) -> None:
                manifest = _config_map(i)
                path = resource_path(
                    "v1", "configmaps", namespace=namespace, name=manifest["metadata"]["name"]
                )
                async with sem:
                    await client.apply(path, manifest, field_manager="direct")

            await asyncio.gather(*(apply(i) for i in range(count)))

    async def _wait_counts(self, namespace: str, members: list[str], count: int) -> None:
        path = resource_path("v1", "configmaps", namespace=namespace)
        for member in members:
            async with self.client(member) as client:
                while True:
                    try:
                        items = (await client.get(path, labelSelector="bulk=yes"))["items"]
                    except NotFound:
                        items = []
                    if len(items) >= count:
                        break
                    await asyncio.sleep(0.05)

    async def failover(self, runs: int) -> list[float]:
        victim = self.members[-1]
        survivors = self.members[:-1]
        times = []
        for run in range(runs):
            namespace = await self.namespace()
            async with self.client(HUB) as hub:
                await hub.create(
                    resource_path("apps/v1", "deployments", namespace=namespace),
                    _deployment("svc", 6),
                )
            spec = {
                "resourceSelectors": [
                    {"apiVersion": "apps/v1", "kind": "Deployment", "name": "svc"}
                ],
                "replicaScheduling": {"type": "Divided"},
                "failover": {"enabled": True, "failback": False},  # default tolerationSeconds
            }
            await self.place(namespace, "svc", spec)
            await self._available(namespace, self.members, None)
            start = time.perf_counter()
            await self.fleet.fault(victim, FaultAction.CRASH)
            await self._available(namespace, survivors, 6)
            times.append(time.perf_counter() - start)
            await self.fleet.fault(victim, FaultAction.HEAL)
            await self.wait_clusters_ready()
            print(f"  failover {run + 1}/{runs}: {times[-1]:.1f} s", file=sys.stderr)
        return times

    async def _available(self, namespace: str, members: list[str], total: int | None) -> None:
        path = resource_path("apps/v1", "deployments", namespace=namespace, name="svc")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            available, ok = 0, True
            for member in members:
                async with self.client(member, timeout=2) as client:
                    try:
                        item = await client.get(path)
                    except Exception:  # not there yet
                        ok = False
                        break
                    want = item["spec"].get("replicas", 0)
                    have = item.get("status", {}).get("availableReplicas", 0) or 0
                    ok = ok and have == want
                    available += have
            if ok and (total is None or available == total):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"svc in {namespace} not available on {members}")

    async def drift(self, trials: int) -> list[float]:
        """One managed field changed on a member, per object, until reverted. Each trial
        drifts its own ConfigMap: the same object changed back again and again within a
        minute is a fight, which the controller backs off from on purpose."""
        namespace = await self.namespace()
        member = self.members[0]
        async with self.client(HUB) as hub:
            for trial in range(trials):
                collection = resource_path("v1", "configmaps", namespace=namespace)
                await hub.create(collection, _config_map(trial))
        spec = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
            "clusterAffinity": {"clusterNames": [member]},
        }
        await self.place(namespace, "drift", spec)
        times = []
        async with self.client(member) as client:
            for trial in range(trials):
                path = resource_path(
                    "v1", "configmaps", namespace=namespace, name=f"cm-{trial:05d}"
                )
                while True:
                    try:
                        await client.get(path)
                        break
                    except NotFound:
                        await asyncio.sleep(0.05)
            await asyncio.sleep(1)
            for trial in range(trials):
                path = resource_path(
                    "v1", "configmaps", namespace=namespace, name=f"cm-{trial:05d}"
                )
                start = time.perf_counter()
                await client.request(
                    "PATCH", path, params={"fieldManager": "bench-editor"},
                    body={"data": {"value": f"drift-{trial}"}},
                    content_type="application/merge-patch+json",
                )  # fmt: skip
                while True:  # polling is what is measured here
                    if (await client.get(path))["data"]["value"] == str(trial):
                        break
                    await asyncio.sleep(0.005)
                times.append(time.perf_counter() - start)
                await asyncio.sleep(0.2)
        return times


async def _watch_deployments(
    client: KubeClient, namespace: str, member: str, seen: dict[str, dict[str, float]]
) -> None:
    path = resource_path("apps/v1", "deployments", namespace=namespace)
    with contextlib.suppress(Exception):  # the namespace may be there already
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        await client.create(resource_path("v1", "namespaces"), body)
    version = (await client.get(path))["metadata"]["resourceVersion"]
    async for event in client.watch(path, resource_version=version, allow_bookmarks=False):
        if event["type"] == "ADDED":
            name = event["object"]["metadata"]["name"]
            seen.setdefault(name, {}).setdefault(member, time.perf_counter())


async def _arrived(seen: dict[str, dict[str, float]], name: str, members: list[str]) -> float:
    """When the last member's watch showed ``name``."""
    deadline = time.perf_counter() + 60
    while len(seen.get(name, {})) < len(members):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{name} did not reach all of {members}")
        await asyncio.sleep(0.002)
    return max(seen[name].values())


class _Lines(list[str]):
    """Results, printed as they come so a later failure loses nothing."""

    def append(self, line: str) -> None:
        super().append(line)
        print(line, flush=True)


def _deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }


def _config_map(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{i:05d}", "labels": {"bulk": "yes"}},
        "data": {"value": str(i)},
    }


PARTS = ("failover", "latency3", "drift", "bulk", "latency8")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--failovers", type=int, default=5)
    parser.add_argument("--bulk", type=int, default=500)
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if parts - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(parts - set(PARTS)))}")
    lines = _Lines()
    with tempfile.TemporaryDirectory(prefix="flotilla-bench-") as tmp:
        if parts - {"latency8"}:
            bench = Bench(Path(tmp))
            try:
                await bench.up(4)
                await _four(bench, parts, args, lines)
            finally:
                bench.stop_controller()
                await bench.fleet.down(purge=True)
        if "latency8" in parts:
            bench = Bench(Path(tmp) / "eight")
            try:
                await bench.up(8)
                _latency_rows(lines, 8, *await bench.latency(args.trials, bench.members))
            finally:
                bench.stop_controller()
                await bench.fleet.down(purge=True)
    print("done")


def _latency_rows(
    lines: _Lines, members: int, flotilla: list[float], direct: list[float], cold: float
) -> None:
    lines.append(_row(f"latency, 1 Deployment to {members} members", flotilla))
    lines.append(_row("  the same, direct SSA (the limit)", direct))
    ratio = _percentile(flotilla, 0.99) / _percentile(direct, 0.99)
    first = f"the first Placement of the kind (cold): {cold * 1000:.0f} ms"
    lines.append(f"  p99 ratio {ratio:.2f}; {first}")


async def _four(bench: Bench, parts: set[str], args: argparse.Namespace, lines: _Lines) -> None:
    if "failover" in parts:
        failovers = await bench.failover(args.failovers)
        lines.append(
            f"failover, crash to 6 replicas Available on the survivors: median "
            f"{statistics.median(failovers):.1f} s, max {max(failovers):.1f} s "
            f"(n={len(failovers)})"
        )
    if "latency3" in parts:
        _latency_rows(lines, 3, *await bench.latency(args.trials, bench.members[:3]))
    if "drift" in parts:
        lines.append(_row("drift revert", await bench.drift(args.trials)))
    if "bulk" in parts:
        flotilla_s, direct_s, per_object = await bench.bulk(args.bulk, bench.members)
        lines.append(
            f"bulk, {args.bulk} ConfigMaps to 4 members: flotilla {flotilla_s:.2f} s, "
            f"direct SSA {direct_s:.2f} s, ratio {flotilla_s / direct_s:.2f}"
        )
        lines.append(f"controller memory per managed object: {per_object} bytes PSS")


if __name__ == "__main__":
    asyncio.run(main())
