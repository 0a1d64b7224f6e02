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
from collections.abc import Callable
from dataclasses import dataclass, field

from flotilla.api import SYSTEM_NAMESPACE
from flotilla.api.labels import HUB_CLUSTER
from flotilla.clusters.connections import MemberConnections
from flotilla.clusters.controller import ClusterHealthController
from flotilla.kube import ConnectionConfig, KubeClient
from flotilla.propagation.controller import PropagationController
from flotilla.propagation.tenancy import DEFAULT_TENANCY, TenancyPolicy
from flotilla.runtime.clock import Clock, LoopClock
from flotilla.runtime.informer import SharedInformers
from flotilla.runtime.leader import LeaderElector
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.serving import serve

logger = logging.getLogger(__name__)

LEASE_NAME = "flotilla-controller"


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
                controllers.create_task(members.run(), name="members")
                controllers.create_task(health.run(), name="cluster-health")
                controllers.create_task(propagation.run(), name="propagation")

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
            metrics.leader.labels(name=options.lease_name).set(0)
