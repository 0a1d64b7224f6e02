"""Applications one owner generates (an ApplicationSet, a Fleet GitRepo), kept as it says.

``application`` builds one: in the owner's namespace, naming the owner as its controlling
owner, with a digest of what the owner writes. ``plan`` compares the wanted Applications
with those that exist: create what is new, update what the owner owns and changed (only
what it writes is compared: spec, its labels and annotations), delete what it owns and no
longer wants, as its policy allows (Argo CD's ``applicationsSync``). An Application of the
same name it does not own is never touched.

``OwnedApplications.converge`` makes the plan real on the hub, through the deletion guard
(``propagation.pruning``, as for a Placement's objects): a pass that would delete more than
``flotilla.io/max-delete-percent`` (default 50) of the owner's Applications within a minute
waits for a confirmation, and nothing is deleted when the owner could not say all it wants
(``deletes_allowed`` false: an Application that failed to render may be one that exists).
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import hashlib
import json
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from flotilla.api.application import ApplicationSpec
from flotilla.api.crds import KindInfo
from flotilla.api.kinds import APPLICATION
from flotilla.api.labels import CONFIRM_PRUNE_ANNOTATION, HUB_CLUSTER
from flotilla.api.placement import PruneRecord
from flotilla.gitops import status as appstatus
from flotilla.kube import Conflict, KubeClient, KubeError, NotFound, resource_path
from flotilla.propagation import pruning
from flotilla.runtime.controller import Result
from flotilla.runtime.informer import Informer
from flotilla.runtime.queue import WorkQueue
from flotilla.runtime.reflector import older

FIELD_MANAGER = "flotilla-applicationset"
WRITERS = 16
"""Application writes one pass sends at a time."""
DIGEST_ANNOTATION = "flotilla.io/applicationset-digest"
"""On a generated Application: the digest of what its owner last wrote."""
PRESERVED_ANNOTATIONS = (
    "argocd.argoproj.io/refresh",
    "notified.notifications.argoproj.io",
    CONFIRM_PRUNE_ANNOTATION,
)
"""Annotations others set on generated Applications that an update keeps (Argo CD's, and
the deletion guard's confirmation)."""


@dataclass(frozen=True)
class Owner:
    """The object Applications are generated for."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Owner:
        meta = obj.get("metadata") or {}
        return cls(
            str(obj.get("apiVersion") or ""),
            str(obj.get("kind") or ""),
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
            str(meta.get("uid") or ""),
            dict(meta.get("annotations") or {}),
        )


def application(
    owner: Owner,
    *,
    name: str,
    spec: Mapping[str, Any],
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    finalizers: Sequence[str] = (),
) -> dict[str, Any]:
    """An Application ``owner`` generates (``spec`` checked by the caller)."""
    meta: dict[str, Any] = {
        "name": name,
        "namespace": owner.namespace,
        **({"labels": dict(labels)} if labels else {}),
        "annotations": dict(annotations or {}),
        **({"finalizers": list(finalizers)} if finalizers else {}),
        "ownerReferences": [
            {
                "apiVersion": owner.api_version,
                "kind": owner.kind,
                "name": owner.name,
                "uid": owner.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    app = {
        "apiVersion": APPLICATION.api_version,
        "kind": APPLICATION.kind,
        "metadata": meta,
        "spec": copy.deepcopy(dict(spec)),  # as written: the API server fills in defaults
    }
    meta["annotations"][DIGEST_ANNOTATION] = digest(app)
    return app


def digest(app: Mapping[str, Any]) -> str:
    """Of what the owner writes on an Application (its digest annotation aside)."""
    meta = app.get("metadata") or {}
    written = {
        "labels": meta.get("labels") or {},
        "annotations": {
            k: v for k, v in (meta.get("annotations") or {}).items() if k != DIGEST_ANNOTATION
        },
        "finalizers": meta.get("finalizers") or [],
        "spec": app.get("spec") or {},
    }
    text = json.dumps(written, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def owned_by(app: Mapping[str, Any], uid: str) -> bool:
    """Whether ``app`` names the object of ``uid`` as its controlling owner."""
    refs = (app.get("metadata") or {}).get("ownerReferences") or []
    return any(ref.get("uid") == uid and ref.get("controller") for ref in refs)


@dataclass(frozen=True)
class Preserved:
    """Labels and annotations of generated Applications kept as others set them (Argo CD's
    ``preservedFields``)."""

    labels: frozenset[str] = frozenset()
    annotations: frozenset[str] = frozenset()

    def of(self, part: str) -> frozenset[str]:
        return self.labels if part == "labels" else self.annotations


NOTHING_PRESERVED = Preserved()


@dataclass
class Plan:
    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    delete: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    """Names wanted but taken by an Application this owner does not own."""
    skipped: list[str] = field(default_factory=list)
    """What the policy does not allow (``update: web`` / ``delete: api``)."""


def plan(
    wanted: Sequence[dict[str, Any]],
    existing: Mapping[str, dict[str, Any]],
    *,
    uid: str,
    policy: str,
    deletes_allowed: bool,
    preserved: Preserved = NOTHING_PRESERVED,
) -> Plan:
    """What to do so that ``existing`` (the namespace's Applications by name) holds
    ``wanted``, under ``policy`` (``applicationsSync``; "" is ``sync``)."""
    policy = policy or "sync"
    may_update = policy in ("sync", "create-update")
    may_delete = policy in ("sync", "create-delete")
    out = Plan()
    names = set()
    for app in wanted:
        name = app["metadata"]["name"]
        names.add(name)
        live = existing.get(name)
        if live is None:
            out.create.append(app)
        elif not owned_by(live, uid):
            out.held.append(name)
        elif (live.get("metadata") or {}).get("deletionTimestamp"):
            out.unchanged.append(name)  # going: it is created again once it has gone
        elif not _changed(app, live, preserved):
            out.unchanged.append(name)
        elif may_update:
            out.update.append(_with_preserved(app, live, preserved))
        else:
            out.skipped.append(f"update: {name}")
    for name, live in sorted(existing.items()):
        if name in names or not owned_by(live, uid):
            continue
        if (live.get("metadata") or {}).get("deletionTimestamp"):
            continue
        if may_delete and deletes_allowed:
            out.delete.append(live)
        elif not may_delete:
            out.skipped.append(f"delete: {name}")
    return out


def _changed(app: Mapping[str, Any], live: Mapping[str, Any], preserved: Preserved) -> bool:
    """Whether ``live`` differs from what the owner would write: its digest annotation
    (what it wrote last) or what it writes now (an edit by hand)."""
    meta, live_meta = app["metadata"], live.get("metadata") or {}
    if (live_meta.get("annotations") or {}).get(DIGEST_ANNOTATION) != (
        meta.get("annotations") or {}
    ).get(DIGEST_ANNOTATION):
        return True
    for part in ("labels", "annotations"):
        have, kept = live_meta.get(part) or {}, preserved.of(part)
        if any(have.get(k) != v for k, v in (meta.get(part) or {}).items() if k not in kept):
            return True
    if not set(meta.get("finalizers") or []) <= set(live_meta.get("finalizers") or []):
        return True
    try:
        live_spec = ApplicationSpec.model_validate(live.get("spec") or {}).to_wire()
    except ValidationError:
        return True
    return bool(live_spec != ApplicationSpec.model_validate(app["spec"]).to_wire())


def _with_preserved(
    app: dict[str, Any], live: Mapping[str, Any], preserved: Preserved
) -> dict[str, Any]:
    """``app`` with the labels and annotations others set that an update keeps: Argo CD's
    and the guard's annotations beside the owner's, and ``preservedFields`` over them."""
    live_meta = live.get("metadata") or {}
    out = copy.deepcopy(app)
    have = live_meta.get("annotations") or {}
    beside = {k: have[k] for k in PRESERVED_ANNOTATIONS if k in have}
    out["metadata"]["annotations"] = {**beside, **out["metadata"]["annotations"]}
    for part in ("labels", "annotations"):
        have = live_meta.get(part) or {}
        kept = {k: have[k] for k in preserved.of(part) if k in have}
        if kept:
            out["metadata"][part] = {**(out["metadata"].get(part) or {}), **kept}
    return out


@dataclass
class Outcome:
    """What ``converge`` did and could not do."""

    plan: Plan
    errors: list[str]
    blocked: str = ""
    """Why the deletion guard holds; "" when it does not."""
    conflicted: bool = False
    """An update met a newer Application: look again soon."""
    guard: list[PruneRecord] = field(default_factory=list)
    confirmation_used: str = ""


class OwnedApplications:
    """Creates, updates and deletes the hub's Applications for their owners."""

    def __init__(self, hub: KubeClient, apps: Informer, *, confirm_command: str) -> None:
        self._hub = hub
        self._apps = apps
        self._confirm = confirm_command

    def existing(self, namespace: str) -> dict[str, dict[str, Any]]:
        """The namespace's Applications by name, from the informer."""
        return {
            str(app["metadata"]["name"]): app
            for app in self._apps.list()
            if app["metadata"].get("namespace") == namespace
        }

    async def converge(
        self,
        owner: Owner,
        wanted: Sequence[dict[str, Any]],
        *,
        policy: str,
        deletes_allowed: bool,
        guard: Sequence[PruneRecord],
        confirmation_used: str,
        now: datetime.datetime,
        updates: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
        preserved: Preserved = NOTHING_PRESERVED,
    ) -> Outcome:
        """Make ``wanted`` true; ``updates`` picks, from the updates planned, what to
        write now (a rollout's step, or its rollback)."""
        existing = self.existing(owner.namespace)
        steps = plan(
            wanted,
            existing,
            uid=owner.uid,
            policy=policy,
            deletes_allowed=deletes_allowed,
            preserved=preserved,
        )
        out = Outcome(
            steps,
            [
                f"{name}: an Application of that name exists and is not this {owner.kind}'s"
                for name in steps.held
            ],
            guard=list(guard),
            confirmation_used=confirmation_used,
        )
        deletions: list[dict[str, Any]] = []
        if steps.delete:
            deletions = self._guarded(owner, wanted, existing, out, now)
        else:
            out.guard = []
        bodies = [(app, True) for app in steps.create]
        for app in updates(steps.update) if updates is not None else steps.update:
            version = existing[app["metadata"]["name"]]["metadata"]["resourceVersion"]
            bodies.append(
                ({**app, "metadata": {**app["metadata"], "resourceVersion": version}}, False)
            )
        for problems in await self._bounded(
            [self._write(body, create=create) for body, create in bodies]
        ):
            if any(p.endswith(": changed meanwhile") for p in problems):
                out.conflicted = True
            else:
                out.errors += problems
        for problems in await self._bounded([self._delete(app) for app in deletions]):
            out.errors += problems
        return out

    @staticmethod
    async def _bounded(writes: list[Coroutine[Any, Any, list[str]]]) -> list[list[str]]:
        """The writes' problems, in order, WRITERS at a time (one ApplicationSet may
        generate hundreds; one at a time, creating them took seconds)."""
        gate = asyncio.Semaphore(WRITERS)

        async def one(write: Coroutine[Any, Any, list[str]]) -> list[str]:
            async with gate:
                return await write

        return list(await asyncio.gather(*(one(w) for w in writes)))

    def _guarded(
        self,
        owner: Owner,
        wanted: Sequence[dict[str, Any]],
        existing: Mapping[str, dict[str, Any]],
        out: Outcome,
        now: datetime.datetime,
    ) -> list[dict[str, Any]]:
        """What the deletion guard lets this pass delete (``out`` says why it holds)."""
        owned = [
            app
            for app in existing.values()
            if owned_by(app, owner.uid) and not app["metadata"].get("deletionTimestamp")
        ]
        annotation = str(owner.annotations.get(CONFIRM_PRUNE_ANNOTATION) or "")
        record = out.guard[0] if out.guard else None
        confirmed = pruning.confirmation_valid(
            annotation,
            blocked_since=record.pending_since if record and record.blocked_digest else None,
            used=out.confirmation_used,
            now=now,
        )
        decision = pruning.decide(
            cluster=HUB_CLUSTER,
            namespaces=frozenset({owner.namespace}),
            managed=owned,
            wanted=[pruning.object_key(app) for app in wanted],
            record=record,
            now=now,
            grace_seconds=0.0,
            guard_percent=appstatus.guard_percent({"metadata": {"annotations": owner.annotations}}),
            guarded=True,
            confirmed=confirmed,
        )
        out.guard = [] if pruning.idle(decision.record) else [decision.record]
        if decision.confirmed:
            out.confirmation_used = annotation
        if decision.blocked:
            held = decision.blocked.removeprefix(f"{HUB_CLUSTER}: ").replace(
                "objects", "Applications"
            )
            out.blocked = f"{held}; `{self._confirm} {owner.name} -N {owner.namespace}` lets it go"
        return list(decision.delete)

    async def _write(self, app: dict[str, Any], *, create: bool) -> list[str]:
        meta = app["metadata"]
        collection = resource_path(
            APPLICATION.api_version, APPLICATION.plural, namespace=meta["namespace"]
        )
        try:
            # Created by apply too, so every field is the owner's applied field and one the
            # template stops setting goes; not forced, so an Application someone else made
            # in the meantime is a conflict, not taken over.
            await self._hub.apply(
                f"{collection}/{meta['name']}", app, field_manager=FIELD_MANAGER, force=not create
            )
        except Conflict:
            return [
                f"{meta['name']}: changed meanwhile"
                if not create
                else f"{meta['name']}: created by someone else meanwhile"
            ]
        except KubeError as exc:
            return [f"{meta['name']}: {exc}"[:500]]
        return []

    async def _delete(self, app: dict[str, Any]) -> list[str]:
        meta = app["metadata"]
        path = resource_path(
            APPLICATION.api_version,
            APPLICATION.plural,
            namespace=meta["namespace"],
            name=meta["name"],
        )
        try:
            await self._hub.delete(path)
        except NotFound:
            return []
        except KubeError as exc:
            return [f"{meta['name']}: cannot delete: {exc}"[:500]]
        return []


STALE_RETRY = 0.2
"""Seconds before an owner whose informer copy is older than its last status write (or
whose write met a conflict) is looked at again."""
SETTLE = 1.0
"""Seconds an owner waits after one of its Applications changed (they come in bursts)."""


def owner_key(app: Mapping[str, Any], kind: str) -> str | None:
    """The queue key of the ``kind`` that controls ``app``, if one does."""
    meta = app.get("metadata") or {}
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == kind and ref.get("controller"):
            return f"{meta.get('namespace')}/{ref.get('name')}"
    return None


class OwnerStatus:
    """An owner kind's status writes: against the resourceVersion read (a conflict looks
    again soon), and remembered, so a pass on an informer copy older than the last write
    waits for the newer one."""

    def __init__(
        self, hub: KubeClient, kind: KindInfo, queue: WorkQueue[str], leading: Callable[[], bool]
    ) -> None:
        self._hub = hub
        self._kind = kind
        self._queue = queue
        self._leading = leading
        self._written: dict[str, str] = {}

    def gate(self, key: str, obj: Mapping[str, Any] | None) -> Result | None:
        """How a pass on ``obj`` ends before it starts (gone, an informer copy older than
        the last write, not leading, being deleted: its Applications go with it through
        their owner references), or None to go on."""
        if obj is None:
            self._written.pop(key, None)
            return Result()
        if older(dict(obj), self._written.get(key, "")):
            return Result(requeue_after=STALE_RETRY)
        if not self._leading():
            return Result(requeue_after=1.0)
        if (obj.get("metadata") or {}).get("deletionTimestamp"):
            return Result()
        return None

    async def write(
        self, obj: Mapping[str, Any], new: dict[str, Any], *, ignoring: Sequence[str] = ()
    ) -> None:
        """Write ``new`` as ``obj``'s status, unless only the fields ``ignoring`` changed."""
        meta = obj["metadata"]
        old = dict(obj.get("status") or {})
        blank = dict.fromkeys(ignoring)
        if {**new, **blank} == {**old, **blank} or not self._leading():
            return
        key = f"{meta['namespace']}/{meta['name']}"
        path = resource_path(
            self._kind.api_version,
            self._kind.plural,
            namespace=meta["namespace"],
            name=meta["name"],
        )
        body = {"metadata": {"resourceVersion": meta.get("resourceVersion")}, "status": new}
        try:
            written = await self._hub.merge_patch(f"{path}/status", body)
        except NotFound:
            return
        except Conflict:
            self._queue.add_after(key, STALE_RETRY)
            return
        version = ((written or {}).get("metadata") or {}).get("resourceVersion") or ""
        self._written[key] = str(version)


__all__ = [
    "DIGEST_ANNOTATION",
    "FIELD_MANAGER",
    "NOTHING_PRESERVED",
    "SETTLE",
    "STALE_RETRY",
    "Outcome",
    "OwnedApplications",
    "Owner",
    "OwnerStatus",
    "Plan",
    "Preserved",
    "application",
    "digest",
    "owned_by",
    "owner_key",
    "plan",
]
