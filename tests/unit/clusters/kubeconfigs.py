"""Kubeconfig files and exec plugins written into a test's ``tmp_path``."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import yaml

SERVER = "https://member.test:6443"
TOKEN = "s3cret-token-never-shown"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write_kubeconfig(
    directory: Path, users: dict[str, dict[str, Any]], *, current: str | None = None, **cluster: Any
) -> Path:
    """One cluster, and one context per user, named as the user."""
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "member", "cluster": {"server": SERVER, **cluster}}],
        "users": [{"name": name, "user": user} for name, user in users.items()],
        "contexts": [
            {"name": name, "context": {"cluster": "member", "user": name}} for name in users
        ],
    }
    if current is not None:
        document["current-context"] = current
    path = directory / "kubeconfig"
    path.write_text(yaml.safe_dump(document))
    return path


def write_plugin(
    directory: Path, *, status: dict[str, Any] | None = None, script: str = ""
) -> Path:
    """An executable that prints an ExecCredential with ``status``, or runs ``script``."""
    if not script:
        credential = {
            "apiVersion": "client.authentication.k8s.io/v1",
            "kind": "ExecCredential",
            "status": status or {},
        }
        script = f"cat <<'JSON'\n{json.dumps(credential)}\nJSON\n"
    path = directory / "plugin.sh"
    path.write_text(f"#!/bin/sh\n{script}")
    path.chmod(0o755)
    return path


def exec_user(command: Path | str, **extra: Any) -> dict[str, Any]:
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": str(command),
            "interactiveMode": "Never",
            **extra,
        }
    }
