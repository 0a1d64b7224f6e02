"""The data plane: ``clusterset.local`` served by each member, from that member alone.

``serve`` watches the member's ServiceImports and imported EndpointSlices (nothing on the
hub, nothing of other members: discovery keeps answering while the hub or the controller
is down) and the member's cluster id, and hands the DNS server a new zone after every burst
of changes (``SETTLE`` seconds, so a rollout of many slices is one rebuild). A zone that
cannot be built keeps the last one served. Until the informers have synced the server
holds no zone and answers REFUSED, never a wrong NXDOMAIN: the zone is served only once
the first full picture is in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from flotilla.api.names import ClusterName
from flotilla.discovery.clustersetzone import clusterset_zone
from flotilla.discovery.joining import CLUSTER_ID_PROPERTY, PROPERTIES
from flotilla.discovery.mirroring import SERVICE_NAME_LABEL
from flotilla.dns import DnsServer, ZoneError, compile_zones
from flotilla.kube import KubeClient, KubeError, NotFound, resource_path
from flotilla.runtime.clock import Clock
from flotilla.runtime.informer import SharedInformers

logger = logging.getLogger(__name__)

IMPORTS = resource_path("multicluster.x-k8s.io/v1beta1", "serviceimports")
SLICES = resource_path("discovery.k8s.io/v1", "endpointslices")
SETTLE = 0.05
MEMBER = ClusterName("member")


@dataclass
class Stats:
    rebuilds: int = 0
    records: int = 0
    skipped: int = 0
    failed: int = 0


async def serve(
    client: KubeClient,
    server: DnsServer,
    *,
    host: str,
    port: int,
    clock: Clock,
    started: asyncio.Event | None = None,
    stats: Stats | None = None,
) -> None:
    """Serve ``clusterset.local`` of the member behind ``client`` until cancelled."""
    stats = stats or Stats()
    changed = asyncio.Event()
    async with (
        SharedInformers({MEMBER: client}, clock=clock) as informers,
        asyncio.TaskGroup() as group,
    ):
        imports = informers.informer(MEMBER, IMPORTS)
        slices = informers.informer(MEMBER, SLICES, label_selector=SERVICE_NAME_LABEL)
        imports.add_handler(lambda _event: changed.set())
        slices.add_handler(lambda _event: changed.set())
        group.create_task(server.serve(host, port, started=started))
        await imports.wait_synced()
        await slices.wait_synced()
        cluster_id = ""
        while True:
            cluster_id = cluster_id or await _cluster_id(client)
            try:
                built = clusterset_zone(imports.list(), slices.list(), cluster_id=cluster_id)
                zones = compile_zones([built.zone])
            except ZoneError as exc:
                stats.failed += 1
                logger.warning("clusterset zone not built", extra={"error": str(exc)[:300]})
            else:
                server.update(zones)
                stats.rebuilds += 1
                stats.records = len(built.zone.records)
                stats.skipped = built.skipped
            changed.clear()
            await changed.wait()
            await clock.sleep(SETTLE)


async def _cluster_id(client: KubeClient) -> str:
    """The member's cluster id (for Cilium's local/remote affinity); "" until it has one."""
    with contextlib.suppress(NotFound, KubeError):
        found = await client.get(f"{PROPERTIES}/{CLUSTER_ID_PROPERTY}")
        return str((found.get("spec") or {}).get("value") or "")
    return ""
