"""The ApplicationSet controller: the Applications an ApplicationSet generates, kept so.

Reconcile (per ApplicationSet, level-based; it writes only to the hub, where the GitOps
controller takes each Application from there):

1. generate (``appsets.generated``): the registered Clusters are the ``clusters``
   generator's list (each cluster's API server read from its kubeconfig Secret), git
   generators read trees through the shared ``GitSources`` (one fetch per repository and
   revision per poll, sooner after a webhook push);
2. converge (``ownedapps``): create what is new, update what this ApplicationSet owns and
   changed (server-side apply, with the live resourceVersion as a precondition), delete
   what it owns and no longer generates, as ``applicationsSync`` allows, through the
   deletion guard: a pass that would delete more than ``flotilla.io/max-delete-percent``
   (default 50) of its Applications within a minute waits for ``flotilla appset
   confirm-delete``; a generator that fails, or an Application that cannot be rendered,
   deletes nothing at all;
3. status: Argo CD's conditions (ErrorOccurred, ParametersGenerated, ResourcesUpToDate),
   the generated Applications with their sync and health, and the guard's memory.

Deleting an ApplicationSet deletes its Applications through their owner references (the
hub's garbage collector); each then goes as its finalizer says.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flotilla.api import API_VERSION, CLUSTER, SYSTEM_NAMESPACE
from flotilla.api.applicationset import (
    MAX_STATUS_APPLICATIONS,
    ApplicationSetResource,
    ApplicationSetStatus,
    RollingSync,
)
from flotilla.api.kinds import APPLICATION, APPLICATIONSET
from flotilla.api.labels import HUB_CLUSTER
from flotilla.api.meta import set_condition
from flotilla.clusters.connections import CredentialsProblem, decode_credentials, secret_ref
from flotilla.gitops import appsets, rollouts
from flotilla.gitops.generators import git_urls
from flotilla.gitops.ownedapps import (
    NOTHING_PRESERVED,
    SETTLE,
    STALE_RETRY,
    OwnedApplications,
    Owner,
    OwnerStatus,
    Preserved,
    owner_key,
)
from flotilla.gitops.sources import GitSources
from flotilla.gitops.urls import same_repo
from flotilla.gitops.webhook import Push
from flotilla.kube import KubeClient, resource_path
from flotilla.runtime.clock import Clock
from flotilla.runtime.controller import Controller, Result
from flotilla.runtime.informer import SharedInformers
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.queue import WorkQueue
from flotilla.runtime.reflector import Event

logger = logging.getLogger(__name__)

ERROR_RETRY = 10.0
"""Seconds before an ApplicationSet whose generation failed is looked at again."""


class ApplicationSetController:
    def __init__(
        self,
        hub: KubeClient,
        hub_informers: SharedInformers,
        sources: GitSources,
        *,
        clock: Clock,
        metrics: Metrics,
        namespaces: frozenset[str],
        helper: Path | None,
        poll_interval: float,
        workers: int = 2,
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        self._hub = hub
        self._sources = sources
        self._clock = clock
        self._metrics = metrics
        self._namespaces_allowed = namespaces
        self._helper = helper
        self._poll = poll_interval
        self._workers = workers
        self._leading = leading
        self._appsets = hub_informers.informer(
            HUB_CLUSTER, resource_path(APPLICATIONSET.api_version, APPLICATIONSET.plural)
        )
        self._apps = hub_informers.informer(
            HUB_CLUSTER, resource_path(APPLICATION.api_version, APPLICATION.plural)
        )
        self._clusters = hub_informers.informer(
            HUB_CLUSTER, resource_path(API_VERSION, CLUSTER.plural)
        )
        self._secrets = hub_informers.informer(
            HUB_CLUSTER, resource_path("v1", "secrets", namespace=SYSTEM_NAMESPACE)
        )
        self._owned = OwnedApplications(
            hub, self._apps, confirm_command="flotilla appset confirm-delete"
        )
        self.queue: WorkQueue[str] = WorkQueue(clock=clock, name="applicationset")
        self._status = OwnerStatus(hub, APPLICATIONSET, self.queue, leading)
        self._servers: dict[str, tuple[str, str]] = {}

    @property
    def synced(self) -> bool:
        return self._appsets.has_synced

    async def run(self) -> None:
        self._appsets.add_handler(lambda event: self.queue.add(event.key))
        self._apps.add_handler(self._on_application)
        self._clusters.add_handler(lambda _event: self._enqueue_all())
        self._secrets.add_handler(lambda _event: self._enqueue_all())
        async with self.queue:
            for informer in (self._appsets, self._apps, self._clusters, self._secrets):
                await informer.wait_synced()
            controller = Controller(
                "applicationset",
                self.queue,
                self._reconcile,
                metrics=self._metrics,
                workers=self._workers,
            )
            await controller.run()

    def on_push(self, push: Push) -> int:
        """A webhook's push: ApplicationSets whose git generators read that repository
        generate again now. Returns how many."""
        triggered = 0
        for key in self._appsets.keys():  # noqa: SIM118 - Informer.keys, not a dict
            appset = self._appsets.get(key) or {}
            urls = git_urls((appset.get("spec") or {}).get("generators") or [])
            matching = [u for u in urls if any(same_repo(u, p) for p in push.repo_urls)]
            for url in matching:
                self._sources.invalidate(url)
            if matching:
                self.queue.add(key)
                triggered += 1
        return triggered

    # -- handlers (no I/O) ------------------------------------------------------------------

    def _enqueue_all(self) -> None:
        for key in self._appsets.keys():  # noqa: SIM118 - Informer.keys, not a dict
            self.queue.add(key)

    def _on_application(self, event: Event) -> None:
        # An Application's status moves often (every sync, every health change): its owner
        # looks again at most once a second for all of them.
        key = owner_key(event.object, "ApplicationSet")
        if key is not None:
            self.queue.add_after(key, SETTLE)

    # -- reconcile --------------------------------------------------------------------------

    async def _reconcile(self, key: str) -> Result:
        appset = self._appsets.get(key)
        ended = self._status.gate(key, appset)
        if ended is not None or appset is None:
            return ended or Result()
        meta = appset["metadata"]
        status = _status_of(appset)
        now = self._clock.now()
        generators = (appset.get("spec") or {}).get("generators") or []
        again = self._poll if isinstance(generators, list) and git_urls(generators) else None
        if meta["namespace"] not in self._namespaces_allowed:
            allowed = ", ".join(sorted(self._namespaces_allowed))
            self._failed(
                status,
                now,
                "NamespaceNotAllowed",
                f"ApplicationSets are reconciled in {allowed} only",
            )
            await self._write(appset, status)
            return Result()
        try:
            out = await appsets.generated(
                appset,
                clusters=self._cluster_infos(),
                helper=self._helper,
                git=appsets.SourceTrees(self._sources, self._secrets.list(), self._poll),
            )
        except appsets.AppSetError as exc:
            self._failed(status, now, "ApplicationGenerationFromParamsError", str(exc))
            await self._write(appset, status)
            return Result(requeue_after=min(ERROR_RETRY, again or ERROR_RETRY))
        set_condition(
            status.conditions,
            type="ParametersGenerated",
            status="True",
            reason="ParametersGenerated",
            message="Successfully generated parameters for all Applications",
            now=now,
        )
        result = await self._apply(appset, out, status, now)
        await self._write(appset, status)
        if result.requeue_after is None and again is not None:
            return Result(requeue_after=again)
        return result

    async def _apply(
        self,
        appset: dict[str, Any],
        out: appsets.Generated,
        status: ApplicationSetStatus,
        now: datetime.datetime,
    ) -> Result:
        spec = appsets.spec_of(appset)
        policy = spec.sync_policy.applications_sync if spec.sync_policy else None
        strategy = spec.strategy
        rolling = strategy.rolling_sync if strategy and strategy.type == "RollingSync" else None
        decision: rollouts.Decision | None = None
        updates = None
        if rolling is not None:
            steps: RollingSync = rolling

            def rolled(planned: list[dict[str, Any]]) -> list[dict[str, Any]]:
                nonlocal decision
                live = self._owned.existing(appset["metadata"]["namespace"])
                decision = rollouts.decide(
                    steps,
                    status.rollout,
                    wanted=out.applications,
                    pending=planned,
                    live=live,
                    now=now,
                )
                return decision.writes

            updates = rolled
        done = await self._owned.converge(
            Owner.of(appset),
            out.applications,
            policy=policy or "",
            deletes_allowed=not out.errors,
            guard=status.prune_guard,
            confirmation_used=status.prune_confirmation_used,
            now=now,
            updates=updates,
            preserved=Preserved(
                frozenset(spec.preserved_fields.labels),
                frozenset(spec.preserved_fields.annotations),
            )
            if spec.preserved_fields
            else NOTHING_PRESERVED,
        )
        wait = None
        if decision is not None:
            status.rollout, wait = decision.record, decision.wait
        if status.rollout is not None:
            going = status.rollout.phase == "Progressing"
            set_condition(
                status.conditions,
                type="RolloutProgressing",
                status="True" if going else "False",
                reason=f"Rollout{status.rollout.phase}",
                message=status.rollout.message,
                now=now,
            )
        status.prune_guard, status.prune_confirmation_used = done.guard, done.confirmation_used
        existing = self._owned.existing(appset["metadata"]["namespace"])
        status.resources = self._resources(out.applications, existing)
        errors = [*out.errors, *done.errors]
        retry = STALE_RETRY if done.conflicted else wait
        if errors:
            message = "; ".join(errors)[:4000]
            for kind, value in (("ErrorOccurred", "True"), ("ResourcesUpToDate", "False")):
                set_condition(
                    status.conditions,
                    type=kind,
                    status=value,  # type: ignore[arg-type]
                    reason="ApplicationGenerationFromParamsError",
                    message=message,
                    now=now,
                )
            return Result(requeue_after=retry or ERROR_RETRY)
        set_condition(
            status.conditions,
            type="ErrorOccurred",
            status="False",
            reason="ApplicationSetUpToDate",
            message="",
            now=now,
        )
        if done.blocked:
            set_condition(
                status.conditions,
                type="ResourcesUpToDate",
                status="False",
                reason="DeletionBlocked",
                message=done.blocked,
                now=now,
            )
        else:
            message = "All applications have been generated successfully"
            if done.plan.skipped:
                message += f" (applicationsSync leaves {', '.join(done.plan.skipped)[:2000]})"
            set_condition(
                status.conditions,
                type="ResourcesUpToDate",
                status="True",
                reason="ApplicationSetUpToDate",
                message=message,
                now=now,
            )
        return Result(requeue_after=retry)

    def _resources(
        self, wanted: Sequence[dict[str, Any]], existing: dict[str, dict[str, Any]]
    ) -> list[ApplicationSetResource]:
        resources = []
        for app in wanted[:MAX_STATUS_APPLICATIONS]:
            meta = app["metadata"]
            live = existing.get(meta["name"]) or {}
            live_status = live.get("status") or {}
            health = live_status.get("health") or {}
            resources.append(
                ApplicationSetResource(
                    namespace=meta["namespace"],
                    name=meta["name"],
                    status=str((live_status.get("sync") or {}).get("status") or ""),
                    health={"status": str(health.get("status") or "")} if health else None,
                )
            )
        return resources

    def _failed(
        self, status: ApplicationSetStatus, now: datetime.datetime, reason: str, message: str
    ) -> None:
        for kind, value in (
            ("ErrorOccurred", "True"),
            ("ParametersGenerated", "False"),
            ("ResourcesUpToDate", "False"),
        ):
            set_condition(
                status.conditions,
                type=kind,
                status=value,  # type: ignore[arg-type]
                reason=reason,
                message=message[:4000],
                now=now,
            )

    def _cluster_infos(self) -> list[appsets.ClusterInfo]:
        """The registered Clusters as the ``clusters`` generator sees them, each with its
        API server from its Secret (or why that cannot be read)."""
        infos = []
        for cluster in self._clusters.list():
            meta = cluster.get("metadata") or {}
            server, problem = self._server_of(cluster)
            infos.append(
                appsets.ClusterInfo(
                    str(meta.get("name") or ""),
                    server,
                    dict(meta.get("labels") or {}),
                    dict(meta.get("annotations") or {}),
                    problem=problem,
                )
            )
        return infos

    def _server_of(self, cluster: dict[str, Any]) -> tuple[str, str]:
        name = str(cluster["metadata"].get("name") or "")
        try:
            ref = secret_ref(cluster)
            secret = self._secrets.get(f"{ref.namespace}/{ref.name}")
            version = str(((secret or {}).get("metadata") or {}).get("resourceVersion") or "")
            cached = self._servers.get(name)
            if cached is not None and cached[0] == version and version:
                return cached[1], ""
            server = decode_credentials(ref, secret).config.server
        except CredentialsProblem as exc:
            return "", exc.message
        self._servers[name] = (version, server)
        return server, ""

    async def _write(self, appset: dict[str, Any], status: ApplicationSetStatus) -> None:
        status.observed_generation = int(appset["metadata"].get("generation") or 0)
        await self._status.write(appset, status.to_wire())


def _status_of(appset: dict[str, Any]) -> ApplicationSetStatus:
    try:
        return ApplicationSetStatus.model_validate(appset.get("status") or {})
    except ValidationError:
        return ApplicationSetStatus()


__all__ = ["ApplicationSetController"]
