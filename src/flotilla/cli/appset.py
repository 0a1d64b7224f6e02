"""``flotilla appset``: ApplicationSets (Argo CD's kind), what they generate and why.

``generate FILE`` prints the Applications an ApplicationSet would generate, without
applying anything (as ``argocd appset generate``), evaluated as the controller evaluates
it: the hub's registered Clusters, git through a local cache, Go templates through
``flotilla-gotemplate``. On stderr it says, for each ``clusters`` generator and cluster,
whether the cluster was chosen and which label decided.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from flotilla.api.kinds import APPLICATIONSET
from flotilla.cli import served
from flotilla.cli.app import DEFAULT_APP_NAMESPACE
from flotilla.cli.confirming import confirm_deletion
from flotilla.cli.errors import fail_on_errors
from flotilla.cli.gitcache import git_cache
from flotilla.cli.hubconn import hub_options, hub_target
from flotilla.cli.options import pairs, rewrite_option
from flotilla.cli.output import columns, console, dump, row, say, scrubbed
from flotilla.cli.served import namespace_option
from flotilla.clusters.registry import RegistryError, list_clusters, member_connection
from flotilla.devfleet.binaries import find_tool
from flotilla.gitops import appsets
from flotilla.gitops.generators import ClusterInfo, cluster_choices
from flotilla.gitops.ownedapps import DIGEST_ANNOTATION
from flotilla.gitops.repositories import SECRET_TYPE_LABEL
from flotilla.gitops.sources import GitSources
from flotilla.kube import Forbidden, KubeClient, NotFound, resource_path


@click.group()
def appset() -> None:
    """ApplicationSets (Argo CD's kind): Applications generated from parameter sets."""


def _split(name: str, namespace: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    return (first, rest) if slash else (namespace, name)


# -- generate -------------------------------------------------------------------------------


def _read_file(path: Path) -> dict[str, Any]:
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as exc:
        raise click.ClickException(f"{path}: cannot be read: {exc}") from None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise click.ClickException(f"{path}: must hold one ApplicationSet")
    found = documents[0]
    if found.get("kind") != "ApplicationSet":
        raise click.ClickException(f"{path}: is a {found.get('kind')!r}, not an ApplicationSet")
    meta = found.setdefault("metadata", {})
    meta.setdefault("namespace", DEFAULT_APP_NAMESPACE)
    return found


async def _clusters(hub: KubeClient) -> list[ClusterInfo]:
    """The registered Clusters, each with its API server from its Secret or why that
    cannot be read (an error only for a ``clusters`` generator that selects it)."""
    infos = []
    for cluster in await list_clusters(hub):
        meta = cluster["metadata"]
        server, problem = "", ""
        try:
            server = (await member_connection(hub, cluster)).server
        except Forbidden:
            problem = "its kubeconfig Secret may not be read here (forbidden)"
        except RegistryError as exc:
            problem = str(exc)
        infos.append(
            ClusterInfo(
                meta["name"],
                server,
                dict(meta.get("labels") or {}),
                dict(meta.get("annotations") or {}),
                problem=problem,
            )
        )
    return infos


async def _repository_secrets(hub: KubeClient) -> list[dict[str, Any]]:
    """Repository credentials in flotilla-system, when this user may read them."""
    path = resource_path("v1", "secrets", namespace="flotilla-system")
    try:
        answer = await hub.list(path, label_selector=SECRET_TYPE_LABEL)
    except (Forbidden, NotFound):
        return []
    return list(answer.get("items") or [])


def _shown(app: dict[str, Any]) -> dict[str, Any]:
    """A generated Application as a user would write it: Flotilla's bookkeeping left out."""
    meta = dict(app["metadata"])
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k != DIGEST_ANNOTATION
    }
    meta.pop("ownerReferences", None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return {**app, "metadata": meta}


@appset.command("generate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Choice(["yaml", "json", "wide"]), default="yaml")
@rewrite_option
@hub_options
@fail_on_errors
def generate_command(
    *,
    file: Path,
    output: str,
    rewrites: tuple[str, ...],
    hub_kubeconfig: Path | None,
    hub_context: str,
) -> None:
    """Print the Applications FILE's ApplicationSet would generate; apply nothing."""
    appset_object = _read_file(file)
    rules = tuple(pairs(rewrites, option="--git-url-rewrite"))
    target = hub_target(hub_kubeconfig, hub_context)
    helper = find_tool("flotilla-gotemplate")

    async def run() -> tuple[appsets.Generated, list[ClusterInfo]]:
        with git_cache() as cache:
            async with target.client() as hub:
                clusters = await _clusters(hub)
                secrets = await _repository_secrets(hub)
            trees = appsets.SourceTrees(GitSources(cache, rewrites=rules), secrets, 0.0)
            out = await appsets.generated(
                appset_object,
                clusters=clusters,
                git=trees,
                helper=helper if helper.exists() else None,
            )
            return out, clusters

    try:
        out, clusters = asyncio.run(run())
    except appsets.AppSetError as exc:
        raise click.ClickException(str(exc)) from None
    generators = (appset_object.get("spec") or {}).get("generators") or []
    choices = cluster_choices(generators if isinstance(generators, list) else [], clusters)
    apps = [scrubbed(_shown(app)) for app in out.applications]
    if output == "json":
        click.echo(json.dumps(apps, indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump_all(apps, sort_keys=False), nl=False)
    else:
        table = columns("NAME", "DESTINATION", "NAMESPACE", "REPOSITORY", "PATH", "REVISION")
        for app in apps:
            spec = app["spec"]
            source, destination = spec.get("source") or {}, spec.get("destination") or {}
            row(
                table,
                app["metadata"]["name"],
                destination.get("name") or destination.get("server"),
                destination.get("namespace"),
                source.get("repoURL"),
                source.get("path") or source.get("chart"),
                source.get("targetRevision"),
            )
        console.print(table)
    for choice in choices:
        verdict = "chosen" if choice.chosen else "skipped"
        click.echo(f"# {choice.cluster}: {verdict} by {choice.generator}: {choice.why}", err=True)
    for error in out.errors:
        click.echo(f"error: {error}", err=True)
    if out.errors:
        sys.exit(1)


# -- list, get ------------------------------------------------------------------------------


def _condition(item: dict[str, Any], type_: str) -> dict[str, Any]:
    for condition in (item.get("status") or {}).get("conditions") or []:
        if condition.get("type") == type_:
            return dict(condition)
    return {}


def _state(item: dict[str, Any]) -> str:
    if _condition(item, "ErrorOccurred").get("status") == "True":
        return "Error"
    return str(_condition(item, "ResourcesUpToDate").get("reason") or "Unknown")


@appset.command("list")
@namespace_option("--app-namespace", DEFAULT_APP_NAMESPACE, APPLICATIONSET)
@click.option("-A", "--all-namespaces", is_flag=True, help="ApplicationSets of every namespace.")
@click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table")
@hub_options
@fail_on_errors
def list_command(
    *,
    namespace: str,
    all_namespaces: bool,
    output: str,
    hub_kubeconfig: Path | None,
    hub_context: str,
) -> None:
    """ApplicationSets with how many Applications they generate and how those are."""
    target = hub_target(hub_kubeconfig, hub_context)
    answer = asyncio.run(
        served.read(target, APPLICATIONSET, None if all_namespaces else namespace, None)
    )
    items = list(answer.get("items") or [])
    if output != "table":
        dump({"apiVersion": "v1", "kind": "List", "items": items}, output)
        return
    table = columns("NAME", "APPLICATIONS", "SYNCED", "HEALTHY", "STATUS", "MESSAGE")
    for item in items:
        meta = item["metadata"]
        resources = (item.get("status") or {}).get("resources") or []
        synced = sum(1 for r in resources if r.get("status") == "Synced")
        healthy = sum(1 for r in resources if (r.get("health") or {}).get("status") == "Healthy")
        message = _condition(item, "ErrorOccurred").get("message") or _condition(
            item, "ResourcesUpToDate"
        ).get("message", "")
        shown = f"{meta['namespace']}/{meta['name']}" if all_namespaces else meta["name"]
        row(
            table,
            shown,
            len(resources),
            f"{synced}/{len(resources)}",
            f"{healthy}/{len(resources)}",
            _state(item),
            str(message)[:120],
        )
    console.print(table)


@appset.command("get")
@click.argument("name")
@namespace_option("--app-namespace", DEFAULT_APP_NAMESPACE, APPLICATIONSET)
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text")
@hub_options
@fail_on_errors
def get_command(
    *, name: str, namespace: str, output: str, hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """An ApplicationSet's generators, conditions and generated Applications."""
    namespace, name = _split(name, namespace)
    target = hub_target(hub_kubeconfig, hub_context)
    item = asyncio.run(served.read(target, APPLICATIONSET, namespace, name))
    if output != "text":
        dump(item, output)
        return
    spec, status = item.get("spec") or {}, item.get("status") or {}
    kinds = [
        next((k for k in g if k not in ("selector", "template", "values")), "?")
        for g in spec.get("generators") or []
        if isinstance(g, dict)
    ]
    policy = (spec.get("syncPolicy") or {}).get("applicationsSync") or "sync"
    say(f"Name:        {namespace}/{name}")
    say(f"Generators:  {', '.join(kinds)}")
    say(f"Templates:   {'Go' if spec.get('goTemplate') else 'fasttemplate'}")
    say(f"Policy:      applicationsSync={policy}")
    say(f"Status:      {_state(item)}")
    conditions = status.get("conditions") or []
    if conditions:
        table = columns("CONDITION", "STATUS", "REASON", "MESSAGE")
        for condition in conditions:
            row(
                table,
                condition.get("type"),
                condition.get("status"),
                condition.get("reason"),
                condition.get("message"),
            )
        console.print(table)
    apps = columns("APPLICATION", "SYNC", "HEALTH")
    for resource in status.get("resources") or []:
        row(
            apps,
            resource.get("name"),
            resource.get("status"),
            (resource.get("health") or {}).get("status"),
        )
    console.print(apps)


# -- rollout ------------------------------------------------------------------------------


@appset.command("rollout")
@click.argument("name")
@namespace_option("--app-namespace", DEFAULT_APP_NAMESPACE, APPLICATIONSET)
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text")
@hub_options
@fail_on_errors
def rollout_command(
    *, name: str, namespace: str, output: str, hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """The last progressive rollout (strategy RollingSync): its steps and how each went."""
    namespace, name = _split(name, namespace)
    target = hub_target(hub_kubeconfig, hub_context)
    item = asyncio.run(served.read(target, APPLICATIONSET, namespace, name))
    record = (item.get("status") or {}).get("rollout")
    if output != "text":
        dump(record or {}, output)
        return
    if not record:
        say(f"{namespace}/{name} has had no rollout (strategy RollingSync rolls changes out)")
        return
    say(f"Rollout:   {record.get('phase')}")
    say(f"Started:   {record.get('startedAt', '')}")
    if record.get("finishedAt"):
        say(f"Finished:  {record['finishedAt']}")
    if record.get("message"):
        say(f"Message:   {record['message']}")
    updated = set(record.get("updated") or [])
    table = columns("STEP", "PHASE", "APPLICATIONS", "CHANGED", "STARTED", "HEALTHY SINCE")
    for step in record.get("steps") or []:
        apps = step.get("applications") or []
        row(
            table,
            step.get("step"),
            step.get("phase"),
            ", ".join(apps),
            f"{len(updated & set(apps))}/{len(apps)}",
            step.get("startedAt", ""),
            step.get("healthySince", ""),
        )
    console.print(table)


# -- confirm-delete -------------------------------------------------------------------------


@appset.command("confirm-delete")
@click.argument("name")
@namespace_option("--app-namespace", DEFAULT_APP_NAMESPACE, APPLICATIONSET)
@hub_options
@fail_on_errors
def confirm_delete(
    *, name: str, namespace: str, hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """Let the ApplicationSet delete the Applications the deletion guard holds."""
    namespace, name = _split(name, namespace)
    target = hub_target(hub_kubeconfig, hub_context)
    confirm_deletion(
        target,
        served.path(APPLICATIONSET, namespace, name),
        lambda: served.read(target, APPLICATIONSET, namespace, name),
        shown=f"{namespace}/{name}",
    )


__all__ = ["appset"]
