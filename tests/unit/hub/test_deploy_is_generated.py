"""``deploy/`` is what ``flotilla hub manifests deploy/`` writes: no hand-kept copy drifts."""

from pathlib import Path

import yaml

from flotilla.cli.hub import manifest_files

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def test_deploy_matches_the_generated_manifests() -> None:
    for name, text in manifest_files().items():
        path = DEPLOY / name
        assert path.exists(), f"{path} is missing: run `flotilla hub manifests deploy/`"
        assert path.read_text() == text, f"{path} is stale: run `flotilla hub manifests deploy/`"


def test_deploy_files_are_valid_yaml() -> None:
    for path in DEPLOY.rglob("*.yaml"):
        assert all(doc["kind"] for doc in yaml.safe_load_all(path.read_text()))
