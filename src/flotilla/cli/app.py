"""``flotilla app``: Argo CD's Application on the hub, made, looked at and driven.

The commands and flags are ``argocd app``'s, so what people type carries over. The CLI
never syncs anything itself: ``sync`` and ``rollback`` set the Application's top-level
``operation`` (Argo CD's protocol) and the GitOps controller runs it, writes
``status.operationState`` and removes ``operation``; the CLI waits for both. ``diff`` and
``sync --dry-run`` are computed here with the controller's own pieces (``GitSources``,
``Renderer``, ``stamped``) and the member's server-side-apply dry run, so they show what a
sync would write, and write nothing.

Writes carry the field manager ``flotilla-cli`` and the resourceVersion they were decided on,
so an operation is never set over another one and a finalizer list is never lost to a race.

Nothing here prints a credential: repository URLs are shown without their userinfo,
repository Secrets are read only to hand them to git, and a Secret's values are masked in
diffs (``flotilla.gitops.diffing``).

``Reach`` is how commands reach the hub and members and how they wait; tests hand fakes in
as click's ``obj``.

Why one module of ~990 lines: one command group, whose commands share how they reach the
hub (``Reach``), read an Application, write with a resourceVersion precondition and wait for
the controller; the work that is not the CLI's (the sync preview) is in
``flotilla.gitops.previewing``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import re
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from flotilla.api import SYSTEM_NAMESPACE
from flotilla.api.application import (
    CASCADE_FINALIZERS,
    RESOURCES_FINALIZER,
    ApplicationSpec,
    HistoryEntry,
)
from flotilla.api.kinds import APPLICATION
from flotilla.api.labels import (
    CONFIRM_PRUNE_ANNOTATION,
)
from flotilla.cli.errors import EXPECTED
from flotilla.cli.gitcache import git_cache
from flotilla.cli.hubconn import HubTarget, hub_options, hub_target
from flotilla.cli.options import pairs, rewrite_option
from flotilla.cli.output import columns, console, dump, row, say
from flotilla.clusters import get_cluster
from flotilla.clusters.connections import CredentialsProblem
from flotilla.devfleet.binaries import find_tool
from flotilla.gitops.diffing import heading
from flotilla.gitops.previewing import Plan, PreviewError, plan_sync
from flotilla.gitops.rendering import RenderError, Tools
from flotilla.gitops.sources import SourceError
from flotilla.gitops.urls import redact
from flotilla.hub.install import crd_is_ours
from flotilla.kube import (
    Conflict,
    ConnectionConfig,
    Forbidden,
    KubeClient,
    NotFound,
    resource_path,
)
from flotilla.kube.client import MERGE_PATCH
from flotilla.propagation.pruning import object_key
from flotilla.runtime.clock import Clock, LoopClock

F = TypeVar("F", bound=Callable[..., Any])

CLI_MANAGER = "flotilla-cli"
"""The field manager of the CLI's writes to Applications."""
USERNAME = "flotilla-cli"
"""``operation.initiatedBy.username`` of the operations the CLI asks for."""
DEFAULT_APP_NAMESPACE = "argocd"
POLL_SECONDS = 0.5
MEMBER_TIMEOUT = 10.0
WRITE_ATTEMPTS = 5
"""Tries of a write decided on a resourceVersion that someone else changed meanwhile."""
CRD_PATH = resource_path(
    "apiextensions.k8s.io/v1", "customresourcedefinitions", name=APPLICATION.crd_name
)
NOT_SERVED = "this hub does not serve Applications: run `flotilla hub install`"
FOREIGN = (
    "Argo CD (or another installation) owns Applications on this hub: Flotilla's GitOps is "
    "off here and its controller does not act on them; use that installation's tools"
)

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@]*@")


@dataclass(frozen=True)
class Reach:
    """How commands reach the hub and members, and the clock they wait on."""

    hub: Callable[[HubTarget], KubeClient] = field(default=lambda target: target.client())
    member: Callable[[ConnectionConfig], KubeClient] = field(
        default=lambda config: KubeClient(config, timeout=MEMBER_TIMEOUT)
    )
    clock: Clock = field(default_factory=LoopClock)


def _reach() -> Reach:
    found = click.get_current_context().find_object(Reach)
    return found if found is not None else Reach()


class DiffFailed(click.ClickException):
    """``diff`` could not tell (exit code 2, as ``argocd app diff``)."""

    exit_code = 2


_EXPECTED: tuple[type[Exception], ...] = (
    *EXPECTED,
    SourceError,
    RenderError,
    CredentialsProblem,
)


def _errors(exit_code: int = 1) -> Callable[[F], F]:
    """Expected errors (the CLI's and git's, rendering's, credentials') as ``error: ...``."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except click.ClickException:
                raise
            except _EXPECTED as exc:
                click.echo(f"error: {exc}", err=True)
                sys.exit(exit_code)

        return wrapper  # type: ignore[return-value]

    return decorate


@click.group()
def app() -> None:
    """GitOps Applications (Argo CD's kind): git sources kept in sync on a cluster."""


def _app_namespace_option(command: F) -> F:
    return click.option(
        "-N",
        "--app-namespace",
        default=DEFAULT_APP_NAMESPACE,
        show_default=True,
        help="The hub namespace the Application lives in.",
    )(command)


def _path(namespace: str | None, name: str | None = None) -> str:
    return resource_path(
        APPLICATION.api_version, APPLICATION.plural, namespace=namespace, name=name
    )


def _split(name: str, app_namespace: str) -> tuple[str, str]:
    """``NAME`` or ``NAMESPACE/NAME`` (as argocd takes it) as (namespace, name)."""
    namespace, slash, rest = name.partition("/")
    return (namespace, rest) if slash else (app_namespace, name)


@contextlib.asynccontextmanager
async def _hub(target: HubTarget) -> AsyncIterator[KubeClient]:
    async with _reach().hub(target) as client:
        yield client


async def _patch(hub: KubeClient, path: str, patch: dict[str, Any]) -> dict[str, Any]:
    params = {"fieldManager": CLI_MANAGER}
    answer: dict[str, Any] = await hub.request(
        "PATCH", path, params=params, body=patch, content_type=MERGE_PATCH
    )
    return answer


async def _missing(hub: KubeClient, namespace: str, name: str | None) -> click.ClickException:
    """What a 404 meant: no CRD, no such Application, or (a create) no such namespace."""
    try:
        await hub.get(_path(namespace), limit="1")
    except NotFound:
        return click.ClickException(NOT_SERVED)
    if name is None:
        return click.ClickException(
            f"namespace {namespace!r} does not exist on the hub: create it or pick another "
            "--app-namespace"
        )
    return click.ClickException(f"no application {name!r} in namespace {namespace!r}")


async def _read(hub: KubeClient, namespace: str, name: str) -> dict[str, Any]:
    try:
        item: dict[str, Any] = await hub.get(_path(namespace, name))
    except NotFound:
        raise await _missing(hub, namespace, name) from None
    return item


async def _check_crd(hub: KubeClient) -> None:
    """Refuse a hub whose Application CRD is another installation's (skipped if forbidden)."""
    try:
        crd = await hub.get(CRD_PATH)
    except Forbidden:
        return
    except NotFound:
        raise click.ClickException(NOT_SERVED) from None
    if not crd_is_ours(crd):
        raise click.ClickException(FOREIGN)


def _spec(item: dict[str, Any]) -> ApplicationSpec:
    try:
        return ApplicationSpec.model_validate(item.get("spec") or {})
    except ValidationError as exc:
        raise click.ClickException(f"the application's spec is invalid: {_problems(exc)}") from None


def _problems(exc: ValidationError) -> str:
    # The messages only: pydantic's own text quotes the input, which may be anything.
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'spec'}: {error['msg']}"
        for error in exc.errors()
    )


def _short(revision: str) -> str:
    return revision[:7] if _SHA.match(revision) else revision


# -- create -------------------------------------------------------------------------------


def build_application(
    *,
    name: str,
    app_namespace: str,
    repo: str,
    path: str = "",
    revision: str = "HEAD",
    cluster: str = "",
    server: str = "",
    namespace: str,
    project: str = "default",
    auto_sync: bool = False,
    prune: bool = False,
    self_heal: bool = False,
    allow_empty: bool = False,
    sync_options: tuple[str, ...] = (),
    directory_recurse: bool = False,
    helm_sets: tuple[str, ...] = (),
    value_files: tuple[str, ...] = (),
    release_name: str = "",
    chart: str = "",
) -> dict[str, Any]:
    """The Application ``create``'s flags describe, checked locally (UsageError, ClickException)."""
    if bool(cluster) == bool(server):
        raise click.UsageError("give the destination as --cluster NAME or --server URL (one)")
    if not auto_sync:
        needs = [flag for flag, on in (("--prune", prune), ("--self-heal", self_heal),
                                       ("--allow-empty", allow_empty)) if on]  # fmt: skip
        if needs:
            verb = "needs" if len(needs) == 1 else "need"
            raise click.UsageError(f"{', '.join(needs)} {verb} --auto-sync")
    if chart and path:
        raise click.UsageError("--chart (a Helm repository's chart) and --path exclude each other")
    helm_flags = bool(helm_sets or value_files or release_name)
    if directory_recurse and (helm_flags or chart):
        raise click.UsageError("--directory-recurse is for plain directories, not Helm charts")
    if not _NAME.fullmatch(name):
        raise click.BadParameter(
            "use lower-case letters, digits, '-' and '.', starting and ending with a letter or "
            "digit, at most 253 characters",
            param_hint="NAME",
        )
    if _USERINFO.match(repo.strip()):
        raise click.BadParameter(
            "the URL holds a user name or password; keep credentials in a repository Secret "
            f"in {SYSTEM_NAMESPACE} (argocd.argoproj.io/secret-type: repository)",
            param_hint="--repo",
        )
    for option in sync_options:
        pairs((option,), option="--sync-option")
    source: dict[str, Any] = {"repoURL": repo, "targetRevision": revision}
    if path:
        source["path"] = path
    if chart:
        source["chart"] = chart
    if directory_recurse:
        source["directory"] = {"recurse": True}
    if helm_flags:
        helm: dict[str, Any] = {}
        if release_name:
            helm["releaseName"] = release_name
        if value_files:
            helm["valueFiles"] = list(value_files)
        if helm_sets:
            sets = pairs(helm_sets, option="--helm-set")
            helm["parameters"] = [{"name": k, "value": v} for k, v in sets]
        source["helm"] = helm
    destination = {"name": cluster} if cluster else {"server": server}
    spec: dict[str, Any] = {
        "project": project,
        "source": source,
        "destination": {**destination, "namespace": namespace},
    }
    policy: dict[str, Any] = {}
    if auto_sync:
        policy["automated"] = {"prune": prune, "selfHeal": self_heal, "allowEmpty": allow_empty}
    if sync_options:
        policy["syncOptions"] = list(sync_options)
    if policy:
        spec["syncPolicy"] = policy
    try:
        ApplicationSpec.model_validate(spec)
    except ValidationError as exc:
        raise click.ClickException(f"invalid application: {_problems(exc)}") from None
    return {
        "apiVersion": APPLICATION.api_version,
        "kind": APPLICATION.kind,
        "metadata": {"name": name, "namespace": app_namespace},
        "spec": spec,
    }


@app.command("create")
@click.argument("name")
@click.option("--repo", required=True, help="Git repository URL (or a Helm repository's).")
@click.option("--path", default="", help="Directory in the repository.")
@click.option("--revision", default="HEAD", show_default=True, help="Branch, tag or commit.")
@click.option("--cluster", default="", help="Destination: a registered cluster's name.")
@click.option("--server", default="", help="Destination: a registered cluster's API URL.")
@click.option("--namespace", required=True, help="Destination namespace.")
@_app_namespace_option
@click.option("--auto-sync", is_flag=True, help="Sync automatically when git changes.")
@click.option("--prune", is_flag=True, help="Automated sync deletes what left git.")
@click.option("--self-heal", is_flag=True, help="Automated sync reverts changes on the cluster.")
@click.option("--allow-empty", is_flag=True, help="Automated sync may leave nothing.")
@click.option("--sync-option", "sync_options", multiple=True, help="e.g. CreateNamespace=true.")
@click.option("--directory-recurse", is_flag=True, help="Read subdirectories too.")
@click.option("--helm-set", "helm_sets", multiple=True, help="Helm parameter KEY=VALUE.")
@click.option("--values", "value_files", multiple=True, help="Helm values file in the repo.")
@click.option("--release-name", default="", help="Helm release name.")
@click.option("--chart", default="", help="Chart of a Helm repository (--revision: version).")
@click.option("--project", default="default", show_default=True)
@click.option("--upsert", is_flag=True, help="Replace the spec of an existing Application.")
@click.option("--dry-run", is_flag=True, help="Print the Application, create nothing.")
@click.option("-o", "--output", type=click.Choice(["json", "yaml"]), default=None)
@hub_options
@_errors()
def create(
    *,
    name: str,
    app_namespace: str,
    upsert: bool,
    dry_run: bool,
    output: str | None,
    hub_kubeconfig: Path | None,
    hub_context: str,
    **flags: Any,
) -> None:
    """Create the Application NAME from a git source, for one cluster."""
    manifest = build_application(name=name, app_namespace=app_namespace, **flags)
    if dry_run:
        dump(manifest, output or "yaml")
        return
    target = hub_target(hub_kubeconfig, hub_context)

    async def run() -> tuple[dict[str, Any], bool]:
        async with _hub(target) as hub:
            await _check_crd(hub)
            if flags["cluster"]:
                await _check_cluster(hub, flags["cluster"])
            return await _create(hub, manifest, upsert=upsert)

    item, created = asyncio.run(run())
    if output:
        dump(item, output)
        return
    say(f"application {app_namespace}/{name} {'created' if created else 'updated'}")


async def _check_cluster(hub: KubeClient, cluster: str) -> None:
    with contextlib.suppress(Forbidden):
        await get_cluster(hub, cluster)  # RegistryError names it


async def _create(
    hub: KubeClient, manifest: dict[str, Any], *, upsert: bool
) -> tuple[dict[str, Any], bool]:
    namespace, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
    params = {"fieldManager": CLI_MANAGER}
    try:
        created: dict[str, Any] = await hub.request(
            "POST", _path(namespace), params=params, body=manifest
        )
        return created, True
    except NotFound:
        raise await _missing(hub, namespace, None) from None
    except Conflict:
        if not upsert:
            raise click.ClickException(f"application {name} exists (use --upsert)") from None
    for _ in range(WRITE_ATTEMPTS):
        live = await _read(hub, namespace, name)
        live["spec"] = manifest["spec"]
        try:
            replaced: dict[str, Any] = await hub.request(
                "PUT", _path(namespace, name), params=params, body=live
            )
            return replaced, False
        except Conflict:
            continue
    raise click.ClickException(f"application {name} kept changing while being updated; try again")


# -- list, get, history -------------------------------------------------------------------


@app.command("list")
@_app_namespace_option
@click.option("-A", "--all-namespaces", is_flag=True, help="Applications of every namespace.")
@click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table")
@hub_options
@_errors()
def list_command(
    *, app_namespace: str, all_namespaces: bool, output: str, hub_kubeconfig: Path | None,
    hub_context: str,
) -> None:  # fmt: skip
    """Applications with their destination, sync status, health and revision."""
    target = hub_target(hub_kubeconfig, hub_context)

    async def run() -> list[dict[str, Any]]:
        async with _hub(target) as hub:
            try:
                answer = await hub.list(_path(None if all_namespaces else app_namespace))
            except NotFound:
                raise click.ClickException(NOT_SERVED) from None
        return list(answer.get("items") or [])

    items = asyncio.run(run())
    if output != "table":
        dump({"apiVersion": "v1", "kind": "List", "items": items}, output)
        return
    table = columns("NAME", "CLUSTER", "NAMESPACE", "SYNC", "HEALTH", "REVISION")
    for item in items:
        meta, spec = item["metadata"], item.get("spec") or {}
        status = item.get("status") or {}
        destination = spec.get("destination") or {}
        shown = f"{meta['namespace']}/{meta['name']}" if all_namespaces else meta["name"]
        row(
            table,
            shown,
            destination.get("name") or destination.get("server") or "",
            destination.get("namespace", ""),
            (status.get("sync") or {}).get("status", ""),
            (status.get("health") or {}).get("status", ""),
            _short(str((status.get("sync") or {}).get("revision") or "")),
        )
    console.print(table)


@app.command("get")
@click.argument("name")
@_app_namespace_option
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text")
@hub_options
@_errors()
def get_command(
    *, name: str, app_namespace: str, output: str, hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """Source, destination, policy, conditions, last operation and every object's status."""
    namespace, name = _split(name, app_namespace)
    target = hub_target(hub_kubeconfig, hub_context)

    async def run() -> dict[str, Any]:
        async with _hub(target) as hub:
            return await _read(hub, namespace, name)

    item = asyncio.run(run())
    if output != "text":
        dump(item, output)
        return
    for line in summary(item):
        say(line)
    status = item.get("status") or {}
    conditions = status.get("conditions") or []
    if conditions:
        table = columns("CONDITION", "MESSAGE", "LAST TRANSITION")
        for condition in conditions:
            row(table, condition.get("type"), condition.get("message"),
                 condition.get("lastTransitionTime"))  # fmt: skip
        console.print(table)
    resources = columns("GROUP", "KIND", "NAMESPACE", "NAME", "SYNC", "HEALTH", "MESSAGE")
    for resource in status.get("resources") or []:
        health = resource.get("health") or {}
        row(
            resources, resource.get("group"), resource.get("kind"), resource.get("namespace"),
            resource.get("name"), resource.get("status"), health.get("status"),
            resource.get("message") or health.get("message"),
        )  # fmt: skip
    console.print(resources)


def summary(item: dict[str, Any]) -> list[str]:
    """The lines ``get`` prints above its tables."""
    meta, spec, status = item["metadata"], item.get("spec") or {}, item.get("status") or {}
    source, destination = spec.get("source") or {}, spec.get("destination") or {}
    sync, health = status.get("sync") or {}, status.get("health") or {}
    synced = str(sync.get("revision") or "")
    commit = next(
        (h.get("message", "") for h in reversed(status.get("history") or [])
         if h.get("revision") == synced),
        "",
    )  # fmt: skip
    where = (
        f"cluster {destination['name']}" if destination.get("name")
        else f"server {destination.get('server', '')}"
    )  # fmt: skip
    lines = [
        ("Name", f"{meta['namespace']}/{meta['name']}"),
        ("Project", spec.get("project", "default")),
        ("Repo", redact(str(source.get("repoURL") or ""))),
        ("Chart" if source.get("chart") else "Path", source.get("chart") or source.get("path", "")),
        ("Target revision", source.get("targetRevision") or "HEAD"),
        ("Synced revision", f"{synced} {commit}".strip() if synced else "(never synced)"),
        ("Destination", f"{where}, namespace {destination.get('namespace', '')}"),
        ("Sync policy", _policy(spec.get("syncPolicy") or {})),
        ("Sync status", sync.get("status", "Unknown")),
        ("Health", " ".join(filter(None, (health.get("status"), health.get("message"))))),
    ]
    operation = status.get("operationState")
    if operation:
        finished = operation.get("finishedAt") or "(running)"
        lines.append(
            ("Last operation", f"{operation.get('phase', '')}: {operation.get('message', '')} "
                               f"(finished {finished})")
        )  # fmt: skip
    if item.get("operation"):
        lines.append(("Operation", "requested, waiting for the controller"))
    if meta.get("deletionTimestamp"):
        lines.append(("Deleting", f"since {meta['deletionTimestamp']}"))
    width = max(len(key) for key, _ in lines) + 2
    return [f"{key + ':':<{width}}{value}" for key, value in lines]


def _policy(policy: dict[str, Any]) -> str:
    automated = policy.get("automated")
    if isinstance(automated, dict) and automated.get("enabled") is not False:
        flags = (("prune", "prune"), ("self-heal", "selfHeal"), ("allow-empty", "allowEmpty"))
        named = [word for word, key in flags if automated.get(key)]
        text = "automated" + (f" ({', '.join(named)})" if named else "")
    else:
        text = "manual"
    options = policy.get("syncOptions") or []
    return text + (f"; options {', '.join(options)}" if options else "")


@app.command("history")
@click.argument("name")
@_app_namespace_option
@hub_options
@_errors()
def history_command(
    *, name: str, app_namespace: str, hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """The Application's syncs, oldest first: the IDs rollback takes."""
    namespace, name = _split(name, app_namespace)
    target = hub_target(hub_kubeconfig, hub_context)

    async def run() -> dict[str, Any]:
        async with _hub(target) as hub:
            return await _read(hub, namespace, name)

    item = asyncio.run(run())
    table = columns("ID", "DATE", "REVISION", "PHASE", "MESSAGE")
    entries = (item.get("status") or {}).get("history") or []
    for entry in sorted(entries, key=lambda e: int(e.get("id", 0))):
        row(table, entry.get("id"), entry.get("deployedAt"),
             _short(str(entry.get("revision") or "")), entry.get("phase"),
             entry.get("message"))  # fmt: skip
    console.print(table)


# -- sync, rollback -----------------------------------------------------------------------


def _operation(revision: str, *, prune: bool) -> dict[str, Any]:
    return {
        "sync": {"revision": revision, "prune": prune, "dryRun": False},
        "initiatedBy": {"username": USERNAME},
    }


async def _request(
    hub: KubeClient,
    namespace: str,
    name: str,
    patch_for: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """Set an operation on the Application unless one is set; returns it as it was before."""
    for _ in range(WRITE_ATTEMPTS):
        item = await _read(hub, namespace, name)
        if item.get("operation"):
            raise click.ClickException(
                f"another operation is in progress on {namespace}/{name}: wait for it "
                f"(`flotilla app get {name}`) and try again"
            )
        patch = patch_for(item)
        patch["metadata"] = {"resourceVersion": item["metadata"]["resourceVersion"]}
        try:
            await _patch(hub, _path(namespace, name), patch)
        except Conflict:
            continue
        return item
    raise click.ClickException(f"application {name} kept changing; try again")


def _finished(item: dict[str, Any]) -> str:
    return str(((item.get("status") or {}).get("operationState") or {}).get("finishedAt") or "")


async def _wait_operation(
    hub: KubeClient, namespace: str, name: str, *, before: str, timeout: float, clock: Clock
) -> dict[str, Any]:
    """The Application once the controller took the operation off and wrote its result."""
    deadline = clock.monotonic() + timeout
    while True:
        try:
            item: dict[str, Any] = await hub.get(_path(namespace, name))
        except NotFound:
            raise click.ClickException(f"application {namespace}/{name} was deleted") from None
        finished = _finished(item)
        if not item.get("operation") and finished and finished != before:
            return item
        left = deadline - clock.monotonic()
        if left <= 0:
            raise click.ClickException(
                f"the operation did not finish in {timeout:g}s (is the GitOps controller "
                f"running?); it may still run: `flotilla app get {name}`"
            )
        await clock.sleep(min(POLL_SECONDS, left))


def _report(item: dict[str, Any]) -> None:
    """Print an operation's result; exit 1 unless it succeeded."""
    state = (item.get("status") or {}).get("operationState") or {}
    result = state.get("syncResult") or {}
    phase = str(state.get("phase") or "")
    say(f"Phase:     {phase}")
    say(f"Message:   {state.get('message', '')}")
    if result.get("revision"):
        say(f"Revision:  {result['revision']}")
    say(f"Finished:  {state.get('finishedAt', '')}")
    resources = result.get("resources") or []
    if resources:
        table = columns("GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "MESSAGE")
        for r in resources:
            row(table, r.get("group"), r.get("kind"), r.get("namespace"), r.get("name"),
                 r.get("status"), r.get("message"))  # fmt: skip
        console.print(table)
    if phase != "Succeeded":
        sys.exit(1)


@app.command("sync")
@click.argument("name")
@_app_namespace_option
@click.option("--revision", default="", help="Sync to this revision, not the target's.")
@click.option("--prune", is_flag=True, help="Delete what is no longer in git.")
@click.option("--dry-run", is_flag=True, help="Show what a sync would do; change nothing.")
@click.option("--async", "no_wait", is_flag=True, help="Do not wait for the result.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait.")
@hub_options
@_errors()
def sync_command(
    *, name: str, app_namespace: str, revision: str, prune: bool, dry_run: bool, no_wait: bool,
    timeout: float, hub_kubeconfig: Path | None, hub_context: str,
) -> None:  # fmt: skip
    """Sync NAME now: the controller applies git's state (and prunes with --prune)."""
    namespace, name = _split(name, app_namespace)
    target = hub_target(hub_kubeconfig, hub_context)
    reach = _reach()
    if dry_run:
        _print_dry_run(
            asyncio.run(_dry_run(target, reach, namespace, name, revision=revision)), prune
        )
        return

    async def run() -> dict[str, Any] | None:
        async with _hub(target) as hub:
            await _check_crd(hub)
            before = await _request(
                hub, namespace, name, lambda _item: {"operation": _operation(revision, prune=prune)}
            )
            if no_wait:
                return None
            return await _wait_operation(
                hub, namespace, name, before=_finished(before), timeout=timeout, clock=reach.clock
            )

    item = asyncio.run(run())
    if item is None:
        say(f"sync of {namespace}/{name} requested; `flotilla app get {name}` shows how it goes")
        return
    _report(item)


@app.command("rollback")
@click.argument("name")
@click.argument("history_id", metavar="ID", type=int)
@_app_namespace_option
@click.option("--async", "no_wait", is_flag=True, help="Do not wait for the result.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait.")
@hub_options
@_errors()
def rollback_command(
    *, name: str, history_id: int, app_namespace: str, no_wait: bool, timeout: float,
    hub_kubeconfig: Path | None, hub_context: str,
) -> None:  # fmt: skip
    """Sync NAME back to the revision of history entry ID, turning automated sync off."""
    namespace, name = _split(name, app_namespace)
    target = hub_target(hub_kubeconfig, hub_context)
    reach = _reach()
    chosen: list[HistoryEntry] = []

    def patch_for(item: dict[str, Any]) -> dict[str, Any]:
        entry = _history_entry(item, history_id)
        chosen[:] = [entry]
        patch: dict[str, Any] = {"operation": _operation(entry.revision, prune=False)}
        if ((item.get("spec") or {}).get("syncPolicy") or {}).get("automated") is not None:
            patch["spec"] = {"syncPolicy": {"automated": None}}
        return patch

    async def run() -> dict[str, Any] | None:
        async with _hub(target) as hub:
            await _check_crd(hub)
            before = await _request(hub, namespace, name, patch_for)
            if no_wait:
                return None
            return await _wait_operation(
                hub, namespace, name, before=_finished(before), timeout=timeout, clock=reach.clock
            )

    item = asyncio.run(run())
    say(
        f"automated sync of {namespace}/{name} is now off, so it stays at revision "
        f"{_short(chosen[0].revision)}; turn it on again in spec.syncPolicy.automated"
    )
    if item is None:
        say(f"rollback requested; `flotilla app get {name}` shows how it goes")
        return
    _report(item)


def _history_entry(item: dict[str, Any], history_id: int) -> HistoryEntry:
    raw = (item.get("status") or {}).get("history") or []
    entries = [HistoryEntry.model_validate(entry) for entry in raw]
    for entry in entries:
        if entry.id == history_id:
            return entry
    ids = ", ".join(str(entry.id) for entry in entries)
    known = f"its history has the ids {ids}" if ids else "it has no history yet"
    raise click.ClickException(f"no history entry {history_id}: {known}")


# -- delete, confirm-prune ----------------------------------------------------------------


@app.command("delete")
@click.argument("name")
@_app_namespace_option
@click.option(
    "--cascade/--no-cascade",
    default=True,
    show_default=True,
    help="Remove the Application's objects from its cluster too.",
)
@click.option("--wait", is_flag=True, help="Wait until the Application is gone.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait.")
@hub_options
@_errors()
def delete_command(
    *, name: str, app_namespace: str, cascade: bool, wait: bool, timeout: float,
    hub_kubeconfig: Path | None, hub_context: str,
) -> None:  # fmt: skip
    """Delete NAME; with --cascade (the default) its objects go from the cluster first."""
    namespace, name = _split(name, app_namespace)
    target = hub_target(hub_kubeconfig, hub_context)
    reach = _reach()

    async def run() -> None:
        async with _hub(target) as hub:
            await _set_finalizer(hub, namespace, name, cascade=cascade)
            with contextlib.suppress(NotFound):
                await hub.delete(_path(namespace, name))
            if wait:
                await _wait_gone(hub, namespace, name, timeout=timeout, clock=reach.clock)

    asyncio.run(run())
    if wait:
        say(f"application {namespace}/{name} is gone")
    elif cascade:
        say(f"application {namespace}/{name} deleted; the controller removes its objects first")
    else:
        say(f"application {namespace}/{name} deleted; its objects stay on the cluster")


async def _set_finalizer(hub: KubeClient, namespace: str, name: str, *, cascade: bool) -> None:
    """Add (cascade) or remove Argo CD's resources finalizer, keeping every other one."""
    for _ in range(WRITE_ATTEMPTS):
        item = await _read(hub, namespace, name)
        meta = item["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if cascade and not set(finalizers) & CASCADE_FINALIZERS:
            if meta.get("deletionTimestamp"):
                return  # no finalizer can be added to what is being deleted
            wanted = [*finalizers, RESOURCES_FINALIZER]
        elif not cascade and set(finalizers) & CASCADE_FINALIZERS:
            wanted = [f for f in finalizers if f not in CASCADE_FINALIZERS]
        else:
            return
        patch = {"metadata": {"finalizers": wanted, "resourceVersion": meta["resourceVersion"]}}
        try:
            await _patch(hub, _path(namespace, name), patch)
            return
        except Conflict:
            continue
    raise click.ClickException(f"application {name} kept changing; try again")


async def _wait_gone(
    hub: KubeClient, namespace: str, name: str, *, timeout: float, clock: Clock
) -> None:
    deadline = clock.monotonic() + timeout
    while True:
        try:
            await hub.get(_path(namespace, name))
        except NotFound:
            return
        left = deadline - clock.monotonic()
        if left <= 0:
            raise click.ClickException(
                f"application {namespace}/{name} is still there after {timeout:g}s (is the "
                f"GitOps controller running? `flotilla app get {name}` says what it waits for)"
            )
        await clock.sleep(min(POLL_SECONDS, left))


@app.command("confirm-prune")
@click.argument("name")
@_app_namespace_option
@hub_options
@_errors()
def confirm_prune(
    *, name: str, app_namespace: str, hub_kubeconfig: Path | None, hub_context: str
) -> None:
    """Let the next sync prune what the deletion guard stopped."""
    namespace, name = _split(name, app_namespace)
    target = hub_target(hub_kubeconfig, hub_context)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    async def run() -> bool:
        async with _hub(target) as hub:
            item = await _read(hub, namespace, name)
            guard = (item.get("status") or {}).get("pruneGuard") or []
            if not any(record.get("blockedDigest") for record in guard):
                return False
            patch = {"metadata": {"annotations": {CONFIRM_PRUNE_ANNOTATION: now}}}
            await _patch(hub, _path(namespace, name), patch)
            return True

    if not asyncio.run(run()):
        raise click.ClickException(
            f"the deletion guard holds nothing of {namespace}/{name} now: nothing to confirm; "
            "a confirmation counts only for what is held when given"
        )
    say(f"prune confirmed for {namespace}/{name}")


# -- diff, sync --dry-run -----------------------------------------------------------------


def _tools() -> Tools:
    return Tools(kubectl=find_tool("kubectl"), helm=find_tool("helm"))


async def _dry_run(
    target: HubTarget,
    reach: Reach,
    namespace: str,
    name: str,
    *,
    revision: str,
    rewrites: tuple[tuple[str, str], ...] = (),
) -> Plan:
    with git_cache() as cache:
        async with _hub(target) as hub:
            item = await _read(hub, namespace, name)
            _spec(item)  # an invalid spec is the user's to fix: say so plainly
            try:
                return await plan_sync(
                    hub, item, member=reach.member, cache_dir=cache, tools=_tools(),
                    revision=revision, rewrites=rewrites,
                )  # fmt: skip
            except PreviewError as exc:
                raise click.ClickException(str(exc)) from None


def _print_dry_run(plan: Plan, prune: bool) -> None:
    pruning = prune or plan.prunes_automatically
    actions = {
        "create": "would be created",
        "update": "would be updated",
        "unchanged": "unchanged",
        "foreign": "would fail",
        "prune": "would be pruned" if pruning else "would be left (prune is off: --prune)",
    }
    table = columns("GROUP", "KIND", "NAMESPACE", "NAME", "RESULT", "MESSAGE")
    for change in plan.changes:
        group, kind, namespace, name = object_key(change.manifest)
        row(table, group, kind, namespace, name, actions[change.action], change.note)
    console.print(table)
    say(f"dry run at revision {plan.revision.sha}: nothing was changed")


@app.command("diff")
@click.argument("name")
@_app_namespace_option
@click.option("--revision", default="", help="Compare this revision, not the target's.")
@rewrite_option
@hub_options
@_errors(exit_code=2)
def diff_command(
    *, name: str, app_namespace: str, revision: str, rewrites: tuple[str, ...],
    hub_kubeconfig: Path | None, hub_context: str,
) -> None:  # fmt: skip
    """What a sync would change on the cluster: exit 0 for nothing, 1 for differences,
    2 when it cannot tell."""
    namespace, name = _split(name, app_namespace)
    rules = tuple(pairs(rewrites, option="--git-url-rewrite"))
    target = hub_target(hub_kubeconfig, hub_context)
    try:
        plan = asyncio.run(
            _dry_run(target, _reach(), namespace, name, revision=revision, rewrites=rules)
        )
    except click.UsageError:
        raise
    except click.ClickException as exc:
        raise DiffFailed(exc.message) from None
    different = False
    for change in plan.changes:
        if change.action == "unchanged":
            continue
        different = True
        click.echo(heading(change.manifest))
        if change.note:
            click.echo(f"# {change.note}")
        if change.diff:
            click.echo(change.diff, nl=not change.diff.endswith("\n"))
    sys.exit(1 if different else 0)


__all__ = [
    "CLI_MANAGER",
    "RESOURCES_FINALIZER",
    "Plan",
    "Reach",
    "app",
    "build_application",
    "summary",
]
