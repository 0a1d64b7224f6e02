"""``flotilla gitrepo``: Fleet GitRepos, their bundles per cluster, and why each cluster is
a target or not (which target, which label: what Fleet cannot say)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from flotilla.api.fleet import ClusterGroupSpec, GitRepoSpec
from flotilla.api.kinds import CLUSTERGROUP, GITREPO
from flotilla.cli import served
from flotilla.cli.confirming import confirm_deletion
from flotilla.cli.errors import fail_on_errors
from flotilla.cli.hubconn import hub_options, hub_target
from flotilla.cli.output import columns, console, dump, row, say
from flotilla.cli.served import namespace_option
from flotilla.clusters.registry import list_clusters
from flotilla.gitops import fleetbundles as fleet
from flotilla.gitops.urls import redact
from flotilla.kube import resource_path

DEFAULT_NAMESPACE = "fleet-default"


@click.group()
def gitrepo() -> None:
    """Fleet GitRepos: bundles of a git repository deployed to the clusters they target."""


@gitrepo.command("list")
@namespace_option("--namespace", DEFAULT_NAMESPACE, GITREPO)
@click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table")
@hub_options
@fail_on_errors
def list_command(
    *, namespace: str, output: str, hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """GitRepos with their commit, bundle deployments ready and state."""
    target = hub_target(hub_kubeconfig, hub_context)
    items = list((asyncio.run(served.read(target, GITREPO, namespace, None))).get("items") or [])
    if output != "table":
        dump({"apiVersion": "v1", "kind": "List", "items": items}, output)
        return
    table = columns("NAME", "REPO", "COMMIT", "BUNDLEDEPLOYMENTS-READY", "STATUS")
    for item in items:
        status = item.get("status") or {}
        display = status.get("display") or {}
        row(
            table,
            item["metadata"]["name"],
            redact(str((item.get("spec") or {}).get("repo") or "")),
            str(status.get("commit") or "")[:7],
            display.get("readyBundleDeployments", ""),
            display.get("message", ""),
        )
    console.print(table)


@gitrepo.command("status")
@click.argument("name")
@namespace_option("--namespace", DEFAULT_NAMESPACE, GITREPO)
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text")
@hub_options
@fail_on_errors
def status_command(
    *, name: str, namespace: str, output: str, hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """Each bundle on each cluster, with Fleet's state and why."""
    target = hub_target(hub_kubeconfig, hub_context)
    item = asyncio.run(served.read(target, GITREPO, namespace, name))
    if output != "text":
        dump(item, output)
        return
    status = item.get("status") or {}
    say(f"Commit:  {status.get('commit', '')}")
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True" and condition.get("message"):
            say(f"{condition['type']}: {condition['message']}")
    table = columns("BUNDLE", "PATH", "CLUSTER", "STATE", "APPLICATION", "MESSAGE")
    for bundle in status.get("bundles") or []:
        for cluster in bundle.get("clusters") or []:
            row(
                table,
                bundle.get("name"),
                bundle.get("path"),
                cluster.get("cluster"),
                cluster.get("state"),
                cluster.get("application"),
                cluster.get("message"),
            )
    console.print(table)


@gitrepo.command("targets")
@click.argument("name")
@namespace_option("--namespace", DEFAULT_NAMESPACE, GITREPO)
@hub_options
@fail_on_errors
def targets_command(
    *, name: str, namespace: str, hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """For every registered cluster: the target that chose it, or why none did."""
    target = hub_target(hub_kubeconfig, hub_context)

    async def run() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        item = await served.read(target, GITREPO, namespace, name)
        async with target.client() as hub:
            clusters = await list_clusters(hub)
            path = resource_path(CLUSTERGROUP.api_version, CLUSTERGROUP.plural, namespace=namespace)
            groups = list((await hub.get(path)).get("items") or [])
        return item, clusters, groups

    item, clusters, groups = asyncio.run(run())
    try:
        spec = GitRepoSpec.model_validate(item.get("spec") or {})
    except ValidationError as exc:
        raise click.ClickException(
            f"the GitRepo's spec is invalid: {exc.errors()[0]['msg']}"
        ) from None
    known = []
    for group in groups:
        meta = group["metadata"]
        try:
            selector = ClusterGroupSpec.model_validate(group.get("spec") or {}).selector
        except ValidationError:
            selector = None
        known.append(fleet.Group(meta["name"], dict(meta.get("labels") or {}), selector))
    infos = [
        fleet.Cluster(c["metadata"]["name"], dict(c["metadata"].get("labels") or {}))
        for c in clusters
    ]
    table = columns("CLUSTER", "TARGET", "WHY")
    for choice in fleet.choices(spec, infos, known):
        row(table, choice.cluster, choice.target or "-", choice.why)
    console.print(table)


@gitrepo.command("confirm-delete")
@click.argument("name")
@namespace_option("--namespace", DEFAULT_NAMESPACE, GITREPO)
@hub_options
@fail_on_errors
def confirm_delete(
    *, name: str, namespace: str, hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """Let the GitRepo delete the Applications the deletion guard holds."""
    target = hub_target(hub_kubeconfig, hub_context)
    confirm_deletion(
        target,
        served.path(GITREPO, namespace, name),
        lambda: served.read(target, GITREPO, namespace, name),
        shown=f"{namespace}/{name}",
    )


__all__ = ["gitrepo"]
