"""Fleet's bundles: what a GitRepo's tree holds, which clusters get each bundle, and the
Application that deploys a bundle to one cluster. Pure (it reads a checked-out tree).

- **Bundles**: each of the GitRepo's ``paths`` (default: the root) is a bundle, and so is
  every directory under it with a ``fleet.yaml``; a bundle leaves out the bundles inside it.
  Its name is Fleet's: ``fleet.yaml``'s ``name``, else ``<gitrepo>-<path>`` (``/`` made
  ``-``; over 53 characters, cut with a hash of the whole).
- **Targets**: a cluster is chosen by the first target whose criteria (``clusterName``,
  ``clusterSelector``, ``clusterGroup``, ``clusterGroupSelector``; every one given must
  hold) it meets; a target with none chooses nothing; no targets is ``clusterGroup:
  default``. ``targetCustomizations`` are matched the same way, first match wins;
  ``doNotDeploy`` leaves the cluster out.
- **Per cluster**: ``helm`` (chart in the bundle or from a repository, ``values`` merged
  with the customization's, ``valuesFiles``, ``releaseName``), ``kustomize.dir``, plain
  manifests otherwise (recursively, ``fleet.yaml``, inner bundles and ``overlays/`` left out;
  ``yaml.overlays`` lay Fleet's overlays over them, :mod:`overlays`), into
  ``defaultNamespace`` (default ``default``), or ``namespace`` / the GitRepo's
  ``targetNamespace`` (for Kustomize bundles every object's namespace is set to it;
  Helm charts get it as their release namespace). Fleet always prunes; ``correctDrift``
  is self-heal; ``diff.comparePatches`` are ``ignoreDifferences`` (only the comparison:
  a deploy still writes what git says, as Fleet's does).
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from flotilla.api.application import MAX_LIST, ResourceIgnoreDifferences
from flotilla.api.fleet import DEFAULT_GROUP, GitRepoSpec, GitTarget
from flotilla.api.selectors import LabelSelector
from flotilla.gitops import ignoring, overlays
from flotilla.gitops.rendering import RenderError, read_data

FLEET_YAML = "fleet.yaml"
MAX_BUNDLES = 500
MAX_FLEET_YAML = 1 << 20
BUNDLE_NAME_LIMIT = 53
_NOT_IN_NAME = re.compile(r"[^-a-z0-9]+")


class FleetError(Exception):
    """A GitRepo whose tree or fleet.yaml cannot give bundles."""


@dataclass(frozen=True)
class Bundle:
    name: str
    path: str
    """In the repository, POSIX, "" for the root."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Its fleet.yaml ({} without one)."""
    inner: tuple[str, ...] = ()
    """The bundles inside it, relative to it (left out of its manifests)."""


@dataclass(frozen=True)
class Cluster:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    """A ClusterGroup of the GitRepo's namespace."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    selector: LabelSelector | None = None

    def holds(self, cluster: Cluster) -> bool:
        return self.selector is not None and self.selector.matches(cluster.labels)


@dataclass(frozen=True)
class Choice:
    """Whether the GitRepo deploys to a cluster, and why."""

    cluster: str
    target: str | None
    why: str


def bundle_name(repo_name: str, path: str, options: Mapping[str, Any]) -> str:
    named = options.get("name")
    if isinstance(named, str) and named:
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", named) or len(named) > 253:
            raise FleetError(f"{path or '.'}/{FLEET_YAML}: name {named[:80]!r} is not a valid name")
        return named
    path = path.strip("/")
    wanted = repo_name if not path else f"{repo_name}-{path.replace('/', '-')}"
    base = _NOT_IN_NAME.sub("-", wanted.lower()).strip("-")
    if base != wanted:  # changed to fit: a hash of what was asked tells such names apart
        base = f"{base[: BUNDLE_NAME_LIMIT - 9].rstrip('-')}-{_md5(wanted)[:8]}"
    if len(base) <= BUNDLE_NAME_LIMIT:
        return base
    return f"{base[: BUNDLE_NAME_LIMIT - 6].rstrip('-')}-{_md5(base)[:5]}"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def bundles_of(root: Path, paths: Sequence[str], repo_name: str) -> list[Bundle]:
    """The bundles of ``paths`` in the tree at ``root``."""
    tops = [_relative(p) for p in (paths or ["."])]
    dirs: set[str] = set()
    for top in tops:
        where = root / top if top else root
        if where.is_symlink() or not where.is_dir():
            raise FleetError(f"path {top or '.'!r} is not a directory at this commit")
        dirs.add(top)
        for current, subdirs, files in os.walk(where, followlinks=False):
            subdirs[:] = sorted(d for d in subdirs if d != ".git")
            if FLEET_YAML in files:
                dirs.add(Path(current).relative_to(root).as_posix().removeprefix("."))
            if len(dirs) > MAX_BUNDLES:
                raise FleetError(f"more than {MAX_BUNDLES} bundles")
    bundles = []
    for path in sorted(dirs):
        options = _fleet_yaml(root, path)
        inner = sorted(
            PurePosixPath(other).relative_to(path or ".").as_posix()
            for other in dirs
            if other != path and _inside(other, path)
        )
        bundles.append(Bundle(bundle_name(repo_name, path, options), path, options, tuple(inner)))
    names = [b.name for b in bundles]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise FleetError(f"two bundles are named {twice[0]!r}")
    return bundles


def _relative(path: str) -> str:
    clean = PurePosixPath(path.strip().strip("/") or ".")
    if clean.is_absolute() or ".." in clean.parts:
        raise FleetError(f"path {path[:200]!r} must stay inside the repository")
    text = clean.as_posix()
    return "" if text == "." else text


def _inside(path: str, parent: str) -> bool:
    return not parent or path.startswith(f"{parent}/")


def _fleet_yaml(root: Path, path: str) -> dict[str, Any]:
    file = root / path / FLEET_YAML if path else root / FLEET_YAML
    if not file.exists():
        return {}
    where = f"{path + '/' if path else ''}{FLEET_YAML}"
    if file.is_symlink() or not file.is_file():
        raise FleetError(f"{where} is not a regular file")
    if file.stat().st_size > MAX_FLEET_YAML:
        raise FleetError(f"{where} is larger than {MAX_FLEET_YAML >> 20} MiB")
    try:
        documents = read_data(file.read_text(), where, max_bytes=MAX_FLEET_YAML)
    except (RenderError, UnicodeDecodeError) as exc:
        raise FleetError(str(exc)) from None
    documents = [d for d in documents if d is not None]
    if not documents:
        return {}
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise FleetError(f"{where} must be one map")
    return documents[0]


# -- targets ----------------------------------------------------------------------------------


def choices(
    spec: GitRepoSpec, clusters: Sequence[Cluster], groups: Sequence[Group]
) -> list[Choice]:
    """For every registered cluster: the target that chose it (its name, or its position),
    or None and the reason none did."""
    targets = spec.targets or [GitTarget(name="default", cluster_group=DEFAULT_GROUP)]
    out = []
    for cluster in sorted(clusters, key=lambda c: c.name):
        reasons = []
        for number, target in enumerate(targets):
            label = target.name or f"targets[{number}]"
            why = mismatch(_criteria(target), cluster, groups)
            if not why:
                out.append(Choice(cluster.name, label, f"target {label} matches"))
                break
            reasons.append(f"{label}: {why}")
        else:
            out.append(Choice(cluster.name, None, "; ".join(reasons)))
    return out


def _criteria(item: GitTarget | Mapping[str, Any]) -> GitTarget:
    if isinstance(item, GitTarget):
        return item
    try:
        return GitTarget.model_validate(
            {
                k: v
                for k, v in item.items()
                if k
                in (
                    "name",
                    "clusterName",
                    "clusterSelector",
                    "clusterGroup",
                    "clusterGroupSelector",
                )
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FleetError(f"targetCustomizations: {where}: {first['msg']}") from None


def mismatch(target: GitTarget, cluster: Cluster, groups: Sequence[Group]) -> str:
    """Why ``cluster`` is not one of ``target``'s (every criterion given must hold); ""
    when it is."""
    given = False
    if target.cluster_name:
        given = True
        if target.cluster_name != cluster.name:
            return f"clusterName is {target.cluster_name}"
    if target.cluster_selector is not None:
        given = True
        why = target.cluster_selector.mismatch(cluster.labels)
        if why:
            return f"clusterSelector: {why}"
    if target.cluster_group:
        given = True
        group = next((g for g in groups if g.name == target.cluster_group), None)
        if group is None:
            return f"no ClusterGroup {target.cluster_group} in the namespace"
        if not group.holds(cluster):
            return f"not in ClusterGroup {target.cluster_group}"
    if target.cluster_group_selector is not None:
        given = True
        chosen = [g for g in groups if target.cluster_group_selector.matches(g.labels)]
        if not any(g.holds(cluster) for g in chosen):
            return "in no ClusterGroup clusterGroupSelector selects"
    return "" if given else "names no cluster, selector or group"


def customization(
    options: Mapping[str, Any], cluster: Cluster, groups: Sequence[Group]
) -> Mapping[str, Any] | None:
    """The first of fleet.yaml's ``targetCustomizations`` that matches ``cluster``."""
    entries = options.get("targetCustomizations") or []
    if not isinstance(entries, list):
        raise FleetError("targetCustomizations must be a list")
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise FleetError("every targetCustomizations entry must be a map")
        if not mismatch(_criteria(entry), cluster, groups):
            return entry
    return None


# -- per cluster --------------------------------------------------------------------------------


def application_spec(
    spec: GitRepoSpec,
    bundle: Bundle,
    *,
    root: Path,
    sha: str,
    cluster: str,
    custom: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The Application spec deploying ``bundle`` at ``sha`` to ``cluster``."""
    options = _merged(bundle.options, custom or {})
    forced = spec.target_namespace or _text(options.get("namespace"))
    namespace = forced or _text(options.get("defaultNamespace")) or "default"
    helm = options.get("helm") or {}
    kustomize = options.get("kustomize") or {}
    if not isinstance(helm, Mapping) or not isinstance(kustomize, Mapping):
        raise FleetError(f"{bundle.name}: helm and kustomize must be maps")
    source: dict[str, Any] = {"repoURL": spec.repo, "targetRevision": sha}
    chart = _text(helm.get("chart"))
    if chart and helm.get("repo"):
        version = _text(helm.get("version"))
        if not version:
            raise FleetError(f"{bundle.name}: helm.version is needed for a chart of a repository")
        source = {"repoURL": _text(helm.get("repo")), "chart": chart, "targetRevision": version}
        source["helm"] = _helm_options(bundle, helm)
    elif chart or (root / bundle.path / "Chart.yaml").is_file():
        source["path"] = _join(bundle.path, _relative(chart) if chart else "")
        source["helm"] = _helm_options(bundle, helm)
    else:
        directory = _join(bundle.path, _relative(_text(kustomize.get("dir"))))
        source["path"] = directory or "."
        if (root / directory / "kustomization.yaml").is_file() or (
            root / directory / "kustomization.yml"
        ).is_file():
            if forced:
                source["kustomize"] = {"namespace": forced}
        else:
            left_out = [FLEET_YAML, *(f"{inner}/*" for inner in bundle.inner)]
            # Fleet appends a customization's overlays to the bundle's own
            chosen = _overlays(bundle, bundle.options.get("yaml"))
            chosen += _overlays(bundle, (custom or {}).get("yaml"))
            if chosen:  # Fleet's overlays: the built-in plugin lays them over the files
                source["plugin"] = {
                    "name": overlays.PLUGIN,
                    "parameters": [
                        {"name": "overlays", "array": chosen},
                        {"name": "exclude", "string": "{" + ",".join(left_out) + "}"},
                    ],
                }
            else:  # what is under overlays/ is never deployed
                left_out.append(f"{overlays.OVERLAYS_DIR}/*")
                source["directory"] = {"recurse": True, "exclude": "{" + ",".join(left_out) + "}"}
    correct = options.get("correctDrift") or {}
    self_heal = bool(
        (isinstance(correct, Mapping) and correct.get("enabled"))
        or (spec.correct_drift and spec.correct_drift.enabled)
    )
    ignore = _compare_patches(bundle, options.get("diff"))
    return {
        "project": "default",
        "source": source,
        "destination": {"name": cluster, "namespace": namespace},
        "syncPolicy": {
            "automated": {"prune": True, "selfHeal": self_heal},
            "syncOptions": ["CreateNamespace=true"],
        },
        **({"ignoreDifferences": ignore} if ignore else {}),
    }


def _overlays(bundle: Bundle, options: Any) -> list[str]:
    """``yaml.overlays``: the overlays laid over a bundle of plain manifests."""
    if options is None:
        return []
    if not isinstance(options, Mapping):
        raise FleetError(f"{bundle.name}: yaml must be a map")
    chosen = options.get("overlays")
    if chosen is None:
        return []
    if not isinstance(chosen, list) or not all(isinstance(name, str) for name in chosen):
        raise FleetError(f"{bundle.name}: yaml.overlays must be a list of names")
    try:
        overlays.check_names(chosen)
    except overlays.OverlayError as exc:
        raise FleetError(f"{bundle.name}: yaml.overlays: {exc}") from None
    return list(chosen)


def _compare_patches(bundle: Bundle, diff: Any) -> list[dict[str, Any]]:
    """fleet.yaml's ``diff.comparePatches`` as Argo CD's ``ignoreDifferences``: the fields
    their ``remove`` operations and ``jsonPointers`` name."""
    if diff is None:
        return []
    patches = diff.get("comparePatches") if isinstance(diff, Mapping) else None
    if patches is None:
        return []
    if not isinstance(patches, list):
        raise FleetError(f"{bundle.name}: diff.comparePatches must be a list")
    out = []
    for number, patch in enumerate(patches):
        where = f"{bundle.name}: diff.comparePatches[{number}]"
        if not isinstance(patch, Mapping) or not _text(patch.get("kind")):
            raise FleetError(f"{where} needs a kind")
        pointers = [p for p in patch.get("jsonPointers") or [] if isinstance(p, str)]
        for operation in patch.get("operations") or []:
            if not isinstance(operation, Mapping) or operation.get("op") != "remove":
                raise FleetError(f"{where}: only remove operations can be compared away")
            pointers.append(_text(operation.get("path")))
        rule = {
            "group": _text(patch.get("apiVersion")).rpartition("/")[0],
            "kind": _text(patch.get("kind")),
            "name": _text(patch.get("name")),
            "namespace": _text(patch.get("namespace")),
            "jsonPointers": pointers,
        }
        try:
            ignoring.check([ResourceIgnoreDifferences.model_validate(rule)])
        except (ValidationError, ignoring.IgnoreError) as exc:
            message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise FleetError(f"{where}: {message}") from None
        out.append(rule)
    if len(out) > MAX_LIST:
        raise FleetError(f"{bundle.name}: more than {MAX_LIST} diff.comparePatches")
    return out


def _helm_options(bundle: Bundle, helm: Mapping[str, Any]) -> dict[str, Any]:
    values = helm.get("values") or {}
    if not isinstance(values, Mapping):
        raise FleetError(f"{bundle.name}: helm.values must be a map")
    files = helm.get("valuesFiles") or []
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise FleetError(f"{bundle.name}: helm.valuesFiles must be a list of paths")
    out: dict[str, Any] = {"releaseName": _text(helm.get("releaseName")) or bundle.name[:53]}
    if values:
        out["valuesObject"] = dict(values)
    if files:
        out["valueFiles"] = list(files)
    return out


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """A customization over the bundle's options: maps merged (Helm values deeply), the
    rest replaced; its criteria are not options."""
    merged = copy.deepcopy(dict(base))
    merged.pop("targetCustomizations", None)
    for key, value in over.items():
        if key in (
            "name",
            "clusterName",
            "clusterSelector",
            "clusterGroup",
            "clusterGroupSelector",
            "doNotDeploy",
        ):
            continue
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _join(base: str, rest: str) -> str:
    return "/".join(p for p in (base, rest) if p)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def depends_on(bundle: Bundle, bundles: Sequence[Bundle]) -> list[str]:
    """The bundles ``bundle`` waits for (``dependsOn`` by name or by label selector)."""
    entries = bundle.options.get("dependsOn") or []
    if not isinstance(entries, list):
        raise FleetError(f"{bundle.name}: dependsOn must be a list")
    names: list[str] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise FleetError(f"{bundle.name}: every dependsOn entry must be a map")
        if entry.get("name"):
            wanted = str(entry["name"])
            if wanted not in {b.name for b in bundles}:
                raise FleetError(f"{bundle.name}: dependsOn names {wanted!r}, no bundle here")
            names.append(wanted)
        elif entry.get("selector") is not None:
            try:
                selector = LabelSelector.model_validate(entry["selector"])
            except ValidationError:
                raise FleetError(f"{bundle.name}: dependsOn: the selector is invalid") from None
            names += [b.name for b in bundles if b is not bundle and selector.matches(_labels(b))]
    return names


def _labels(bundle: Bundle) -> dict[str, str]:
    labels = bundle.options.get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {}


# -- state ----------------------------------------------------------------------------------


def state_of(app: Mapping[str, Any] | None) -> tuple[str, str]:
    """Fleet's state of a bundle on a cluster, from its Application."""
    if app is None:
        return "WaitApplied", "not deployed yet"
    status = app.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") in ("ComparisonError", "SyncError", "InvalidSpecError"):
            return "ErrApplied", str(condition.get("message") or "")[:500]
    operation = status.get("operationState") or {}
    if operation.get("phase") in ("Failed", "Error"):
        return "ErrApplied", str(operation.get("message") or "")[:500]
    sync = status.get("sync") or {}
    revision = ((app.get("spec") or {}).get("source") or {}).get("targetRevision")
    if sync.get("status") == "OutOfSync":
        deployed = any(h.get("revision") == revision for h in status.get("history") or [])
        return ("Modified", "changed on the cluster") if deployed else ("OutOfSync", "")
    if sync.get("status") != "Synced":
        return "WaitApplied", ""
    health = (status.get("health") or {}).get("status")
    if health == "Healthy":
        return "Ready", ""
    return "NotReady", str((status.get("health") or {}).get("message") or health or "")[:500]


__all__ = [
    "FLEET_YAML",
    "Bundle",
    "Choice",
    "Cluster",
    "FleetError",
    "Group",
    "application_spec",
    "bundle_name",
    "bundles_of",
    "choices",
    "customization",
    "depends_on",
    "mismatch",
    "state_of",
]
