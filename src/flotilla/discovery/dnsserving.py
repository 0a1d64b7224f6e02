"""The data plane: ``clusterset.local`` served by each member, from that member alone.

``serve`` watches the member's ServiceImports and imported EndpointSlices (nothing on the
hub, nothing of other members: discovery keeps answering while the hub or the controller
is down) and the member's cluster id, and hands the DNS server a new zone after every burst
of changes (``SETTLE`` seconds, so a rollout of many slices is one rebuild). A zone that
cannot be built keeps the last one served. Until the informers have synced the server
holds no zone and answers REFUSED, never a wrong NXDOMAIN: the zone is served only once
the first full picture is in; before the member has joined (no ServiceImport CRD) the zone
holds only ``dns-version``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from flotilla.api.names import ClusterName
from flotilla.discovery.clustersetzone import clusterset_zone
from flotilla.discovery.joining import CLUSTER_ID_PROPERTY, PROPERTIES
from flotilla.discovery.mirroring import SERVICE_NAME_LABEL
from flotilla.dns import DnsServer, ZoneError, Zones, compile_zones
from flotilla.kube import KubeClient, KubeError, NotFound, resource_path
from flotilla.runtime.clock import Clock
from flotilla.runtime.informer import SharedInformers

logger = logging.getLogger(__name__)

IMPORTS = resource_path("multicluster.x-k8s.io/v1beta1", "serviceimports")
SLICES = resource_path("discovery.k8s.io/v1", "endpointslices")
SETTLE = 0.05
RETRY = 2.0
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
    """Serve ``clusterset.local`` of the member behind ``client`` until cancelled.

    The member may not have joined yet (no ServiceImport CRD): until it has, the zone holds
    nothing but ``dns-version``, which is the truth (nothing is imported there). Watches that
    fail (the CRD removed) are started again after ``RETRY`` seconds; the zone answered
    meanwhile is the last one built.
    """
    stats = stats or Stats()
    async with asyncio.TaskGroup() as group:
        group.create_task(server.serve(host, port, started=started))
        while True:
            try:
                await client.list(IMPORTS, limit=1)
            except NotFound:  # not joined yet: nothing is imported here, and that is the truth
                server.update(_compiled([], [], "", stats) or server.zones)
                await clock.sleep(RETRY)
                continue
            except KubeError as exc:
                logger.warning("member not readable", extra={"error": str(exc)[:300]})
                await clock.sleep(RETRY)
                continue
            try:
                await _follow(client, server, clock=clock, stats=stats)
            except* KubeError as failed:
                error = str(failed.exceptions[0])[:300]
                logger.warning("clusterset watch failed", extra={"error": error})
            await clock.sleep(RETRY)


async def _follow(client: KubeClient, server: DnsServer, *, clock: Clock, stats: Stats) -> None:
    changed = asyncio.Event()
    async with SharedInformers({MEMBER: client}, clock=clock) as informers:
        imports = informers.informer(MEMBER, IMPORTS)
        slices = informers.informer(MEMBER, SLICES, label_selector=SERVICE_NAME_LABEL)
        imports.add_handler(lambda _event: changed.set())
        slices.add_handler(lambda _event: changed.set())
        await imports.wait_synced()
        await slices.wait_synced()
        cluster_id = ""
        while True:
            cluster_id = cluster_id or await _cluster_id(client)
            changed.clear()
            began = clock.monotonic()
            zones = await asyncio.to_thread(
                _compiled, imports.list(), slices.list(), cluster_id, stats
            )  # a large zone takes seconds: never on the loop that serves TCP and the watches
            took = clock.monotonic() - began
            if zones is not None:
                server.update(zones)
            await changed.wait()
            # bursts coalesce, and rebuilds are spaced by what the last one took
            await clock.sleep(max(SETTLE, took))


def _compiled(
    imports: list[dict[str, Any]], slices: list[dict[str, Any]], cluster_id: str, stats: Stats
) -> Zones | None:
    try:
        built = clusterset_zone(imports, slices, cluster_id=cluster_id)
        zones = compile_zones([built.zone])
    except ZoneError as exc:
        stats.failed += 1
        logger.warning("clusterset zone not built", extra={"error": str(exc)[:300]})
        return None
    stats.rebuilds += 1
    stats.records = len(built.zone.records)
    stats.skipped = built.skipped
    return zones


async def _cluster_id(client: KubeClient) -> str:
    """The member's cluster id (for Cilium's local/remote affinity); "" until it has one."""
    with contextlib.suppress(NotFound, KubeError):
        found = await client.get(f"{PROPERTIES}/{CLUSTER_ID_PROPERTY}")
        return str((found.get("spec") or {}).get("value") or "")
    return ""
