"""Turning a user's kubeconfig context into credentials Flotilla can store on the hub.

What can be stored: a client certificate and key, or a bearer token, inline or in files
(read now, stored inline). An exec plugin is run once; its credential is stored only when it
does not expire (a plugin that hands out 15-minute tokens cannot be stored, and we say so).
Auth-provider plugins are refused. Nothing here ever prints a credential.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from flotilla.kube import ConfigError, ConnectionConfig, connection_from_kubeconfig


class CredentialError(Exception):
    """The context's credentials cannot be stored; the message says why and what to do."""


def storable_connection(kubeconfig: Path, context: str | None) -> ConnectionConfig:
    """The connection of ``context`` with every credential resolved to data."""
    try:
        document = yaml.safe_load(kubeconfig.read_text())
    except OSError as exc:
        raise CredentialError(f"cannot read kubeconfig {kubeconfig}: {exc.strerror}") from exc
    except yaml.YAMLError:
        # Not chained: the parser's error quotes the offending line, which may be a secret.
        raise CredentialError(f"kubeconfig {kubeconfig} is not valid YAML") from None
    if not isinstance(document, dict):
        raise CredentialError(f"{kubeconfig} is not a kubeconfig")
    name = context or document.get("current-context")
    if not name:
        raise CredentialError(f"{kubeconfig} has no current-context; name the context to use")
    user = _user_of(document, str(name))
    if "auth-provider" in user:
        raise CredentialError(
            f"context {name!r} uses an auth-provider plugin, which Flotilla cannot store; "
            "give Flotilla a ServiceAccount token or a client certificate instead"
        )
    if "exec" in user:
        user = _run_exec(user["exec"], str(name), kubeconfig.parent)
        document = _with_user(document, str(name), user)
    try:
        return connection_from_kubeconfig(document, context=name, base_dir=kubeconfig.parent)
    except ConfigError as exc:
        raise CredentialError(str(exc)) from exc


def stored_kubeconfig(connection: ConnectionConfig, *, name: str) -> dict[str, Any]:
    """A one-context kubeconfig with every credential inline, as kept in the Secret."""
    cluster: dict[str, Any] = {"server": connection.server}
    if connection.ca_data:
        cluster["certificate-authority-data"] = _b64(connection.ca_data)
    if connection.insecure_skip_tls_verify:
        cluster["insecure-skip-tls-verify"] = True
    if connection.tls_server_name:
        cluster["tls-server-name"] = connection.tls_server_name
    user: dict[str, Any] = {}
    if connection.token:
        user["token"] = connection.token
    if connection.client_cert_data and connection.client_key_data:
        user["client-certificate-data"] = _b64(connection.client_cert_data)
        user["client-key-data"] = _b64(connection.client_key_data)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }


def _user_of(document: dict[str, Any], context: str) -> dict[str, Any]:
    for item in document.get("contexts") or []:
        if item.get("name") == context:
            user_name = (item.get("context") or {}).get("user")
            for user in document.get("users") or []:
                if user.get("name") == user_name:
                    return dict(user.get("user") or {})
            return {}
    names = ", ".join(str(c.get("name")) for c in document.get("contexts") or [])
    raise CredentialError(f"the kubeconfig has no context {context!r} (it has: {names})")


def _with_user(document: dict[str, Any], context: str, user: dict[str, Any]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(document))
    for item in copy.get("contexts") or []:
        if item.get("name") == context:
            user_name = item["context"]["user"]
            for entry in copy.get("users") or []:
                if entry.get("name") == user_name:
                    entry["user"] = user
    return copy


def _run_exec(spec: dict[str, Any], context: str, base: Path) -> dict[str, Any]:
    command = [str(spec.get("command")), *[str(arg) for arg in spec.get("args") or []]]
    env = dict(os.environ)
    env.update({str(e["name"]): str(e["value"]) for e in spec.get("env") or []})
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=30, env=env, cwd=base, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CredentialError(
            f"the exec plugin {command[0]!r} of context {context!r} could not run: "
            f"{type(exc).__name__}"
        ) from exc
    if result.returncode != 0:
        raise CredentialError(
            f"the exec plugin {command[0]!r} of context {context!r} failed "
            f"(exit {result.returncode})"
        )
    try:
        credential = json.loads(result.stdout)
    except ValueError:
        credential = None
    if not isinstance(credential, dict) or not isinstance(credential.get("status") or {}, dict):
        raise CredentialError(f"the exec plugin {command[0]!r} printed no ExecCredential")
    status = credential.get("status") or {}
    if status.get("expirationTimestamp"):
        raise CredentialError(
            f"the exec plugin of context {context!r} returns a credential that expires "
            f"({status['expirationTimestamp']}), so it cannot be stored; give Flotilla a "
            "long-lived ServiceAccount token or a client certificate instead"
        )
    user: dict[str, Any] = {}
    if status.get("token"):
        user["token"] = status["token"]
    if status.get("clientCertificateData") and status.get("clientKeyData"):
        user["client-certificate-data"] = _b64(status["clientCertificateData"].encode())
        user["client-key-data"] = _b64(status["clientKeyData"].encode())
    if not user:
        raise CredentialError(f"the exec plugin of context {context!r} returned no credential")
    return user


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
