"""Request bodies: decoding them, and the two patch forms that are pure functions."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import jsonpatch
import jsonpointer
import yaml

from tests.unit.fakeapi.fields import MISSING
from tests.unit.fakeapi.refusals import Refused

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: maps merge, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge(merged.get(key), value)
    return merged


def json_patched(old: dict[str, Any], patch: Any) -> Any:
    if not isinstance(patch, list):
        raise Refused(400, "BadRequest", "a JSON patch must be a list of operations")
    try:
        return jsonpatch.apply_patch(old, patch)
    except jsonpatch.InvalidJsonPatch as exc:
        raise Refused(400, "BadRequest", f"invalid JSON patch: {exc}") from exc
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        message = f"the server rejected our request due to an error in our request: {exc}"
        raise Refused(422, "Invalid", message) from exc


def partial(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "meta.k8s.io/v1",
        "kind": "PartialObjectMetadata",
        "metadata": obj["metadata"],
    }


def set_or_pop(mapping: dict[str, Any], key: str, value: Any) -> None:
    if value is MISSING:
        mapping.pop(key, None)
    else:
        mapping[key] = value


def decoded_body(request: httpx.Request) -> Any:
    if not request.content:
        return None
    try:
        if request.headers.get("content-type", "").startswith(APPLY_PATCH):
            return yaml.safe_load(request.content)
        return json.loads(request.content)
    except ValueError as exc:
        raise Refused(400, "BadRequest", f"the body is not JSON: {exc}") from exc


def object_body(request: httpx.Request) -> dict[str, Any]:
    body = decoded_body(request)
    if not isinstance(body, dict):
        raise Refused(400, "BadRequest", "the body must be an object")
    return body


def metadata_of(body: dict[str, Any]) -> dict[str, Any]:
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        raise Refused(422, "Invalid", "metadata: Required value")
    return metadata
