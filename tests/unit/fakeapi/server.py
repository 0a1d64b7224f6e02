"""``FakeApi``: objects in memory behind ``httpx.MockTransport``, answering like a real server.

Reads (GET, LIST, WATCH) and writes (POST, PUT, PATCH in its merge, JSON and apply forms,
DELETE) keep the contract controllers rely on: every change takes the next
resourceVersion and is seen by watches; ``generation`` counts changes outside metadata (and
outside status where status is a subresource); writes take field ownership as
``fields`` describes; finalizers hold a deleted object until they are removed. Refusals
are ``Status`` answers with a real server's codes and reasons.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import itertools
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from flotilla.kube import ConnectionConfig, KubeClient
from flotilla.runtime.clock import FakeClock
from tests.unit.fakeapi.bodies import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    decoded_body,
    json_patched,
    merge,
    metadata_of,
    object_body,
    partial,
    set_or_pop,
)
from tests.unit.fakeapi.fields import MISSING, Ownership, leaves, remove, value_at
from tests.unit.fakeapi.paths import Target, parse
from tests.unit.fakeapi.refusals import Refused, apply_conflict, conflict, not_found, not_served
from tests.unit.fakeapi.resources import default_kinds, default_status_subresources
from tests.unit.fakeapi.watching import WatchStream
from tests.unit.fakeapi.wire import (
    Hold,
    Match,
    RequestLog,
    always,
    is_list,
    is_watch,
    key_of,
    matching,
    status,
)

DEFAULT_MANAGER = "kubectl-edit"
"""Who an update without a ``fieldManager`` parameter is recorded as."""

_SERVER_METADATA = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
)
_NAME_LETTERS = "bcdfghjklmnpqrstvwxz2456789"


@dataclass
class _Injection:
    outcome: httpx.Response | Exception | Hold
    match: Match
    times: int


@dataclass
class _Change:
    version: int
    type: str
    resource: str
    object: dict[str, Any]


@dataclass
class FakeApi:
    """An API server's objects in memory, with resourceVersions, history, watches and writes."""

    kind: str = "ConfigMap"
    """The kind of a collection that ``kinds`` does not name and that holds no object yet."""
    clock: FakeClock | None = None
    """When given, ``times`` records the clock at each request, and timestamps come from it."""
    kinds: dict[str, str] = field(default_factory=default_kinds)
    """Kind by resource (``/apis/apps/v1/deployments``): what lists are called."""
    status_subresources: set[str] = field(default_factory=default_status_subresources)
    """Resources with a ``/status`` subresource: only it writes their status."""
    default_manager: str = DEFAULT_MANAGER
    documents: dict[str, Any] = field(default_factory=dict)
    """Fixed answers to GET by path (``/version``, discovery); a str is sent as text."""
    requests: RequestLog = field(default_factory=RequestLog)
    times: list[float] = field(default_factory=list)
    watches: list[WatchStream] = field(default_factory=list)
    """Every watch stream handed out, open or not, in order."""
    _objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    _history: list[_Change] = field(default_factory=list)
    _injections: list[_Injection] = field(default_factory=list)
    _versions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _version: int = 0
    _compacted: int = 0
    _random: random.Random = field(default_factory=lambda: random.Random(0))

    def __post_init__(self) -> None:
        self.transport = httpx.MockTransport(self._handle)

    def client(self) -> KubeClient:
        return KubeClient(
            ConnectionConfig(server="https://api.test:6443"), transport=self.transport
        )

    # State, read and changed as another writer would.

    def get(self, path: str) -> dict[str, Any] | None:
        """The object at ``path`` (an object's path), or None."""
        target = _target(path)
        found = self._objects.get(target.resource, {}).get(target.key)
        return copy.deepcopy(found)

    def objects(self, path: str) -> list[dict[str, Any]]:
        """The objects of a collection path (one namespace's or all), ordered by key."""
        target = _target(path)
        held = self._objects.get(target.resource, {})
        return [copy.deepcopy(held[key]) for key in sorted(held) if target.holds(held[key])]

    def put(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` in collection ``path`` as it is, with its next resourceVersion only."""
        target = _target(path)
        stored = copy.deepcopy(obj)
        stored.setdefault("apiVersion", target.api_version)
        stored.setdefault("kind", self._kind_of(target.resource))
        if target.namespace:
            stored["metadata"].setdefault("namespace", target.namespace)
        old = self._objects.get(target.resource, {}).get(key_of(stored))
        return self._store(target, old, stored, dry_run=False, skip_no_op=False)

    def delete(self, path: str, key: str) -> dict[str, Any]:
        """Remove the object ``key`` of collection ``path`` at once, finalizers or not."""
        target = _target(path)
        gone = self._objects[target.resource].pop(key)
        self._version = next(self._versions)
        gone["metadata"]["resourceVersion"] = str(self._version)
        self._record(target.resource, "DELETED", gone)
        return copy.deepcopy(gone)

    def create(self, path: str, body: dict[str, Any], *, manager: str = "") -> dict[str, Any]:
        """POST ``body`` to collection ``path``, as ``manager``; raises ``Refused``."""
        return self._create(_target(path), body, manager=manager or self.default_manager)

    def apply(
        self, path: str, body: dict[str, Any], *, manager: str, force: bool = False
    ) -> dict[str, Any]:
        """Server-side apply ``body`` at object path ``path``; raises ``Refused``."""
        return self._apply(_target(path), body, manager=manager, force=force)

    def merge_patch(self, path: str, patch: dict[str, Any], *, manager: str = "") -> dict[str, Any]:
        """Merge-patch the object at ``path`` (or its ``/status``); raises ``Refused``."""
        target = _target(path)
        return self._patch(target, patch, MERGE_PATCH, manager=manager or self.default_manager)

    def compact(self) -> None:
        """Forget history up to now: older resourceVersions and continue tokens expire."""
        self._compacted = self._version
        self._history.clear()

    @property
    def resource_version(self) -> str:
        return str(self._version)

    # Faults.

    def inject(
        self,
        outcome: httpx.Response | Exception | Hold,
        *,
        method: str | None = None,
        path: str | None = None,
        match: Match = always,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with ``outcome`` (or raise it).

        A ``Hold`` keeps them waiting until it is released, then serves them as usual.
        """
        picked = matching(method=method, path=path, match=match)
        self._injections.append(_Injection(outcome, picked, times))

    def hold(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        match: Match = always,
        times: int = 1,
    ) -> Hold:
        """Keep the next ``times`` matching requests waiting: a slow or hung server."""
        held = Hold()
        self.inject(held, method=method, path=path, match=match, times=times)
        return held

    def open_watches(self) -> list[WatchStream]:
        return [stream for stream in self.watches if not stream.closed]

    def bookmark(self) -> None:
        for stream in self.open_watches():
            if stream.bookmarks:
                target = _target(stream.request.url.path)
                bookmark = {
                    "apiVersion": target.api_version,
                    "kind": self._kind_of(target.resource),
                    "metadata": {"resourceVersion": str(self._version)},
                }
                stream.send({"type": "BOOKMARK", "object": bookmark})

    def break_watches(self) -> None:
        for stream in self.open_watches():
            stream.fail(httpx.ReadError("connection reset by peer"))

    def end_watches(self) -> None:
        for stream in self.open_watches():
            stream.end()

    def expire_watches(self) -> None:
        for stream in self.open_watches():
            stream.send({"type": "ERROR", "object": status(410, "Expired", "too old")})
            stream.end()

    # What was asked.

    def watch_requests(self) -> list[httpx.Request]:
        return self.requests(match=is_watch)

    def list_requests(self) -> list[httpx.Request]:
        return self.requests(match=is_list)

    # The wire.

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.clock is not None:
            self.times.append(self.clock.monotonic())
        for injection in self._injections:
            if injection.times > 0 and injection.match(request):
                injection.times -= 1
                if isinstance(injection.outcome, Hold):
                    await injection.outcome.wait(request)
                    break
                if isinstance(injection.outcome, Exception):
                    raise injection.outcome
                return injection.outcome
        try:
            return self._serve(request)
        except Refused as refused:
            return httpx.Response(refused.code, json=refused.body)

    def _serve(self, request: httpx.Request) -> httpx.Response:
        path, method, params = request.url.path, request.method, request.url.params
        if method == "GET" and path in self.documents:
            document = copy.deepcopy(self.documents[path])
            if isinstance(document, str):
                return httpx.Response(200, text=document)
            return httpx.Response(200, json=document)
        target = parse(path)
        if target is None or target.subresource not in (None, "status"):
            raise not_served()
        if target.subresource == "status" and not self._has_status(target):
            raise not_served()
        dry_run = "dryRun" in params
        manager = params.get("fieldManager") or self.default_manager
        if target.name is None:
            if method == "GET":
                return self._watch(request) if is_watch(request) else self._list(request)
            if method == "POST":
                body = object_body(request)
                return _answer(201, self._create(target, body, manager=manager, dry_run=dry_run))
        elif method == "GET":
            return _answer(200, self._read(target, request.headers.get("accept", "")))
        elif method == "PUT":
            return _answer(200, self._replace(target, object_body(request), manager, dry_run))
        elif method == "PATCH":
            return self._patch_request(target, request, manager=manager, dry_run=dry_run)
        elif method == "DELETE":
            return _answer(200, self._delete(target, decoded_body(request), dry_run=dry_run))
        raise Refused(405, "MethodNotAllowed", f"the server does not allow {method} on {path}")

    def _patch_request(
        self, target: Target, request: httpx.Request, *, manager: str, dry_run: bool
    ) -> httpx.Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type != APPLY_PATCH:
            patch = decoded_body(request)
            return _answer(200, self._patch(target, patch, content_type, manager, dry_run))
        params = request.url.params
        if "fieldManager" not in params:
            raise Refused(400, "BadRequest", "fieldManager is required for apply patch")
        existed = self._find(target) is not None
        body = object_body(request)
        force = params.get("force") == "true"
        applied = self._apply(target, body, manager=manager, force=force, dry_run=dry_run)
        return _answer(200 if existed else 201, applied)

    # Reads.

    def _read(self, target: Target, accept: str) -> dict[str, Any]:
        obj = copy.deepcopy(self._existing(target))
        if "as=PartialObjectMetadata" in accept:
            return partial(obj)
        return obj

    def _list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        target = _target(request.url.path)
        token = params.get("continue")
        if token:
            version, offset = (int(part) for part in token.split("/"))
            if version < self._compacted:
                raise Refused(410, "Expired", "continue token expired")
        else:
            version, offset = self._version, 0
        held = self._objects.get(target.resource, {})
        selected = [held[key] for key in sorted(held) if _selects(request, target, held[key])]
        limit = int(params.get("limit", 0)) or len(selected)
        page = copy.deepcopy(selected[offset : offset + limit])
        metadata: dict[str, Any] = {"resourceVersion": str(version)}
        if offset + limit < len(selected):
            metadata["continue"] = f"{version}/{offset + limit}"
            metadata["remainingItemCount"] = len(selected) - offset - limit
        if "as=PartialObjectMetadataList" in request.headers.get("accept", ""):
            items = [partial(obj) for obj in page]
            api_version, kind = "meta.k8s.io/v1", "PartialObjectMetadataList"
        else:
            items = [
                {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")} for obj in page
            ]
            api_version, kind = target.api_version, f"{self._kind_of(target.resource)}List"
        body = {"apiVersion": api_version, "kind": kind, "metadata": metadata, "items": items}
        return httpx.Response(200, json=body)

    def _watch(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        target = _target(request.url.path)
        stream = WatchStream(request, bookmarks=params.get("allowWatchBookmarks") == "true")
        self.watches.append(stream)
        since = int(params.get("resourceVersion") or self._version)
        if since < self._compacted:
            stream.send({"type": "ERROR", "object": status(410, "Expired", "too old")})
            stream.end()
        else:
            for change in self._history:
                if (
                    change.version > since
                    and change.resource == target.resource
                    and _selects(request, target, change.object)
                ):
                    stream.send({"type": change.type, "object": copy.deepcopy(change.object)})
        headers = {"content-type": "application/json"}
        return httpx.Response(200, headers=headers, stream=stream)

    # Writes.

    def _create(
        self, target: Target, body: dict[str, Any], *, manager: str, dry_run: bool = False
    ) -> dict[str, Any]:
        if target.name is not None:
            raise Refused(405, "MethodNotAllowed", "POST goes to a collection")
        metadata = metadata_of(body)
        name = metadata.get("name")
        if not name and metadata.get("generateName"):
            suffix = "".join(self._random.choice(_NAME_LETTERS) for _ in range(5))
            name = f"{metadata['generateName']}{suffix}"
        if not name:
            raise Refused(422, "Invalid", "metadata.name: Required value: name or generateName")
        if target.namespace and metadata.get("namespace") not in (None, target.namespace):
            message = "the namespace of the provided object does not match the namespace sent"
            raise Refused(400, "BadRequest", f"{message} on the request")
        named = dataclasses.replace(target, name=str(name))
        if self._find(named) is not None:
            raise Refused(
                409, "AlreadyExists", f'{target.qualified} "{name}" already exists',
                name=name, kind=target.plural,
            )  # fmt: skip
        new = self._new_object(named, body)
        ownership = Ownership(None, now=self._now())
        ownership.entry(manager, "Update", "", new["apiVersion"]).fields = leaves(new)
        new["metadata"]["managedFields"] = ownership.to_wire()
        return self._store(named, None, new, dry_run=dry_run)

    def _replace(
        self, target: Target, body: dict[str, Any], manager: str, dry_run: bool
    ) -> dict[str, Any]:
        old = self._existing(target)
        name = metadata_of(body).get("name")
        if name != target.name:
            message = f"the name of the object ({name}) does not match the name on the URL"
            raise Refused(400, "BadRequest", f"{message} ({target.name})")
        self._precondition(target, old, metadata_of(body).get("resourceVersion"))
        new = self._settle(target, old, copy.deepcopy(body))
        self._take_changed(target, old, new, manager)
        return self._store(target, old, new, dry_run=dry_run)

    def _patch(
        self,
        target: Target,
        patch: Any,
        content_type: str,
        manager: str,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        old = self._existing(target)
        if content_type in (MERGE_PATCH, STRATEGIC_MERGE_PATCH):
            # Strategic merge is served as a plain merge: lists are replaced, not merged.
            if not isinstance(patch, dict):
                raise Refused(400, "BadRequest", "a merge patch must be a JSON object")
            precondition = value_at(patch, ("metadata", "resourceVersion"))
            if isinstance(precondition, str):
                self._precondition(target, old, precondition)
            candidate = merge(old, patch)
        elif content_type == JSON_PATCH:
            candidate = json_patched(old, patch)
        else:
            raise Refused(415, "UnsupportedMediaType", f"unsupported patch type {content_type!r}")
        new = self._settle(target, old, candidate)
        self._take_changed(target, old, new, manager)
        return self._store(target, old, new, dry_run=dry_run)

    def _apply(
        self,
        target: Target,
        body: dict[str, Any],
        *,
        manager: str,
        force: bool,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        metadata = metadata_of(body)
        if metadata.get("name") != target.name:
            message = f"the name of the object ({metadata.get('name')}) does not match the URL"
            raise Refused(400, "BadRequest", f"{message} ({target.name})")
        applied = copy.deepcopy(body)
        if target.subresource == "status":
            identity = {k: v for k, v in metadata.items() if k in ("name", "namespace")}
            applied = {"metadata": identity, "status": applied.get("status")}
        elif self._has_status(target):
            applied.pop("status", None)
        subresource = target.subresource or ""
        old = self._find(target)
        if old is None:
            if subresource:
                raise not_found(target)
            new = self._new_object(target, applied)
            ownership = Ownership(None, now=self._now())
            ownership.entry(manager, "Apply", "", new["apiVersion"]).fields = leaves(applied)
            new["metadata"]["managedFields"] = ownership.to_wire()
            return self._store(target, None, new, dry_run=dry_run)
        self._precondition(target, old, metadata.get("resourceVersion"))
        ownership = Ownership(old["metadata"].get("managedFields"), now=self._now())
        mine = ownership.entry(manager, "Apply", subresource, old["apiVersion"])
        paths = leaves(applied)
        conflicts = ownership.conflicts(manager, paths, old, applied)
        if conflicts and not force:
            raise apply_conflict(target, conflicts)
        for other, owned in conflicts:
            other.fields.discard(owned)
        candidate = merge(old, applied)
        dropped, mine.fields = mine.fields - paths, paths
        keep = ownership.all_fields()
        for path in sorted(dropped, key=len, reverse=True):
            if not ownership.owned_by_others(mine, path):
                remove(candidate, path, keep=keep)
        new = self._settle(target, old, candidate)
        new["metadata"]["managedFields"] = ownership.to_wire()
        return self._store(target, old, new, dry_run=dry_run)

    def _delete(self, target: Target, options: Any, *, dry_run: bool) -> dict[str, Any]:
        old = self._existing(target)
        preconditions = (options or {}).get("preconditions") if isinstance(options, dict) else None
        for name, wanted in (preconditions or {}).items():
            if wanted and old["metadata"].get(name) != wanted:
                raise conflict(target)
        metadata = old["metadata"]
        if metadata.get("finalizers"):
            if metadata.get("deletionTimestamp"):
                return copy.deepcopy(old)
            new = copy.deepcopy(old)
            new["metadata"]["deletionTimestamp"] = self._now()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            new["metadata"]["generation"] = int(metadata.get("generation") or 0) + 1
            return self._store(target, old, new, dry_run=dry_run)
        if not dry_run:
            self.delete(target.resource, target.key)
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": target.name, "group": target.group, "kind": target.plural,
                        "uid": metadata.get("uid")},
        }  # fmt: skip

    # Pieces of writes.

    def _new_object(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        new = copy.deepcopy(body)
        new.setdefault("apiVersion", target.api_version)
        new.setdefault("kind", self._kind_of(target.resource))
        if self._has_status(target):
            new.pop("status", None)
        metadata = new["metadata"]
        for name in ("resourceVersion", "managedFields", "deletionTimestamp"):
            metadata.pop(name, None)
        metadata.pop("deletionGracePeriodSeconds", None)
        metadata["name"] = target.name
        if target.namespace:
            metadata["namespace"] = target.namespace
        uid = uuid.UUID(int=self._random.getrandbits(128), version=4)
        metadata.update(uid=str(uid), creationTimestamp=self._now(), generation=1)
        return new

    def _settle(self, target: Target, old: dict[str, Any], candidate: Any) -> dict[str, Any]:
        """``candidate`` as the write may leave it: server fields and status kept from ``old``."""
        if not isinstance(candidate, dict) or not isinstance(candidate.get("metadata"), dict):
            raise Refused(422, "Invalid", "metadata: Required value: an object with metadata")
        if target.subresource == "status":
            new = copy.deepcopy(old)
            set_or_pop(new, "status", candidate.get("status", MISSING))
        else:
            new = candidate
            if self._has_status(target):
                set_or_pop(new, "status", copy.deepcopy(old.get("status", MISSING)))
        new["apiVersion"], new["kind"] = old["apiVersion"], old["kind"]
        for name in _SERVER_METADATA:
            set_or_pop(new["metadata"], name, copy.deepcopy(old["metadata"].get(name, MISSING)))
        if self._spec_of(target, old) != self._spec_of(target, new):
            new["metadata"]["generation"] = int(old["metadata"].get("generation") or 0) + 1
        return new

    def _take_changed(
        self, target: Target, old: dict[str, Any], new: dict[str, Any], manager: str
    ) -> None:
        ownership = Ownership(old["metadata"].get("managedFields"), now=self._now())
        mine = ownership.entry(manager, "Update", target.subresource or "", new["apiVersion"])
        ownership.update(mine, old, new)
        set_or_pop(new["metadata"], "managedFields", ownership.to_wire() or MISSING)

    def _store(
        self,
        target: Target,
        old: dict[str, Any] | None,
        new: dict[str, Any],
        *,
        dry_run: bool,
        skip_no_op: bool = True,
    ) -> dict[str, Any]:
        """Write ``new`` over ``old`` (None: create) with the next resourceVersion."""
        if old is not None and new == old and skip_no_op:
            return copy.deepcopy(old)  # a real server does not write a no-op
        if dry_run:
            return copy.deepcopy(new)
        self._version = next(self._versions)
        metadata = new["metadata"]
        metadata["resourceVersion"] = str(self._version)
        objects = self._objects.setdefault(target.resource, {})
        if metadata.get("deletionTimestamp") and not metadata.get("finalizers"):
            objects.pop(key_of(new), None)
            self._record(target.resource, "DELETED", new)
        else:
            objects[key_of(new)] = new
            self._record(target.resource, "MODIFIED" if old is not None else "ADDED", new)
        return copy.deepcopy(new)

    def _precondition(self, target: Target, old: dict[str, Any], version: Any) -> None:
        if version and version != old["metadata"].get("resourceVersion"):
            raise conflict(target)

    def _find(self, target: Target) -> dict[str, Any] | None:
        return self._objects.get(target.resource, {}).get(target.key)

    def _existing(self, target: Target) -> dict[str, Any]:
        found = self._find(target)
        if found is None:
            raise not_found(target)
        return found

    def _has_status(self, target: Target) -> bool:
        return any(_target(path).resource == target.resource for path in self.status_subresources)

    def _spec_of(self, target: Target, obj: dict[str, Any]) -> dict[str, Any]:
        """What ``generation`` counts: all but metadata, and status if it is a subresource."""
        outside = {"apiVersion", "kind", "metadata"}
        if self._has_status(target):
            outside.add("status")
        return {k: v for k, v in obj.items() if k not in outside}

    def _kind_of(self, resource: str) -> str:
        if resource in self.kinds:
            return self.kinds[resource]
        for obj in self._objects.get(resource, {}).values():
            return str(obj["kind"])
        return self.kind

    def _now(self) -> str:
        now = self.clock.now() if self.clock is not None else datetime.datetime.now(datetime.UTC)
        return now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _record(self, resource: str, change: str, obj: dict[str, Any]) -> None:
        self._history.append(_Change(self._version, change, resource, copy.deepcopy(obj)))
        for stream in self.open_watches():
            target = _target(stream.request.url.path)
            if target.resource == resource and _selects(stream.request, target, obj):
                stream.send({"type": change, "object": copy.deepcopy(obj)})


def _selects(request: httpx.Request, target: Target, obj: dict[str, Any]) -> bool:
    if not target.holds(obj):
        return False
    metadata = obj["metadata"]
    labels = metadata.get("labels") or {}
    selector = request.url.params.get("labelSelector")
    wanted = [term.split("=", 1) for term in selector.split(",")] if selector else []
    if not all(labels.get(name) == value for name, value in wanted):
        return False
    fields = request.url.params.get("fieldSelector")
    terms = [term.split("=", 1) for term in fields.split(",")] if fields else []
    return all(metadata.get(name.removeprefix("metadata.")) == value for name, value in terms)


def _target(path: str) -> Target:
    target = parse(path)
    if target is None:
        raise ValueError(f"{path!r} names no resource")
    return target


def _answer(code: int, body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(code, json=body)
