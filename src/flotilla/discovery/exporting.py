"""What a clusterset's exports of one service add up to: the KEP-1645 rules, pure.

A service ``<name>.<namespace>`` is exported from every cluster where a ServiceExport of
that name sits beside a Service of that name (or, Cilium's way, where the Service itself is
annotated ``service.cilium.io/global: "true"``). ``derive`` takes those exports and gives
the ServiceImport every member gets, and the conditions of each export:

- **Valid**: False with ``NoService`` when the Service is missing and
  ``InvalidServiceType`` for an ExternalName Service; such an export adds nothing.
- **Conflict**: the valid exports are ordered by the export's creation time, then by
  cluster id (the KEP's tie-break); the oldest decides the type (ClusterSetIP or Headless),
  session affinity and its config, internal traffic policy, traffic distribution, IP
  families (compared between ClusterSetIP exports only) and the exported labels and
  annotations (whole maps, never merged). Ports are the union, merged by name and then by
  protocol and number, the older export's winning a duplicate; port sets that are not all
  the same are a ``PortConflict`` on every export (kubernetes/enhancements#5706). Every
  export involved in a conflict (the oldest among them) has ``Conflict=True`` with the
  reasons joined by commas; the others ``Conflict=False`` (``NoConflicts``).
- What the oldest says stays until the oldest goes: a conflict that clears (a newer export
  changed to agree) changes no field of the import.

An import exists while at least one export is valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

HEADLESS = "Headless"
CLUSTERSET_IP = "ClusterSetIP"

NO_SERVICE = "NoService"
INVALID_SERVICE_TYPE = "InvalidServiceType"
TYPE_CONFLICT = "TypeConflict"
PORT_CONFLICT = "PortConflict"
SESSION_AFFINITY_CONFLICT = "SessionAffinityConflict"
SESSION_AFFINITY_CONFIG_CONFLICT = "SessionAffinityConfigConflict"
INTERNAL_TRAFFIC_POLICY_CONFLICT = "InternalTrafficPolicyConflict"
TRAFFIC_DISTRIBUTION_CONFLICT = "TrafficDistributionConflict"
IP_FAMILY_CONFLICT = "IPFamilyConflict"
LABELS_CONFLICT = "LabelsConflict"
ANNOTATIONS_CONFLICT = "AnnotationsConflict"


@dataclass(frozen=True)
class Port:
    name: str
    protocol: str
    port: int
    app_protocol: str | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"name": self.name, "protocol": self.protocol, "port": self.port}
        if not self.name:
            del wire["name"]
        if self.app_protocol is not None:
            wire["appProtocol"] = self.app_protocol
        return wire


@dataclass(frozen=True)
class ServiceFacts:
    """What an export takes from its Service."""

    type: str
    """The Service's ``spec.type``: ClusterIP, NodePort, LoadBalancer or ExternalName."""
    headless: bool
    ports: tuple[Port, ...] = ()
    session_affinity: str = "None"
    session_affinity_config: Mapping[str, Any] | None = None
    ip_families: tuple[str, ...] = ()
    internal_traffic_policy: str | None = None
    traffic_distribution: str | None = None


@dataclass(frozen=True)
class Export:
    cluster: str
    created: str
    """The ServiceExport's creation time (RFC 3339, as the API server writes it)."""
    service: ServiceFacts | None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportState:
    """An export's conditions: ``valid`` None when valid, else the reason it is not."""

    invalid: str | None = None
    conflicts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Derived:
    """The ServiceImport of a service, as every member gets it (``ips`` aside)."""

    type: str
    ports: tuple[Port, ...]
    session_affinity: str
    session_affinity_config: Mapping[str, Any] | None
    ip_families: tuple[str, ...]
    internal_traffic_policy: str | None
    traffic_distribution: str | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    clusters: tuple[str, ...]
    """The exporting clusters, oldest export first."""


@dataclass(frozen=True)
class Derivation:
    derived: Derived | None
    """None: no valid export, no import."""
    states: Mapping[str, ExportState]
    """By cluster id."""


def derive(exports: Iterable[Export]) -> Derivation:
    states: dict[str, ExportState] = {}
    valid: list[tuple[Export, ServiceFacts]] = []
    for export in exports:
        service = export.service
        if service is None:
            states[export.cluster] = ExportState(invalid=NO_SERVICE)
        elif service.type == "ExternalName":
            states[export.cluster] = ExportState(invalid=INVALID_SERVICE_TYPE)
        else:
            valid.append((export, service))
    if not valid:
        return Derivation(None, states)
    valid.sort(key=lambda pair: (pair[0].created, pair[0].cluster))
    oldest, first = valid[0]
    conflicts: dict[str, set[str]] = {export.cluster: set() for export, _ in valid}

    def compare(reason: str, ours: Any, theirs: Any, cluster: str) -> None:
        if ours != theirs:
            conflicts[cluster].add(reason)
            conflicts[oldest.cluster].add(reason)

    for export, service in valid[1:]:
        cluster = export.cluster
        compare(TYPE_CONFLICT, first.headless, service.headless, cluster)
        compare(
            SESSION_AFFINITY_CONFLICT, first.session_affinity, service.session_affinity, cluster
        )
        compare(
            SESSION_AFFINITY_CONFIG_CONFLICT,
            _config(first),
            _config(service),
            cluster,
        )
        compare(
            INTERNAL_TRAFFIC_POLICY_CONFLICT,
            first.internal_traffic_policy or "Cluster",
            service.internal_traffic_policy or "Cluster",
            cluster,
        )
        compare(
            TRAFFIC_DISTRIBUTION_CONFLICT,
            first.traffic_distribution,
            service.traffic_distribution,
            cluster,
        )
        # IP families give a ClusterSetIP import its addresses; a headless Service's (the
        # API server makes a selector-less one dual-stack) decide nothing
        if first.ip_families and service.ip_families and not (first.headless or service.headless):
            compare(IP_FAMILY_CONFLICT, first.ip_families, service.ip_families, cluster)
        compare(LABELS_CONFLICT, dict(oldest.labels), dict(export.labels), cluster)
        compare(ANNOTATIONS_CONFLICT, dict(oldest.annotations), dict(export.annotations), cluster)
    ports, clashes = _ports(valid)
    for cluster in clashes:
        conflicts[cluster].add(PORT_CONFLICT)
    for export, _ in valid:
        states[export.cluster] = ExportState(conflicts=tuple(sorted(conflicts[export.cluster])))
    derived = Derived(
        type=HEADLESS if first.headless else CLUSTERSET_IP,
        ports=ports,
        session_affinity=first.session_affinity or "None",
        session_affinity_config=first.session_affinity_config if not first.headless else None,
        ip_families=first.ip_families,
        internal_traffic_policy=first.internal_traffic_policy,
        traffic_distribution=first.traffic_distribution,
        labels=dict(oldest.labels),
        annotations=dict(oldest.annotations),
        clusters=tuple(export.cluster for export, _ in valid),
    )
    return Derivation(derived, states)


def _config(service: ServiceFacts) -> Any:
    """Session affinity config as it matters: only with ClientIP affinity."""
    return service.session_affinity_config if service.session_affinity == "ClientIP" else None


def _ports(valid: Sequence[tuple[Export, ServiceFacts]]) -> tuple[tuple[Port, ...], set[str]]:
    """The union of the ports (merged by name, then by protocol and number, the older
    export's port winning a duplicate); and the clusters in conflict: every export, when
    their port sets are not all the same (the KEP since kubernetes/enhancements#5706)."""
    by_name: dict[str, Port] = {}
    by_number: dict[tuple[int, str], Port] = {}
    chosen: list[Port] = []
    for _, service in valid:
        for port in service.ports:
            if port.name in by_name or (port.port, port.protocol) in by_number:
                continue
            by_name[port.name] = port
            by_number[(port.port, port.protocol)] = port
            chosen.append(port)
    sets = {frozenset(service.ports) for _, service in valid}
    clashes = {export.cluster for export, _ in valid} if len(sets) > 1 else set()
    return tuple(chosen), clashes


def facts_of(service: Mapping[str, Any]) -> ServiceFacts:
    """A Service's facts (defaults as the API server fills them)."""
    spec = service.get("spec") or {}
    ports = tuple(
        Port(
            name=str(p.get("name") or ""),
            protocol=str(p.get("protocol") or "TCP"),
            port=int(p.get("port") or 0),
            app_protocol=p.get("appProtocol") if isinstance(p.get("appProtocol"), str) else None,
        )
        for p in spec.get("ports") or []
        if isinstance(p, Mapping)
    )
    config = spec.get("sessionAffinityConfig")
    return ServiceFacts(
        type=str(spec.get("type") or "ClusterIP"),
        headless=spec.get("clusterIP") == "None",
        ports=ports,
        session_affinity=str(spec.get("sessionAffinity") or "None"),
        session_affinity_config=config if isinstance(config, Mapping) else None,
        ip_families=tuple(str(f) for f in spec.get("ipFamilies") or []),
        internal_traffic_policy=spec.get("internalTrafficPolicy"),
        traffic_distribution=spec.get("trafficDistribution"),
    )
