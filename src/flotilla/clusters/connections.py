"""Connections to members for controllers that act on them: one client and one set of
shared informers per member, kept in step with the Cluster and its Secret on the hub.

Each member has a scope: a task that owns its ``KubeClient`` and ``SharedInformers``. The
scope is started for a registered Cluster with usable credentials, restarted when the
credentials change, and cancelled when the Cluster goes. A member whose informers fail (a
403, a lost connection that outlives the reflector's retries) takes its scope down and is
started again after a pause; it never takes the controller or other members with it.

Controllers ask for a member's client or informer; ``None`` means "not connected now":
treat the member as unreachable and try again later.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from flotilla.api import API_VERSION, CLUSTER, SYSTEM_NAMESPACE, ClusterName
from flotilla.kube import ConfigError, KubeClient, connection_from_kubeconfig, resource_path
from flotilla.runtime.clock import Clock
from flotilla.runtime.informer import Informer, SharedInformers
from flotilla.runtime.reflector import Event, ReflectorOptions

logger = logging.getLogger(__name__)

RESTART_DELAY = 2.0
MEMBER_TIMEOUT = 10.0
# Members come and go (that is what failover is for): retry their watches at most 5 s apart
# so a member that is back is seen again quickly, and cleaned up.
MEMBER_REFLECTORS = ReflectorOptions(backoff_cap=5.0)


@dataclass
class _Scope:
    fingerprint: str
    task: asyncio.Task[None] | None = None
    client: KubeClient | None = None
    informers: SharedInformers | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class MemberConnections:
    """Clients and informers of every registered member; run ``run()`` in a TaskGroup."""

    def __init__(self, hub_informers: SharedInformers, *, clock: Clock) -> None:
        hub = ClusterName("hub")
        self._clusters = hub_informers.informer(hub, resource_path(API_VERSION, CLUSTER.plural))
        self._secrets = hub_informers.informer(
            hub, resource_path("v1", "secrets", namespace=SYSTEM_NAMESPACE)
        )
        self._clock = clock
        self._scopes: dict[str, _Scope] = {}
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[str], None]] = []

    def on_connected(self, listener: Callable[[str], None]) -> None:
        """``listener(cluster)`` is called (no I/O!) when a member's scope comes up."""
        self._listeners.append(listener)

    def connected(self) -> list[str]:
        """Members whose client and informers are up now."""
        return [name for name, scope in self._scopes.items() if scope.ready.is_set()]

    def client(self, cluster: str) -> KubeClient | None:
        scope = self._scopes.get(cluster)
        return scope.client if scope and scope.ready.is_set() else None

    def informer(
        self, cluster: str, path: str, *, label_selector: str | None = None
    ) -> Informer | None:
        scope = self._scopes.get(cluster)
        if not scope or not scope.ready.is_set() or scope.informers is None:
            return None
        return scope.informers.informer(ClusterName(cluster), path, label_selector=label_selector)

    async def run(self) -> None:
        self._clusters.add_handler(self._poke)
        self._secrets.add_handler(self._poke)
        await self._clusters.wait_synced()
        await self._secrets.wait_synced()
        async with asyncio.TaskGroup() as group:
            try:
                while True:
                    self._changed.clear()
                    self._sync(group)
                    await self._changed.wait()
            finally:
                for scope in self._scopes.values():
                    if scope.task:
                        scope.task.cancel()

    def _poke(self, _event: Event) -> None:
        self._changed.set()

    def _sync(self, group: asyncio.TaskGroup) -> None:
        wanted: dict[str, tuple[str, dict[str, Any]]] = {}
        for cluster in self._clusters.list():
            name = cluster["metadata"]["name"]
            credentials = self._credentials(cluster)
            if credentials is not None:
                wanted[name] = credentials
        for name in [n for n in self._scopes if n not in wanted]:
            scope = self._scopes.pop(name)
            if scope.task:
                scope.task.cancel()
            logger.info("member disconnected", extra={"cluster": name})
        for name, (fingerprint, document) in wanted.items():
            old = self._scopes.get(name)
            if old and old.fingerprint == fingerprint:
                continue
            if old and old.task:
                old.task.cancel()
            scope = _Scope(fingerprint)
            self._scopes[name] = scope
            scope.task = group.create_task(self._keep_connected(name, scope, document))

    def _credentials(self, cluster: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        ref = (cluster.get("spec") or {}).get("kubeconfigSecretRef") or {}
        secret = self._secrets.get(f"{ref.get('namespace', SYSTEM_NAMESPACE)}/{ref.get('name')}")
        raw = ((secret or {}).get("data") or {}).get(ref.get("key", "kubeconfig"))
        if not raw:
            return None
        try:
            document = yaml.safe_load(base64.b64decode(raw))
        except (ValueError, yaml.YAMLError):
            return None
        if not isinstance(document, dict):
            return None
        return hashlib.sha256(str(raw).encode()).hexdigest(), document

    async def _keep_connected(self, name: str, scope: _Scope, document: dict[str, Any]) -> None:
        while True:
            try:
                config = connection_from_kubeconfig(document, allow_files=False)
            except Exception as exc:  # any shape of bad Secret: report it, never crash
                reason = str(exc) if isinstance(exc, ConfigError) else type(exc).__name__
                logger.warning(
                    "member credentials unusable", extra={"cluster": name, "error": reason}
                )
                return
            try:
                async with (
                    KubeClient(config, timeout=MEMBER_TIMEOUT) as client,
                    SharedInformers(
                        {ClusterName(name): client}, clock=self._clock, options=MEMBER_REFLECTORS
                    ) as informers,
                ):
                    scope.client, scope.informers = client, informers
                    scope.ready.set()
                    logger.info("member connected", extra={"cluster": name})
                    for listener in self._listeners:
                        listener(name)
                    await asyncio.Event().wait()  # until cancelled or an informer fails
            except Exception as exc:  # an informer of this member failed: reconnect later
                logger.warning(
                    "member connection failed", extra={"cluster": name, "error": _first(exc)}
                )
            finally:
                scope.ready.clear()
                scope.client = scope.informers = None
            await self._clock.sleep(RESTART_DELAY)


def _first(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return str(exc)[:300]


__all__ = ["MemberConnections"]
