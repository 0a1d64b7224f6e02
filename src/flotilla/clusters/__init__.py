"""The cluster registry and cluster health: members registered on the hub, and probed."""

from flotilla.clusters.credentials import CredentialError, storable_connection, stored_kubeconfig
from flotilla.clusters.registry import (
    RegistryError,
    ensure_unregistered,
    get_cluster,
    list_clusters,
    member_connection,
    register,
    remove,
    set_labels,
    validate_name,
)
from flotilla.clusters.verify import MemberInfo, VerificationError, verify_member

__all__ = [
    "CredentialError",
    "MemberInfo",
    "RegistryError",
    "VerificationError",
    "ensure_unregistered",
    "get_cluster",
    "list_clusters",
    "member_connection",
    "register",
    "remove",
    "set_labels",
    "storable_connection",
    "stored_kubeconfig",
    "validate_name",
    "verify_member",
]
