"""What an ApplicationSet generates, and what must change for it: no writes here.

``generated`` evaluates the generators and renders the template once per parameter set,
as Argo CD does: a generator's own ``template`` is merged over the ApplicationSet's, the
``templatePatch`` (rendered with the same parameters) is merged over the result, and each
Application is checked as an Application before it counts. Generated Applications live in
the ApplicationSet's namespace, name it as their controlling owner, and carry Argo CD's
resources finalizer unless ``preserveResourcesOnDeletion``.

What then changes on the hub is ``ownedapps``' (shared with Fleet's GitRepos).
"""

from __future__ import annotations

import copy
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
from flotilla.gitops.overlays import merge_patch
from flotilla.gitops.ownedapps import Owner, application
from flotilla.gitops.rendering import RenderError, read_data
from flotilla.gitops.repositories import credentials_for
from flotilla.gitops.sources import GitSources, SourceError
from flotilla.gitops.templating import TemplateError, interpolator, render

MAX_APPLICATIONS = 10_000
_MAX_UPDATE = re.compile(r"^[0-9]+%?$")
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
        spec = ApplicationSetSpec.model_validate(appset.get("spec") or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise AppSetError(f"spec.{where}: {first['msg']}") from None
    rolling = spec.strategy.rolling_sync if spec.strategy else None
    for number, step in enumerate(rolling.steps if rolling else []):
        raw = step.max_update
        if isinstance(raw, str) and not _MAX_UPDATE.match(raw.strip()):
            raise AppSetError(
                f"spec.strategy.rollingSync.steps[{number}].maxUpdate: {raw[:40]!r} is neither "
                "a number nor a percentage"
            )
        if isinstance(raw, int) and raw < 0:
            raise AppSetError(f"spec.strategy.rollingSync.steps[{number}].maxUpdate: below 0")
    return spec


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
        clusters,
        go_template=spec.go_template,
        interpolate=engine,
        **({"git": git} if git is not None else {}),
    )
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
                template,
                param_sets,
                go_template=spec.go_template,
                options=spec.go_template_options,
                helper=helper,
            )
            patches = await _patches(spec, param_sets, helper)
        except TemplateError as exc:
            raise AppSetError(f"generator {number}: template: {exc}") from None
        for index, (one, params) in enumerate(zip(rendered, param_sets, strict=True)):
            patched = merge_patch(one, patches[index]) if patches else one
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
        {"patch": spec.template_patch},
        param_sets,
        go_template=spec.go_template,
        options=spec.go_template_options,
        helper=helper,
    )
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
    return application(
        Owner.of(
            {"apiVersion": ARGO_API_VERSION, "kind": "ApplicationSet", "metadata": owner_meta}
        ),
        name=name,
        spec=raw_spec,
        labels=labels,
        annotations=annotations,
        finalizers=finalizers,
    )


def _strings(raw: Any, what: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise AppSetError(f"{what} must map strings to strings")
    return dict(raw)


__all__ = [
    "AppSetError",
    "ClusterInfo",
    "Generated",
    "SourceTrees",
    "generated",
    "spec_of",
]
