"""``flotilla mesh``: the clusterset as each member sees it (what ``cilium clustermesh
status`` shows): its cluster id and clusterset, whether the MCS CRDs and its DNS are up, its
exports, imports and conflicts. Read from the members with the hub's stored credentials."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click
import dns.asyncquery
import dns.exception
import dns.message

from flotilla.api.labels import CLUSTERSET_DNS_ANNOTATION
from flotilla.cli.errors import fail_on_errors
from flotilla.cli.hubconn import hub_options, hub_target
from flotilla.cli.output import columns, console, dump, row
from flotilla.clusters.registry import RegistryError, list_clusters, member_connection
from flotilla.discovery.joining import CLUSTER_ID_PROPERTY, CLUSTERSET_PROPERTY, PROPERTIES
from flotilla.kube import KubeClient, KubeError, NotFound, resource_path

MCS = "multicluster.x-k8s.io/v1beta1"
TIMEOUT = 5.0


@click.group()
def mesh() -> None:
    """The clusterset across the members."""


@mesh.command()
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text")
@hub_options
@fail_on_errors
def status(output: str, hub_kubeconfig: Path | None, hub_context: str) -> None:
    """Per member: cluster id, clusterset, CRDs, DNS, exports, imports and conflicts."""
    target = hub_target(hub_kubeconfig, hub_context)

    async def run() -> list[dict[str, Any]]:
        async with target.client() as hub:
            clusters = await list_clusters(hub)
            return list(await asyncio.gather(*(member_status(hub, c) for c in clusters)))

    found = asyncio.run(run())
    if output != "text":
        dump({"members": found}, output)
        return
    table = columns(
        "CLUSTER", "CLUSTER ID", "CLUSTERSET", "CRDS", "DNS", "EXPORTS", "IMPORTS", "CONFLICTS"
    )
    for item in found:
        row(
            table,
            item["cluster"],
            item.get("clusterId") or "-",
            item.get("clusterset") or "-",
            "yes" if item.get("crds") else "no",
            item["dns"],
            item.get("exports", "-"),
            item.get("imports", "-"),
            ", ".join(item.get("conflicts") or []) or "-",
        )
    console.print(table)
    for item in found:
        if item.get("error"):
            console.print(f"{item['cluster']}: {item['error']}", highlight=False)


async def member_status(hub: KubeClient, cluster: dict[str, Any]) -> dict[str, Any]:
    name = cluster["metadata"]["name"]
    where = (cluster["metadata"].get("annotations") or {}).get(CLUSTERSET_DNS_ANNOTATION)
    out: dict[str, Any] = {"cluster": name, "dns": await dns_check(where)}
    try:
        connection = await member_connection(hub, cluster)
        async with KubeClient(connection, timeout=TIMEOUT) as member:
            out["clusterId"] = await _property(member, CLUSTER_ID_PROPERTY)
            out["clusterset"] = await _property(member, CLUSTERSET_PROPERTY)
            try:
                exports = await member.list(resource_path(MCS, "serviceexports"))
                imports = await member.list(resource_path(MCS, "serviceimports"))
            except NotFound:
                out["crds"] = False
                return out
            out["crds"] = True
            items = exports.get("items") or []
            out["exports"] = len(items)
            out["imports"] = len(imports.get("items") or [])
            out["conflicts"] = sorted(
                f"{i['metadata']['namespace']}/{i['metadata']['name']}"
                for i in items
                if any(
                    c.get("type") == "Conflict" and c.get("status") == "True"
                    for c in (i.get("status") or {}).get("conditions") or []
                )
            )
    except (RegistryError, KubeError) as exc:
        out["error"] = str(exc)[:300]
    return out


async def _property(member: KubeClient, name: str) -> str:
    try:
        found = await member.get(f"{PROPERTIES}/{name}")
    except NotFound:
        return ""
    return str((found.get("spec") or {}).get("value") or "")


async def dns_check(where: str | None) -> str:
    """``ok HOST:PORT`` when the member's DNS answers ``dns-version.clusterset.local``."""
    if not where:
        return "unknown (no flotilla.io/clusterset-dns on the Cluster)"
    host, _, port = where.rpartition(":")
    query = dns.message.make_query("dns-version.clusterset.local", "TXT")
    try:
        answer = await dns.asyncquery.udp(query, host, port=int(port or 53), timeout=2)
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        return f"failed {where}: {type(exc).__name__}"
    version = [r.to_text() for rrset in answer.answer for r in rrset]
    return f"ok {where}" if version else f"failed {where}: no dns-version"
