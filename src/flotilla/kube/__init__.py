"""The only layer that speaks HTTP to Kubernetes API servers."""

from flotilla.kube.client import KubeClient
from flotilla.kube.config import (
    ConnectionConfig,
    connection_from_kubeconfig,
    in_cluster_config,
    load_kubeconfig,
)
from flotilla.kube.discovery import ResourceInfo, RestMapper
from flotilla.kube.errors import (
    ApiError,
    ConfigError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeError,
    NotFound,
    RequestTimeout,
    TlsError,
    TransportError,
    Unauthorized,
    UnknownKind,
)
from flotilla.kube.paths import object_path, resource_path

__all__ = [
    "ApiError",
    "ConfigError",
    "Conflict",
    "ConnectionConfig",
    "Forbidden",
    "Gone",
    "Invalid",
    "KubeClient",
    "KubeError",
    "NotFound",
    "RequestTimeout",
    "ResourceInfo",
    "RestMapper",
    "TlsError",
    "TransportError",
    "Unauthorized",
    "UnknownKind",
    "connection_from_kubeconfig",
    "in_cluster_config",
    "load_kubeconfig",
    "object_path",
    "resource_path",
]
