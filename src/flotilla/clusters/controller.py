"""The cluster health controller: one prober per registered Cluster, status kept current.

Reconcile (per Cluster name) only manages probers: it starts one for a Cluster that has
none, restarts it when the Cluster's credentials or probe settings change, and stops it
when the Cluster is gone. Each prober is a task in the controller's TaskGroup, with its own
``KubeClient`` for the member; stopping it closes that client. The prober loop reads the
Cluster from the informer cache, probes, and writes ``status`` only when ``worth_writing``.

A Cluster whose credentials cannot be used gets Ready=False with a reason that says what
to fix; nothing crashes and nothing else is touched.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from flotilla.api import API_VERSION, CLUSTER, SYSTEM_NAMESPACE, ClusterName, ClusterStatus
from flotilla.api.cluster import ClusterSpec, ProbeSettings
from flotilla.api.meta import set_condition
from flotilla.clusters.health import next_status, probe, worth_writing
from flotilla.kube import (
    ConfigError,
    ConnectionConfig,
    KubeClient,
    KubeError,
    NotFound,
    connection_from_kubeconfig,
    resource_path,
)
from flotilla.runtime.clock import Clock
from flotilla.runtime.controller import Controller, Result
from flotilla.runtime.informer import Informer, SharedInformers
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.queue import WorkQueue
from flotilla.runtime.reflector import Event

logger = logging.getLogger(__name__)

HUB = ClusterName("hub")
INVENTORY_EVERY = 10  # probes; node lists are heavier than the health read


@dataclass(frozen=True)
class ProberConfig:
    """What a running prober was started with; a change restarts it."""

    connection: ConnectionConfig
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
    ) -> None:
        self._hub = hub
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
        for cluster in self._clusters.list():
            ref = (cluster.get("spec") or {}).get("kubeconfigSecretRef") or {}
            if ref.get("name") == event.object.get("metadata", {}).get("name"):
                self.queue.add(cluster["metadata"]["name"])

    async def _reconcile(self, name: str) -> Result:
        cluster = self._clusters.get(name)
        running = self._probers.get(name)
        if cluster is None:
            if running:
                running[1].cancel()
                del self._probers[name]
                with contextlib.suppress(KeyError):
                    self._metrics.cluster_ready.remove(name)
                logger.info("prober stopped", extra={"cluster": name})
            return Result()
        try:
            config = self._prober_config(cluster)
        except _Unusable as problem:
            if running:
                running[1].cancel()
                del self._probers[name]
            await self._report_unusable(cluster, problem)
            return Result()
        if running and running[0].fingerprint == config.fingerprint:
            return Result()
        if running:
            running[1].cancel()
        assert self._group is not None
        task = self._group.create_task(self._probe_forever(name, config), name=f"probe {name}")
        self._probers[name] = (config, task)
        logger.info("prober started", extra={"cluster": name})
        return Result()

    def _prober_config(self, cluster: dict[str, Any]) -> ProberConfig:
        try:
            spec = ClusterSpec.model_validate(cluster.get("spec") or {})
        except ValidationError as exc:
            raise _Unusable("InvalidSpec", f"spec is invalid: {exc.errors()[0]['msg']}") from exc
        ref = spec.kubeconfig_secret_ref
        secret = self._secrets.get(f"{ref.namespace}/{ref.name}")
        if ref.namespace != SYSTEM_NAMESPACE or secret is None:
            raise _Unusable(
                "CredentialsMissing",
                f"Secret {ref.namespace}/{ref.name} not found; register the cluster again "
                "with `flotilla cluster add`",
            )
        raw = (secret.get("data") or {}).get(ref.key)
        if not raw:
            raise _Unusable("CredentialsInvalid", f"Secret {ref.name} has no key {ref.key!r}")
        try:
            document = yaml.safe_load(base64.b64decode(raw))
            connection = connection_from_kubeconfig(document, allow_files=False)
        except (ValueError, yaml.YAMLError, ConfigError, AttributeError, TypeError) as exc:
            reason = str(exc) if isinstance(exc, ConfigError) else "not a kubeconfig"
            raise _Unusable(
                "CredentialsInvalid", f"Secret {ref.name} key {ref.key!r}: {reason}"
            ) from exc
        digest = hashlib.sha256(raw.encode() + spec.probe.model_dump_json().encode())
        return ProberConfig(connection, spec.probe, digest.hexdigest())

    async def _report_unusable(self, cluster: dict[str, Any], problem: _Unusable) -> None:
        status = _status_of(cluster)
        now = datetime.datetime.now(datetime.UTC)
        changed = set_condition(
            status.conditions,
            type="Ready",
            status="False",
            reason=problem.reason,
            message=problem.message,
            now=now,
        )
        if changed:
            await self._write_status(cluster["metadata"]["name"], status)

    async def _probe_forever(self, name: str, config: ProberConfig) -> None:
        settings = config.settings
        try:
            client = KubeClient(config.connection, timeout=settings.timeout_seconds)
        except ConfigError as exc:
            logger.warning("member client unusable", extra={"cluster": name, "error": str(exc)})
            return
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
                new = next_status(
                    current, result, settings, now=datetime.datetime.now(datetime.UTC)
                )
                ready = any(c.type == "Ready" and c.status == "True" for c in new.conditions)
                self._metrics.cluster_ready.labels(cluster=name).set(1 if ready else 0)
                if worth_writing(written, new) and await self._write_status(name, new):
                    written = new
                current = new
                await self._clock.sleep(settings.period_seconds - elapsed)

    async def _write_status(self, name: str, status: ClusterStatus) -> bool:
        path = resource_path(API_VERSION, CLUSTER.plural, name=name) + "/status"
        try:
            await self._hub.merge_patch(path, {"status": status.to_wire()})
        except NotFound:
            return False
        except KubeError as exc:
            logger.warning("status write failed", extra={"cluster": name, "error": str(exc)})
            return False
        self._metrics.status_writes.labels(cluster=name).inc()
        return True


class _Unusable(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _status_of(cluster: dict[str, Any]) -> ClusterStatus:
    try:
        return ClusterStatus.model_validate(cluster.get("status") or {})
    except ValidationError:
        return ClusterStatus()
