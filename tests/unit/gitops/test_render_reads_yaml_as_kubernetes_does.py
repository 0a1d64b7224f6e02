"""Manifests are read the way Kubernetes reads YAML (as JSON): an unquoted date is a
string, and a value JSON cannot hold is a render error naming the file, never a crash."""

from __future__ import annotations

import json

import pytest

from flotilla.gitops.rendering import RenderError, _Budget, _load_yaml


def test_an_unquoted_date_is_a_string() -> None:
    (document,) = _load_yaml("data:\n  day: 2024-01-01\n  at: 2024-01-01T10:00:00Z\n", "a.yaml")
    assert document == {"data": {"day": "2024-01-01", "at": "2024-01-01T10:00:00Z"}}
    json.dumps(document)


@pytest.mark.parametrize(
    "text", ["v: !!binary aGVsbG8=\n", "v: !!set {a, b}\n", "v: !!timestamp 2024-01-01\n"]
)
def test_a_value_json_cannot_hold_is_refused(text: str) -> None:
    documents = _load_yaml(text, "k8s/a.yaml")
    with pytest.raises(RenderError, match=r"k8s/a\.yaml: a .* value, which JSON cannot hold"):
        _Budget(1 << 20).spend(documents, "k8s/a.yaml", tool="directory")


def test_numbers_and_booleans_as_keys_become_strings_as_in_kubernetes() -> None:
    documents = _load_yaml("data:\n  80: http\n  on: yes\n  name: x\n  ~: n\n", "a.yaml")
    _Budget(1 << 20).spend(documents, "a.yaml", tool="directory")
    assert documents[0] == {"data": {"80": "http", "true": True, "name": "x", "null": "n"}}
    json.dumps(documents[0], sort_keys=True)  # mixed key types would raise here
