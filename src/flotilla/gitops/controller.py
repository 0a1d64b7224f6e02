"""The GitOps controller: Applications made real on their cluster from git, and kept so.

Reconcile (per Application, level-based):

1. check it: a namespace the hub admin lets Applications live in, a valid spec, a
   registered destination (by name or API server URL);
2. resolve the revision (``sources``: one fetch per repository and revision, shared by all
   Applications, at most once per poll interval unless a webhook or a refresh says the
   repository changed) and render it (``desired.Renderer``: cached per commit and source);
3. compare with the live objects (``comparing``), from the member informers of managed
   objects, and assess health;
4. sync when asked (an ``operation``: ``flotilla app sync``/``rollback``) or when automated
   and git moved on (or, with ``selfHeal``, when the cluster drifted): the propagation
   machinery applies (``MemberSync``: server-side apply, ownership, the applied cache,
   drift and fight backoff) wave by wave, and prunes only with ``prune`` and through the
   deletion guard;
5. write Argo CD's status: sync and health, per-object entries, conditions, history, the
   operation's result, and the deletion guard's memory.

**A source that fails is not an empty source.** An unreachable repository, a failed
authentication, a revision that vanished or a render error never prunes: nothing is
synced, the last synced state stays on the cluster, and ``ComparisonError`` says why. An
empty render prunes everything only with ``allowEmpty``.

A deleted Application with Argo CD's ``resources-finalizer.argocd.argoproj.io`` has its
objects removed from the member (deliberate: no guard) before the finalizer goes; without
it, they stay (Argo CD's non-cascading delete).

Why one module of ~1040 lines: like the propagation controller, it is where a pass's steps
meet, in order, and hand their results to status; the steps' rules live in ``desired``,
``comparing``, ``status`` and the propagation modules it calls.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from flotilla.api import API_VERSION, CLUSTER, SYSTEM_NAMESPACE
from flotilla.api.application import (
    CASCADE_FINALIZERS,
    RESOURCES_FINALIZER,
    ApplicationSpec,
    ApplicationStatus,
    HealthInfo,
    Operation,
    ResourceIgnoreDifferences,
    ResourceResult,
    ResourceStatus,
    SyncResult,
    SyncStatusInfo,
)
from flotilla.api.kinds import APPLICATION
from flotilla.api.labels import (
    APPLICATION_LABEL,
    CONFIRM_PRUNE_ANNOTATION,
    HUB_CLUSTER,
    hub_identity,
    label_of,
)
from flotilla.clusters.connections import MemberConnections
from flotilla.gitops import comparing, ignoring
from flotilla.gitops import status as appstatus
from flotilla.gitops.desired import DIGEST_ANNOTATION, Renderer, digest_of_all, stamped, waves
from flotilla.gitops.health import Health
from flotilla.gitops.rendering import RenderError
from flotilla.gitops.repositories import (
    SECRET_TYPE_LABEL,
    WEBHOOK_SECRET,
    credentials_for,
    secret_data,
)
from flotilla.gitops.sources import GitSources, Revision, SourceError
from flotilla.gitops.urls import redact, same_repo
from flotilla.gitops.webhook import Push, WebhookSecrets
from flotilla.kube import Conflict, KubeClient, KubeError, NotFound, resource_path
from flotilla.propagation import pruning
from flotilla.propagation.applier import Applier, status_only
from flotilla.propagation.drift import DRIFT_WINDOW, DriftRecorder
from flotilla.propagation.syncing import MemberSync, Pass, owned_by
from flotilla.propagation.tenancy import TenancyPolicy
from flotilla.runtime.clock import Clock
from flotilla.runtime.controller import Controller, Result
from flotilla.runtime.events import EventRecorder, Regarding
from flotilla.runtime.informer import SharedInformers
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.queue import WorkQueue
from flotilla.runtime.reflector import Event, older

logger = logging.getLogger(__name__)

REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
DEFAULT_POLL = 180.0
STALE_RETRY = 0.2
WAVE_RETRY = 1.0
SOURCE_RETRY = 5.0
"""The first wait after a transient source failure; it doubles up to the poll interval."""
SELF_HEAL_WAIT = 5.0
"""Self-heal syncs again no sooner than this after a sync (Argo CD's self-heal timeout)."""
STATUS_SETTLE = 0.5
CATCH_UP = 0.5
"""Seconds a pass waits after a sync for the member's informers to show what it applied."""
APPLICATION_TENANCY = TenancyPolicy(
    reserved_namespaces=frozenset({SYSTEM_NAMESPACE}),
    allowed_cluster_kinds=frozenset({"*"}),
    adoptable_namespaces=frozenset({"*"}),
)
"""Applications are the hub admin's (they live where only the admin lets them): they may
write cluster-scoped kinds and into existing namespaces, never into Flotilla's own."""


@dataclass
class _Memory:
    """What one Application's passes remember between each other (not in status)."""

    retries: int = 0
    next_retry: float = 0.0
    last_auto: str = ""
    """The revision+digest automated sync last tried: a failed one is not retried at once."""
    written: str = ""
    """The resourceVersion our last status write returned (``older``)."""
    source_failures: int = 0
    source_retry_at: float = 0.0
    """After a source or render failure: not fetched or rendered again before this
    (monotonic), unless the spec changes, a refresh or an operation asks, a push comes or
    credentials change (every Cluster event enqueues every Application)."""
    source_generation: int = 0
    source_nudges: int = 0
    """Pushes for this Application and credential changes (the controller's count) when
    the failure happened: one since, even during that pass, lifts the wait."""
    pushes: int = 0
    uid: str = ""
    running: dict[str, Any] | None = None
    """The operation whose sync waits for a wave's health (run again in WAVE_RETRY)."""
    finished: dict[str, Any] | None = None
    """The operation whose result is written but which is still on the Application (the
    clear met a conflict): it is not run again, only cleared."""
    heal_after: float = 0.0
    """Self-heal syncs again no sooner than this (monotonic; Argo CD's self-heal timeout):
    a sync that leaves the Application OutOfSync must not start the next at once."""
    clear_operation: bool = False
    """The operation is done: it goes from the Application once its result is in status
    (cleared first, the status write would meet a newer resourceVersion and be lost)."""


class ApplicationController:
    def __init__(
        self,
        hub: KubeClient,
        hub_informers: SharedInformers,
        members: MemberConnections,
        renderer: Renderer,
        *,
        clock: Clock,
        metrics: Metrics,
        namespaces: frozenset[str],
        poll_interval: float = DEFAULT_POLL,
        workers: int = 4,
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        self._hub = hub
        self._members = members
        self._renderer = renderer
        self._sources = renderer.sources
        self._clock = clock
        self._metrics = metrics
        self._namespaces_allowed = namespaces
        self._poll = poll_interval
        self._workers = workers
        self._leading = leading
        self._apps = hub_informers.informer(
            HUB_CLUSTER, resource_path(APPLICATION.api_version, APPLICATION.plural)
        )
        self._clusters = hub_informers.informer(
            HUB_CLUSTER, resource_path(API_VERSION, CLUSTER.plural)
        )
        self._secrets = hub_informers.informer(
            HUB_CLUSTER, resource_path("v1", "secrets", namespace=SYSTEM_NAMESPACE)
        )
        self._drift = DriftRecorder(clock=clock, metrics=metrics)
        self._applier = Applier(
            hub_id="", clock=clock, drift=self._drift, tenancy=APPLICATION_TENANCY
        )
        self._sync_members = MemberSync(
            members, self._applier, clock=clock, on_member_object=self._on_member_object,
            leading=leading,
        )  # fmt: skip
        self._events = EventRecorder(hub, clock=clock, controller="flotilla.io/gitops")
        self._memory: dict[str, _Memory] = {}
        self._credential_changes = 0
        self.queue: WorkQueue[str] = WorkQueue(clock=clock, name="gitops")

    @property
    def synced(self) -> bool:
        return self._apps.has_synced

    @property
    def sources(self) -> GitSources:
        """The git cache, shared with the ApplicationSet controller."""
        return self._sources

    async def run(self) -> None:
        namespace = await self._hub.get(resource_path("v1", "namespaces", name=SYSTEM_NAMESPACE))
        self._applier.hub_id = hub_identity(namespace)
        if not self._applier.hub_id:
            raise KubeError(f"namespace {SYSTEM_NAMESPACE} on the hub has no uid")
        self._apps.add_handler(lambda event: self.queue.add(event.key))
        self._clusters.add_handler(lambda _event: self._enqueue_all())
        self._secrets.add_handler(self._on_secret)
        self._members.on_connected(lambda _cluster: self._enqueue_all())
        async with self.queue:
            for informer in (self._apps, self._clusters, self._secrets):
                await informer.wait_synced()
            controller = Controller(
                "gitops", self.queue, self._reconcile, metrics=self._metrics,
                workers=self._workers,
            )  # fmt: skip
            await controller.run()

    def webhook_secrets(self) -> WebhookSecrets:
        """The webhook secrets of the ``flotilla-webhook`` Secret, read when a push comes
        (a rotated secret counts at once)."""
        secret = self._secrets.get(f"{SYSTEM_NAMESPACE}/{WEBHOOK_SECRET}") or {}
        data = secret_data(secret)
        return WebhookSecrets(
            github=data.get("webhook.github", ""),
            gitlab=data.get("webhook.gitlab", ""),
            gitea=data.get("webhook.gitea", ""),
        )

    # -- handlers (no I/O) ------------------------------------------------------------------

    def _enqueue_all(self) -> None:
        for key in self._apps.keys():  # noqa: SIM118 - Informer.keys, not a dict
            self.queue.add(key)

    def _on_secret(self, event: Event) -> None:
        """Credentials that come, change or go: every Application looks again (one that
        could not fetch may now)."""
        if label_of(event.object, SECRET_TYPE_LABEL) in ("repository", "repo-creds"):
            self._credential_changes += 1
            self._enqueue_all()

    def on_push(self, push: Push) -> int:
        """A webhook's push: the Applications that follow that repository and branch (or
        tag) are looked at now, their repository fetched again. Returns how many."""
        triggered = 0
        invalidated: set[str] = set()
        for key in self._apps.keys():  # noqa: SIM118 - Informer.keys, not a dict
            app = self._apps.get(key) or {}
            source = (app.get("spec") or {}).get("source") or {}
            url = str(source.get("repoURL") or "")
            if not url or not any(same_repo(url, u) for u in push.repo_urls):
                continue
            revision = str(source.get("targetRevision") or "HEAD")
            if revision not in ("HEAD", "", push.branch or push.tag) and not (
                push.after and push.after.startswith(revision)
            ):
                continue
            if url not in invalidated:
                self._sources.invalidate(url)
                invalidated.add(url)
            self._memory.setdefault(key, _Memory()).pushes += 1
            self.queue.add(key)
            triggered += 1
        return triggered

    def _on_member_object(self, event: Event) -> None:
        owner = label_of(event.object, APPLICATION_LABEL)
        if "." not in owner:
            return
        namespace, name = owner.split(".", 1)
        key = f"{namespace}/{name}"
        path = self._sync_members.path_of(event.cluster, event.object)
        record = self._applier.record(event.cluster, path) if path else None
        if event.type == "DELETED" and path:
            self._applier.forget(event.cluster, path)
        if event.type == "MODIFIED" and record and status_only(record, event.object):
            self.queue.add_after(key, STATUS_SETTLE)
        else:
            self.queue.add(key)

    # -- reconcile --------------------------------------------------------------------------

    async def _reconcile(self, key: str) -> Result:
        app = self._apps.get(key)
        memory = self._memory.setdefault(key, _Memory())
        memory.clear_operation = False  # only the pass that finishes an operation clears it
        if app is None:
            self._memory.pop(key, None)
            return Result()
        uid = str(app["metadata"].get("uid") or "")
        if memory.uid != uid:  # deleted and created again: nothing carries over
            memory = self._memory[key] = _Memory(uid=uid, pushes=memory.pushes)
        if older(app, memory.written):
            return Result(requeue_after=STALE_RETRY)
        if not self._leading():
            return Result(requeue_after=1.0)
        meta = app["metadata"]
        if not app.get("operation"):
            memory.finished = None  # gone (by us or anyone): the same operation may come again
        elif app["operation"] == memory.finished:
            # It ran, and its result is in status; only taking it off failed last time.
            await self._clear_operation(app, memory, str(meta.get("resourceVersion") or ""))
            return Result()
        namespace = meta["namespace"]
        status = appstatus.status_of(app)
        now = self._clock.now()
        if namespace not in self._namespaces_allowed:
            if meta.get("deletionTimestamp"):
                return Result()  # never ours: its finalizers are not ours either
            appstatus.set_condition(
                status,
                "InvalidSpecError",
                f"Applications in namespace {namespace} are not reconciled; the hub admin "
                f"allows namespaces with `flotilla controller run --app-namespace {namespace}`",
                now,
            )
            await self._write(app, status, memory)
            return Result()
        try:
            spec = ApplicationSpec.model_validate(app.get("spec") or {})
            operation = Operation.model_validate(app["operation"]) if app.get("operation") else None
        except ValidationError as exc:
            problem = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3]
            )
            if meta.get("deletionTimestamp") and _resources_finalizer(meta):
                problem += (
                    "; its objects cannot be found to delete them: fix the spec, or keep them "
                    f"with `flotilla app delete {meta['name']} --no-cascade`"
                )
            appstatus.set_condition(status, "InvalidSpecError", problem, now)
            await self._write(app, status, memory)
            return Result()
        cluster, problem = self._destination(spec)
        try:
            ignoring.check(spec.ignore_differences)
        except ignoring.IgnoreError as exc:
            problem = problem or f"spec.{exc}"
        if meta.get("deletionTimestamp"):
            if not cluster and spec.destination.server and not self._all_connected():
                appstatus.set_condition(
                    status, "DeletionError",
                    f"waiting to delete its objects: no connected cluster has API server "
                    f"{redact(spec.destination.server)}, and some registered clusters are not "
                    f"connected; `flotilla app delete {meta['name']} --no-cascade` keeps them",
                    now,
                )  # fmt: skip
                await self._write(app, status, memory)
                return Result(requeue_after=5.0)  # its cluster may be one not connected yet
            return await self._finalize(app, cluster)
        if problem:
            appstatus.set_condition(status, "InvalidSpecError", problem, now)
            status.sync = SyncStatusInfo(
                status="Unknown", revision=appstatus.synced_revision(status)
            )
            await self._write(app, status, memory)
            return Result()
        appstatus.clear(status, "InvalidSpecError")
        return await self._pass(app, spec, operation, status, cluster, memory, now=now)

    def _destination(self, spec: ApplicationSpec) -> tuple[str, str]:
        """(cluster name, "") or ("", why the destination is not usable)."""
        dest = spec.destination
        names = {str((c.get("metadata") or {}).get("name")) for c in self._clusters.list()}
        if dest.name:
            if dest.server:
                return "", "spec.destination: set name or server, not both"
            if dest.name not in names:
                return "", f"destination cluster {dest.name!r} is not registered on the hub"
            return dest.name, ""
        if dest.server:
            wanted = dest.server.rstrip("/")
            for cluster in sorted(names):
                client = self._members.client(cluster)
                if client is not None and client.server.rstrip("/") == wanted:
                    return cluster, ""
            return "", (
                f"no registered cluster has API server {redact(dest.server)} (or it is not "
                "connected yet); `flotilla cluster list` shows them"
            )
        return "", "spec.destination needs a cluster name or server"

    def _all_connected(self) -> bool:
        """Whether every registered cluster has a member client (so an API server URL that
        matches none of them matches no registered cluster)."""
        names = [str((c.get("metadata") or {}).get("name")) for c in self._clusters.list()]
        return all(self._members.client(name) is not None for name in names)

    async def _pass(  # noqa: PLR0915, PLR0917 - one pass's steps, in order
        self,
        app: dict[str, Any],
        spec: ApplicationSpec,
        operation: Operation | None,
        status: ApplicationStatus,
        cluster: str,
        memory: _Memory,
        *,
        now: datetime.datetime,
    ) -> Result:
        meta = app["metadata"]
        owner = f"{meta['namespace']}.{meta['name']}"
        dest_ns = spec.destination.namespace
        poll = appstatus.poll_of(app, self._poll)
        wanted_revision = spec.source.target_revision
        if operation and operation.sync and operation.sync.revision:
            wanted_revision = operation.sync.revision
        refresh = bool((meta.get("annotations") or {}).get(REFRESH_ANNOTATION))
        generation = int(meta.get("generation") or 0)
        nudges = memory.pushes + self._credential_changes  # as this pass starts
        waiting = memory.source_retry_at - self._clock.monotonic()
        if (
            waiting > 0
            and not refresh
            and operation is None
            and memory.source_generation == generation
            and memory.source_nudges == nudges
        ):
            return Result(requeue_after=waiting)  # the failure stands; its status is written
        # 1. source: resolve and render. A failure keeps everything as it is.
        try:
            revision = await self._resolve(
                spec, wanted_revision, memory, poll, refresh or bool(operation)
            )
            rendered = await self._renderer.render(
                meta["name"], spec, revision.sha, namespace=dest_ns
            )
        except (SourceError, RenderError) as exc:
            message = str(exc)
            appstatus.set_condition(status, "ComparisonError", message, now)
            status.sync = SyncStatusInfo(
                status="Unknown", revision=appstatus.synced_revision(status)
            )
            if operation is not None:
                appstatus.finish(
                    status, operation, phase="Failed", message=message, now=now,
                    result=SyncResult(),
                )  # fmt: skip
                memory.clear_operation = True
            if refresh:  # asked and tried: a failure is no reason to ask on
                app = await self._refreshed(app)
            if not await self._write(app, status, memory):
                return Result(requeue_after=STALE_RETRY)  # the failure is said before it waits
            if memory.source_generation != generation:
                memory.source_failures = 0  # a new spec fails afresh
            memory.source_failures += 1
            delay = poll
            if getattr(exc, "transient", False):
                delay = min(poll, SOURCE_RETRY * 2 ** min(memory.source_failures - 1, 10))
            memory.source_retry_at = self._clock.monotonic() + delay
            memory.source_generation = generation
            memory.source_nudges = nudges
            return Result(requeue_after=delay)
        memory.source_failures = 0
        memory.source_retry_at = 0.0
        if refresh:
            app = await self._refreshed(app)
            meta = app["metadata"]
        appstatus.clear(status, "ComparisonError")
        status.source_type = rendered.source_type
        member = self._sync_members.member(cluster)
        ready = self._ready(cluster)
        if member is None or not ready:
            message = f"cluster {cluster} is unreachable; waiting (nothing is changed there)"
            appstatus.set_condition(status, "ComparisonError", message, now)
            status.sync = SyncStatusInfo(status="Unknown", revision=revision.sha)
            await self._write(app, status, memory)
            return Result(requeue_after=5.0)
        scoped: dict[tuple[str, str], bool | None] = {}
        for manifest in rendered.manifests:
            kind_of = (str(manifest.get("apiVersion") or ""), str(manifest.get("kind") or ""))
            if kind_of not in scoped:
                try:
                    scoped[kind_of] = (await member.mapper.resource_for(*kind_of)).namespaced
                except (KubeError, ValueError):  # not served yet (a CRD of this sync)
                    scoped[kind_of] = None
        rules = spec.ignore_differences
        desired = stamped(
            rendered.manifests,
            owner=owner,
            namespace=dest_ns,
            namespaced=lambda m: scoped.get((m.get("apiVersion", ""), m.get("kind", ""))),
            ignored=lambda m: ignoring.ignored_for(m, rules),
        )
        kinds = sorted(
            {f"{m['apiVersion']}/{m['kind']}" for m in desired} | set(appstatus.kinds_of(status))
        )
        # 2. compare
        entries, healths = await self._compare(member, owner, desired, kinds, rules)
        sync_status = comparing.app_sync(entries)
        digest = digest_of_all(desired)
        # 3. sync when asked, or when automated and something is to do
        auto = spec.automated()
        auto_opts = spec.sync_policy.automated if spec.sync_policy else None
        self_heal = bool(auto and auto_opts and auto_opts.self_heal)
        prune = bool(auto and auto_opts and auto_opts.prune)
        allow_empty = bool(auto_opts and auto_opts.allow_empty)
        last = status.history[-1] if status.history else None
        moved = last is None or last.revision != revision.sha or last.digest != digest
        attempt = f"{revision.sha}/{digest}"
        reason = ""
        if operation is not None and operation.sync is not None:
            reason = "operation"
            prune = operation.sync.prune  # a manual sync prunes only when asked, as Argo CD's
            if app.get("operation") == memory.running and (
                self._clock.monotonic() < memory.next_retry
            ):
                reason = "waiting"  # its next wave waits for this one to be healthy
        elif (
            auto
            and sync_status != comparing.SYNCED
            # Only objects to prune, and prune is off: a sync would change nothing (Argo CD).
            and (
                prune
                or any(e.status not in (comparing.SYNCED, comparing.EXTRANEOUS) for e in entries)
            )
            and (
                (moved and memory.last_auto != attempt)
                or (moved and self._clock.monotonic() >= memory.next_retry)
                or (
                    self_heal
                    and self._clock.monotonic() >= max(memory.next_retry, memory.heal_after)
                )
            )
        ):
            reason = "automated"
        result_delay = poll
        if reason == "waiting":
            result_delay = max(memory.next_retry - self._clock.monotonic(), 0.1)
        elif reason and not (operation and operation.sync and operation.sync.dry_run):
            if not desired and not allow_empty and reason == "automated":
                appstatus.set_condition(
                    status,
                    "SyncError",
                    "the source renders no objects; automated sync would remove everything "
                    "and is skipped (set syncPolicy.automated.allowEmpty to allow it)",
                    now,
                )
            else:
                memory.last_auto = attempt if reason == "automated" else memory.last_auto
                memory.heal_after = self._clock.monotonic() + SELF_HEAL_WAIT
                written = desired
                if spec.option("RespectIgnoreDifferences") and rules:
                    written = await self._respecting(member, desired, rules)
                delay = await self._sync(
                    app, spec, status, operation, member.name, written, revision, digest,
                    prune=prune, kinds=kinds, memory=memory, now=now,
                )  # fmt: skip
                result_delay = min(result_delay, delay)
                state = status.operation_state
                if state is not None and state.phase == "Succeeded":
                    await self._caught_up(member, desired)
                entries, healths = await self._compare(member, owner, desired, kinds, rules)
                sync_status = comparing.app_sync(entries)
        elif operation is not None:  # a dry run: what would change, nothing written
            results = [
                ResourceResult(
                    group=e.group, version=e.version, kind=e.kind, namespace=e.namespace,
                    name=e.name, status="Pruned" if e.requires_pruning else e.status,
                    message="would be pruned" if e.requires_pruning else e.message,
                )
                for e in entries
            ]  # fmt: skip
            appstatus.finish(
                status, operation, phase="Succeeded", message="dry run: nothing was changed",
                now=now, result=SyncResult(revision=revision.sha, resources=results),
            )  # fmt: skip
            memory.clear_operation = True
        # 4. status
        status.resources = entries
        status.sync = SyncStatusInfo(status=sync_status, revision=revision.sha)
        health = comparing.app_health(healths)
        status.health = HealthInfo(status=health.status, message=health.message[:1024])
        if sync_status == comparing.SYNCED:
            appstatus.clear(status, "SyncError")
            memory.heal_after = 0.0  # in sync: the next drift is healed at once
        # reconciledAt moves when the comparison says something new, or once a poll
        # interval: moved on every pass, each status write would start the next pass.
        before = status.reconciled_at
        if (
            status.to_wire() != (app.get("status") or {})
            or before is None
            or ((now - before).total_seconds() >= poll)
        ):
            status.reconciled_at = now
        await self._write(app, status, memory)
        drift = self._drift.last(owner)
        if drift:
            result_delay = min(
                result_delay, DRIFT_WINDOW - (self._clock.monotonic() - drift[0]) + 0.5
            )
        if sync_status != comparing.SYNCED and auto:
            result_delay = min(result_delay, max(memory.next_retry - self._clock.monotonic(), 1.0))
        if any(h is not None and h.status == "Progressing" for h in healths):
            result_delay = min(result_delay, 2.0)
        return Result(requeue_after=max(result_delay, 0.1))

    async def _resolve(
        self, spec: ApplicationSpec, revision: str, memory: _Memory, poll: float, fresh: bool
    ) -> Revision:
        source = spec.source
        if source.chart:  # a Helm repository: the revision is the chart's version
            return Revision(sha=revision, ref=revision)
        credentials = credentials_for(source.repo_url, self._secrets.list())
        max_age = 0.0 if fresh else poll
        resolved = await self._sources.resolve(
            source.repo_url, revision, credentials, max_age=max_age
        )
        return resolved

    def _ready(self, cluster: str) -> bool:
        for item in self._clusters.list():
            if (item.get("metadata") or {}).get("name") != cluster:
                continue
            for condition in (item.get("status") or {}).get("conditions") or []:
                if isinstance(condition, dict) and condition.get("type") == "Ready":
                    return condition.get("status") == "True"
        return False

    async def _caught_up(self, member: Any, desired: list[dict[str, Any]]) -> None:
        """After a sync, wait (at most CATCH_UP seconds) until the member's informers show
        what was applied: compared before the watch events come, the objects would look
        out of sync and the status written would need a second write."""
        pending = list(desired)
        for _ in range(round(CATCH_UP / 0.01)):
            waiting = []
            for manifest in pending:
                informer = await self._sync_members.informer(
                    member, manifest["apiVersion"], manifest["kind"]
                )
                meta = manifest["metadata"]
                ref = (
                    f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
                )
                live = informer.get(ref) if informer else None
                wanted = (meta.get("annotations") or {}).get(DIGEST_ANNOTATION)
                there = ((live or {}).get("metadata") or {}).get("annotations") or {}
                if informer is not None and there.get(DIGEST_ANNOTATION) != wanted:
                    waiting.append(manifest)
            pending = waiting
            if not pending:
                return
            await asyncio.sleep(0.01)  # real time: the watch events are real

    async def _respecting(
        self,
        member: Any,
        desired: list[dict[str, Any]],
        rules: list[ResourceIgnoreDifferences],
    ) -> list[dict[str, Any]]:
        """``desired`` with the ignored fields of objects that exist as they are live
        (RespectIgnoreDifferences=true)."""
        out = []
        for manifest in desired:
            ignored = ignoring.ignored_for(manifest, rules)
            if not ignored.pointers:
                out.append(manifest)
                continue
            live = await self._live(member, manifest)
            kept = ignoring.respected(manifest, live, ignored.pointers)
            # Flotilla's own labels and annotations (the digest, the owner) stay as desired.
            meta, kept_meta = manifest["metadata"], kept.setdefault("metadata", {})
            for part in ("labels", "annotations"):
                ours = {
                    k: v for k, v in (meta.get(part) or {}).items() if k.startswith("flotilla.io/")
                }
                kept_meta[part] = {**(kept_meta.get(part) or {}), **ours}
            out.append(kept)
        return out

    async def _live(self, member: Any, manifest: dict[str, Any]) -> dict[str, Any] | None:
        informer = await self._sync_members.informer(
            member, manifest["apiVersion"], manifest["kind"]
        )
        meta = manifest["metadata"]
        ref = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
        found = informer.get(ref) if informer else None
        if found is not None:
            return dict(found)
        # Not among the Application's objects yet (one it adopts): read it; a failure
        # fails the sync rather than write over what the cluster has.
        info = await member.mapper.resource_for(manifest["apiVersion"], manifest["kind"])
        path = resource_path(
            info.api_version, info.plural,
            namespace=meta.get("namespace") if info.namespaced else None, name=meta["name"],
        )  # fmt: skip
        try:
            answer: dict[str, Any] = await member.client.get(path)
        except NotFound:
            return None
        return answer

    async def _compare(
        self,
        member: Any,
        owner: str,
        desired: list[dict[str, Any]],
        kinds: Iterable[str],
        rules: list[ResourceIgnoreDifferences],
    ) -> tuple[list[ResourceStatus], list[Health | None]]:
        entries: list[ResourceStatus] = []
        healths: list[Health | None] = []
        wanted = {pruning.object_key(m) for m in desired}
        informers = {}
        for kind_key in kinds:
            api_version, _, kind = kind_key.rpartition("/")
            informers[kind_key] = await self._sync_members.informer(member, api_version, kind)
        for manifest in desired:
            informer = informers.get(f"{manifest['apiVersion']}/{manifest['kind']}")
            meta = manifest["metadata"]
            ref = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
            live = informer.get(ref) if informer else None
            if live is not None and label_of(live, APPLICATION_LABEL) != owner:
                live = None
            state, why = comparing.compare(manifest, live, ignoring.ignored_for(manifest, rules))
            item, health = comparing.entry(manifest, state, live=live, message=why)
            entries.append(item)
            healths.append(health)
        for informer in informers.values():
            if informer is None:
                continue
            for live in owned_by(informer, owner, label=APPLICATION_LABEL):
                if pruning.object_key(live) in wanted:
                    continue
                item, _ = comparing.entry(
                    live, comparing.EXTRANEOUS, live=live, message="no longer in git"
                )
                entries.append(item)
        return entries, healths

    async def _sync(  # noqa: PLR0915, PLR0917 - waves, prune, the operation's result
        self,
        app: dict[str, Any],
        spec: ApplicationSpec,
        status: ApplicationStatus,
        operation: Operation | None,
        cluster: str,
        desired: list[dict[str, Any]],
        revision: Revision,
        digest: str,
        *,
        prune: bool,
        kinds: list[str],
        memory: _Memory,
        now: datetime.datetime,
    ) -> float:
        """Apply wave by wave, then prune; the operation's result, history. Seconds until
        the next look."""
        started = now
        results: list[ResourceResult] = []
        errors: list[str] = []
        wait: float | None = None
        outcome = None
        groups = waves(desired)
        done = True
        applied: list[dict[str, Any]] = []
        for index, wave in enumerate(groups):
            applied += wave
            last_wave = index == len(groups) - 1
            this_pass = self._pass_of(app, spec, status, kinds, now, prune=prune and last_wave)
            outcome = await self._sync_members.sync(this_pass, cluster, applied, reachable=True)
            if outcome.wait is not None:
                wait = min(wait or outcome.wait, outcome.wait)
            failed = [r for r in outcome.resources if r.error]
            if failed or last_wave:
                break
            # The next wave waits for this one to be healthy, as Argo CD's do.
            if not await self._healthy(cluster, wave):
                done = False
                wait = min(wait or WAVE_RETRY, WAVE_RETRY)
                break
        this = self._pass_of(app, spec, status, kinds, now, prune=prune)
        if outcome is not None:
            for r in outcome.resources:
                group, _, version = r.api_version.rpartition("/")
                results.append(
                    ResourceResult(
                        group=group, version=version, kind=r.kind, namespace=r.namespace,
                        name=r.name, status="SyncFailed" if r.error else "Synced",
                        message=r.error[:1024],
                    )
                )  # fmt: skip
                if r.error:
                    errors.append(f"{r.kind} {r.name}: {r.error}")
            for message in outcome.drifts:
                await self._events.record(
                    _regarding(app), reason="DriftCorrected", note=message, type_="Warning"
                )
            record = outcome.record
            if record is not None:
                records = {r.cluster: r for r in status.prune_guard}
                records[cluster] = record
                status.prune_guard = [r for c, r in sorted(records.items()) if not pruning.idle(r)]
            if outcome.confirmation_spent and this.confirmation:
                status.prune_confirmation_used = this.confirmation
            if outcome.prune_blocked:
                errors.append(outcome.prune_blocked)
                appstatus.set_condition(status, appstatus.PRUNE_BLOCKED, outcome.prune_blocked, now)
            elif outcome.record is not None:  # judged, and not held
                appstatus.clear(status, appstatus.PRUNE_BLOCKED)
        phase = "Succeeded" if not errors and done else ("Running" if not errors else "Failed")
        if errors:
            memory.retries += 1
            memory.next_retry = self._clock.monotonic() + appstatus.backoff(
                memory.retries, spec, poll=self._poll
            )
            appstatus.set_condition(status, "SyncError", "; ".join(errors)[:4000], now)
            wait = min(wait or self._poll, appstatus.backoff(memory.retries, spec, poll=self._poll))
        else:
            memory.retries = 0
            # A wave not healthy yet is looked at again in WAVE_RETRY, not at once.
            running = phase == "Running"
            memory.next_retry = self._clock.monotonic() + WAVE_RETRY if running else 0.0
            memory.running = app.get("operation") if running and operation else None
        if phase == "Succeeded":
            appstatus.clear(status, "SyncError")
            appstatus.record_history(
                status, spec, revision, digest=digest, started=started, now=now
            )
        message = (
            f"successfully synced (revision {revision.sha[:7]})"
            if phase == "Succeeded"
            else (
                "waiting for a sync wave to become healthy"
                if phase == "Running"
                else "; ".join(errors)[:4000]
            )
        )
        op = operation or Operation.model_validate(
            {"sync": {"revision": revision.sha}, "initiatedBy": {"automated": True}}
        )
        if phase != "Running" or operation is None:
            appstatus.finish(
                status, op, phase=phase, message=message, now=now,
                result=SyncResult(revision=revision.sha, resources=results, source=spec.source),
            )  # fmt: skip
            state = status.operation_state
            if state is not None:
                state.retry_count = memory.retries
                state.started_at = started
            if operation is not None and phase != "Running":
                memory.clear_operation = True
        return wait if wait is not None else self._poll

    def _pass_of(
        self,
        app: dict[str, Any],
        spec: ApplicationSpec,
        status: ApplicationStatus,
        kinds: list[str],
        now: datetime.datetime,
        *,
        prune: bool,
    ) -> Pass:
        meta = app["metadata"]
        annotation = str((meta.get("annotations") or {}).get(CONFIRM_PRUNE_ANNOTATION) or "")
        confirmed = pruning.confirmation_valid(
            annotation,
            blocked_since=appstatus.guard_held_since(status),
            used=status.prune_confirmation_used,
            now=now,
        )
        dest_ns = spec.destination.namespace
        scope = {dest_ns, ""} | {r.namespace for r in status.resources}
        return Pass(
            meta["namespace"],
            meta["name"],
            tuple(kinds),
            now,
            may_prune=prune,
            guard_percent=appstatus.guard_percent(app),
            grace_seconds=0.0,
            confirmation=annotation if confirmed else "",
            records={r.cluster: r for r in status.prune_guard},
            owner_label=APPLICATION_LABEL,
            scope=frozenset(scope),
            ensure=dest_ns if spec.option("CreateNamespace") and dest_ns else "",
            confirm_command="flotilla app confirm-prune",
            keep=appstatus.kept_by("Prune"),
        )

    async def _healthy(self, cluster: str, wave: list[dict[str, Any]]) -> bool:
        member = self._sync_members.member(cluster)
        if member is None:
            return False
        for manifest in wave:
            informer = await self._sync_members.informer(
                member, manifest["apiVersion"], manifest["kind"]
            )
            meta = manifest["metadata"]
            ref = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
            live = informer.get(ref) if informer else None
            _, health = comparing.entry(manifest, comparing.SYNCED, live=live)
            if health is not None and health.status not in ("Healthy", "Suspended"):
                return False
        return True

    async def _refreshed(self, app: dict[str, Any]) -> dict[str, Any]:
        """The refresh annotation asked for a fresh fetch and got it: it goes (as in Argo
        CD), or every pass would fetch again. Returns ``app`` as the hub has it now, so the
        pass's status write does not meet the annotation's removal as a conflict."""
        meta = app["metadata"]
        path = resource_path(
            APPLICATION.api_version, APPLICATION.plural, namespace=meta["namespace"],
            name=meta["name"],
        )  # fmt: skip
        patch = {"metadata": {"annotations": {REFRESH_ANNOTATION: None}}}
        try:
            answer = await self._hub.request(
                "PATCH", path, body=patch, content_type="application/merge-patch+json"
            )
        except KubeError:
            return app
        version = str(((answer or {}).get("metadata") or {}).get("resourceVersion") or "")
        if not version:
            return app
        annotations = {
            k: v for k, v in (meta.get("annotations") or {}).items() if k != REFRESH_ANNOTATION
        }
        return {**app, "metadata": {**meta, "resourceVersion": version, "annotations": annotations}}

    async def _clear_operation(self, app: dict[str, Any], memory: _Memory, version: str) -> None:
        """The operation is done and its result written: take it off the Application (as
        Argo CD does), unless the Application changed since (a new operation stays)."""
        memory.clear_operation = False
        meta = app["metadata"]
        path = resource_path(
            APPLICATION.api_version, APPLICATION.plural, namespace=meta["namespace"],
            name=meta["name"],
        )  # fmt: skip
        body = {"metadata": {"resourceVersion": version}, "operation": None}
        memory.finished = app.get("operation")
        try:
            cleared = await self._hub.request(
                "PATCH", path, body=body, content_type="application/merge-patch+json"
            )
        except NotFound:
            return
        except Conflict:
            self.queue.add_after(f"{meta['namespace']}/{meta['name']}", STALE_RETRY)
            return
        memory.finished = None
        memory.written = str(((cleared or {}).get("metadata") or {}).get("resourceVersion") or "")

    async def _finalize(self, app: dict[str, Any], cluster: str) -> Result:
        meta = app["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        finalizer = _resources_finalizer(meta)
        if not finalizer:
            return Result()
        if cluster:
            member = self._sync_members.member(cluster)
            if member is None or not self._ready(cluster):
                return Result(requeue_after=5.0)  # the objects are there: wait for the cluster
            status = appstatus.status_of(app)
            kinds = appstatus.kinds_of(status)
            this = Pass(
                meta["namespace"], meta["name"], tuple(kinds), self._clock.now(),
                unguarded=True, owner_label=APPLICATION_LABEL,
                scope=frozenset({r.namespace for r in status.resources} | {""}),
                ensure="", keep=appstatus.kept_by("Delete"),
            )  # fmt: skip
            outcome = await self._sync_members.sync(this, cluster, [], reachable=True)
            if not outcome.pruned_all:
                return Result(requeue_after=1.0)
        path = resource_path(
            APPLICATION.api_version, APPLICATION.plural, namespace=meta["namespace"],
            name=meta["name"],
        )  # fmt: skip
        index = finalizers.index(finalizer)
        patch = [
            {"op": "test", "path": f"/metadata/finalizers/{index}", "value": finalizer},
            {"op": "remove", "path": f"/metadata/finalizers/{index}"},
        ]
        try:
            await self._hub.request(
                "PATCH", path, body=patch, content_type="application/json-patch+json"
            )
        except NotFound:
            return Result()
        except KubeError:
            return Result(requeue_after=1.0)
        return Result()

    async def _write(self, app: dict[str, Any], status: ApplicationStatus, memory: _Memory) -> bool:
        """Write ``status`` when it changed; False when it could not be (a conflict: the
        Application is looked at again)."""
        status.observed_generation = int(app["metadata"].get("generation") or 0)
        new = status.to_wire()
        if not self._leading():
            return False
        meta = app["metadata"]
        if new == (app.get("status") or {}):
            if memory.clear_operation:
                await self._clear_operation(app, memory, str(meta.get("resourceVersion") or ""))
            return True
        path = resource_path(
            APPLICATION.api_version, APPLICATION.plural, namespace=meta["namespace"],
            name=meta["name"],
        ) + "/status"  # fmt: skip
        body = {"metadata": {"resourceVersion": meta.get("resourceVersion")}, "status": new}
        try:
            written = await self._hub.request(
                "PATCH", path, body=body, content_type="application/merge-patch+json"
            )
        except NotFound:
            return False
        except Conflict:
            self.queue.add_after(f"{meta['namespace']}/{meta['name']}", STALE_RETRY)
            return False
        memory.written = str(((written or {}).get("metadata") or {}).get("resourceVersion") or "")
        if memory.clear_operation:
            await self._clear_operation(app, memory, memory.written)
        return True


# -- helpers -----------------------------------------------------------------------------------


def _regarding(app: dict[str, Any]) -> Regarding:
    meta = app["metadata"]
    return Regarding(
        APPLICATION.api_version, APPLICATION.kind, meta["namespace"], meta["name"],
        str(meta.get("uid") or ""),
    )  # fmt: skip


def _resources_finalizer(meta: dict[str, Any]) -> str:
    """The cascade finalizer the Application carries (Argo CD's foreground one or its
    ``/background`` form: Flotilla deletes the objects first either way), or ""."""
    for finalizer in meta.get("finalizers") or []:
        if finalizer in CASCADE_FINALIZERS:
            return str(finalizer)
    return ""


__all__ = ["RESOURCES_FINALIZER", "ApplicationController"]
