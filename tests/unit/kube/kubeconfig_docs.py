"""Kubeconfig documents for config tests: one cluster, one user, one context."""

from __future__ import annotations

from typing import Any

SERVER = "https://api.test:6443"
TOKEN = "s3cret-canary-token"


def kubeconfig(user: dict[str, Any] | None = None, **cluster: Any) -> dict[str, Any]:
    return {
        "clusters": [{"name": "c", "cluster": {"server": SERVER, **cluster}}],
        "users": [{"name": "u", "user": user if user is not None else {"token": TOKEN}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }
