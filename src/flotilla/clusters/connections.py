"""Connections to members for controllers that act on them: one client, one REST mapping
and one set of shared informers per member, kept in step with the Cluster and its Secret.

This module is the one way to a member. ``secret_ref`` and ``decode_credentials`` are the
one decoder from a Cluster and its kubeconfig Secret to a ``ConnectionConfig`` (the health
controller, the registry and ``MemberConnections`` all use it), and ``open_client`` the one
place a member client is built; both turn every way stored credentials can be unusable into
a ``CredentialsProblem`` whose reason and message say what to fix and never quote the data.
New controllers get a member's client, mapper and informers from ``MemberConnections`` and
nothing else.

Each member has a scope: a task that owns its ``KubeClient``, its ``RestMapper`` (kinds
are resolved with the member's own discovery: a CRD missing on one member is unknown there
only) and its ``SharedInformers``. The scope is started for a registered Cluster with
usable credentials, restarted when the credentials change, and cancelled when the Cluster
goes. Member informers are isolated: one that stops for good (its CRD deleted on the
member, a 403) stops alone and is started again when next asked for; anything else that
fails in a scope takes that scope down and it is started again after a pause. Neither
takes the controller or other members with it.

Controllers ask for a member's client, mapper or informer; ``None`` means "not connected
now": treat the member as unreachable and try again later.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import ValidationError

from flotilla.api import API_VERSION, CLUSTER, SYSTEM_NAMESPACE, ClusterName
from flotilla.api.cluster import SecretKeyRef
from flotilla.api.labels import HUB_CLUSTER
from flotilla.kube import (
    ConfigError,
    ConnectionConfig,
    KubeClient,
    RestMapper,
    connection_from_kubeconfig,
    resource_path,
)
from flotilla.runtime.clock import Clock
from flotilla.runtime.informer import Informer, SharedInformers
from flotilla.runtime.reflector import Event, ReflectorOptions

logger = logging.getLogger(__name__)

RESTART_DELAY = 2.0
MEMBER_TIMEOUT = 10.0
# Members come and go (that is what failover is for): retry their watches at most 5 s apart
# so a member that is back is seen again quickly, and cleaned up.
MEMBER_REFLECTORS = ReflectorOptions(backoff_cap=5.0)


class CredentialsProblem(Exception):
    """Why a Cluster's stored credentials cannot be used; ``reason`` is a condition reason.

    Reasons: ``InvalidSpec``, ``CredentialsMissing``, ``CredentialsInvalid``. The message
    says what to fix and never quotes the Secret's data.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class MemberCredentials:
    """A member's decoded connection; ``fingerprint`` changes when the stored data does."""

    config: ConnectionConfig
    fingerprint: str
    source: str
    """Where it is stored, for messages: ``Secret cluster-m1-kubeconfig key 'kubeconfig'``."""


Connect = Callable[[ConnectionConfig, float], KubeClient]
"""Builds a member client from its connection and request timeout (tests fake the wire)."""


def connect(config: ConnectionConfig, timeout: float) -> KubeClient:
    return KubeClient(config, timeout=timeout)


def secret_ref(cluster: Mapping[str, Any]) -> SecretKeyRef:
    """Where ``cluster`` keeps its kubeconfig; only ``flotilla-system`` is allowed."""
    raw = (cluster.get("spec") or {}).get("kubeconfigSecretRef")
    try:
        # Null means "the default" for every field of the reference.
        ref = SecretKeyRef.model_validate(
            {k: v for k, v in raw.items() if v is not None} if isinstance(raw, dict) else raw
        )
    except ValidationError as exc:
        raise CredentialsProblem(
            "InvalidSpec", f"spec.kubeconfigSecretRef is invalid: {exc.errors()[0]['msg']}"
        ) from None
    if ref.namespace != SYSTEM_NAMESPACE:
        raise CredentialsProblem(
            "CredentialsMissing",
            f"the kubeconfig Secret must be in {SYSTEM_NAMESPACE}, not {ref.namespace!r}; "
            "register the cluster again with `flotilla cluster add`",
        )
    return ref


def decode_credentials(ref: SecretKeyRef, secret: Mapping[str, Any] | None) -> MemberCredentials:
    """The connection stored under ``ref`` in ``secret`` (None: the Secret is missing)."""
    if secret is None:
        raise CredentialsProblem(
            "CredentialsMissing",
            f"Secret {ref.namespace}/{ref.name} not found; register the cluster again "
            "with `flotilla cluster add`",
        )
    raw = (secret.get("data") or {}).get(ref.key)
    if not raw or not isinstance(raw, str):
        raise CredentialsProblem("CredentialsInvalid", f"Secret {ref.name} has no key {ref.key!r}")
    where = f"Secret {ref.name} key {ref.key!r}"
    try:
        document = yaml.safe_load(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError, yaml.YAMLError):  # not chained: errors quote the data
        raise CredentialsProblem("CredentialsInvalid", f"{where}: not a kubeconfig") from None
    if not isinstance(document, dict):
        raise CredentialsProblem("CredentialsInvalid", f"{where}: not a kubeconfig")
    try:
        config = connection_from_kubeconfig(document, allow_files=False)
        _check_usable(config)
    except ConfigError as exc:
        raise CredentialsProblem("CredentialsInvalid", f"{where}: {exc}") from None
    except Exception as exc:  # any other shape of bad kubeconfig
        message = f"{where}: not a kubeconfig ({type(exc).__name__})"
        raise CredentialsProblem("CredentialsInvalid", message) from None
    return MemberCredentials(config, hashlib.sha256(raw.encode()).hexdigest(), where)


def _check_usable(config: ConnectionConfig) -> None:
    """Refuse what would only fail later, inside a request, with an unhelpful error."""
    try:
        url = urlsplit(config.server)
        url.port  # noqa: B018 (raises for a port that is no number)
    except ValueError:
        raise ConfigError("server is not a valid URL") from None
    if url.scheme not in ("https", "http") or not url.hostname:
        raise ConfigError("server must be an https:// URL with a host")
    if config.tls_server_name is not None and not isinstance(config.tls_server_name, str):
        raise ConfigError("tls-server-name must be a string")
    if config.token is not None and not (config.token.isascii() and config.token.isprintable()):
        raise ConfigError("the token has characters that cannot be sent (not printable ASCII)")


def open_client(
    credentials: MemberCredentials, *, timeout: float, connect: Connect = connect
) -> KubeClient:
    """A client for the member; whatever keeps one from being built is a credentials problem."""
    try:
        return connect(credentials.config, timeout)
    except ConfigError as exc:
        message = f"{credentials.source}: {exc}"
        raise CredentialsProblem("CredentialsInvalid", message) from None
    except Exception as exc:  # not chained, and only the type: the text may quote data
        message = f"{credentials.source}: cannot make a client ({type(exc).__name__})"
        raise CredentialsProblem("CredentialsInvalid", message) from None


@dataclass
class _Scope:
    fingerprint: str
    task: asyncio.Task[None] | None = None
    client: KubeClient | None = None
    mapper: RestMapper | None = None
    informers: SharedInformers | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class MemberConnections:
    """Clients, mappers and informers of every registered member; ``run()`` in a TaskGroup."""

    def __init__(
        self, hub_informers: SharedInformers, *, clock: Clock, connect: Connect = connect
    ) -> None:
        hub = HUB_CLUSTER
        self._clusters = hub_informers.informer(hub, resource_path(API_VERSION, CLUSTER.plural))
        self._secrets = hub_informers.informer(
            hub, resource_path("v1", "secrets", namespace=SYSTEM_NAMESPACE)
        )
        self._clock = clock
        self._connect = connect
        self._refused: dict[str, str] = {}
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

    def mapper(self, cluster: str) -> RestMapper | None:
        """The member's own REST mapping (its kinds, its CRDs); None when not connected."""
        scope = self._scopes.get(cluster)
        return scope.mapper if scope and scope.ready.is_set() else None

    def informer(
        self, cluster: str, path: str, *, label_selector: str | None = None
    ) -> Informer | None:
        scope = self._scopes.get(cluster)
        if not scope or not scope.ready.is_set() or scope.informers is None:
            return None
        # Isolated: a kind deleted on this member (its CRD gone) stops that informer only,
        # never the member's other informers or its scope.
        return scope.informers.informer(
            ClusterName(cluster), path, label_selector=label_selector, critical=False
        )

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
        wanted: dict[str, MemberCredentials] = {}
        refused: dict[str, str] = {}
        for cluster in self._clusters.list():
            name = cluster["metadata"]["name"]
            try:
                wanted[name] = self._credentials(cluster)
            except CredentialsProblem as problem:  # the health controller reports it
                refused[name] = problem.message
                if self._refused.get(name) != problem.message:  # once, not every sync
                    logger.warning(
                        "member credentials unusable",
                        extra={"cluster": name, "error": problem.message},
                    )
        self._refused = refused
        for name in [n for n in self._scopes if n not in wanted]:
            scope = self._scopes.pop(name)
            if scope.task:
                scope.task.cancel()
            logger.info("member disconnected", extra={"cluster": name})
        for name, credentials in wanted.items():
            old = self._scopes.get(name)
            if old and old.fingerprint == credentials.fingerprint:
                continue
            if old and old.task:
                old.task.cancel()
            scope = _Scope(credentials.fingerprint)
            self._scopes[name] = scope
            scope.task = group.create_task(self._keep_connected(name, scope, credentials))

    def _credentials(self, cluster: dict[str, Any]) -> MemberCredentials:
        ref = secret_ref(cluster)
        return decode_credentials(ref, self._secrets.get(f"{ref.namespace}/{ref.name}"))

    async def _keep_connected(
        self, name: str, scope: _Scope, credentials: MemberCredentials
    ) -> None:
        while True:
            try:
                member = open_client(credentials, timeout=MEMBER_TIMEOUT, connect=self._connect)
            except CredentialsProblem as problem:  # a new Secret starts a new scope
                logger.warning(
                    "member credentials unusable", extra={"cluster": name, "error": problem.message}
                )
                return
            try:
                async with (
                    member as client,
                    SharedInformers(
                        {ClusterName(name): client}, clock=self._clock, options=MEMBER_REFLECTORS
                    ) as informers,
                ):
                    scope.client, scope.informers = client, informers
                    scope.mapper = RestMapper(client, now=self._clock.monotonic)
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
                scope.client = scope.informers = scope.mapper = None
            await self._clock.sleep(RESTART_DELAY)


def _first(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return str(exc)[:300]


__all__ = [
    "Connect",
    "CredentialsProblem",
    "MemberConnections",
    "MemberCredentials",
    "connect",
    "decode_credentials",
    "open_client",
    "secret_ref",
]
