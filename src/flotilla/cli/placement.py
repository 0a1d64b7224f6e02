"""``flotilla placement``: see where things go, before and after they go there."""

from __future__ import annotations

import asyncio
import datetime
import json
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import ValidationError
from rich.table import Table

from flotilla.api import API_VERSION, CLUSTER, OVERRIDE, PLACEMENT
from flotilla.api.labels import CONFIRM_PRUNE_ANNOTATION
from flotilla.api.placement import PlacementSpec
from flotilla.cli.errors import fail_on_errors
from flotilla.cli.hubconn import HubTarget, hub_options, hub_target
from flotilla.cli.output import console
from flotilla.kube import KubeClient, NotFound, RestMapper, resource_path
from flotilla.propagation.planning import cluster_views, override_rules, plan, selected


@click.group()
def placement() -> None:
    """Placements: which templates go to which clusters."""


def _namespace_option(command: Any) -> Any:
    return click.option("-n", "--namespace", default="default", show_default=True)(command)


def _path(namespace: str | None, name: str | None = None) -> str:
    return resource_path(API_VERSION, PLACEMENT.plural, namespace=namespace, name=name)


async def _get(hub: KubeClient, namespace: str, name: str) -> dict[str, Any]:
    try:
        item: dict[str, Any] = await hub.get(_path(namespace, name))
    except NotFound:
        raise click.ClickException(f"no placement {name!r} in namespace {namespace!r}") from None
    return item


def _condition(item: dict[str, Any], type_: str) -> str:
    for condition in (item.get("status") or {}).get("conditions") or []:
        if condition["type"] == type_:
            return str(condition["status"])
    return ""


def _dump(data: Any, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False))


@placement.command("list")
@_namespace_option
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table")
@hub_options
@fail_on_errors
def list_command(
    *, namespace: str, all_namespaces: bool, output: str, hub_kubeconfig: Path | None,
    hub_context: str,
) -> None:  # fmt: skip
    """Placements with their conditions and clusters."""
    target = hub_target(hub_kubeconfig, hub_context)

    async def run() -> list[dict[str, Any]]:
        async with target.client() as hub:
            answer = await hub.get(_path(None if all_namespaces else namespace))
        return list(answer.get("items", []))

    items = asyncio.run(run())
    if output != "table":
        _dump({"apiVersion": "v1", "kind": "List", "items": items}, output)
        return
    table = Table(box=None, pad_edge=False)
    for column in (
        "NAMESPACE",
        "NAME",
        "SCHEDULED",
        "APPLIED",
        "AVAILABLE",
        "DRIFTED",
        "CLUSTERS",
        "RESOURCES",
    ):
        table.add_column(column)
    for item in items:
        status = item.get("status") or {}
        decisions = status.get("decisions") or []
        table.add_row(
            item["metadata"]["namespace"],
            item["metadata"]["name"],
            _condition(item, "Scheduled"),
            _condition(item, "Applied"),
            _condition(item, "Available"),
            _condition(item, "Drifted"),
            ",".join(
                d["cluster"] + (f"({d['replicas']})" if d.get("replicas") is not None else "")
                for d in decisions
            ),
            str(status.get("resourcesTotal", "")),
        )
    console.print(table)


@placement.command("status")
@click.argument("name")
@_namespace_option
@click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table")
@hub_options
@fail_on_errors
def status_command(
    *, name: str, namespace: str, output: str, hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """Per cluster and per resource: applied, replicas, errors; and the conditions."""
    target = hub_target(hub_kubeconfig, hub_context)

    async def run() -> dict[str, Any]:
        async with target.client() as hub:
            return await _get(hub, namespace, name)

    item = asyncio.run(run())
    status = item.get("status") or {}
    if output != "table":
        _dump(status, output)
        return
    clusters = Table(title=f"placement {namespace}/{name}", title_justify="left", box=None)
    for column in (
        "CLUSTER",
        "REPLICAS",
        "APPLIED",
        "FAILED",
        "READY",
        "AVAILABLE",
        "DRIFTS",
        "NOTE",
    ):
        clusters.add_column(column)
    decided = {d["cluster"]: d.get("replicas") for d in status.get("decisions") or []}
    for summary in status.get("clusters") or []:
        cluster = summary["cluster"]
        share = decided.get(cluster)
        note = "unreachable: waiting" if summary.get("stranded") else ""
        if cluster not in decided:
            note = (note + "; " if note else "") + "no longer chosen: pruning"
        clusters.add_row(
            cluster,
            "" if share is None else str(share),
            str(summary.get("applied", 0)),
            str(summary.get("failed", 0)),
            str(summary.get("readyReplicas", 0)),
            f"{summary.get('availableReplicas', 0)}/{summary.get('desiredReplicas', 0)}",
            str(summary.get("driftCorrections", 0)),
            note,
        )
    console.print(clusters)
    conditions = Table(box=None, pad_edge=False)
    for column in ("CONDITION", "STATUS", "REASON", "MESSAGE"):
        conditions.add_column(column)
    for condition in status.get("conditions") or []:
        conditions.add_row(
            condition["type"], condition["status"], condition.get("reason", ""),
            condition.get("message", ""),
        )  # fmt: skip
    console.print(conditions)
    failed = [r for r in status.get("resources") or [] if not r.get("applied")]
    for resource in failed[:20]:
        console.print(
            f"[red]{resource['cluster']} {resource['kind']} {resource['name']}[/red]: "
            f"{resource.get('error', '')}",
            highlight=False,
        )


@placement.command("preview")
@click.argument("name")
@_namespace_option
@click.option("-o", "--output", type=click.Choice(["table", "yaml"]), default="table")
@hub_options
@fail_on_errors
def preview(
    *, name: str, namespace: str, output: str, hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """Which clusters would get what, with the rendered manifests, without applying."""
    result = asyncio.run(_preview(hub_target(hub_kubeconfig, hub_context), namespace, name))
    planned, problems = result
    if output == "yaml":
        for cluster, manifests in planned.desired.items():
            click.echo(f"# cluster: {cluster}")
            click.echo(yaml.safe_dump_all(manifests, sort_keys=False, explicit_start=True))
        return
    decisions = Table(title=f"preview of {namespace}/{name}", title_justify="left", box=None)
    for column in ("CLUSTER", "REPLICAS", "OBJECTS"):
        decisions.add_column(column)
    for cluster, replicas in sorted(planned.schedule.decisions.items()):
        objects = ", ".join(_describe(m) for m in planned.desired.get(cluster, []))
        decisions.add_row(cluster, "" if replicas is None else str(replicas), objects)
    console.print(decisions)
    console.print(
        f"Scheduled: {planned.schedule.scheduled} ({planned.schedule.reason}) "
        f"{planned.schedule.message}",
        highlight=False,
    )
    for failure in planned.failures:
        console.print(f"[red]{failure.cluster}[/red]: {failure.error}", highlight=False)
    for problem in problems:
        console.print(f"[red]selection[/red]: {problem}", highlight=False)
    console.print("(-o yaml shows the rendered manifests)")


def _describe(manifest: dict[str, Any]) -> str:
    replicas = (manifest.get("spec") or {}).get("replicas")
    text = f"{manifest['kind']}/{manifest['metadata']['name']}"
    return text + (f"({replicas})" if isinstance(replicas, int) else "")


async def _preview(target: HubTarget, namespace: str, name: str) -> tuple[Any, list[str]]:
    async with target.client() as hub:
        item = await _get(hub, namespace, name)
        try:
            spec = PlacementSpec.model_validate(item.get("spec") or {})
        except ValidationError as exc:
            raise click.ClickException(f"placement spec is invalid: {exc}") from exc
        mapper = RestMapper(hub)
        candidates = []
        problems: list[str] = []
        for selector in spec.resource_selectors:
            try:
                info = await mapper.resource_for(selector.api_version, selector.kind)
            except Exception as exc:
                problems.append(str(exc))
                continue
            listing = await hub.list(
                resource_path(selector.api_version, info.plural, namespace=namespace)
            )
            items = listing.get("items", [])
            for template in items:
                # Items of a list of built-in kinds come without apiVersion and kind.
                template.setdefault("apiVersion", selector.api_version)
                template.setdefault("kind", selector.kind)
            candidates.append((selector, items))
        clusters = (await hub.get(resource_path(API_VERSION, CLUSTER.plural))).get("items", [])
        overrides = (
            await hub.get(resource_path(API_VERSION, OVERRIDE.plural, namespace=namespace))
        ).get("items", [])
    previous = {
        d["cluster"]: d.get("replicas") for d in (item.get("status") or {}).get("decisions") or []
    }
    planned = plan(
        spec,
        selected(namespace, candidates),
        cluster_views(clusters),
        placement=(namespace, name),
        rules=override_rules(spec, namespace, overrides),
        previous=previous,
        now=datetime.datetime.now(datetime.UTC),
    )
    return planned, problems


@placement.command("confirm-prune")
@click.argument("name")
@_namespace_option
@hub_options
@fail_on_errors
def confirm_prune(
    *, name: str, namespace: str, hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """Let the next pass prune what the deletion guard stopped."""
    target = hub_target(hub_kubeconfig, hub_context)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    async def run() -> bool:
        async with target.client() as hub:
            item = await _get(hub, namespace, name)
            if _condition(item, "PruneBlocked") != "True":
                return False
            patch = {"metadata": {"annotations": {CONFIRM_PRUNE_ANNOTATION: now}}}
            await hub.merge_patch(_path(namespace, name), patch)
            return True

    if not asyncio.run(run()):
        raise click.ClickException(
            f"the deletion guard holds nothing of {namespace}/{name} now (PruneBlocked is not "
            "True): nothing to confirm; a confirmation counts only for what is held when given"
        )
    console.print(f"prune confirmed for {namespace}/{name}", highlight=False)
