"""The marks Flotilla leaves on objects: labels, annotations, the finalizer, the field manager.

One place for them, so that the controller, the CLI and tests agree on every name.

What a managed object on a member carries, and why:

- ``flotilla.io/managed-by=flotilla``: member informers watch only these;
- ``flotilla.io/placement=<namespace>.<name>``: the Placement that owns it (prune and the
  ownership check read it), or ``flotilla.io/application=<namespace>.<name>``: the GitOps
  Application that owns it; never both;
- ``flotilla.io/hub=<hub id>``: the hub that wrote it. Two hubs writing to one member, or a
  restore of labelled objects into another fleet, never take or prune each other's objects.
  The hub id is the uid of the hub's ``flotilla-system`` namespace (``hub_identity``).
"""

from __future__ import annotations

from typing import Any

from flotilla.api.names import ClusterName

HUB_CLUSTER = ClusterName("hub")
"""The cluster name keys and log fields use for the hub itself."""

FIELD_MANAGER = "flotilla"
"""The server-side apply field manager of everything Flotilla writes."""

MANAGED_BY_LABEL = "flotilla.io/managed-by"
MANAGED_BY = "flotilla"
PLACEMENT_LABEL = "flotilla.io/placement"
APPLICATION_LABEL = "flotilla.io/application"
OWNER_LABELS = {PLACEMENT_LABEL: "placement", APPLICATION_LABEL: "application"}
"""The labels that name what owns a managed object, and what messages call that owner."""
HUB_LABEL = "flotilla.io/hub"
MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"

FINALIZER = "flotilla.io/cleanup"
"""On Placements: their objects are removed from members before the Placement goes."""

CONFIRM_PRUNE_ANNOTATION = "flotilla.io/prune-confirmed-at"
CLUSTERSET_DNS_ANNOTATION = "flotilla.io/clusterset-dns"
"""On a Cluster: HOST:PORT where its clusterset.local DNS answers, when reachable from where
the CLI runs (the local fleet sets it); ``flotilla mesh status`` checks it."""
CONNECTIVITY_ECHO_ANNOTATION = "flotilla.io/connectivity-echo"
"""On a Cluster: HOST:PORT of an echo server in it (``flotilla connectivity serve``) that
``flotilla connectivity test`` connects to; the local fleet runs one per member."""
"""On a Placement: when a person let a pass the deletion guard stopped go on (RFC 3339)."""


def hub_identity(namespace: dict[str, Any]) -> str:
    """The hub id: the uid of its ``flotilla-system`` namespace object (a valid label value)."""
    return str((namespace.get("metadata") or {}).get("uid") or "")


def owner_of(item: dict[str, Any]) -> str:
    """What owns a managed object, as messages say it ("placement shop.web"); "" if nothing."""
    for label, what in OWNER_LABELS.items():
        value = label_of(item, label)
        if value:
            return f"{what} {value}"
    return ""


def label_of(item: dict[str, Any], label: str) -> str:
    """A label of an API object, "" when absent (labels may be null on the wire)."""
    labels = (item.get("metadata") or {}).get("labels") or {}
    value = labels.get(label) if isinstance(labels, dict) else None
    return value if isinstance(value, str) else ""


__all__ = [
    "APPLICATION_LABEL",
    "CLUSTERSET_DNS_ANNOTATION",
    "CONFIRM_PRUNE_ANNOTATION",
    "CONNECTIVITY_ECHO_ANNOTATION",
    "FIELD_MANAGER",
    "FINALIZER",
    "HUB_CLUSTER",
    "HUB_LABEL",
    "MANAGED_BY",
    "MANAGED_BY_LABEL",
    "MANAGED_SELECTOR",
    "OWNER_LABELS",
    "PLACEMENT_LABEL",
    "hub_identity",
    "label_of",
    "owner_of",
]
