"""The cluster health controller: one prober per registered Cluster, status kept current.

Reconcile (per Cluster name) only manages probers: it starts one for a Cluster that has
none, restarts it when the Cluster's credentials or probe settings change, and stops it
when the Cluster is gone. Each prober is a task in the controller's TaskGroup; the prober
loop probes and writes ``status`` only when ``worth_writing``.

Why probers keep a dedicated client instead of ``MemberConnections``' one: a probe judges
the member, so it must not depend on, or queue behind, anything else we do there. The
shared client carries watches and applies (16 at a time) with a 10 s timeout; on a hung
member they fill its connection pool, and a probe waiting for a connection would measure
our own queue, not the API server. The shared client also goes away while a member's
informers restart (a 403 on one watch), when the member is perfectly reachable. So each
prober has its own small client with the Cluster's ``probe.timeoutSeconds``, built by
``connections.open_client`` from the one decoder (``connections.decode_credentials``),
exactly as ``MemberConnections`` builds its clients.

Failure isolation: a Cluster whose credentials cannot make a client gets Ready=False at
once with a reason that says what to fix and the unreachable taint, so its work fails over
as from a lost cluster (``health.unusable_status``); a probe never raises (``health.probe``),
so no member can end its prober, the controller or another member's prober.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from flotilla.api import API_VERSION, CLUSTER, SYSTEM_NAMESPACE, ClusterStatus
from flotilla.api.cluster import ClusterSpec, ProbeSettings
from flotilla.api.labels import HUB_CLUSTER
from flotilla.clusters.connections import (
    Connect,
    CredentialsProblem,
    MemberCredentials,
    connect,
    decode_credentials,
    open_client,
    secret_ref,
)
from flotilla.clusters.health import next_status, probe, unusable_status, worth_writing
from flotilla.kube import KubeClient, KubeError, NotFound, resource_path
from flotilla.runtime.clock import Clock
from flotilla.runtime.controller import Controller, Result
from flotilla.runtime.informer import Informer, SharedInformers
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.queue import WorkQueue
from flotilla.runtime.reflector import Event

logger = logging.getLogger(__name__)

HUB = HUB_CLUSTER
INVENTORY_EVERY = 10  # probes; node lists are heavier than the health read
RETRY_WRITE = 5.0  # seconds before writing an unusable Cluster's status again


@dataclass(frozen=True)
class ProberConfig:
    """What a running prober was started with; a change restarts it."""

    credentials: MemberCredentials
    settings: ProbeSettings
    fingerprint: str


class ClusterHealthController:
    def __init__(
        self,
        hub: KubeClient,
        informers: SharedInformers,
        *,
        clock: Clock,
        metrics: Metrics,
        connect: Connect = connect,
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        self._hub = hub
        self._connect = connect
        self._leading = leading
        """False once a leader's renew deadline passed: it must not write any more."""
        self._clock = clock
        self._metrics = metrics
        self._clusters: Informer = informers.informer(
            HUB, resource_path(API_VERSION, CLUSTER.plural)
        )
        self._secrets: Informer = informers.informer(
            HUB, resource_path("v1", "secrets", namespace=SYSTEM_NAMESPACE)
        )
        self._probers: dict[str, tuple[ProberConfig, asyncio.Task[None]]] = {}
        self._group: asyncio.TaskGroup | None = None
        self.queue: WorkQueue[str] = WorkQueue(clock=clock, name="cluster-health")

    async def run(self) -> None:
        self._clusters.add_handler(self._on_cluster)
        self._secrets.add_handler(self._on_secret)
        async with self.queue, asyncio.TaskGroup() as group:
            self._group = group
            await self._clusters.wait_synced()
            await self._secrets.wait_synced()
            controller = Controller(
                "cluster-health", self.queue, self._reconcile, metrics=self._metrics
            )
            try:
                await controller.run()
            finally:
                for _, task in self._probers.values():
                    task.cancel()

    @property
    def synced(self) -> bool:
        return self._clusters.has_synced and self._secrets.has_synced

    # Handlers: no I/O, only keys.
    def _on_cluster(self, event: Event) -> None:
        self.queue.add(event.key)

    def _on_secret(self, event: Event) -> None:
        name = (event.object.get("metadata") or {}).get("name")
        for cluster in self._clusters.list():
            ref = (cluster.get("spec") or {}).get("kubeconfigSecretRef") or {}
            if isinstance(ref, dict) and ref.get("name") == name:
                self.queue.add(cluster["metadata"]["name"])

    async def _reconcile(self, name: str) -> Result:
        cluster = self._clusters.get(name)
        running = self._probers.get(name)
        if cluster is None:
            with contextlib.suppress(KeyError):
                self._metrics.cluster_ready.remove(name)
            if running:
                running[1].cancel()
                del self._probers[name]
                logger.info("prober stopped", extra={"cluster": name})
            return Result()
        try:
            config = self._prober_config(cluster)
            if running and running[0].fingerprint == config.fingerprint:
                return Result()
            client = open_client(
                config.credentials, timeout=config.settings.timeout_seconds, connect=self._connect
            )
        except CredentialsProblem as problem:
            if running:
                running[1].cancel()
                del self._probers[name]
            written = await self._report_unusable(cluster, problem)
            return Result() if written else Result(requeue_after=RETRY_WRITE)
        if running:
            running[1].cancel()
        assert self._group is not None
        task = self._group.create_task(
            self._probe_forever(name, config, client), name=f"probe {name}"
        )
        self._probers[name] = (config, task)
        logger.info("prober started", extra={"cluster": name})
        return Result()

    def _prober_config(self, cluster: dict[str, Any]) -> ProberConfig:
        ref = secret_ref(cluster)
        try:
            spec = ClusterSpec.model_validate(cluster.get("spec") or {})
        except ValidationError as exc:
            message = f"spec is invalid: {exc.errors()[0]['msg']}"
            raise CredentialsProblem("InvalidSpec", message) from None
        credentials = decode_credentials(ref, self._secrets.get(f"{ref.namespace}/{ref.name}"))
        digest = hashlib.sha256(
            credentials.fingerprint.encode() + spec.probe.model_dump_json().encode()
        )
        return ProberConfig(credentials, spec.probe, digest.hexdigest())

    async def _report_unusable(self, cluster: dict[str, Any], problem: CredentialsProblem) -> bool:
        """Write the status of a Cluster that cannot be probed; False if that failed."""
        name = cluster["metadata"]["name"]
        self._metrics.cluster_ready.labels(cluster=name).set(0)
        current = _status_of(cluster)
        status = unusable_status(
            current,
            reason=problem.reason,
            message=problem.message,
            now=self._clock.now(),
        )
        if status == current:
            return True
        logger.info(
            "cluster credentials unusable", extra={"cluster": name, "reason": problem.reason}
        )
        return await self._write_status(name, status)

    async def _probe_forever(self, name: str, config: ProberConfig, client: KubeClient) -> None:
        settings = config.settings
        async with client:
            count = 0
            # This controller is the only writer of status: after the first read from the
            # cache, the last status it wrote is the truth, whatever the watch has delivered.
            cluster = self._clusters.get(name)
            current = written = _status_of(cluster) if cluster else ClusterStatus()
            while True:
                started = self._clock.monotonic()
                result = await probe(
                    client,
                    timeout=settings.timeout_seconds,
                    inventory=count % INVENTORY_EVERY == 0,
                )
                count = count + 1 if result.ok else 0  # inventory again once it is back
                outcome = "success" if result.ok else "failure"
                elapsed = self._clock.monotonic() - started
                self._metrics.probe_seconds.labels(cluster=name, result=outcome).observe(elapsed)
                new = next_status(current, result, settings, now=self._clock.now())
                ready = any(c.type == "Ready" and c.status == "True" for c in new.conditions)
                self._metrics.cluster_ready.labels(cluster=name).set(1 if ready else 0)
                if worth_writing(written, new) and await self._write_status(name, new):
                    written = new
                current = new
                await self._clock.sleep(settings.period_seconds - elapsed)

    async def _write_status(self, name: str, status: ClusterStatus) -> bool:
        path = resource_path(API_VERSION, CLUSTER.plural, name=name) + "/status"
        if not self._leading():
            return False
        try:
            await self._hub.merge_patch(path, {"status": status.to_wire()})
        except NotFound:
            return False
        except KubeError as exc:
            logger.warning("status write failed", extra={"cluster": name, "error": str(exc)})
            return False
        self._metrics.status_writes.labels(cluster=name).inc()
        return True


def _status_of(cluster: dict[str, Any]) -> ClusterStatus:
    try:
        return ClusterStatus.model_validate(cluster.get("status") or {})
    except ValidationError:
        return ClusterStatus()
