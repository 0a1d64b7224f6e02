"""The controller process: one hub client, shared informers, the controllers, leader
election, and the /metrics, /healthz and /readyz server.

Layering: it wires capability packages together; only the CLI sits above it.
With leader election, a process that is not leading serves /healthz and /readyz and waits;
the one that leads runs the controllers. Losing the lease stops them and raises
``LeadershipLost`` out of ``run``: the process exits and is restarted, as
controller-runtime's managers do.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flotilla.api import SYSTEM_NAMESPACE
from flotilla.api.application import DEFAULT_APP_NAMESPACES
from flotilla.api.crds import KindInfo
from flotilla.api.kinds import APPLICATION, APPLICATIONSET, CLUSTER, GITREPO
from flotilla.api.labels import HUB_CLUSTER, hub_identity
from flotilla.api.meta import API_VERSION
from flotilla.clusters.connections import MemberConnections
from flotilla.clusters.controller import ClusterHealthController
from flotilla.discovery.allocating import DEFAULT_RANGES, Ranges
from flotilla.discovery.controller import DiscoveryController
from flotilla.gitops.appset_controller import ApplicationSetController
from flotilla.gitops.controller import DEFAULT_POLL, ApplicationController
from flotilla.gitops.desired import Renderer
from flotilla.gitops.gitrepo_controller import GitRepoController
from flotilla.gitops.rendering import Tools
from flotilla.gitops.sources import GitSources
from flotilla.gitops.webhook import Push, handler
from flotilla.hub.install import crd_is_ours
from flotilla.kube import ConnectionConfig, Forbidden, KubeClient, NotFound, resource_path
from flotilla.propagation.controller import PropagationController
from flotilla.propagation.tenancy import DEFAULT_TENANCY, TenancyPolicy
from flotilla.runtime.clock import Clock, LoopClock
from flotilla.runtime.informer import SharedInformers
from flotilla.runtime.leader import LeaderElector
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.serving import Request, Response, serve

logger = logging.getLogger(__name__)

LEASE_NAME = "flotilla-controller"


WEBHOOK_PATH = "/api/webhook"


@dataclass
class GitOpsOptions:
    """How the GitOps controller fetches and renders (``controller run`` flags)."""

    app_namespaces: frozenset[str] = frozenset(DEFAULT_APP_NAMESPACES)
    """Hub namespaces whose Applications are reconciled (Argo CD's application.namespaces)."""
    poll_interval: float = DEFAULT_POLL
    rewrites: tuple[tuple[str, str], ...] = ()
    """``--git-url-rewrite FROM=TO``: git's ``url.<TO>.insteadOf=<FROM>``."""
    cache_dir: Path | None = None
    kubectl: Path = Path("kubectl")
    helm: Path = Path("helm")
    gotemplate: Path | None = None
    """flotilla-gotemplate, for ApplicationSets with ``goTemplate: true``."""
    webhook_allow_unsigned: bool = False


@dataclass
class DiscoveryOptions:
    """The clusterset (``controller run`` flags)."""

    ranges: tuple[str, ...] = DEFAULT_RANGES
    """ClusterSet IP ranges, at most one per IP family."""
    clusterset: str = "flotilla"
    """The clusterset's name (the members' ``clusterset.k8s.io`` ClusterProperty)."""


@dataclass
class ManagerOptions:
    leader_elect: bool = False
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 8080
    lease_namespace: str = SYSTEM_NAMESPACE
    lease_name: str = LEASE_NAME
    identity: str | None = None
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    clock: Clock = field(default_factory=LoopClock)
    tenancy: TenancyPolicy = DEFAULT_TENANCY
    """What Placements may write on members: the hub admin's decision (``controller run``)."""
    gitops: GitOpsOptions = field(default_factory=GitOpsOptions)
    discovery: DiscoveryOptions = field(default_factory=DiscoveryOptions)


async def run(
    hub_config: ConnectionConfig,
    options: ManagerOptions,
    *,
    metrics: Metrics | None = None,
    serving: Callable[[int], None] = lambda _port: None,
) -> None:
    metrics = metrics or Metrics()
    hub_name = HUB_CLUSTER
    state: dict[str, ClusterHealthController | None] = {"health": None}
    webhooks: dict[str, ApplicationController] = {}
    other_pushes: list[Callable[[Push], int]] = []

    async def webhook(request: Request) -> Response:
        gitops = webhooks.get("gitops")
        if gitops is None:
            return Response(503, b"GitOps is not running here (not leading, or off)")

        def on_push(push: Push) -> int:
            return gitops.on_push(push) + sum(other(push) for other in other_pushes)

        return await handler(
            gitops.webhook_secrets(),
            on_push,
            allow_unsigned=options.gitops.webhook_allow_unsigned,
        )(request)

    def ready() -> bool:
        health = state["health"]
        return (health is None and options.leader_elect) or bool(health and health.synced)

    async with KubeClient(hub_config) as hub, asyncio.TaskGroup() as group:
        group.create_task(
            serve(
                options.metrics_host,
                options.metrics_port,
                metrics=metrics,
                ready=ready,
                started=serving,
                routes={WEBHOOK_PATH: webhook},
            )
        )

        elector: LeaderElector | None = None

        def leading() -> bool:
            return elector is None or elector.leading

        async def lead() -> None:
            metrics.leader.labels(name=options.lease_name).set(1)
            logger.info("controllers starting")
            async with (
                SharedInformers({hub_name: hub}, clock=options.clock) as informers,
                asyncio.TaskGroup() as controllers,
            ):
                members = MemberConnections(informers, clock=options.clock)
                health = ClusterHealthController(
                    hub, informers, clock=options.clock, metrics=metrics, leading=leading
                )
                propagation = PropagationController(
                    hub, informers, members, clock=options.clock, metrics=metrics,
                    leading=leading, tenancy=options.tenancy,
                )  # fmt: skip
                state["health"] = health
                controllers.create_task(
                    (await _discovery(hub, informers, members, options, metrics, leading)).run(),
                    name="discovery",
                )
                controllers.create_task(members.run(), name="members")
                controllers.create_task(health.run(), name="cluster-health")
                controllers.create_task(propagation.run(), name="propagation")
                await _start_gitops(
                    hub, informers, members, options, metrics, leading, controllers,
                    webhooks=webhooks, other_pushes=other_pushes,
                )  # fmt: skip

        try:
            if options.leader_elect:
                metrics.leader.labels(name=options.lease_name).set(0)
                elector = LeaderElector(
                    hub,
                    namespace=options.lease_namespace,
                    name=options.lease_name,
                    identity=options.identity,
                    clock=options.clock,
                    lease_duration=options.lease_duration,
                    renew_deadline=options.renew_deadline,
                    retry_period=options.retry_period,
                )
                await elector.run(lead)
            else:
                await lead()
        finally:
            webhooks.clear()
            other_pushes.clear()
            metrics.leader.labels(name=options.lease_name).set(0)


async def _start_gitops(  # noqa: PLR0917
    hub: KubeClient,
    informers: SharedInformers,
    members: MemberConnections,
    options: ManagerOptions,
    metrics: Metrics,
    leading: Callable[[], bool],
    controllers: asyncio.TaskGroup,
    *,
    webhooks: dict[str, ApplicationController],
    other_pushes: list[Callable[[Push], int]],
) -> None:
    """The GitOps controllers whose kinds this hub serves as Flotilla's."""
    if await _served(hub, APPLICATION):
        gitops = _gitops(hub, informers, members, options, metrics, leading)
        webhooks["gitops"] = gitops
        controllers.create_task(gitops.run(), name="gitops")
        if await _served(hub, APPLICATIONSET):
            appsets = ApplicationSetController(
                hub, informers, gitops.sources, clock=options.clock,
                metrics=metrics, namespaces=options.gitops.app_namespaces,
                helper=options.gitops.gotemplate,
                poll_interval=options.gitops.poll_interval, leading=leading,
            )  # fmt: skip
            other_pushes.append(appsets.on_push)
            controllers.create_task(appsets.run(), name="applicationsets")
        if await _served(hub, GITREPO):
            gitrepos = GitRepoController(
                hub, informers, gitops.sources, clock=options.clock,
                metrics=metrics, namespaces=options.gitops.app_namespaces,
                leading=leading,
            )  # fmt: skip
            other_pushes.append(gitrepos.on_push)
            controllers.create_task(gitrepos.run(), name="gitrepos")


async def _discovery(  # noqa: PLR0917
    hub: KubeClient,
    informers: SharedInformers,
    members: MemberConnections,
    options: ManagerOptions,
    metrics: Metrics,
    leading: Callable[[], bool],
) -> DiscoveryController:
    namespace = await hub.get(resource_path("v1", "namespaces", name=SYSTEM_NAMESPACE))
    hub_id = hub_identity(namespace)
    clusters = informers.informer(HUB_CLUSTER, resource_path(API_VERSION, CLUSTER.plural))

    def registered() -> dict[str, str]:
        return {
            item["metadata"]["name"]: str(item["metadata"].get("creationTimestamp") or "")
            for item in clusters.list()
        }

    return DiscoveryController(
        members,
        clock=options.clock,
        metrics=metrics,
        leading=leading,
        hub_id=lambda: hub_id,
        registered=registered,
        ranges=Ranges.parse(options.discovery.ranges),
        clusterset=options.discovery.clusterset,
    )


async def _served(hub: KubeClient, kind: KindInfo) -> bool:
    """Whether this hub's ``kind`` (an Argo CD kind) is Flotilla's: its CRD is there and is
    Flotilla's (not Argo CD's, whose controllers then own every object of it)."""
    path = resource_path("apiextensions.k8s.io/v1", "customresourcedefinitions", name=kind.crd_name)
    try:
        definition = await hub.get(path)
    except NotFound:
        logger.warning("%s off: its CRD is not installed (flotilla hub install)", kind.kind)
        return False
    except Forbidden:
        logger.warning(
            "%s off: the controller may not read its CRD (its RBAC is older than this "
            "version: flotilla hub install)",
            kind.kind,
        )
        return False
    if not crd_is_ours(definition):
        logger.warning(
            "%s off: another installation (Argo CD?) owns its CRD; its objects are left to it",
            kind.kind,
        )
        return False
    return True


def _gitops(  # noqa: PLR0917
    hub: KubeClient,
    informers: SharedInformers,
    members: MemberConnections,
    options: ManagerOptions,
    metrics: Metrics,
    leading: Callable[[], bool],
) -> ApplicationController:
    settings = options.gitops
    cache = settings.cache_dir or Path(tempfile.mkdtemp(prefix="flotilla-git-"))
    sources = GitSources(cache, rewrites=settings.rewrites)
    renderer = Renderer(sources, tools=Tools(kubectl=settings.kubectl, helm=settings.helm))
    return ApplicationController(
        hub, informers, members, renderer, clock=options.clock, metrics=metrics,
        namespaces=settings.app_namespaces, poll_interval=settings.poll_interval,
        leading=leading,
    )  # fmt: skip


__all__ = ["WEBHOOK_PATH", "GitOpsOptions", "ManagerOptions", "run"]
