"""Kubeconfig documents of the local fleet: one per component, and the user's one.

The user's kubeconfig embeds its certificates (``*-data``) so it can be copied anywhere;
components' kubeconfigs point at files in the state directory.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from flotilla.devfleet.pki import ClusterPki
from flotilla.devfleet.topology import LocalCluster


def component_kubeconfig(cluster: LocalCluster, pki: ClusterPki, stem: str) -> dict[str, Any]:
    return _document(
        [
            (
                str(cluster.name),
                cluster.server,
                {"certificate-authority": str(pki.ca_cert)},
                {
                    "client-certificate": str(pki.client_cert(stem)),
                    "client-key": str(pki.client_key(stem)),
                },
            )
        ],
        current=str(cluster.name),
    )


def fleet_kubeconfig(clusters: list[tuple[LocalCluster, ClusterPki]]) -> dict[str, Any]:
    """One context per cluster, named after it (``hub`` first and current)."""
    entries = []
    for cluster, pki in clusters:
        entries.append(
            (
                str(cluster.name),
                cluster.server,
                {"certificate-authority-data": _b64(pki.ca_cert)},
                {
                    "client-certificate-data": _b64(pki.client_cert("admin")),
                    "client-key-data": _b64(pki.client_key("admin")),
                },
            )
        )
    return _document(entries, current=str(clusters[0][0].name))


def write_kubeconfig(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(yaml.safe_dump(document, sort_keys=False))
    tmp.replace(path)


def _document(
    entries: list[tuple[str, str, dict[str, Any], dict[str, Any]]], *, current: str
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": server, **tls}} for name, server, tls, _ in entries
        ],
        "users": [{"name": f"{name}-admin", "user": user} for name, _, _, user in entries],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": f"{name}-admin"}}
            for name, _, _, _ in entries
        ],
        "current-context": current,
        "preferences": {},
    }


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()
