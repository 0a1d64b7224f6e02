"""``deploy/`` is what ``flotilla hub manifests deploy/`` writes: no hand-kept copy drifts."""

from pathlib import Path

import yaml

from flotilla.cli.hub import manifest_files
from flotilla.hub import controller_manifests

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def test_deploy_matches_the_generated_manifests() -> None:
    for name, text in manifest_files().items():
        path = DEPLOY / name
        assert path.exists(), f"{path} is missing: run `flotilla hub manifests deploy/`"
        assert path.read_text() == text, f"{path} is stale: run `flotilla hub manifests deploy/`"


def test_the_controller_writes_only_its_own_kinds_and_events() -> None:
    kinds = {m["kind"]: m for m in controller_manifests()}
    writes = {"create", "update", "patch", "delete", "deletecollection", "*"}
    for rule in kinds["ClusterRole"]["rules"]:
        if writes & set(rule["verbs"]):
            assert rule["apiGroups"] in (["flotilla.io"], ["", "events.k8s.io"]), rule
    assert kinds["Role"]["metadata"]["namespace"] == "flotilla-system"


def test_deploy_files_are_valid_yaml() -> None:
    for path in DEPLOY.rglob("*.yaml"):
        assert all(doc["kind"] for doc in yaml.safe_load_all(path.read_text()))
