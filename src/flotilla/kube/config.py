"""Connection settings for one API server, read from a kubeconfig.

A ``ConnectionConfig`` is explicit and self-contained: the client gets everything it needs
from it and nothing from the environment. It is checked when it is made, so a bad server,
token or TLS setting is a ``ConfigError`` that says what to fix, never a raw exception from
httpx or ssl on the first request. Credentials are kept out of ``repr``, and no error here
quotes a token or a URL's user name and password, so a config, or an error about one, can
be logged or written into a status.

What is refused, and why:

- a token that cannot be an HTTP header value (control or non-ASCII characters; surrounding
  whitespace, such as the newline of a token file, is stripped);
- ``insecure-skip-tls-verify`` that is not a boolean (the string ``"false"`` is truthy), or
  that is set together with a certificate authority, as client-go refuses it;
- a server that is not an ``https://`` URL with a host (plain ``http://`` only with
  ``allow_http=True``: credentials would travel in clear), or that carries a user name or
  password (Kubernetes dropped basic auth; a password in the URL ends up in messages).
"""

from __future__ import annotations

import base64
import os
import re
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from flotilla.kube.errors import ConfigError

INSECURE_WITH_CA = (
    "specifying a root certificates file with the insecure flag is not allowed: "
    "drop insecure-skip-tls-verify or certificate-authority(-data)"
)


@dataclass(frozen=True)
class ConnectionConfig:
    """Where an API server is and how to authenticate to it.

    ``token_file``, when set, is where ``token`` came from: the client reads it again as it
    rotates. ``allow_http`` lets ``server`` be plain http; only a person's own kubeconfig
    should ask for that, never credentials stored on the hub.
    """

    server: str
    ca_data: bytes | None = field(default=None, repr=False)
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    client_cert_data: bytes | None = field(default=None, repr=False)
    client_key_data: bytes | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    allow_http: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        _check_server(self.server, allow_http=self.allow_http)
        if not isinstance(self.insecure_skip_tls_verify, bool):
            raise ConfigError(
                "insecure-skip-tls-verify must be true or false (a YAML boolean, not a string)"
            )
        if self.insecure_skip_tls_verify and self.ca_data:
            raise ConfigError(INSECURE_WITH_CA)
        if self.tls_server_name is not None:
            _check_host_name(self.tls_server_name)
        object.__setattr__(self, "token", _clean_token(self.token))

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


def load_kubeconfig(
    path: Path, *, context: str | None = None, allow_http: bool = False
) -> ConnectionConfig:
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
    return connection_from_kubeconfig(
        document, context=context, base_dir=path.parent, allow_http=allow_http
    )


def connection_from_kubeconfig(
    document: dict[str, Any],
    *,
    context: str | None = None,
    base_dir: Path | None = None,
    allow_files: bool = True,
    allow_http: bool = False,
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
    insecure = cluster.get("insecure-skip-tls-verify")
    if insecure is not None and not isinstance(insecure, bool):
        raise ConfigError(
            "insecure-skip-tls-verify must be true or false (a YAML boolean, not a string)"
        )
    if insecure and (
        cluster.get("certificate-authority") or cluster.get("certificate-authority-data")
    ):
        raise ConfigError(INSECURE_WITH_CA)
    base = base_dir or Path.cwd()
    token, token_file = _clean_token(user.get("token")), None
    if token is None:
        token, token_file = _token_file(user, base)
    return ConnectionConfig(
        server=server.strip().rstrip("/") if isinstance(server, str) else server,
        ca_data=_data_or_file(cluster, "certificate-authority", base),
        insecure_skip_tls_verify=bool(insecure),
        tls_server_name=cluster.get("tls-server-name"),
        client_cert_data=_data_or_file(user, "client-certificate", base),
        client_key_data=_data_or_file(user, "client-key", base),
        token=token,
        token_file=token_file,
        allow_http=allow_http,
    )


def _check_server(server: object, *, allow_http: bool) -> None:
    """Refuse a server address that is not a usable https URL; never quote its userinfo."""
    if not isinstance(server, str):
        raise ConfigError("server is not a string; write it as https://HOST:PORT")
    if not server.isascii():
        raise ConfigError(
            "server contains non-ASCII characters; write the host name in its xn-- form"
        )
    if any(char.isspace() or not char.isprintable() for char in server):
        raise ConfigError("server contains a space or a control character")
    if "@" in server:  # checked before anything quotes the server: it may hold a password
        raise ConfigError(
            "server must not carry a user name or password; give the context's user a "
            "token or a client certificate instead"
        )
    try:
        parts = urlsplit(server)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:  # not chained: the error may quote the URL
        raise ConfigError(
            f"server {_redact_url(server)!r} is not a valid URL (check the brackets of an "
            "IPv6 address and the port)"
        ) from None
    shown = _redact_url(server)
    if parts.scheme == "http" and not allow_http:
        raise ConfigError(
            f"server {shown!r} is plain http: the credentials would travel unencrypted; "
            "use https://"
        )
    if parts.scheme not in ("https", "http"):
        raise ConfigError(f"server {shown!r} must start with https://")
    if not parts.hostname:
        raise ConfigError(f"server {shown!r} has no host")


def _redact_url(url: str) -> str:
    """``url`` (which has no userinfo) without query or fragment: fit for a message."""
    return re.split(r"[?#]", url, maxsplit=1)[0][:200]


def _clean_token(value: object) -> str | None:
    """The token without surrounding whitespace, or None for none; refuses what cannot be a
    header value, without ever quoting it."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError("token is not a string; quote it in the kubeconfig")
    token = value.strip()
    if not token.isascii():
        raise ConfigError(
            "token contains non-ASCII characters; a bearer token is plain ASCII, was it "
            "copied with extra characters?"
        )
    if not token.isprintable():
        raise ConfigError(
            "token contains a control character (a line break, tab or similar); store the "
            "token alone, on one line"
        )
    return token or None


def _check_host_name(name: object) -> None:
    if not (
        isinstance(name, str) and name and name.isascii() and name.isprintable() and " " not in name
    ):
        raise ConfigError("tls-server-name must be a host name, such as api.internal")


def _named(document: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    entries = document.get(section) or []
    if not isinstance(entries, list):
        raise ConfigError(f"{section} of the kubeconfig is not a list")
    for item in entries:
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
        except ValueError:  # not chained: the error may quote the data
            raise ConfigError(f"{key}-data is not valid base64") from None
    path = section.get(key)
    if path:
        try:
            return (base / str(path)).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {key} file {path}: {exc.strerror}") from exc
    return None


def _token_file(user: dict[str, Any], base: Path) -> tuple[str | None, Path | None]:
    path = user.get("tokenFile")
    if not path:
        return None, None
    return read_token_file(base / str(path), what=f"tokenFile {path}"), base / str(path)


def read_token_file(path: Path, *, what: str = "") -> str:
    """The token in ``path``, checked as ``_clean_token`` checks one."""
    what = what or f"token file {path}"
    try:
        token = _clean_token(path.read_text(errors="replace"))
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror}") from exc
    except ConfigError as exc:
        raise ConfigError(f"{what}: {exc}") from None
    if token is None:
        raise ConfigError(f"{what} is empty")
    return token


SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def in_cluster_config(directory: Path = SERVICE_ACCOUNT_DIR) -> ConnectionConfig:
    """The pod's own ServiceAccount, as client-go's rest.InClusterConfig: the token is read
    again as the kubelet rotates it."""
    host, port = (
        os.environ.get("KUBERNETES_SERVICE_HOST"),
        os.environ.get("KUBERNETES_SERVICE_PORT"),
    )
    if not host or not port:
        raise ConfigError("not running in a pod: KUBERNETES_SERVICE_HOST/PORT are not set")
    try:
        ca = (directory / "ca.crt").read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the ServiceAccount in {directory}: {exc.strerror}") from exc
    token_file = directory / "token"
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    return ConnectionConfig(
        server=server, ca_data=ca, token=read_token_file(token_file), token_file=token_file
    )
