"""``flotilla cluster``: register members on the hub and look at them."""

from __future__ import annotations

import asyncio
import datetime
import json
from pathlib import Path
from typing import Any

import click
import yaml
from rich.table import Table

from flotilla.api import ClusterName
from flotilla.cli.errors import fail_on_errors
from flotilla.cli.hubconn import hub_target, prefixed_hub_options
from flotilla.cli.output import console
from flotilla.clusters import (
    RegistryError,
    VerificationError,
    ensure_unregistered,
    get_cluster,
    list_clusters,
    member_connection,
    register,
    remove,
    set_labels,
    storable_connection,
    stored_kubeconfig,
    validate_name,
    verify_member,
)
from flotilla.clusters.member_access import NAMESPACE, create_member_access, with_token
from flotilla.kube import KubeClient


@click.group()
def cluster() -> None:
    """Member clusters registered on the hub."""


def _parse_labels(values: tuple[str, ...], *, allow_removal: bool = False) -> dict[str, Any]:
    labels: dict[str, Any] = {}
    for value in values:
        if allow_removal and value.endswith("-") and "=" not in value:
            labels[value[:-1]] = None
            continue
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="label")
        labels[key] = val
    return labels


@cluster.command("add")
@click.argument("context")
@click.option("--name", required=True, help="Name of the cluster on the hub.")
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="Kubeconfig with CONTEXT.",
)
@click.option("--label", "labels", multiple=True, help="KEY=VALUE label (repeatable).")
@click.option("--region", default="", help="Region of the cluster.")
@click.option("--zone", default="", help="Zone of the cluster.")
@click.option(
    "--service-account",
    is_flag=True,
    help="Create a least-privilege ClusterRole, ServiceAccount and token on the member and "
    "store that token on the hub instead of CONTEXT's credentials.",
)
@click.option(
    "--service-account-namespace",
    default=NAMESPACE,
    show_default=True,
    help="Namespace of that ServiceAccount on the member.",
)
@prefixed_hub_options
@fail_on_errors
def add(
    *,
    context: str,
    name: str,
    kubeconfig: Path,
    labels: tuple[str, ...],
    region: str,
    zone: str,
    service_account: bool,
    service_account_namespace: str,
    hub_kubeconfig: Path | None,
    hub_context: str,
) -> None:
    """Verify the member behind CONTEXT, then register it as NAME."""
    cluster_name = validate_name(name)
    label_map = _parse_labels(labels)
    connection = storable_connection(kubeconfig, context)
    target = hub_target(hub_kubeconfig, hub_context)

    async def run() -> None:
        nonlocal connection
        async with target.client() as hub:
            await ensure_unregistered(hub, cluster_name)
        if service_account:
            async with KubeClient(connection) as member:
                token = await create_member_access(member, namespace=service_account_namespace)
            connection = with_token(connection, token)
            console.print(
                f"created ServiceAccount {service_account_namespace}/flotilla with ClusterRole "
                f"flotilla-member on {connection.server}",
                highlight=False,
            )
        info = await verify_member(connection)
        console.print(
            f"verified {info.server}: Kubernetes {info.version}, {info.nodes} nodes, "
            f"{info.latency_ms:.0f} ms",
            highlight=False,
        )
        async with target.client() as hub:
            await register(
                hub,
                name=cluster_name,
                kubeconfig=stored_kubeconfig(connection, name=cluster_name),
                labels=label_map,
                region=region,
                zone=zone,
            )

    asyncio.run(run())
    console.print(f"cluster {name} registered", highlight=False)


@cluster.command("list")
@click.option(
    "-o", "--output", type=click.Choice(["table", "wide", "json", "yaml"]), default="table"
)
@prefixed_hub_options
@fail_on_errors
def list_command(output: str, hub_kubeconfig: Path | None, hub_context: str) -> None:
    """List registered clusters with their health and capacity."""
    target = hub_target(hub_kubeconfig, hub_context)

    async def run() -> list[dict[str, Any]]:
        async with target.client() as hub:
            return await list_clusters(hub)

    items = asyncio.run(run())
    if output in ("json", "yaml"):
        _dump({"apiVersion": "v1", "kind": "List", "items": items}, output)
        return
    wide = output == "wide"
    table = Table(box=None, pad_edge=False)
    columns = ["NAME", "READY", "VERSION", "NODES", "CPU", "MEMORY", "LATENCY", "REGION"]
    if wide:
        columns += ["ZONE", "TAINTS", "LAST PROBE"]
    columns += ["LABELS", "AGE"]
    for column in columns:
        table.add_column(column)
    for item in items:
        status = item.get("status") or {}
        spec = item.get("spec") or {}
        allocatable = status.get("allocatable") or {}
        latency = status.get("apiLatencyMs")
        row = [
            item["metadata"]["name"],
            _ready(status),
            status.get("kubernetesVersion", ""),
            str(status.get("nodes", "")),
            allocatable.get("cpu", ""),
            allocatable.get("memory", ""),
            "" if latency is None else f"{latency:.0f}ms",
            spec.get("region", ""),
        ]
        if wide:
            taints = (spec.get("taints") or []) + (status.get("taints") or [])
            row += [
                spec.get("zone", ""),
                ",".join(f"{t['key']}:{t['effect']}" for t in taints),
                status.get("lastProbeTime", ""),
            ]
        labels = item["metadata"].get("labels") or {}
        row += [",".join(f"{k}={v}" for k, v in labels.items()), _age(item)]
        table.add_row(*row)
    console.print(table)


@cluster.command("get")
@click.argument("name")
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text")
@prefixed_hub_options
@fail_on_errors
def get(name: str, output: str, hub_kubeconfig: Path | None, hub_context: str) -> None:
    """Details, conditions and a live connectivity check of one cluster."""
    target = hub_target(hub_kubeconfig, hub_context)

    async def run() -> tuple[dict[str, Any], str]:
        async with target.client() as hub:
            item = await get_cluster(hub, name)
            try:
                info = await verify_member(await member_connection(hub, item))
                check = f"ok: {info.server}, {info.version}, {info.latency_ms:.0f} ms"
            except (VerificationError, RegistryError) as exc:
                check = f"failed: {exc}"
            return item, check

    item, check = asyncio.run(run())
    if output != "text":
        _dump({**item, "connectivity": check}, output)
        return
    status = item.get("status") or {}
    spec = item.get("spec") or {}
    console.print(f"[bold]{name}[/bold]  ready={_ready(status)}", highlight=False)
    for key, value in (
        ("region", spec.get("region")),
        ("zone", spec.get("zone")),
        ("labels", item["metadata"].get("labels")),
        ("version", status.get("kubernetesVersion")),
        ("nodes", status.get("nodes")),
        ("allocatable", status.get("allocatable")),
        ("api latency ms", status.get("apiLatencyMs")),
        ("last probe", status.get("lastProbeTime")),
        ("taints", (spec.get("taints") or []) + (status.get("taints") or [])),
    ):
        console.print(f"  {key}: {value}", highlight=False)
    console.print("  conditions:")
    for condition in status.get("conditions") or []:
        console.print(
            f"    {condition['type']}={condition['status']} {condition.get('reason', '')}: "
            f"{condition.get('message', '')} (since {condition.get('lastTransitionTime')})",
            highlight=False,
        )
    console.print(f"  connectivity: {check}", highlight=False)


@cluster.command("remove")
@click.argument("name")
@prefixed_hub_options
@fail_on_errors
def remove_command(name: str, hub_kubeconfig: Path | None, hub_context: str) -> None:
    """Unregister a cluster and delete its stored credentials."""
    target = hub_target(hub_kubeconfig, hub_context)

    async def run() -> None:
        async with target.client() as hub:
            await remove(hub, name)

    asyncio.run(run())
    console.print(f"cluster {name} removed", highlight=False)


@cluster.command("label")
@click.argument("name")
@click.argument("labels", nargs=-1, required=True)
@prefixed_hub_options
@fail_on_errors
def label(
    name: str, labels: tuple[str, ...], hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """Set labels (KEY=VALUE) or remove them (KEY-) on a cluster."""
    changes = _parse_labels(labels, allow_removal=True)
    target = hub_target(hub_kubeconfig, hub_context)

    async def run() -> dict[str, Any]:
        async with target.client() as hub:
            return await set_labels(hub, ClusterName(name), changes)

    item = asyncio.run(run())
    current = item["metadata"].get("labels") or {}
    console.print(f"{name}: " + ",".join(f"{k}={v}" for k, v in current.items()), highlight=False)


def _ready(status: dict[str, Any]) -> str:
    for condition in status.get("conditions") or []:
        if condition["type"] == "Ready":
            return str(condition["status"])
    return "Unknown"


def _age(item: dict[str, Any]) -> str:
    created = item["metadata"].get("creationTimestamp")
    if not created:
        return ""
    then = datetime.datetime.fromisoformat(created.replace("Z", "+00:00"))
    seconds = int((datetime.datetime.now(datetime.UTC) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _dump(data: Any, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False))


__all__ = ["cluster"]
