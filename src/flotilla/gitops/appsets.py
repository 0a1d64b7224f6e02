"""What an ApplicationSet generates, and what must change for it: no writes here.

``generated`` evaluates the generators and renders the template once per parameter set,
as Argo CD does: a generator's own ``template`` is merged over the ApplicationSet's, the
``templatePatch`` (rendered with the same parameters) is merged over the result, and each
Application is checked as an Application before it counts. Generated Applications live in
the ApplicationSet's namespace, name it as their controlling owner, and carry Argo CD's
resources finalizer unless ``preserveResourcesOnDeletion``.

``plan`` compares them with the Applications that exist: which to create, which to update
(only what the ApplicationSet writes is compared: spec, its labels and annotations), and
which it owns but no longer generates, as ``syncPolicy.applicationsSync`` allows. An
Application of the same name it does not own is never touched. Any error while generating
means nothing is deleted: an Application that could not be rendered may be one that
exists.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flotilla.api.application import (
    ARGO_API_VERSION,
    CASCADE_FINALIZERS,
    RESOURCES_FINALIZER,
    ApplicationSpec,
)
from flotilla.api.applicationset import ApplicationSetSpec
from flotilla.gitops.generators import (
    ClusterInfo,
    Context,
    GeneratorError,
    GitTrees,
    Params,
    generate,
)
from flotilla.gitops.rendering import RenderError, read_data
from flotilla.gitops.repositories import credentials_for
from flotilla.gitops.sources import GitSources, SourceError
from flotilla.gitops.templating import TemplateError, interpolator, render

DIGEST_ANNOTATION = "flotilla.io/applicationset-digest"
"""On a generated Application: the digest of what its ApplicationSet last wrote."""
PRESERVED_ANNOTATIONS = (
    "argocd.argoproj.io/refresh",
    "notified.notifications.argoproj.io",
    "flotilla.io/prune-confirmed-at",
)
"""Annotations others set on generated Applications that an update keeps (Argo CD's, and
the deletion guard's confirmation)."""
MAX_APPLICATIONS = 10_000
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class AppSetError(Exception):
    """An ApplicationSet whose generators or template cannot give Applications."""


@dataclass
class Generated:
    """The outcome of generating: the Applications, and what went wrong on the way."""

    applications: list[dict[str, Any]] = field(default_factory=list)
    params: list[Params] = field(default_factory=list)
    """The parameter set of each Application, in order."""
    errors: list[str] = field(default_factory=list)


@dataclass
class Plan:
    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    delete: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    """Names generated but taken by an Application this ApplicationSet does not own."""
    skipped: list[str] = field(default_factory=list)
    """What ``applicationsSync`` does not allow (``update: web`` / ``delete: api``)."""


class SourceTrees:
    """Git trees through ``GitSources``: each revision resolved at most once per
    ``max_age`` seconds, with the repository credentials among ``secrets``."""

    def __init__(
        self, sources: GitSources, secrets: Sequence[dict[str, Any]], max_age: float
    ) -> None:
        self._sources = sources
        self._secrets = list(secrets)
        self._max_age = max_age

    async def tree(self, repo_url: str, revision: str) -> Path:
        try:
            credentials = credentials_for(repo_url, self._secrets)
            resolved = await self._sources.resolve(
                repo_url, revision, credentials, max_age=self._max_age
            )
            return await self._sources.checkout(repo_url, resolved.sha, "")
        except SourceError as exc:
            raise GeneratorError(f"git: {exc}") from None


def spec_of(appset: Mapping[str, Any]) -> ApplicationSetSpec:
    try:
        return ApplicationSetSpec.model_validate(appset.get("spec") or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise AppSetError(f"spec.{where}: {first['msg']}") from None


async def generated(
    appset: Mapping[str, Any],
    *,
    clusters: Sequence[ClusterInfo],
    git: GitTrees | None = None,
    helper: Path | None = None,
) -> Generated:
    """The Applications ``appset`` generates now. Raises AppSetError when a generator
    fails (then nothing is known); a template that fails for one parameter set is an error
    in the result, and the others still count."""
    spec = spec_of(appset)
    meta = appset.get("metadata") or {}
    engine = interpolator(
        go_template=spec.go_template, options=spec.go_template_options, helper=helper
    )
    context = Context(
        clusters, go_template=spec.go_template, interpolate=engine,
        **({"git": git} if git is not None else {}),
    )  # fmt: skip
    base = spec.template.model_dump(by_alias=True, exclude_none=True)
    out = Generated()
    for number, generator in enumerate(spec.generators, start=1):
        try:
            param_sets = await generate(generator, context)
        except GeneratorError as exc:
            raise AppSetError(f"generator {number}: {exc}") from None
        template = _merged(base, generator.get("template") or {})
        try:
            rendered = await render(
                template, param_sets, go_template=spec.go_template,
                options=spec.go_template_options, helper=helper,
            )  # fmt: skip
            patches = await _patches(spec, param_sets, helper)
        except TemplateError as exc:
            raise AppSetError(f"generator {number}: template: {exc}") from None
        for index, (one, params) in enumerate(zip(rendered, param_sets, strict=True)):
            patched = _merge_patch(one, patches[index]) if patches else one
            try:
                out.applications.append(_application(patched, meta, spec))
                out.params.append(params)
            except AppSetError as exc:
                out.errors.append(f"generator {number}, parameter set {index + 1}: {exc}")
        if len(out.applications) > MAX_APPLICATIONS:
            raise AppSetError(f"more than {MAX_APPLICATIONS} Applications")
    names = [app["metadata"]["name"] for app in out.applications]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise AppSetError(
            f"two parameter sets give the Application name {duplicates[0]!r}: names must be "
            "unique (use a parameter that tells them apart)"
        )
    return out


async def _patches(
    spec: ApplicationSetSpec, param_sets: Sequence[Params], helper: Path | None
) -> list[dict[str, Any]]:
    if not spec.template_patch:
        return []
    texts = await render(
        {"patch": spec.template_patch}, param_sets, go_template=spec.go_template,
        options=spec.go_template_options, helper=helper,
    )  # fmt: skip
    patches = []
    for number, text in enumerate(texts, start=1):
        try:
            documents = read_data(str(text["patch"]), "templatePatch", max_bytes=1 << 20)
        except RenderError as exc:
            raise TemplateError(f"parameter set {number}: {exc}") from None
        if len(documents) != 1 or not isinstance(documents[0], dict):
            raise TemplateError(f"parameter set {number}: templatePatch must give one map")
        patches.append(documents[0])
    return patches


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """A generator's template over the ApplicationSet's: maps merged, the rest replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        elif value not in (None, "", [], {}):
            merged[key] = copy.deepcopy(value)
    return merged


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merged, null removes, anything else replaces (an Application's
    lists have no merge keys, so a strategic merge is this too)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge_patch(merged.get(key), value)
    return merged


def _application(
    rendered: Mapping[str, Any], owner_meta: Mapping[str, Any], spec: ApplicationSetSpec
) -> dict[str, Any]:
    meta = rendered.get("metadata") or {}
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise AppSetError("the template gives no metadata.name")
    if len(name) > 253 or not _NAME.match(name):
        raise AppSetError(f"{name[:80]!r} is not a valid Application name (a DNS subdomain)")
    namespace = str(owner_meta.get("namespace") or "")
    if meta.get("namespace") not in (None, "", namespace):
        raise AppSetError(
            f"{name}: Applications are generated in the ApplicationSet's namespace "
            f"({namespace}), not {str(meta['namespace'])[:80]!r}"
        )
    raw_spec = rendered.get("spec") or {}
    try:
        ApplicationSpec.model_validate(raw_spec)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise AppSetError(f"{name}: spec.{where}: {first['msg']}") from None
    labels = _strings(meta.get("labels"), f"{name}: metadata.labels")
    annotations = _strings(meta.get("annotations"), f"{name}: metadata.annotations")
    finalizers = [str(f) for f in meta.get("finalizers") or []]
    policy = spec.sync_policy
    if not (policy and policy.preserve_resources_on_deletion) and not (
        set(finalizers) & CASCADE_FINALIZERS
    ):
        finalizers = [*finalizers, RESOURCES_FINALIZER]
    app: dict[str, Any] = {
        "apiVersion": ARGO_API_VERSION,
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": namespace,
            **({"labels": labels} if labels else {}),
            "annotations": annotations,
            **({"finalizers": finalizers} if finalizers else {}),
            "ownerReferences": [
                {
                    "apiVersion": ARGO_API_VERSION,
                    "kind": "ApplicationSet",
                    "name": str(owner_meta.get("name") or ""),
                    "uid": str(owner_meta.get("uid") or ""),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": copy.deepcopy(raw_spec),  # as written: the API server fills in defaults
    }
    app["metadata"]["annotations"] = {**annotations, DIGEST_ANNOTATION: digest(app)}
    return app


def _strings(raw: Any, what: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise AppSetError(f"{what} must map strings to strings")
    return dict(raw)


def digest(app: Mapping[str, Any]) -> str:
    """Of what the ApplicationSet writes on an Application (its digest annotation aside)."""
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
    """Whether ``app`` names the ApplicationSet of ``uid`` as its controlling owner."""
    refs = (app.get("metadata") or {}).get("ownerReferences") or []
    return any(
        ref.get("kind") == "ApplicationSet" and ref.get("uid") == uid and ref.get("controller")
        for ref in refs
    )


def plan(
    wanted: Sequence[dict[str, Any]],
    existing: Mapping[str, dict[str, Any]],
    *,
    uid: str,
    policy: str,
    deletes_allowed: bool,
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
        elif not _changed(app, live):
            out.unchanged.append(name)
        elif may_update:
            out.update.append(_with_preserved(app, live))
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


def _changed(app: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """Whether ``live`` differs from what the ApplicationSet would write: its digest
    annotation (what it wrote last) or what it writes now (an edit by hand)."""
    meta, live_meta = app["metadata"], live.get("metadata") or {}
    if (live_meta.get("annotations") or {}).get(DIGEST_ANNOTATION) != meta["annotations"][
        DIGEST_ANNOTATION
    ]:
        return True
    for part in ("labels", "annotations"):
        have = live_meta.get(part) or {}
        if any(have.get(k) != v for k, v in (meta.get(part) or {}).items()):
            return True
    if not set(meta.get("finalizers") or []) <= set(live_meta.get("finalizers") or []):
        return True
    try:
        live_spec = ApplicationSpec.model_validate(live.get("spec") or {}).to_wire()
    except ValidationError:
        return True
    return bool(live_spec != ApplicationSpec.model_validate(app["spec"]).to_wire())


def _with_preserved(app: dict[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """``app`` with the annotations others set that an update keeps."""
    have = (live.get("metadata") or {}).get("annotations") or {}
    kept = {k: have[k] for k in PRESERVED_ANNOTATIONS if k in have}
    if not kept:
        return app
    out = copy.deepcopy(app)
    out["metadata"]["annotations"] = {**kept, **out["metadata"]["annotations"]}
    return out


__all__ = [
    "DIGEST_ANNOTATION",
    "AppSetError",
    "ClusterInfo",
    "Generated",
    "Plan",
    "SourceTrees",
    "digest",
    "generated",
    "owned_by",
    "plan",
    "spec_of",
]
