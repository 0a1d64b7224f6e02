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
Messages are our own words with paths, rule and patch numbers and ops, never a value: who
may read a Placement's status need not be who may read the Secrets it places, and the
messages of jsonpatch and jsonpointer quote the values they compared or could not index
into, so they are never passed on.

Patches can grow a manifest fast (each ``copy`` of a document into itself doubles it), so
the size a patch would give the manifest is worked out *before* it is applied, and refused
past :data:`MAX_MANIFEST_BYTES`, the most an API server stores in one object.
"""

from __future__ import annotations

import copy
import dataclasses
import json
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

MAX_MANIFEST_BYTES = 1536 * 1024
"""The largest rendered manifest, as JSON: etcd's default request limit (1.5 MiB)."""
MAX_PATCH_OPERATIONS = 1000
"""JSON patch operations applied to one manifest, over all its rules. One operation can
cost as much as the manifest is large (a copy, a test of a subtree); this bounds the work."""


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
        except ValueError as exc:  # our own message, without the image
            raise RenderError(str(exc), subject=subject, step=step) from None
    size = _json_size(result) if rule.json_patches else 0
    for number, operation in enumerate(rule.json_patches, 1):
        step = f"JSON patch {number} ({operation.op} {operation.path})"
        patched, size = _patch(result, operation, size=size, subject=subject, step=step)
        if not isinstance(patched, dict):
            raise RenderError("the result is not an object", subject=subject, step=step)
        result = patched
    metadata = _ensure_dict(result, "metadata")
    for key, additions in (("labels", rule.labels), ("annotations", rule.annotations)):
        if additions:
            metadata[key] = {**(metadata.get(key) or {}), **additions}
    if rule.replicas is not None:
        _ensure_dict(result, "spec")["replicas"] = rule.replicas
    if _json_size(result) > MAX_MANIFEST_BYTES:
        raise RenderError(_TOO_LARGE, subject=subject, step="labels and annotations")
    return result


_TOO_LARGE = (
    f"the manifest would be larger than {MAX_MANIFEST_BYTES} bytes, the most an object may be"
)


def _json_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        raise ValueError("not JSON") from None
    return len(text.encode())


def _describe(manifest: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` (or ``Kind name``), to say which object an error is about."""
    metadata = manifest.get("metadata") or {}
    name = metadata.get("name") or "<unnamed>"
    namespace = metadata.get("namespace")
    kind = manifest.get("kind") or "<no kind>"
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _targets(affinity: ClusterAffinity, *, cluster: str, labels: Mapping[str, str]) -> bool:
    return affinity.matches(cluster, labels)


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
                raise ValueError("an image would be left without a repository")
            return dataclasses.replace(reference, repository=new)
        case "Tag":
            return dataclasses.replace(reference, tag=new)


_MISSING = object()

_INVALID_POINTER = (
    "invalid JSON pointer: it must be empty or start with /, and ~ may only be followed by 0 or 1"
)
_TEST_FAILED = "the value at the path is not equal to the tested value"
_DOES_NOT_FIT = "the operation does not fit the document at the path"


def _resolve(document: Any, pointer: jsonpointer.JsonPointer) -> Any:
    """The node at ``pointer``, or ``_MISSING`` (also for the ``-`` past a list's end)."""
    found = pointer.resolve(document, _MISSING)
    return _MISSING if isinstance(found, jsonpointer.EndOfList) else found


def _parent(pointer: jsonpointer.JsonPointer) -> jsonpointer.JsonPointer:
    return jsonpointer.JsonPointer.from_parts(pointer.parts[:-1])


def _insertion_problem(document: Any, pointer: jsonpointer.JsonPointer) -> str | None:
    """Why a value cannot be added at ``pointer`` (None: it can)."""
    if not pointer.parts:
        return None
    parent = _resolve(document, _parent(pointer))
    if isinstance(parent, dict):
        return None
    if not isinstance(parent, list):
        return "the parent of the path does not exist"
    last = pointer.parts[-1]
    if last == "-":
        return None
    if not last.isdigit() or (last != "0" and last.startswith("0")):
        return "a list index must be a number or -"
    if int(last) > len(parent):
        return "the list index is past the end of the list"
    return None


def _size_after(
    document: Any,
    operation: JsonPatchOperation,
    path: jsonpointer.JsonPointer,
    source: jsonpointer.JsonPointer | None,
    size: int,
) -> int:
    """The JSON size of ``document`` after ``operation``, worked out without applying it.

    Close enough for a cap (a key's quotes and separators are counted roughly); a
    ``move`` or ``test`` does not grow the document.
    """
    if operation.op in ("move", "test"):
        return size
    old = _resolve(document, path)
    overhead = len(path.parts[-1]) + 4 if path.parts else 0
    parent = _resolve(document, _parent(path)) if path.parts else None
    # Into a list, add and copy insert; anywhere else they replace what was there.
    replaced = old is not _MISSING and (operation.op == "replace" or not isinstance(parent, list))
    removed = _json_size(old) + overhead if replaced else 0
    if operation.op == "remove":
        return size - removed
    new = _resolve(document, source) if source is not None else operation.value
    if not path.parts:
        return _json_size(new)
    return size - removed + _json_size(new) + overhead


def _patch(
    document: dict[str, Any],
    operation: JsonPatchOperation,
    *,
    size: int,
    subject: str,
    step: str,
) -> tuple[Any, int]:
    """``document`` after one RFC 6902 operation (changed in place), and its JSON size.

    Every failure jsonpatch would report is checked here first, so that the reason is
    ours; an exception jsonpatch raises anyway is mapped by its type, never by its text.
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
    except jsonpointer.JsonPointerException:
        raise fail(_INVALID_POINTER) from None
    if operation.op in ("remove", "replace", "test") and _resolve(document, path) is _MISSING:
        raise fail("path does not exist")
    if source is not None and _resolve(document, source) is _MISSING:
        raise fail(f"from path {operation.from_} does not exist")
    if operation.op in ("add", "move", "copy") and (problem := _insertion_problem(document, path)):
        raise fail(problem)
    if (
        operation.op == "move"
        and source is not None
        and path.parts[: len(source.parts)] == source.parts
        and path.parts != source.parts
    ):
        raise fail("a value cannot be moved into itself")
    if operation.op == "remove" and not path.parts:
        raise fail("the whole document cannot be removed")
    try:
        after = _size_after(document, operation, path, source, size)
    except ValueError:
        raise fail("the value cannot be written as JSON") from None
    if after > MAX_MANIFEST_BYTES:
        raise fail(_TOO_LARGE)
    try:
        return jsonpatch.JsonPatch([wire]).apply(document, in_place=True), after
    except Exception as exc:  # whatever it is, its text may quote values
        raise fail(
            _TEST_FAILED if isinstance(exc, jsonpatch.JsonPatchTestFailed) else _DOES_NOT_FIT
        ) from None


def _ensure_dict(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        value = parent[key] = {}
    return value
