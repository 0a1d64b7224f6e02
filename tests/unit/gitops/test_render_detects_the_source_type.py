"""The source type: an explicit spec wins, else Chart.yaml, else a kustomization, else plain."""

from __future__ import annotations

from pathlib import Path

import pytest

from flotilla.gitops.rendering import Directory, Helm, Kustomize, RenderError, detect


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ((), "directory"),
        (("a.yaml",), "directory"),
        (("kustomization.yaml",), "kustomize"),
        (("kustomization.yml",), "kustomize"),
        (("Kustomization",), "kustomize"),
        (("Chart.yaml", "kustomization.yaml"), "helm"),
    ],
)
def test_files_decide_without_a_spec(tmp_path: Path, files: tuple[str, ...], expected: str) -> None:
    for name in files:
        (tmp_path / name).write_text("")
    assert detect(tmp_path, directory=None, kustomize=None, helm=None) == expected


def test_an_explicit_spec_wins_over_the_files(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").write_text("")
    assert detect(tmp_path, directory=Directory(), kustomize=None, helm=None) == "directory"
    assert detect(tmp_path, directory=None, kustomize=Kustomize(), helm=None) == "kustomize"
    (tmp_path / "Chart.yaml").unlink()
    assert detect(tmp_path, directory=None, kustomize=None, helm=Helm()) == "helm"


def test_two_specs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="only one of directory, kustomize and helm"):
        detect(tmp_path, directory=Directory(), kustomize=None, helm=Helm())
