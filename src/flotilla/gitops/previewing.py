"""What syncing an Application would change on its cluster, computed without writing.

``flotilla app diff`` and ``sync --dry-run`` use it: the controller's own pieces resolve
and render the source (``GitSources``, ``Renderer``, ``stamped``), and each object is judged
by the member's server-side-apply dry run against what is live, so what it shows is what a
sync would write. Objects of the Application that git no longer has are "prune".
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flotilla.api import SYSTEM_NAMESPACE
from flotilla.api.application import ApplicationSpec, ResourceIgnoreDifferences
from flotilla.api.labels import (
    APPLICATION_LABEL,
    FIELD_MANAGER,
    HUB_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    hub_identity,
    label_of,
    owner_of,
)
from flotilla.clusters import RegistryError, get_cluster, list_clusters, member_connection
from flotilla.gitops import ignoring
from flotilla.gitops.desired import Renderer, stamped
from flotilla.gitops.diffing import object_diff
from flotilla.gitops.rendering import Tools
from flotilla.gitops.repositories import SECRET_TYPE_LABEL, credentials_for
from flotilla.gitops.sources import GitSources, Revision
from flotilla.gitops.urls import redact
from flotilla.kube import (
    ConnectionConfig,
    Forbidden,
    KubeClient,
    KubeError,
    NotFound,
    ResourceInfo,
    RestMapper,
    UnknownKind,
    resource_path,
)
from flotilla.propagation.pruning import object_key


class PreviewError(Exception):
    """The preview cannot be made (the destination, the member); the message says why."""


@dataclass(frozen=True)
class Change:
    """What a sync would do to one object."""

    manifest: dict[str, Any]
    """The desired object (stamped), or the live one for ``prune``."""
    action: str
    """``create``, ``update``, ``unchanged``, ``prune`` or ``foreign`` (someone else's)."""
    diff: str = ""
    note: str = ""


@dataclass(frozen=True)
class Plan:
    revision: Revision
    changes: list[Change]
    prunes_automatically: bool


async def repository_secrets(hub: KubeClient) -> list[dict[str, Any]]:
    """The Secrets repository credentials may be in; none when we may not read them."""
    try:
        listing = await hub.list(resource_path("v1", "secrets", namespace=SYSTEM_NAMESPACE))
    except Forbidden:
        return []
    return [s for s in listing.get("items") or [] if label_of(s, SECRET_TYPE_LABEL)]


async def _destination(hub: KubeClient, spec: ApplicationSpec) -> tuple[str, ConnectionConfig]:
    """The destination cluster's name and stored connection, as the controller finds it."""
    dest = spec.destination
    if dest.name and dest.server:
        raise PreviewError("spec.destination: set name or server, not both")
    if dest.name:
        return dest.name, await member_connection(hub, await get_cluster(hub, dest.name))
    if dest.server:
        wanted = dest.server.rstrip("/")
        for cluster in await list_clusters(hub):
            try:
                config = await member_connection(hub, cluster)
            except RegistryError:
                continue
            if config.server.rstrip("/") == wanted:
                return cluster["metadata"]["name"], config
        raise PreviewError(
            f"no registered cluster has API server {redact(dest.server)}; "
            "`flotilla cluster list` shows them"
        )
    raise PreviewError("spec.destination needs a cluster name or server")


async def plan_sync(
    hub: KubeClient,
    item: dict[str, Any],
    *,
    member: Callable[[ConnectionConfig], KubeClient],
    cache_dir: Path,
    tools: Tools,
    revision: str = "",
    rewrites: tuple[tuple[str, str], ...] = (),
) -> Plan:
    """What syncing ``item`` (at ``revision``, else its target) would change on its cluster."""
    meta, spec = item["metadata"], ApplicationSpec.model_validate(item.get("spec") or {})
    source, dest_ns = spec.source, spec.destination.namespace
    sources = GitSources(cache_dir, rewrites=rewrites)
    wanted = revision or source.target_revision
    if source.chart:  # a Helm repository: the revision is the chart's version
        resolved = Revision(sha=wanted, ref=wanted)
    else:
        secrets = await repository_secrets(hub)
        resolved = await sources.resolve(
            source.repo_url, wanted, credentials_for(source.repo_url, secrets)
        )
    renderer = Renderer(sources, tools=tools)
    rendered = await renderer.render(meta["name"], spec, resolved.sha, namespace=dest_ns)
    cluster, config = await _destination(hub, spec)
    owner = f"{meta['namespace']}.{meta['name']}"
    known = [
        (f"{r['group']}/{r['version']}" if r.get("group") else r.get("version", ""), r["kind"])
        for r in (item.get("status") or {}).get("resources") or []
        if r.get("kind") and r.get("version")
    ]
    hub_id = ""
    with contextlib.suppress(KubeError):
        hub_id = hub_identity(
            await hub.get(resource_path("v1", "namespaces", name=SYSTEM_NAMESPACE))
        )
    try:
        async with member(config) as client:
            try:
                ignoring.check(spec.ignore_differences)
            except ignoring.IgnoreError as exc:
                raise PreviewError(f"spec.{exc}") from None
            changes = await _compare(
                client,
                rendered.manifests,
                owner,
                dest_ns,
                known,
                hub_id=hub_id,
                rules=spec.ignore_differences,
            )
    except KubeError as exc:
        raise PreviewError(f"cluster {cluster}: {exc}") from None
    auto = spec.sync_policy.automated if spec.sync_policy else None
    return Plan(resolved, changes, bool(spec.automated() and auto and auto.prune))


async def _compare(
    member: KubeClient,
    manifests: tuple[dict[str, Any], ...],
    owner: str,
    namespace: str,
    known_kinds: list[tuple[str, str]],
    *,
    hub_id: str = "",
    rules: Sequence[ResourceIgnoreDifferences] = (),
) -> list[Change]:
    mapper = RestMapper(member)
    infos: dict[tuple[str, str], ResourceInfo | None] = {}
    kinds = [(str(m.get("apiVersion") or ""), str(m.get("kind") or "")) for m in manifests]
    for kind in [*kinds, *known_kinds]:
        if kind not in infos:
            try:
                infos[kind] = await mapper.resource_for(*kind)
            except (UnknownKind, ValueError):  # not served (yet: a CRD of this sync?)
                infos[kind] = None

    def namespaced(manifest: dict[str, Any]) -> bool | None:
        info = infos.get((manifest.get("apiVersion", ""), manifest.get("kind", "")))
        return info.namespaced if info else None

    def ignored(manifest: dict[str, Any]) -> ignoring.Ignored:
        return ignoring.ignored_for(manifest, rules)

    desired = stamped(
        manifests, owner=owner, namespace=namespace, namespaced=namespaced, ignored=ignored
    )
    changes = [
        await _change(
            member,
            infos.get((m["apiVersion"], m["kind"])),
            m,
            owner,
            hub_id=hub_id,
            left_out=ignored(m).pointers,
        )
        for m in desired
    ]
    wanted = {object_key(m) for m in desired}
    for info in dict.fromkeys(i for i in infos.values() if i is not None):
        changes.extend(await _extraneous(member, info, owner, wanted))
    return changes


async def _change(
    member: KubeClient,
    info: ResourceInfo | None,
    manifest: dict[str, Any],
    owner: str,
    *,
    hub_id: str = "",
    left_out: Sequence[ignoring.Path] = (),
) -> Change:
    if info is None:
        return Change(
            manifest, "create", object_diff(None, manifest),
            note="its kind is not served on the cluster yet (a CRD of this sync?)",
        )  # fmt: skip
    meta = manifest["metadata"]
    path = resource_path(
        info.api_version, info.plural,
        namespace=(meta.get("namespace") or "default") if info.namespaced else None,
        name=meta["name"],
    )  # fmt: skip
    try:
        live: dict[str, Any] | None = await member.get(path)
    except NotFound:
        live = None
    if live is not None and owner_of(live) not in ("", f"application {owner}"):
        return Change(manifest, "foreign", note=f"owned by {owner_of(live)}: a sync fails on it")
    hub = label_of(live, HUB_LABEL) if live is not None else ""
    if hub and hub_id and hub != hub_id:
        return Change(manifest, "foreign", note="written by another hub: a sync fails on it")
    if hub:  # the controller's applier stamps this hub's id: without it, the dry run drops it
        manifest = {**manifest, "metadata": {**meta, "labels": {**(meta.get("labels") or {}),
                                                                 HUB_LABEL: hub}}}  # fmt: skip
    try:
        after = await member.apply(path, manifest, field_manager=FIELD_MANAGER, dry_run=True)
    except NotFound:  # its namespace does not exist yet
        after = manifest
    if live is None:
        return Change(manifest, "create", object_diff(None, after))
    # What ignoreDifferences leaves out is no difference here either.
    diff = object_diff(ignoring.without(live, left_out), ignoring.without(after, left_out))
    return Change(manifest, "update" if diff else "unchanged", diff)


async def _extraneous(
    member: KubeClient, info: ResourceInfo, owner: str, wanted: set[tuple[str, str, str, str]]
) -> list[Change]:
    """The Application's objects of this kind on the cluster that git no longer has."""
    selector = f"{APPLICATION_LABEL}={owner},{MANAGED_BY_LABEL}={MANAGED_BY}"
    try:
        listing = await member.list(
            resource_path(info.api_version, info.plural), label_selector=selector
        )
    except (Forbidden, NotFound):
        return []
    changes = []
    for live in listing.get("items") or []:
        live.setdefault("apiVersion", info.api_version)
        live.setdefault("kind", info.kind)
        if object_key(live) not in wanted:
            changes.append(Change(live, "prune", note="in the cluster, no longer in git"))
    return changes


__all__ = ["Change", "Plan", "PreviewError", "plan_sync", "repository_secrets"]
