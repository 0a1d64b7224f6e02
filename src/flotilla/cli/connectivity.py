"""``flotilla connectivity``: the clusterset tried end to end, as ``cilium connectivity test``.

``test`` exports a test service ``echo-<cluster>`` from every target member (a headless,
selector-less Service whose one endpoint is the member's echo server), then checks, for
every source member, that its DNS resolves each other member's test service to that
member's endpoint, and that a TCP connection to that endpoint (from where the CLI runs:
the CLI is not inside the source member) is answered by the target's echo server.
It prints a matrix (source rows, target columns) with the time each took, the members' API
and DNS latency, ``-o json`` for machines, and exits 1 naming every failing pair. The test
namespace ``flotilla-connectivity`` is deleted afterwards on every member (``--keep``
leaves it).

Where a member's DNS and echo server answer comes from its Cluster's annotations
(``flotilla.io/clusterset-dns``, ``flotilla.io/connectivity-echo``; the local fleet sets
both and runs ``flotilla connectivity serve`` on each member); a member without an echo
server is exported as a ClusterSetIP service: resolved, not connected to. ``serve`` is that
echo server: it answers every connection with ``flotilla-echo <cluster>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

import click
import dns.asyncquery
import dns.exception
import dns.message

from flotilla.api.labels import CLUSTERSET_DNS_ANNOTATION, CONNECTIVITY_ECHO_ANNOTATION
from flotilla.cli.errors import fail_on_errors
from flotilla.cli.hubconn import hub_options, hub_target
from flotilla.cli.output import columns, console, dump, row
from flotilla.clusters.registry import list_clusters, member_connection
from flotilla.kube import Conflict, KubeClient, KubeError, NotFound, resource_path

NAMESPACE = "flotilla-connectivity"
MCS = "multicluster.x-k8s.io/v1beta1"
BANNER = "flotilla-echo"
FIELD_MANAGER = "flotilla-connectivity"


@click.group()
def connectivity() -> None:
    """Try the clusterset end to end."""


@connectivity.command()
@click.option("--listen", required=True, metavar="HOST:PORT", help="Where to answer.")
@click.option("--name", "cluster", required=True, help="The cluster this server is in.")
def serve(listen: str, cluster: str) -> None:
    """An echo server for `connectivity test`: each connection gets the cluster's name."""
    host, _, port = listen.rpartition(":")

    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"{BANNER} {cluster}\n".encode())
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(answer, host, int(port))
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@connectivity.command()
@click.option("--from", "sources", multiple=True, metavar="CLUSTER", help="Only from these.")
@click.option("--to", "targets", multiple=True, metavar="CLUSTER", help="Only to these.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for DNS.")
@click.option("--keep", is_flag=True, help="Leave the test services in place.")
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text")
@hub_options
@fail_on_errors
def test(  # noqa: PLR0917
    sources: tuple[str, ...],
    targets: tuple[str, ...],
    timeout: float,
    keep: bool,
    output: str,
    hub_kubeconfig: Path | None,
    hub_context: str,
) -> None:
    """Resolve and reach every target member's test service from every source member."""
    target = hub_target(hub_kubeconfig, hub_context)
    report = asyncio.run(_run(target, sources, targets, timeout=timeout, keep=keep))
    if output != "text":
        dump(report, output)
    else:
        _print(report)
    failures = [p for p in report["pairs"] if not p["ok"]]
    for pair in failures:
        click.echo(f"failed: {pair['from']} -> {pair['to']}: {pair['error']}", err=True)
    sys.exit(1 if failures else 0)


async def _run(
    target: Any, sources: tuple[str, ...], targets: tuple[str, ...], *, timeout: float, keep: bool
) -> dict[str, Any]:
    async with target.client() as hub:
        clusters = {c["metadata"]["name"]: c for c in await list_clusters(hub)}
        unknown = sorted((set(sources) | set(targets)) - set(clusters))
        if unknown:
            raise click.UsageError(f"no such cluster: {', '.join(unknown)}")
        froms = list(sources) or sorted(clusters)
        tos = list(targets) or sorted(clusters)
        members = {name: await member_connection(hub, clusters[name]) for name in {*froms, *tos}}
    members_info: dict[str, dict[str, Any]] = {}
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(KubeClient(config, timeout=10))
            for name, config in members.items()
        }
        for name, client in clients.items():
            members_info[name] = {"apiLatencyMs": await _api_latency(client)}
        unexported: dict[str, str] = {}
        try:
            for name in tos:
                echo = _annotation(clusters[name], CONNECTIVITY_ECHO_ANNOTATION)
                try:
                    await _export(clients, name, echo)
                except KubeError as exc:  # that member's column fails; the others are tried
                    unexported[name] = f"the test service could not be exported: {str(exc)[:200]}"
            pairs = await asyncio.gather(
                *(
                    _pair(clusters, a, b, timeout=timeout, unexported=unexported.get(b))
                    for a in froms
                    for b in tos
                    if a != b
                )
            )
        finally:
            if not keep:
                await _clean_up(clients)
    for name, info in members_info.items():
        where = _annotation(clusters[name], CLUSTERSET_DNS_ANNOTATION)
        info["dns"] = where
        info["dnsLatencyMs"] = await _dns_latency(where) if where else None
    return {"members": members_info, "pairs": list(pairs)}


def _annotation(cluster: dict[str, Any], name: str) -> str:
    return str((cluster["metadata"].get("annotations") or {}).get(name) or "")


async def _api_latency(client: KubeClient) -> float | None:
    begin = time.perf_counter()
    try:
        await client.readyz(timeout=5)
    except KubeError:
        return None
    return round((time.perf_counter() - begin) * 1e3, 1)


async def _dns_latency(where: str) -> float | None:
    host, _, port = where.rpartition(":")
    query = dns.message.make_query("dns-version.clusterset.local", "TXT")
    took = []
    for _ in range(5):
        begin = time.perf_counter()
        try:
            await dns.asyncquery.udp(query, host, port=int(port), timeout=2)
        except (dns.exception.DNSException, OSError):
            return None
        took.append(time.perf_counter() - begin)
    return round(sorted(took)[2] * 1e3, 2)


async def _export(clients: dict[str, KubeClient], name: str, echo: str) -> None:
    """``echo-<name>`` exported from ``name``; the namespace on every member (imports)."""
    for client in clients.values():
        await _fresh_namespace(client)
    client = clients[name]
    service = f"echo-{name}"
    host, _, port = echo.rpartition(":")
    # With an echo server: headless, its address is the answer; without one: a clusterset
    # IP, resolved but not connected to.
    spec: dict[str, Any] = {"ports": [{"name": "echo", "port": int(port or 8079)}]}
    if host:
        spec["clusterIP"] = "None"
    body_service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": service, "namespace": NAMESPACE}, "spec": spec,
    }  # fmt: skip
    await _apply(client, "v1", "services", body_service)
    if host:
        slice_body = {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": service, "namespace": NAMESPACE,
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [host], "conditions": {"ready": True}}],
            "ports": [{"name": "echo", "port": int(port), "protocol": "TCP"}],
        }  # fmt: skip
        await _apply(client, "discovery.k8s.io/v1", "endpointslices", slice_body)
    export = {"apiVersion": MCS, "kind": "ServiceExport",
              "metadata": {"name": service, "namespace": NAMESPACE}}  # fmt: skip
    await _apply(client, MCS, "serviceexports", export)


async def _fresh_namespace(client: KubeClient) -> None:
    """The test namespace, created; one of an earlier run still going away is waited for."""
    path = resource_path("v1", "namespaces", name=NAMESPACE)
    for _ in range(150):
        try:
            found = await client.get(path)
        except NotFound:
            with contextlib.suppress(Conflict):
                await client.create(
                    resource_path("v1", "namespaces"),
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
                )
            continue
        if (found.get("status") or {}).get("phase") != "Terminating":
            return
        await asyncio.sleep(0.2)
    raise KubeError(f"namespace {NAMESPACE} is still being deleted")


async def _apply(client: KubeClient, api_version: str, plural: str, body: dict[str, Any]) -> None:
    meta = body["metadata"]
    path = resource_path(api_version, plural, namespace=meta["namespace"], name=meta["name"])
    await client.apply(path, body, field_manager=FIELD_MANAGER)


async def _clean_up(clients: dict[str, KubeClient]) -> None:
    """The test namespace, ours alone, deleted on every member (with the test objects)."""
    for client in clients.values():
        with contextlib.suppress(KubeError):
            await client.delete(resource_path("v1", "namespaces", name=NAMESPACE))


async def _pair(
    clusters: dict[str, dict[str, Any]],
    source: str,
    target: str,
    *,
    timeout: float,
    unexported: str | None,
) -> dict[str, Any]:
    result: dict[str, Any] = {"from": source, "to": target, "ok": False}
    if unexported:
        result["error"] = unexported
        return result
    where = _annotation(clusters[source], CLUSTERSET_DNS_ANNOTATION)
    if not where:
        result["error"] = f"{source}'s DNS address is not known ({CLUSTERSET_DNS_ANNOTATION})"
        return result
    host, _, port = where.rpartition(":")
    name = f"echo-{target}.{NAMESPACE}.svc.clusterset.local"
    query = dns.message.make_query(name, "A")
    begin = time.perf_counter()
    deadline = begin + timeout
    addresses: list[str] = []
    while not addresses:
        with contextlib.suppress(dns.exception.DNSException, OSError):
            answer = await dns.asyncquery.udp(query, host, port=int(port), timeout=2)
            addresses = [r.to_text() for rrset in answer.answer for r in rrset]
        if not addresses:
            if time.perf_counter() > deadline:
                result["error"] = f"{name} does not resolve from {source} within {timeout:g}s"
                return result
            await asyncio.sleep(0.1)
    result["resolvedMs"] = round((time.perf_counter() - begin) * 1e3, 1)
    result["addresses"] = addresses
    echo = _annotation(clusters[target], CONNECTIVITY_ECHO_ANNOTATION)
    if not echo:
        result["ok"] = True
        result["connected"] = "not tried: no echo server known"
        return result
    echo_port = int(echo.rpartition(":")[2])
    begin = time.perf_counter()
    try:
        async with asyncio.timeout(5):
            reader, writer = await asyncio.open_connection(addresses[0], echo_port)
            banner = (await reader.readline()).decode(errors="replace").strip()
            writer.close()
    except (OSError, TimeoutError) as exc:
        result["error"] = f"cannot connect to {addresses[0]}:{echo_port}: {type(exc).__name__}"
        return result
    if banner != f"{BANNER} {target}":
        result["error"] = f"{addresses[0]}:{echo_port} answered {banner[:80]!r}"
        return result
    result["connectMs"] = round((time.perf_counter() - begin) * 1e3, 1)
    result["ok"] = True
    return result


def _print(report: dict[str, Any]) -> None:
    members = sorted(report["members"])
    table = columns("FROM \\ TO", *members)
    cells = {(p["from"], p["to"]): p for p in report["pairs"]}
    for source in members:
        line = []
        for target in members:
            pair = cells.get((source, target))
            if pair is None:
                line.append("-")
            elif pair["ok"]:
                reached = f", {pair['connectMs']} ms" if "connectMs" in pair else ""
                line.append(f"ok {pair['resolvedMs']} ms{reached}")
            else:
                line.append("FAIL")
        row(table, source, *line)
    console.print(table)
    latency = columns("MEMBER", "API MS", "DNS", "DNS MS")
    for name in members:
        info = report["members"][name]
        row(latency, name, info.get("apiLatencyMs") or "-", info.get("dns") or "-",
            info.get("dnsLatencyMs") or "-")  # fmt: skip
    console.print(latency)
