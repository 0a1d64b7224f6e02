"""The GitRepo controller: Fleet's GitRepos deployed as one Application per bundle and
cluster, kept so.

Reconcile (per GitRepo, level-based; it writes only to the hub):

1. resolve the branch (or ``revision``) through the shared ``GitSources``, at most once per
   ``pollingInterval`` (default 15 s; sooner after a webhook push); a ``paused`` GitRepo
   stays at the commit it deployed;
2. read the bundles of its paths (``fleetbundles``) and choose the clusters: its targets
   over the registered Clusters and the namespace's ClusterGroups;
3. want one Application per bundle and chosen cluster (named ``<bundle>-<cluster>``,
   pinned to the commit), except where ``targetCustomizations`` say ``doNotDeploy`` and
   where a bundle ``dependsOn`` one not Ready on that cluster yet (an Application that
   exists stays as it is until then);
4. converge (``ownedapps``, through the deletion guard: ``flotilla gitrepo
   confirm-delete``); any error in the tree deletes nothing;
5. status as Fleet shows it: the commit, each bundle's per-cluster state, the summary and
   ``readyBundleDeployments``; ClusterGroups get their cluster count.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from flotilla.api import API_VERSION, CLUSTER, SYSTEM_NAMESPACE
from flotilla.api.application import RESOURCES_FINALIZER
from flotilla.api.fleet import (
    DEFAULT_BRANCH,
    DEFAULT_POLLING,
    BundleCluster,
    BundleStatus,
    ClusterGroupSpec,
    Display,
    GitRepoSpec,
    GitRepoStatus,
    Summary,
)
from flotilla.api.kinds import APPLICATION, CLUSTERGROUP, GITREPO
from flotilla.api.labels import HUB_CLUSTER
from flotilla.api.meta import set_condition
from flotilla.gitops import fleetbundles as fleet
from flotilla.gitops import status as appstatus
from flotilla.gitops.ownedapps import (
    DIGEST_ANNOTATION,
    SETTLE,
    STALE_RETRY,
    OwnedApplications,
    Owner,
    OwnerStatus,
    application,
    owner_key,
)
from flotilla.gitops.repositories import credentials_for
from flotilla.gitops.sources import GitSources, SourceError
from flotilla.gitops.urls import same_repo
from flotilla.gitops.webhook import Push
from flotilla.kube import Conflict, KubeClient, NotFound, resource_path
from flotilla.runtime.clock import Clock
from flotilla.runtime.controller import Controller, Result
from flotilla.runtime.informer import SharedInformers
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.queue import WorkQueue
from flotilla.runtime.reflector import Event

logger = logging.getLogger(__name__)

BUNDLE_LABEL = "fleet.cattle.io/bundle-name"
CLUSTER_LABEL = "fleet.cattle.io/cluster"
REPO_LABEL = "fleet.cattle.io/repo-name"
ERROR_RETRY = 10.0
WAITING_RETRY = 2.0
"""Seconds between looks while a bundle waits for one it depends on."""
_GROUP = "group:"


class GitRepoController:
    def __init__(
        self,
        hub: KubeClient,
        hub_informers: SharedInformers,
        sources: GitSources,
        *,
        clock: Clock,
        metrics: Metrics,
        namespaces: frozenset[str],
        workers: int = 2,
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        self._hub = hub
        self._sources = sources
        self._clock = clock
        self._metrics = metrics
        self._namespaces_allowed = namespaces
        self._workers = workers
        self._leading = leading
        path = resource_path
        self._repos = hub_informers.informer(HUB_CLUSTER, path(GITREPO.api_version, GITREPO.plural))
        self._groups = hub_informers.informer(
            HUB_CLUSTER, path(CLUSTERGROUP.api_version, CLUSTERGROUP.plural)
        )
        self._apps = hub_informers.informer(
            HUB_CLUSTER, path(APPLICATION.api_version, APPLICATION.plural)
        )
        self._clusters = hub_informers.informer(HUB_CLUSTER, path(API_VERSION, CLUSTER.plural))
        self._secrets = hub_informers.informer(
            HUB_CLUSTER, path("v1", "secrets", namespace=SYSTEM_NAMESPACE)
        )
        self._owned = OwnedApplications(
            hub, self._apps, confirm_command="flotilla gitrepo confirm-delete"
        )
        self.queue: WorkQueue[str] = WorkQueue(clock=clock, name="gitrepo")
        self._status = OwnerStatus(hub, GITREPO, self.queue, leading)

    @property
    def synced(self) -> bool:
        return self._repos.has_synced

    async def run(self) -> None:
        self._repos.add_handler(lambda event: self.queue.add(event.key))
        self._groups.add_handler(self._on_group)
        self._apps.add_handler(self._on_application)
        self._clusters.add_handler(lambda _event: self._enqueue_all(groups=True))
        self._secrets.add_handler(lambda _event: self._enqueue_all(groups=False))
        async with self.queue:
            for informer in (self._repos, self._groups, self._apps, self._clusters, self._secrets):
                await informer.wait_synced()
            controller = Controller(
                "gitrepo",
                self.queue,
                self._reconcile,
                metrics=self._metrics,
                workers=self._workers,
            )
            await controller.run()

    def on_push(self, push: Push) -> int:
        """A webhook's push: GitRepos of that repository look again now. Returns how many."""
        triggered = 0
        for key in self._repos.keys():  # noqa: SIM118 - Informer.keys, not a dict
            repo = str(((self._repos.get(key) or {}).get("spec") or {}).get("repo") or "")
            if repo and any(same_repo(repo, url) for url in push.repo_urls):
                self._sources.invalidate(repo)
                self.queue.add(key)
                triggered += 1
        return triggered

    # -- handlers (no I/O) ------------------------------------------------------------------

    def _enqueue_all(self, *, groups: bool) -> None:
        for key in self._repos.keys():  # noqa: SIM118 - Informer.keys, not a dict
            self.queue.add(key)
        if groups:
            for key in self._groups.keys():  # noqa: SIM118 - Informer.keys, not a dict
                self.queue.add(_GROUP + key)

    def _on_group(self, event: Event) -> None:
        self.queue.add(_GROUP + event.key)
        namespace = event.key.split("/", 1)[0]
        for key in self._repos.keys():  # noqa: SIM118 - Informer.keys, not a dict
            if key.startswith(f"{namespace}/"):
                self.queue.add(key)

    def _on_application(self, event: Event) -> None:
        # An Application's status moves often (every sync, every health change): its owner
        # looks again at most once a second for all of them.
        key = owner_key(event.object, "GitRepo")
        if key is not None:
            self.queue.add_after(key, SETTLE)

    # -- reconcile --------------------------------------------------------------------------

    async def _reconcile(self, key: str) -> Result:
        if key.startswith(_GROUP):
            await self._group_status(key.removeprefix(_GROUP))
            return Result()
        repo = self._repos.get(key)
        ended = self._status.gate(key, repo)
        if ended is not None or repo is None:
            return ended or Result()
        meta = repo["metadata"]
        status = _status_of(repo)
        now = self._clock.now()
        if meta["namespace"] not in self._namespaces_allowed:
            allowed = ", ".join(sorted(self._namespaces_allowed))
            self._failed(
                status, now, "NamespaceNotAllowed", f"GitRepos are reconciled in {allowed} only"
            )
            await self._write(repo, status)
            return Result()
        try:
            spec = GitRepoSpec.model_validate(repo.get("spec") or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            self._failed(status, now, "InvalidSpec", f"spec.{where}: {first['msg']}")
            await self._write(repo, status)
            return Result()
        refused = _refused(spec)
        if refused:
            self._failed(status, now, "InvalidSpec", refused)
            await self._write(repo, status)
            return Result()
        poll = appstatus.seconds(spec.polling_interval or DEFAULT_POLLING, 15.0)
        try:
            wanted, waiting, bundles, sha = await self._wanted(repo, spec, status, poll)
        except (SourceError, fleet.FleetError) as exc:
            self._failed(status, now, "GitRepoError", str(exc))
            await self._write(repo, status)
            return Result(requeue_after=min(poll, ERROR_RETRY))
        done = await self._owned.converge(
            Owner.of(repo),
            wanted,
            policy="sync",
            deletes_allowed=True,
            guard=status.prune_guard,
            confirmation_used=status.prune_confirmation_used,
            now=now,
        )
        status.prune_guard, status.prune_confirmation_used = done.guard, done.confirmation_used
        status.commit = sha
        status.last_polling_time = now
        self._report(status, bundles, wanted, waiting, meta["namespace"])
        errors = done.errors
        message = "; ".join(errors)[:4000] if errors else done.blocked
        set_condition(
            status.conditions,
            type="Accepted",
            status="True",
            reason="Accepted",
            message="",
            now=now,
        )
        ready = (
            not errors
            and not done.blocked
            and status.summary is not None
            and (status.summary.ready == status.summary.desired_ready)
        )
        set_condition(
            status.conditions,
            type="Ready",
            status="True" if ready else "False",
            reason="Ready" if ready else ("DeletionBlocked" if done.blocked else "NotReady"),
            message=message or (status.display.message if status.display else ""),
            now=now,
        )
        await self._write(repo, status)
        if done.conflicted:
            return Result(requeue_after=STALE_RETRY)
        return Result(requeue_after=min(poll, WAITING_RETRY) if waiting else poll)

    async def _wanted(
        self, repo: dict[str, Any], spec: GitRepoSpec, status: GitRepoStatus, poll: float
    ) -> tuple[list[dict[str, Any]], dict[tuple[str, str], str], list[fleet.Bundle], str]:
        """The Applications to keep, the (bundle, cluster) pairs that wait and why, the
        bundles and the commit."""
        meta = repo["metadata"]
        credentials = credentials_for(spec.repo, self._secrets.list())
        asked = spec.revision or spec.branch or DEFAULT_BRANCH
        if spec.paused and status.commit:
            asked = status.commit  # paused: no new commit is deployed
        resolved = await self._sources.resolve(spec.repo, asked, credentials, max_age=poll)
        root = await self._sources.checkout(spec.repo, resolved.sha, "")
        bundles = fleet.bundles_of(root, spec.paths, meta["name"])
        clusters = [
            fleet.Cluster(str(c["metadata"]["name"]), dict(c["metadata"].get("labels") or {}))
            for c in self._clusters.list()
        ]
        groups = self._groups_of(meta["namespace"])
        chosen = {c.cluster for c in fleet.choices(spec, clusters, groups) if c.target}
        existing = self._owned.existing(meta["namespace"])
        owner = Owner.of(repo)
        wanted: list[dict[str, Any]] = []
        waiting: dict[tuple[str, str], str] = {}
        finalizers = () if spec.keep_resources else (RESOURCES_FINALIZER,)
        targeted = sorted((c for c in clusters if c.name in chosen), key=lambda c: c.name)
        desired: dict[tuple[str, str], dict[str, Any]] = {}
        for bundle in bundles:
            for cluster in targeted:
                custom = fleet.customization(bundle.options, cluster, groups)
                if custom is not None and custom.get("doNotDeploy"):
                    continue
                app_spec = fleet.application_spec(
                    spec, bundle, root=root, sha=resolved.sha, cluster=cluster.name, custom=custom
                )
                labels = {
                    REPO_LABEL: meta["name"],
                    BUNDLE_LABEL: bundle.name,
                    CLUSTER_LABEL: cluster.name,
                }
                desired[(bundle.name, cluster.name)] = application(
                    owner,
                    name=_app_name(bundle.name, cluster.name),
                    spec=app_spec,
                    labels=labels,
                    finalizers=finalizers,
                )
        for (bundle_name, cluster_name), app in desired.items():
            bundle = next(b for b in bundles if b.name == bundle_name)
            unready = [
                dep
                for dep in fleet.depends_on(bundle, bundles)
                if not _ready_as_wanted(
                    existing.get(_app_name(dep, cluster_name)), desired.get((dep, cluster_name))
                )
            ]
            if unready:
                waiting[(bundle_name, cluster_name)] = f"waiting for {', '.join(unready)}"
                live = existing.get(app["metadata"]["name"])
                if live is not None:
                    wanted.append(live)  # as it is, until they are Ready
                continue
            wanted.append(app)
        names = [app["metadata"]["name"] for app in wanted]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise fleet.FleetError(
                f"two bundle and cluster pairs give the Application name {twice[0]!r}: rename "
                "a bundle (fleet.yaml name)"
            )
        return wanted, waiting, bundles, resolved.sha

    def _groups_of(self, namespace: str) -> list[fleet.Group]:
        groups = []
        for item in self._groups.list():
            meta = item.get("metadata") or {}
            if meta.get("namespace") != namespace:
                continue
            try:
                selector = ClusterGroupSpec.model_validate(item.get("spec") or {}).selector
            except ValidationError:
                # Holding no cluster would delete what it targets: unsure, so no change.
                raise fleet.FleetError(
                    f"ClusterGroup {meta.get('name')} is invalid; nothing changes until it is fixed"
                ) from None
            groups.append(fleet.Group(str(meta["name"]), dict(meta.get("labels") or {}), selector))
        return groups

    def _report(
        self,
        status: GitRepoStatus,
        bundles: list[fleet.Bundle],
        wanted: list[dict[str, Any]],
        waiting: dict[tuple[str, str], str],
        namespace: str,
    ) -> None:
        existing = self._owned.existing(namespace)
        by_bundle: dict[str, list[BundleCluster]] = {b.name: [] for b in bundles}
        for app in wanted:
            labels = app["metadata"].get("labels") or {}
            bundle, cluster = labels.get(BUNDLE_LABEL, ""), labels.get(CLUSTER_LABEL, "")
            name = app["metadata"]["name"]
            state, message = fleet.state_of(existing.get(name))
            if (bundle, cluster) in waiting:
                state, message = "WaitApplied", waiting[(bundle, cluster)]
            by_bundle.setdefault(bundle, []).append(
                BundleCluster(cluster=cluster, state=state, message=message, application=name)
            )
        for (bundle, cluster), why in waiting.items():
            if not any(c.cluster == cluster for c in by_bundle.get(bundle, [])):
                by_bundle.setdefault(bundle, []).append(
                    BundleCluster(cluster=cluster, state="WaitApplied", message=why)
                )
        status.bundles = [
            BundleStatus(
                name=b.name,
                path=b.path or ".",
                clusters=sorted(by_bundle[b.name], key=lambda c: c.cluster),
            )
            for b in bundles
        ]
        states = [c.state for b in status.bundles for c in b.clusters]
        summary = Summary(
            desired_ready=len(states),
            ready=states.count("Ready"),
            not_ready=states.count("NotReady"),
            wait_applied=states.count("WaitApplied"),
            err_applied=states.count("ErrApplied"),
            out_of_sync=states.count("OutOfSync"),
            modified=states.count("Modified"),
        )
        status.summary = summary
        worst = next(
            (
                s
                for s in ("ErrApplied", "Modified", "OutOfSync", "NotReady", "WaitApplied")
                if s in states
            ),
            "Ready",
        )
        counts = ", ".join(f"{s}({states.count(s)})" for s in sorted(set(states)) if s != "Ready")
        status.display = Display(
            ready_bundle_deployments=f"{summary.ready}/{summary.desired_ready}",
            state="" if worst == "Ready" else worst,
            message=counts,
        )

    def _failed(
        self, status: GitRepoStatus, now: datetime.datetime, reason: str, message: str
    ) -> None:
        accepted = "False" if reason in ("InvalidSpec", "NamespaceNotAllowed") else "True"
        set_condition(
            status.conditions,
            type="Accepted",
            status=accepted,  # type: ignore[arg-type]
            reason=reason,
            message=message[:4000],
            now=now,
        )
        set_condition(
            status.conditions,
            type="Ready",
            status="False",
            reason=reason,
            message=message[:4000],
            now=now,
        )
        status.display = Display(
            ready_bundle_deployments=(
                status.display.ready_bundle_deployments if status.display else ""
            ),
            state="ErrApplied",
            message=message[:1024],
        )

    async def _group_status(self, key: str) -> None:
        group = self._groups.get(key)
        if group is None or not self._leading():
            return
        meta = group["metadata"]
        try:
            selector = ClusterGroupSpec.model_validate(group.get("spec") or {}).selector
        except ValidationError:
            selector = None
        held = fleet.Group(meta["name"], {}, selector)
        names = sorted(
            str(c["metadata"]["name"])
            for c in self._clusters.list()
            if held.holds(
                fleet.Cluster(str(c["metadata"]["name"]), c["metadata"].get("labels") or {})
            )
        )
        new = {"clusterCount": len(names), "clusters": names}
        if (group.get("status") or {}) == new:
            return
        path = (
            resource_path(
                CLUSTERGROUP.api_version,
                CLUSTERGROUP.plural,
                namespace=meta["namespace"],
                name=meta["name"],
            )
            + "/status"
        )
        try:
            await self._hub.merge_patch(path, {"status": new})
        except (NotFound, Conflict):
            return

    async def _write(self, repo: dict[str, Any], status: GitRepoStatus) -> None:
        status.observed_generation = int(repo["metadata"].get("generation") or 0)
        # The polling time alone is no change worth a write (and an event) every poll.
        await self._status.write(repo, status.to_wire(), ignoring=("lastPollingTime",))


_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@]*@")


def _refused(spec: GitRepoSpec) -> str:
    """What of ``spec`` Flotilla does not take, and what to do instead; "" when nothing."""
    if _USERINFO.match(spec.repo) and not spec.repo.startswith("ssh://"):
        return (
            "spec.repo holds credentials: put them in a repository Secret in "
            "flotilla-system (argocd.argoproj.io/secret-type: repository)"
        )
    if spec.client_secret_name:
        return (
            "spec.clientSecretName is not supported: put the credentials in a repository "
            "Secret in flotilla-system (argocd.argoproj.io/secret-type: repository)"
        )
    return ""


def _ready_as_wanted(live: dict[str, Any] | None, want: dict[str, Any] | None) -> bool:
    """Whether a dependency is Ready there at what it is wanted at now (its commit, its
    options), its status about its present spec: not Ready at an older commit."""
    if live is None or want is None:
        return False
    meta, status = live.get("metadata") or {}, live.get("status") or {}
    current = int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0)
    same = (meta.get("annotations") or {}).get(DIGEST_ANNOTATION) == (
        want["metadata"]["annotations"][DIGEST_ANNOTATION]
    )
    return current and same and fleet.state_of(live)[0] == "Ready"


def _app_name(bundle: str, cluster: str) -> str:
    return f"{bundle}-{cluster}"[:253].rstrip("-.")


def _status_of(repo: dict[str, Any]) -> GitRepoStatus:
    try:
        return GitRepoStatus.model_validate(repo.get("status") or {})
    except ValidationError:
        return GitRepoStatus()


__all__ = ["BUNDLE_LABEL", "CLUSTER_LABEL", "REPO_LABEL", "GitRepoController"]
