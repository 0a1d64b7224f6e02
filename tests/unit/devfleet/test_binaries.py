import stat
from pathlib import Path

import pytest

from flotilla.devfleet.binaries import MissingBinaries, find_binaries, search_path


def _exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_missing_binaries_are_named_with_the_command_that_builds_them(tmp_path: Path) -> None:
    _exe(tmp_path / "etcd")
    with pytest.raises(MissingBinaries) as caught:
        find_binaries(["etcd", "kube-apiserver", "kwok"], search=[tmp_path])
    assert caught.value.missing == ["kube-apiserver", "kwok"]
    assert "make binaries" in str(caught.value)
    assert str(tmp_path) in str(caught.value)


def test_each_binary_is_taken_from_the_first_directory_that_has_it(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    _exe(first / "etcd")
    _exe(second / "etcd")
    _exe(second / "kwok")
    found = find_binaries(["etcd", "kwok"], search=[first, second])
    assert found == {"etcd": first / "etcd", "kwok": second / "kwok"}


def test_a_file_that_is_not_executable_does_not_count(tmp_path: Path) -> None:
    (tmp_path / "etcd").write_text("")
    with pytest.raises(MissingBinaries):
        find_binaries(["etcd"], search=[tmp_path])


def test_envtest_assets_are_searched_before_the_project_build() -> None:
    dirs = search_path({"KUBEBUILDER_ASSETS": "/assets", "FLOTILLA_BIN_DIR": "/mine"})
    assert dirs[:2] == [Path("/mine"), Path("/assets")]
    assert dirs[2].parts[-2:] == ("_output", "bin")
