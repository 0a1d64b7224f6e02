"""The kustomize bases in ``deploy/`` render exactly the generated manifests.

Checked as data (a kustomization that only lists files renders those files' documents), and
with ``kubectl kustomize`` where kubectl is found (``_output/bin`` or the PATH).
"""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from flotilla.clusters.member_access import member_manifests
from flotilla.discovery.manifests import dns_manifests
from flotilla.hub import controller_manifests, hub_manifests

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
BASES = {
    DEPLOY: lambda: [*hub_manifests(), *controller_manifests()],
    DEPLOY / "member": lambda: [*member_manifests(), *dns_manifests()],
}


def _key(manifest: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = manifest["metadata"]
    return (manifest["apiVersion"], manifest["kind"], meta.get("namespace", ""), meta["name"])


def _by_key(documents: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], Any]:
    keyed = {_key(d): d for d in documents}
    assert len(keyed) == len(documents), "two documents with one name"
    return keyed


def _kubectl() -> str | None:
    local = ROOT / "_output" / "bin" / "kubectl"
    return str(local) if local.exists() else shutil.which("kubectl")


@pytest.mark.parametrize("base", list(BASES), ids=lambda p: p.name)
def test_a_base_lists_only_files_and_they_hold_the_generated_manifests(base: Path) -> None:
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    assert set(kustomization) == {"apiVersion", "kind", "resources"}, "a transformer changes output"
    documents = [
        doc
        for name in kustomization["resources"]
        for doc in yaml.safe_load_all((base / name).read_text())
    ]
    assert _by_key(documents) == _by_key(BASES[base]())


@pytest.mark.skipif(_kubectl() is None, reason="kubectl is not in _output/bin or on the PATH")
@pytest.mark.parametrize("base", list(BASES), ids=lambda p: p.name)
def test_kubectl_kustomize_renders_the_generated_manifests(base: Path) -> None:
    kubectl = _kubectl()
    assert kubectl is not None
    rendered = subprocess.run(
        [kubectl, "kustomize", str(base)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert _by_key(list(yaml.safe_load_all(rendered))) == _by_key(BASES[base]())
