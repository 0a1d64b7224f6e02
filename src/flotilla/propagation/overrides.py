"""Override rules: which rendered manifests a rule is for, and how it changes them.

A rule changes a manifest in a fixed order, whatever order its fields were written in:
image overrides, then JSON patches (so a patch sees the rewritten images), then labels and
annotations added to ``metadata``, then the replica pin (last, so it is what the member gets).

Images are parsed as Docker references are: the first path component is a registry only if
it contains ``.`` or ``:`` or is ``localhost``; the tag follows the last ``:`` after the last
``/``; a digest (``@sha256:...``) is always kept. Nothing is normalised: ``nginx`` has no
registry (not ``docker.io``) and its repository is ``nginx`` (not ``library/nginx``), so a
mirror of Docker Hub that needs ``library/`` needs a Repository override as well.
``replace`` sets the part whether or not the image had one, ``addIfAbsent`` only where it
had none, ``remove`` clears it (a repository cannot be removed). Tag operations keep a
digest, and the runtime pulls by the digest when there is one.

Every failure is a :class:`RenderError` whose message says which rule, which step and which
object, and why; the controller shows it as a condition, so it is written for the user.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

import jsonpatch
import jsonpointer

from flotilla.api.placement import (
    ClusterAffinity,
    ImageOverride,
    JsonPatchOperation,
    OverrideRule,
    ResourceSelector,
)


class RenderError(Exception):
    """A template could not be rendered for a cluster.

    ``rule`` is the 1-based position of the failing rule in the rules given to
    :func:`flotilla.propagation.render.render` (inline rules of the Placement, then those of
    its namespace's Overrides), or None when no rule was involved.
    """

    def __init__(self, reason: str, *, subject: str, step: str, rule: int | None = None) -> None:
        self.reason = reason
        self.subject = subject
        self.step = step
        self.rule = rule
        where = ", ".join(
            part for part in (f"override rule {rule}" if rule is not None else "", step) if part
        )
        super().__init__(f"{where} on {subject}: {reason}")

    def in_rule(self, rule: int) -> RenderError:
        """The same error, saying which rule it came from."""
        return RenderError(self.reason, subject=self.subject, step=self.step, rule=rule)


@dataclasses.dataclass(frozen=True)
class ImageReference:
    """A container image reference, split as Docker splits it."""

    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    @classmethod
    def parse(cls, image: str) -> ImageReference:
        name, _, digest = image.partition("@")
        registry = ""
        first, slash, rest = name.partition("/")
        if slash and ("." in first or ":" in first or first == "localhost"):
            registry, name = first, rest
        tag = ""
        colon = name.rfind(":")
        if colon > name.rfind("/"):
            name, tag = name[:colon], name[colon + 1 :]
        return cls(registry=registry, repository=name, tag=tag, digest=digest)

    def __str__(self) -> str:
        image = f"{self.registry}/{self.repository}" if self.registry else self.repository
        if self.tag:
            image += f":{self.tag}"
        if self.digest:
            image += f"@{self.digest}"
        return image


def rule_applies(
    rule: OverrideRule,
    *,
    cluster: str,
    cluster_labels: Mapping[str, str],
    template: Mapping[str, Any],
) -> bool:
    """Whether ``rule`` is for ``template`` rendered for ``cluster``.

    Target clusters: names, labels and exclusions must all allow the cluster (an unset part
    allows any). Resource selectors: any one must match the hub template (none: all).
    """
    if rule.target_clusters is not None and not _targets(
        rule.target_clusters, cluster=cluster, labels=cluster_labels
    ):
        return False
    return not rule.resource_selectors or any(
        _selects(selector, template) for selector in rule.resource_selectors
    )


def _selects(selector: ResourceSelector, template: Mapping[str, Any]) -> bool:
    """Whether ``selector`` matches ``template`` by apiVersion, kind, and name or labels."""
    if template.get("apiVersion") != selector.api_version or template.get("kind") != selector.kind:
        return False
    metadata = template.get("metadata") or {}
    if selector.name and metadata.get("name") != selector.name:
        return False
    return selector.label_selector is None or selector.label_selector.matches(
        metadata.get("labels") or {}
    )


def apply_rule(manifest: Mapping[str, Any], rule: OverrideRule) -> dict[str, Any]:
    """``manifest`` changed by ``rule`` (a new dict; ``manifest`` is left as it was).

    Raises RenderError (without ``rule`` set) when an image override or a patch fails.
    """
    result: dict[str, Any] = copy.deepcopy(dict(manifest))
    subject = _describe(result)
    for number, override in enumerate(rule.image_overrides, 1):
        step = f"image override {number} ({override.component} {override.operator})"
        try:
            _override_images(result, override)
        except ValueError as exc:
            raise RenderError(str(exc), subject=subject, step=step) from None
    for number, operation in enumerate(rule.json_patches, 1):
        step = f"JSON patch {number} ({operation.op} {operation.path})"
        patched = _patch(result, operation, subject=subject, step=step)
        if not isinstance(patched, dict):
            raise RenderError("the result is not an object", subject=subject, step=step)
        result = patched
    metadata = _ensure_dict(result, "metadata")
    for key, additions in (("labels", rule.labels), ("annotations", rule.annotations)):
        if additions:
            metadata[key] = {**(metadata.get(key) or {}), **additions}
    if rule.replicas is not None:
        _ensure_dict(result, "spec")["replicas"] = rule.replicas
    return result


def _describe(manifest: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` (or ``Kind name``), to say which object an error is about."""
    metadata = manifest.get("metadata") or {}
    name = metadata.get("name") or "<unnamed>"
    namespace = metadata.get("namespace")
    kind = manifest.get("kind") or "<no kind>"
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _targets(affinity: ClusterAffinity, *, cluster: str, labels: Mapping[str, str]) -> bool:
    if affinity.cluster_names and cluster not in affinity.cluster_names:
        return False
    if affinity.label_selector is not None and not affinity.label_selector.matches(labels):
        return False
    return cluster not in affinity.exclude_clusters


def _pod_specs(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod specs of a Pod, of a workload's pod template, or of a CronJob's job template."""
    spec = manifest.get("spec")
    if not isinstance(spec, dict):
        return []
    if manifest.get("apiVersion") == "v1" and manifest.get("kind") == "Pod":
        return [spec]
    found = []
    for path in (("template", "spec"), ("jobTemplate", "spec", "template", "spec")):
        node: Any = spec
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            found.append(node)
    return found


def _override_images(manifest: dict[str, Any], override: ImageOverride) -> None:
    for pod_spec in _pod_specs(manifest):
        for key in ("initContainers", "containers"):
            for container in pod_spec.get(key) or []:
                image = container.get("image") if isinstance(container, dict) else None
                if isinstance(image, str) and image:
                    container["image"] = str(_override_image(ImageReference.parse(image), override))


def _override_image(reference: ImageReference, override: ImageOverride) -> ImageReference:
    value = override.value.strip("/") if override.component != "Tag" else override.value
    match override.component:
        case "Registry":
            current = reference.registry
        case "Repository":
            current = reference.repository
        case "Tag":
            current = reference.tag
    match override.operator:
        case "replace":
            new = value
        case "addIfAbsent":
            new = current or value
        case "remove":
            new = ""
    match override.component:
        case "Registry":
            return dataclasses.replace(reference, registry=new)
        case "Repository":
            if not new:
                raise ValueError(f"image {reference} would be left without a repository")
            return dataclasses.replace(reference, repository=new)
        case "Tag":
            return dataclasses.replace(reference, tag=new)


_MISSING = object()


def _exists(document: Any, pointer: jsonpointer.JsonPointer) -> bool:
    found = pointer.resolve(document, _MISSING)
    return found is not _MISSING and not isinstance(found, jsonpointer.EndOfList)


def _is_container(document: Any, pointer: jsonpointer.JsonPointer) -> bool:
    return isinstance(pointer.resolve(document, _MISSING), dict | list)


def _parent(pointer: jsonpointer.JsonPointer) -> jsonpointer.JsonPointer:
    return jsonpointer.JsonPointer.from_parts(pointer.parts[:-1])


def _patch(
    document: dict[str, Any], operation: JsonPatchOperation, *, subject: str, step: str
) -> Any:
    """``document`` after one RFC 6902 operation (changed in place).

    Missing paths are checked here rather than left to jsonpatch, whose messages for them
    vary by operation and version ("can't replace a non-existent object 'foo'",
    "member 'foo' not found").
    """

    def fail(reason: str) -> RenderError:
        return RenderError(reason, subject=subject, step=step)

    wire: dict[str, Any] = {"op": operation.op, "path": operation.path}
    if operation.op in ("add", "replace", "test"):
        wire["value"] = operation.value
    try:
        path = jsonpointer.JsonPointer(operation.path)
        source = None
        if operation.op in ("move", "copy"):
            if operation.from_ is None:
                raise fail("a move or copy needs a from path")
            wire["from"] = operation.from_
            source = jsonpointer.JsonPointer(operation.from_)
    except jsonpointer.JsonPointerException as exc:
        raise fail(f"invalid JSON pointer: {exc}") from None
    if operation.op in ("remove", "replace", "test") and not _exists(document, path):
        raise fail("path does not exist")
    if source is not None and not _exists(document, source):
        raise fail(f"from path {operation.from_} does not exist")
    if (
        operation.op in ("add", "move", "copy")
        and path.parts
        and not _is_container(document, _parent(path))
    ):
        raise fail("the parent of the path does not exist")
    try:
        return jsonpatch.JsonPatch([wire]).apply(document, in_place=True)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise fail(str(exc)) from None


def _ensure_dict(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        value = parent[key] = {}
    return value
