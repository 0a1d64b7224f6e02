"""Connection settings for one API server, read from a kubeconfig.

A ``ConnectionConfig`` is explicit and self-contained: the client gets everything it needs
from it and nothing from the environment. Credentials are kept out of ``repr`` so a config
can be logged or shown in an error without leaking them.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flotilla.kube.errors import ConfigError


@dataclass(frozen=True)
class ConnectionConfig:
    """Where an API server is and how to authenticate to it."""

    server: str
    ca_data: bytes | None = field(default=None, repr=False)
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    client_cert_data: bytes | None = field(default=None, repr=False)
    client_key_data: bytes | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    def ssl_context(self) -> ssl.SSLContext | bool:
        """The TLS settings for this server, or False for plain http.

        Unusable TLS data is a ``ConfigError`` that names the field, never the data.
        """
        if self.server.startswith("http://"):
            return False
        cadata = None if self.insecure_skip_tls_verify or not self.ca_data else self.ca_data
        try:
            context = ssl.create_default_context(cadata=cadata.decode() if cadata else None)
        except (ssl.SSLError, ValueError):  # not chained: the error may quote the data
            raise ConfigError("certificate-authority-data is not a PEM certificate") from None
        if self.insecure_skip_tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.client_cert_data and self.client_key_data:
            _load_client_cert(context, self.client_cert_data, self.client_key_data)
        return context


def _load_client_cert(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    # The ssl module loads certificates only from files: write them to a private temporary
    # directory for the duration of the call.
    try:
        _load_cert_files(context, cert, key)
    except OSError as exc:
        raise ConfigError(f"cannot stage the client certificate: {exc.strerror}") from None


def _load_cert_files(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="flotilla-tls-") as tmp:
        cert_path, key_path = Path(tmp, "tls.crt"), Path(tmp, "tls.key")
        for path, data in ((cert_path, cert), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        try:
            context.load_cert_chain(cert_path, key_path)
        except ssl.SSLError as exc:
            raise ConfigError("the client certificate and key do not form a valid pair") from exc


def load_kubeconfig(path: Path, *, context: str | None = None) -> ConnectionConfig:
    """Read ``path`` and return the settings of ``context`` (default: current-context)."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read kubeconfig {path}: {exc.strerror}") from exc
    except yaml.YAMLError:
        # Not chained: the parser's error quotes the offending line, which may be a secret.
        raise ConfigError(f"kubeconfig {path} is not valid YAML") from None
    if not isinstance(document, dict):
        raise ConfigError(f"kubeconfig {path} is not a kubeconfig (no mapping at the top)")
    return connection_from_kubeconfig(document, context=context, base_dir=path.parent)


def connection_from_kubeconfig(
    document: dict[str, Any],
    *,
    context: str | None = None,
    base_dir: Path | None = None,
    allow_files: bool = True,
) -> ConnectionConfig:
    """Resolve one context of a parsed kubeconfig into a ConnectionConfig.

    ``allow_files=False`` is for kubeconfigs that come from elsewhere (a Secret on the
    hub): they may not name local files, or they could make us read and send our own.
    """
    if not isinstance(document, dict):
        raise ConfigError("not a kubeconfig (no mapping at the top)")
    name = context or document.get("current-context")
    if not name:
        raise ConfigError("kubeconfig has no current-context; name a context explicitly")
    ctx = _named(document, "contexts", str(name)).get("context") or {}
    cluster = _named(document, "clusters", str(ctx.get("cluster"))).get("cluster") or {}
    user_name = ctx.get("user")
    user = (_named(document, "users", str(user_name)).get("user") or {}) if user_name else {}
    server = cluster.get("server")
    if not server:
        raise ConfigError(f"cluster {ctx.get('cluster')!r} of context {name!r} has no server")
    if "exec" in user or "auth-provider" in user:
        raise ConfigError(
            f"user {user_name!r} of context {name!r} gets credentials from a plugin; "
            "Flotilla needs a client certificate or a token stored in the kubeconfig"
        )
    if not allow_files:
        named = [
            key
            for section, keys in (
                (cluster, ("certificate-authority",)),
                (user, ("client-certificate", "client-key", "tokenFile")),
            )
            for key in keys
            if section.get(key)
        ]
        if named:
            raise ConfigError(
                f"context {name!r} refers to local files ({', '.join(named)}); "
                "a stored kubeconfig must carry its data inline"
            )
    base = base_dir or Path.cwd()
    return ConnectionConfig(
        server=str(server).rstrip("/"),
        ca_data=_data_or_file(cluster, "certificate-authority", base),
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
        tls_server_name=cluster.get("tls-server-name"),
        client_cert_data=_data_or_file(user, "client-certificate", base),
        client_key_data=_data_or_file(user, "client-key", base),
        token=_optional_str(user.get("token")) or _token_file(user, base),
    )


def _named(document: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    for item in document.get(section) or []:
        if isinstance(item, dict) and item.get("name") == name:
            inner = item.get(section.rstrip("s"))
            if inner is not None and not isinstance(inner, dict):
                raise ConfigError(f"entry {name!r} of {section} is not a mapping")
            return item
    raise ConfigError(f"kubeconfig has no entry {name!r} in {section}")


def _data_or_file(section: dict[str, Any], key: str, base: Path) -> bytes | None:
    data = section.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(str(data), validate=True)
        except ValueError as exc:
            raise ConfigError(f"{key}-data is not valid base64") from exc
    path = section.get(key)
    if path:
        try:
            return (base / str(path)).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {key} file {path}: {exc.strerror}") from exc
    return None


def _token_file(user: dict[str, Any], base: Path) -> str | None:
    path = user.get("tokenFile")
    if not path:
        return None
    try:
        return (base / str(path)).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read tokenFile {path}: {exc.strerror}") from exc


def _optional_str(value: Any) -> str | None:
    return str(value) if value else None


SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def in_cluster_config(directory: Path = SERVICE_ACCOUNT_DIR) -> ConnectionConfig:
    """The pod's own ServiceAccount, as client-go's rest.InClusterConfig."""
    host, port = (
        os.environ.get("KUBERNETES_SERVICE_HOST"),
        os.environ.get("KUBERNETES_SERVICE_PORT"),
    )
    if not host or not port:
        raise ConfigError("not running in a pod: KUBERNETES_SERVICE_HOST/PORT are not set")
    try:
        token = (directory / "token").read_text().strip()
        ca = (directory / "ca.crt").read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the ServiceAccount in {directory}: {exc.strerror}") from exc
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    return ConnectionConfig(server=server, ca_data=ca, token=token)
