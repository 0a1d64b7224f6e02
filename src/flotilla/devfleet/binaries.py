"""Finding the upstream binaries the fleet runs.

They are looked up one by one in, in order: ``$FLOTILLA_BIN_DIR``, ``$KUBEBUILDER_ASSETS``
(envtest's assets: etcd, kube-apiserver, kubectl) and the project's ``_output/bin``, where
``make binaries`` builds them from the Go module in ``hack/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

ALL_BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kubectl",
)
# kwok's Stage definitions, which ``make binaries`` puts beside the kwok binary.
KWOK_STAGES = "kwok-stages.yaml"
BUILD_COMMAND = "make binaries"


class MissingBinaries(Exception):
    """Some binaries the fleet needs are nowhere to be found."""

    def __init__(self, missing: list[str], searched: list[Path]) -> None:
        where = ", ".join(str(path) for path in searched) or "(no directory)"
        super().__init__(
            f"missing binaries: {', '.join(missing)} (looked in {where}); "
            f"build them with `{BUILD_COMMAND}` in the Flotilla checkout, or set "
            "FLOTILLA_BIN_DIR to a directory that has them"
        )
        self.missing = missing


def project_bin_dir() -> Path:
    """``_output/bin`` of the checkout this package runs from (an editable install)."""
    return Path(__file__).resolve().parents[3] / "_output" / "bin"


def search_path(environ: Mapping[str, str] | None = None) -> list[Path]:
    env = os.environ if environ is None else environ
    dirs = [Path(env[var]) for var in ("FLOTILLA_BIN_DIR", "KUBEBUILDER_ASSETS") if env.get(var)]
    dirs.append(project_bin_dir())
    return dirs


def find_tool(name: str) -> Path:
    """A program Flotilla runs (kubectl, helm): its build in the search path, else the one
    on PATH, else the bare name (the error comes when it is run)."""
    for directory in search_path():
        if (directory / name).is_file():
            return directory / name
    found = shutil.which(name)
    return Path(found) if found else Path(name)


def find_binaries(names: Iterable[str], *, search: list[Path] | None = None) -> dict[str, Path]:
    """Absolute paths of ``names``; raises MissingBinaries naming every one not found."""
    dirs = search_path() if search is None else search
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in names:
        for directory in dirs:
            candidate = directory / name
            runnable = name.endswith(".yaml") or os.access(candidate, os.X_OK)
            if candidate.is_file() and runnable:
                found[name] = candidate.resolve()
                break
        else:
            missing.append(name)
    if missing:
        raise MissingBinaries(missing, dirs)
    return found
