"""The local fleet: a hub and N members, each a real control plane, on loopback.

``Fleet`` is the one object that starts, inspects, breaks and stops them. Its state lives in
one directory: ``fleet.json`` records every process it started (PID, start time, command
line), so any later command, in any process, can find them again. Starting is idempotent:
a component that runs is left alone, one that is missing is started, and a second ``up``
with a running fleet only checks it.

A cluster counts as up when its API server answers ``/readyz`` and, for a member, its
nodes exist and ``default/default`` ServiceAccount is there (nothing can run before that).

Why one module of ~500 lines: up, status, fault and down share the state file, its lock
and the process records, and each is short; apart they would pass all three around.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import json
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from flotilla.api import ClusterName
from flotilla.api.labels import CLUSTERSET_DNS_ANNOTATION, CONNECTIVITY_ECHO_ANNOTATION
from flotilla.clusters import list_clusters, register, storable_connection, stored_kubeconfig
from flotilla.clusters.registry import cluster_path
from flotilla.devfleet import processes
from flotilla.devfleet.binaries import find_binaries
from flotilla.devfleet.components import (
    CONNECTIVITY_ECHO,
    ClusterLayout,
    command_line,
    components,
    required_files,
)
from flotilla.devfleet.kubeconfigs import component_kubeconfig, fleet_kubeconfig, write_kubeconfig
from flotilla.devfleet.nodes import node_manifest, node_names
from flotilla.devfleet.pki import CLIENTS, ensure_pki
from flotilla.devfleet.processes import ProcessRecord, ProcessState
from flotilla.devfleet.topology import (
    DEFAULT_MEMBERS,
    DNS_PORT,
    ECHO_PORT,
    LocalCluster,
    fleet_topology,
)
from flotilla.hub import install
from flotilla.kube import KubeClient, KubeError, NotFound, load_kubeconfig, resource_path

STATE_FILE = "fleet.json"
READY_TIMEOUT = 120.0
CLIENT_RESTARTS = 2
"""How often a client of the API server that dies at start (kwok v0.8 can panic on a node
event that comes before its stages are loaded) is started again before ``up`` fails."""
SETTLE_SECONDS = 2.0
PROBE_TIMEOUT = 2.0

Progress = Callable[[ClusterName, str], None]


class FleetError(Exception):
    """A fleet operation that cannot go on; the message says what to do."""


class FaultAction(StrEnum):
    CRASH = "crash"  # SIGKILL the member's kube-apiserver
    HANG = "hang"  # SIGSTOP it: connections are accepted, nothing answers
    HEAL = "heal"  # resume or restart whatever is stopped or dead, and wait until ready


@dataclass
class ClusterStatus:
    name: ClusterName
    role: str
    server: str
    labels: dict[str, str]
    components: dict[str, str]
    ready: bool
    detail: str = ""
    nodes: int | None = None
    version: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "server": self.server,
            "labels": self.labels,
            "components": self.components,
            "ready": self.ready,
            "detail": self.detail,
            "nodes": self.nodes,
            "version": self.version,
        }


@dataclass
class FleetStatus:
    directory: Path
    kubeconfig: Path
    members: int
    clusters: list[ClusterStatus] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return any(
            state != ProcessState.DEAD
            for cluster in self.clusters
            for state in cluster.components.values()
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "kubeconfig": str(self.kubeconfig),
            "members": self.members,
            "clusters": [cluster.to_json() for cluster in self.clusters],
        }


class Fleet:
    """The fleet whose state lives in ``directory``."""

    def __init__(
        self,
        directory: Path,
        *,
        bin_search: list[Path] | None = None,
        progress: Progress | None = None,
        concurrency: int = 4,
    ) -> None:
        self.directory = directory
        self._bin_search = bin_search
        self._progress = progress or (lambda _cluster, _message: None)
        self._concurrency = concurrency
        self._records: dict[str, dict[str, ProcessRecord]] = {}
        self._members: int | None = None

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    def layout(self, cluster: ClusterName) -> ClusterLayout:
        return ClusterLayout(self.directory / "clusters" / cluster)

    # -- state ----------------------------------------------------------------------------

    def _load(self) -> None:
        path = self.directory / STATE_FILE
        if not path.exists():
            self._records, self._members = {}, None
            return
        try:
            data = json.loads(path.read_text())
            self._members = int(data["members"])
            self._records = {
                cluster: {name: ProcessRecord.from_json(rec) for name, rec in comps.items()}
                for cluster, comps in data["processes"].items()
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise FleetError(
                f"{path} is damaged ({exc}); stop any leftover processes and run "
                "`flotilla dev down --purge`"
            ) from exc

    def _save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        data = {
            "members": self._members,
            "processes": {
                cluster: {name: rec.to_json() for name, rec in comps.items()}
                for cluster, comps in self._records.items()
            },
        }
        tmp = self.directory / f"{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(self.directory / STATE_FILE)

    @contextlib.asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        """One fleet command at a time per state directory, across processes."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / ".lock").open("w") as handle:
            deadline = time.monotonic() + 300
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise FleetError(
                            f"another flotilla dev command holds {self.directory}/.lock"
                        ) from None
                    await asyncio.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _running_records(self) -> dict[str, dict[str, ProcessRecord]]:
        return {
            cluster: {
                name: rec
                for name, rec in comps.items()
                if processes.state(rec) is not ProcessState.DEAD
            }
            for cluster, comps in self._records.items()
        }

    def _topology(self) -> list[LocalCluster]:
        return fleet_topology(self._members or DEFAULT_MEMBERS)

    def _cluster(self, name: str) -> LocalCluster:
        clusters = self._topology()
        for cluster in clusters:
            if cluster.name == name:
                return cluster
        known = ", ".join(cluster.name for cluster in clusters)
        raise FleetError(f"unknown cluster {name!r}; the fleet has: {known}")

    # -- up -------------------------------------------------------------------------------

    async def up(self, *, members: int | None = None) -> FleetStatus:
        """Start what is not running; wait until every cluster is usable."""
        async with self._locked():
            self._load()
            running = any(self._running_records().values())
            if running and members is not None and members != self._members:
                raise FleetError(
                    f"the fleet in {self.directory} runs with {self._members} members, not "
                    f"{members}; run `flotilla dev down` first to change it"
                )
            if not running:
                self._members = members or self._members or DEFAULT_MEMBERS
            clusters = self._topology()
            needed = {name for cluster in clusters for name in required_files(cluster)}
            binaries = find_binaries(sorted(needed), search=self._bin_search)
            gate = asyncio.Semaphore(self._concurrency)

            async def start(cluster: LocalCluster) -> None:
                async with gate:
                    await self._ensure_cluster(cluster, binaries)

            try:
                async with asyncio.TaskGroup() as group:
                    for cluster in clusters:
                        group.create_task(start(cluster))
            except* FleetError as failures:
                raise FleetError(
                    "; ".join(str(exc) for exc in failures.exceptions)
                ) from failures.exceptions[0]
            except* processes.PortBusy as busy:
                raise FleetError(str(busy.exceptions[0])) from busy.exceptions[0]
            finally:
                self._save()
            pairs = [(cluster, self.layout(cluster.name).pki) for cluster in clusters]
            write_kubeconfig(self.kubeconfig, fleet_kubeconfig(pairs))
            await self._register_members(clusters)
        return await self.status()

    async def _register_members(self, clusters: list[LocalCluster]) -> None:
        """Install Flotilla's API on the hub and register every member not yet registered."""
        hub, members = clusters[0], clusters[1:]
        config = load_kubeconfig(self.layout(hub.name).kubeconfig("admin"))
        # Not the probe timeout: the first writes of a new CRD's objects can take seconds.
        async with KubeClient(config, timeout=30) as client:
            self._progress(hub.name, "installing Flotilla's API")
            await install(client)
            items = await _retry(lambda: list_clusters(client), what="list clusters")
            registered = {item["metadata"]["name"] for item in items}
            for member in members:
                if member.name in registered:
                    await self._annotate_dns(client, member)
                    continue
                self._progress(member.name, "registering on the hub")
                connection = storable_connection(self.layout(member.name).kubeconfig("admin"), None)
                await register(
                    client,
                    name=member.name,
                    kubeconfig=stored_kubeconfig(connection, name=member.name),
                    labels={"env": member.labels["env"]},
                    region=member.labels["region"],
                    zone=member.labels["zone"],
                )
                await self._annotate_dns(client, member)

    async def _annotate_dns(self, hub: KubeClient, member: LocalCluster) -> None:
        """Say on its Cluster where the member's DNS and echo server answer (mesh status,
        connectivity test)."""
        echo = f"{member.echo_address}:{ECHO_PORT}" if _has_loopback(member.echo_address) else None
        annotations = {
            CLUSTERSET_DNS_ANNOTATION: f"{member.address}:{DNS_PORT}",
            CONNECTIVITY_ECHO_ANNOTATION: echo,  # None removes it
        }
        await hub.merge_patch(cluster_path(member.name), {"metadata": {"annotations": annotations}})

    async def _ensure_cluster(self, cluster: LocalCluster, binaries: dict[str, Path]) -> None:
        layout = self.layout(cluster.name)
        pki = ensure_pki(cluster, layout.pki.directory)
        for stem, _, _ in CLIENTS:
            write_kubeconfig(layout.kubeconfig(stem), component_kubeconfig(cluster, pki, stem))
        records = self._records.setdefault(cluster.name, {})
        started = False
        for component in components(cluster):
            record = records.get(component)
            current = processes.state(record) if record else ProcessState.DEAD
            if current is ProcessState.STOPPED:
                raise FleetError(
                    f"{component} of {cluster.name} is stopped (a `hang` fault?); "
                    f"run `flotilla dev fault {cluster.name} heal`"
                )
            if current is ProcessState.RUNNING:
                continue
            self._check_ports(cluster, component)
            if component == CONNECTIVITY_ECHO and not self._on_loopback(cluster):
                continue
            argv = command_line(component, cluster, layout, binaries)
            self._progress(cluster.name, f"starting {component}")
            records[component] = processes.spawn(argv, log=layout.log(component))
            self._save()
            started = True
            if component == "etcd":
                await self._wait_etcd(cluster, records[component])
            if component == "kube-apiserver":
                await self._wait_ready(cluster, records[component])
        if not started:
            self._progress(cluster.name, "running; checking")
        await self._wait_usable(cluster)
        for attempt in range(CLIENT_RESTARTS + 1):  # one that exits at once is a failure...
            dead = [c for c, r in records.items() if processes.state(r) is ProcessState.DEAD]
            if not dead:
                break
            component = dead[0]
            if attempt == CLIENT_RESTARTS or component in ("etcd", "kube-apiserver"):
                raise self._exited_or_slow(cluster, component, records[component])
            for component in dead:  # ...unless it is a client that a second start cures
                self._progress(cluster.name, f"{component} exited at start; starting it again")
                argv = command_line(component, cluster, layout, binaries)
                records[component] = processes.spawn(argv, log=layout.log(component))
            self._save()
            await asyncio.sleep(SETTLE_SECONDS)
        self._progress(cluster.name, "ready")

    def _on_loopback(self, cluster: LocalCluster) -> bool:
        """Put the member's echo address on ``lo`` (root); False, said once, when it cannot."""
        address = cluster.echo_address
        if _has_loopback(address):
            return True
        try:
            added = subprocess.run(
                ["ip", "addr", "add", f"{address}/32", "dev", "lo"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            why = added.stderr.strip()[:100] if added.returncode else ""
        except OSError as exc:  # no `ip` here
            why = exc.strerror or type(exc).__name__
        if why:
            self._progress(
                cluster.name,
                f"cannot put {address} on lo ({why}): no echo server, so `connectivity test` "
                "resolves its test service without connecting",
            )
            return False
        return True

    def _check_ports(self, cluster: LocalCluster, component: str) -> None:
        for owner, port in cluster.ports.items():
            if owner.split("-peer")[0] == component:
                processes.check_port_free(
                    cluster.address, port, owner=f"{component} of {cluster.name}"
                )

    async def _wait_etcd(self, cluster: LocalCluster, record: ProcessRecord) -> None:
        try:
            await processes.wait_port_open(
                cluster.address, cluster.ports["etcd"], timeout=READY_TIMEOUT
            )
        except TimeoutError:
            raise self._exited_or_slow(cluster, "etcd", record) from None

    def _client(self, cluster: LocalCluster) -> KubeClient:
        config = load_kubeconfig(self.layout(cluster.name).kubeconfig("admin"))
        return KubeClient(config, timeout=PROBE_TIMEOUT)

    async def _wait_ready(self, cluster: LocalCluster, record: ProcessRecord) -> None:
        self._progress(cluster.name, "waiting for kube-apiserver /readyz")
        deadline = time.monotonic() + READY_TIMEOUT
        async with self._client(cluster) as client:
            while True:
                try:
                    await client.readyz(timeout=PROBE_TIMEOUT)
                    return
                except KubeError:
                    if processes.state(record) is ProcessState.DEAD:
                        raise self._exited_or_slow(cluster, "kube-apiserver", record) from None
                    if time.monotonic() > deadline:
                        raise self._exited_or_slow(cluster, "kube-apiserver", record) from None
                    await asyncio.sleep(0.2)

    def _exited_or_slow(
        self, cluster: LocalCluster, component: str, record: ProcessRecord
    ) -> FleetError:
        how = "exited" if processes.state(record) is ProcessState.DEAD else "is not ready"
        tail = _tail(Path(record.log), lines=5)
        return FleetError(f"{component} of {cluster.name} {how}; see {record.log}:\n{tail}")

    async def _wait_usable(self, cluster: LocalCluster) -> None:
        async with self._client(cluster) as client:
            await _retry(lambda: client.readyz(timeout=PROBE_TIMEOUT), what="/readyz")
            if cluster.role != "member":
                return
            self._progress(cluster.name, "registering simulated nodes")
            existing = await _retry(
                lambda: client.get(resource_path("v1", "nodes")), what="list nodes"
            )
            have = {item["metadata"]["name"] for item in existing.get("items", [])}
            for name in node_names(cluster):
                if name not in have:
                    manifest = node_manifest(cluster, name)
                    create = functools.partial(
                        client.create, resource_path("v1", "nodes"), manifest
                    )
                    await _retry(create, what=f"create node {name}")
            self._progress(cluster.name, "waiting for the default ServiceAccount")
            path = resource_path("v1", "serviceaccounts", namespace="default", name="default")
            await _retry(lambda: client.get(path), what="default ServiceAccount")

    # -- status ---------------------------------------------------------------------------

    async def status(self) -> FleetStatus:
        if not self._records:
            self._load()
        clusters = self._topology() if self._records else []
        result = FleetStatus(
            directory=self.directory, kubeconfig=self.kubeconfig, members=self._members or 0
        )
        result.clusters = list(
            await asyncio.gather(*(self._cluster_status(cluster) for cluster in clusters))
        )
        return result

    async def _cluster_status(self, cluster: LocalCluster) -> ClusterStatus:
        records = self._records.get(cluster.name, {})
        states = {
            name: (processes.state(records[name]) if name in records else ProcessState.DEAD)
            for name in components(cluster)
        }
        status = ClusterStatus(
            name=cluster.name,
            role=cluster.role,
            server=cluster.server,
            labels={k: v for k, v in cluster.labels.items() if "/" not in k},
            components={name: str(state) for name, state in states.items()},
            ready=False,
        )
        if states["kube-apiserver"] is not ProcessState.RUNNING:
            status.detail = f"kube-apiserver {states['kube-apiserver']}"
            return status
        try:
            async with self._client(cluster) as client:
                await client.readyz(timeout=PROBE_TIMEOUT)
                version = await client.get("/version", timeout=PROBE_TIMEOUT)
                nodes = await client.get(resource_path("v1", "nodes"), timeout=PROBE_TIMEOUT)
        except KubeError as exc:
            status.detail = str(exc)
            return status
        status.ready = True
        status.version = str(version.get("gitVersion", ""))
        status.nodes = len(nodes.get("items", []))
        down = [name for name, state in states.items() if state is not ProcessState.RUNNING]
        if down:
            status.detail = "not running: " + ", ".join(down)
        return status

    # -- faults ---------------------------------------------------------------------------

    async def fault(self, cluster_name: str, action: FaultAction) -> None:
        """Break or heal one cluster's API server."""
        async with self._locked():
            self._load()
            if not any(self._running_records().values()):
                raise FleetError("the fleet is not running; start it with `flotilla dev up`")
            cluster = self._cluster(cluster_name)
            records = self._records.get(cluster.name, {})
            apiserver = records.get("kube-apiserver")
            if action is FaultAction.CRASH:
                if apiserver and processes.send(apiserver, signal.SIGKILL):
                    await processes.wait_dead(apiserver)
            elif action is FaultAction.HANG:
                if not apiserver or not processes.send(apiserver, signal.SIGSTOP):
                    raise FleetError(
                        f"kube-apiserver of {cluster.name} is not running; heal it first"
                    )
            else:
                for record in records.values():
                    processes.send(record, signal.SIGCONT)
                crashed = apiserver is None or processes.state(apiserver) is ProcessState.DEAD
                if crashed:
                    # The apiserver's clients (controller-manager, scheduler, kwok) back off
                    # for up to a minute after losing it; restart them so the member is
                    # whole again as soon as it answers, as a healed cluster should be.
                    for name in components(cluster)[2:]:
                        if name in records:
                            await processes.terminate(records.pop(name))
                binaries = find_binaries(required_files(cluster), search=self._bin_search)
                try:
                    await self._ensure_cluster(cluster, binaries)
                finally:
                    self._save()

    # -- down -----------------------------------------------------------------------------

    async def down(self, *, purge: bool = False) -> int:
        """Stop every recorded process; return how many were running."""
        async with self._locked():
            try:
                self._load()
            except FleetError:
                if not purge:
                    raise
                self._records = {}  # damaged: nothing to stop that we can trust; purge the rest
            running = [
                rec
                for comps in self._running_records().values()
                for rec in reversed(list(comps.values()))
            ]
            await asyncio.gather(*(processes.terminate(rec) for rec in running))
            if purge:
                shutil.rmtree(self.directory / "clusters", ignore_errors=True)
                for name in (STATE_FILE, "kubeconfig"):
                    (self.directory / name).unlink(missing_ok=True)
            else:
                self._save()
        return len(running)


def _has_loopback(address: str) -> bool:
    try:
        shown = subprocess.run(
            ["ip", "-o", "-4", "addr", "show", "dev", "lo"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    except OSError:
        return False
    return f" {address}/" in shown.stdout


async def _retry(call: Callable[[], Any], *, what: str, timeout: float = READY_TIMEOUT) -> Any:
    """Await ``call()`` until it succeeds; NotFound and transient errors are retried."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await call()
        except (NotFound, KubeError) as exc:
            if not (isinstance(exc, NotFound) or exc.transient) or time.monotonic() > deadline:
                raise FleetError(f"{what}: {exc}") from exc
            await asyncio.sleep(0.2)


def _tail(path: Path, *, lines: int) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])
