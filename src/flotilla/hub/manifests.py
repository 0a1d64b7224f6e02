"""The manifests of Flotilla on the hub: CRDs, namespace, RBAC, the controller Deployment.

Generated here, written to ``deploy/`` by ``flotilla hub manifests deploy/`` and applied by
``flotilla hub install``; a unit test keeps ``deploy/`` equal to what this module makes.

The controller's RBAC is least-privilege:

- it writes only Flotilla's kinds (Placements' finalizers, Clusters' and Placements' status)
  and Events; it never creates or deletes them;
- it reads Secrets only in ``flotilla-system`` (a Role: the members' credentials), and Leases
  there only under its own name (``create`` cannot be limited by name in RBAC);
- templates: Placements may select any kind, but a cluster-wide read of everything would
  include every Secret of the hub. The controller reads the kinds in ``TEMPLATE_RESOURCES``
  (the usual workload kinds, no Secrets, no RBAC), and may dry-run create them so the hub's
  admission judges what members receive; to place another kind, bind a ClusterRole
  that may get, list, watch and create it to the ``flotilla-system/flotilla-controller``
  ServiceAccount. (An aggregated ClusterRole would do this by label, but needs the hub's
  controller-manager to run ``clusterrole-aggregation``, which the local hub does not.)

The Deployment passes the ``restricted`` Pod Security level, which the namespace enforces:
non-root with a fixed UID (the image's), no privilege escalation, no capabilities,
``RuntimeDefault`` seccomp, a read-only root with an ``emptyDir`` on ``/tmp``. Two replicas
elect a leader through a Lease; the standby is ready too, so the PodDisruptionBudget lets a
node drain one pod at a time. The probes and /metrics listen on all addresses so the kubelet
(which probes the pod IP) reaches them. Resource requests come from what was measured: the
controller's RSS stayed at 62-64 MiB through the e2e suite (tens of Placements, 4 clusters)
and grows by about 12 KB per managed object (bench/propagation.py), so 128Mi requested holds
thousands of objects and the 512Mi limit is headroom, not the expected use.
"""

from __future__ import annotations

from typing import Any

from flotilla import __version__
from flotilla.api import ALL_KINDS, GROUP, SYSTEM_NAMESPACE, crd
from flotilla.api.application import DEFAULT_APP_NAMESPACES
from flotilla.api.kinds import APPLICATION, APPLICATIONSET, CLUSTERGROUP, GITREPO

CONTROLLER = "flotilla-controller"
TEMPLATE_READER = "flotilla-template-reader"
IMAGE = f"ghcr.io/flotilla-io/flotilla:{__version__}"
LABELS = {"app.kubernetes.io/name": "flotilla", "app.kubernetes.io/component": "controller"}
# The image's user (Containerfile `USER`); fixed so `runAsNonRoot` can be checked by the kubelet.
RUN_AS_USER = 65532
METRICS_PORT = 8080
# Lease the replicas elect a leader through (flotilla.manager.LEASE_NAME).
LEASE = CONTROLLER
# API group -> resources that templates may be, read on the hub and written on members
# (flotilla.clusters.member_access keeps the same list; a unit test holds them equal).
TEMPLATE_RESOURCES: dict[str, tuple[str, ...]] = {
    "": ("configmaps", "services", "serviceaccounts", "persistentvolumeclaims"),
    "apps": ("deployments", "statefulsets", "daemonsets"),
    "batch": ("jobs", "cronjobs"),
    "autoscaling": ("horizontalpodautoscalers",),
    "policy": ("poddisruptionbudgets",),
    "networking.k8s.io": ("ingresses", "networkpolicies"),
}
_RBAC = "rbac.authorization.k8s.io"
_READ = ["get", "list", "watch"]


POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": RUN_AS_USER,
    "runAsGroup": RUN_AS_USER,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""Pod Security ``restricted``, for every pod Flotilla ships."""
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


def hub_manifests() -> list[dict[str, Any]]:
    """What ``hub install`` applies: CRDs and the system namespace."""
    restricted = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in _PSA_MODES}
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": SYSTEM_NAMESPACE,
            "labels": {"app.kubernetes.io/name": "flotilla", **restricted},
        },
    }
    crds = [crd(kind) for kind in ALL_KINDS]
    for definition in crds:  # whose CRD it is: `hub install` leaves another's alone
        definition["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "flotilla"}
    # Where Applications live by default (Argo CD's namespace: the seed's ApplicationSet
    # and `flotilla app create` use it), and Fleet's GitRepos (the seed's GitRepo's).
    homes = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        for name in DEFAULT_APP_NAMESPACES
    ]
    return [*crds, namespace, *homes]


_PSA_MODES = ("enforce", "audit", "warn")


def controller_manifests() -> list[dict[str, Any]]:
    """ServiceAccount, RBAC, Deployment and PodDisruptionBudget of the controller on the hub."""
    namespaced = {"name": CONTROLLER, "namespace": SYSTEM_NAMESPACE, "labels": LABELS}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": namespaced},
        _cluster_role(CONTROLLER, _controller_rules()),
        _cluster_role_binding(CONTROLLER),
        _cluster_role(TEMPLATE_READER, _template_rules()),
        _cluster_role_binding(TEMPLATE_READER),
        *_dry_run_only(),
        {
            "apiVersion": f"{_RBAC}/v1",
            "kind": "Role",
            "metadata": namespaced,
            "rules": [
                {"apiGroups": [""], "resources": ["secrets"], "verbs": _READ},
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["create"],
                },
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "resourceNames": [LEASE],
                    "verbs": ["get", "update"],
                },
            ],
        },
        {
            "apiVersion": f"{_RBAC}/v1",
            "kind": "RoleBinding",
            "metadata": namespaced,
            "roleRef": {"apiGroup": _RBAC, "kind": "Role", "name": CONTROLLER},
            "subjects": _SUBJECTS,
        },
        _deployment(namespaced),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": namespaced,
            "spec": {"minAvailable": 1, "selector": {"matchLabels": LABELS}},
        },
    ]


_SUBJECTS = [{"kind": "ServiceAccount", "name": CONTROLLER, "namespace": SYSTEM_NAMESPACE}]


def _controller_rules() -> list[dict[str, Any]]:
    plurals = {kind.plural for kind in ALL_KINDS if kind.group == GROUP}
    return [
        {"apiGroups": [GROUP], "resources": sorted(plurals), "verbs": _READ},
        # Placements get and lose the controller's finalizer.
        {"apiGroups": [GROUP], "resources": ["placements"], "verbs": ["update", "patch"]},
        {
            "apiGroups": [GROUP],
            "resources": sorted(f"{plural}/status" for plural in plurals - {"overrides"}),
            "verbs": ["get", "update", "patch"],
        },
        # Whether this hub's Argo CD kinds' CRDs are Flotilla's (not Argo CD's): those CRDs.
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "resourceNames": [APPLICATION.crd_name, APPLICATIONSET.crd_name, GITREPO.crd_name],
            "verbs": ["get"],
        },
        # GitOps Applications: read, their finalizer and finished operations, and status;
        # ApplicationSets create, update and delete the Applications they generate.
        {
            "apiGroups": [APPLICATION.group],
            "resources": [APPLICATION.plural],
            "verbs": [*_READ, "create", "update", "patch", "delete"],
        },
        {
            "apiGroups": [APPLICATION.group],
            "resources": [APPLICATIONSET.plural],
            "verbs": list(_READ),
        },
        {
            "apiGroups": [APPLICATION.group],
            "resources": [f"{APPLICATION.plural}/status", f"{APPLICATIONSET.plural}/status"],
            "verbs": ["get", "update", "patch"],
        },
        # Generated Applications name their ApplicationSet or GitRepo as owner with
        # blockOwnerDeletion.
        {
            "apiGroups": [APPLICATION.group],
            "resources": [f"{APPLICATIONSET.plural}/finalizers"],
            "verbs": ["update"],
        },
        # Fleet's GitRepos and ClusterGroups: read, and their status.
        {
            "apiGroups": [GITREPO.group],
            "resources": [GITREPO.plural, CLUSTERGROUP.plural],
            "verbs": list(_READ),
        },
        {
            "apiGroups": [GITREPO.group],
            "resources": [
                f"{GITREPO.plural}/status",
                f"{CLUSTERGROUP.plural}/status",
                f"{GITREPO.plural}/finalizers",
            ],
            "verbs": ["get", "update", "patch"],
        },
        # Hub namespaces: a Placement whose namespace is being deleted holds its prunes,
        # and the uid of flotilla-system is the hub's id on the objects it writes.
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": list(_READ)},
        # Events about Placements, in the Placements' namespaces.
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    ]


def _template_rules() -> list[dict[str, Any]]:
    # create: only ever with dryRun=All, so the hub's admission judges what members receive
    # (propagation.admission), pod templates as Pods; nothing is persisted, and
    # `_dry_run_only` makes the hub refuse anything else from the controller.
    return [
        *(
            {"apiGroups": [group], "resources": list(resources), "verbs": [*_READ, "create"]}
            for group, resources in TEMPLATE_RESOURCES.items()
        ),
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]},
    ]


DRY_RUN_ONLY = "flotilla-controller-dry-run-only"
_ADMISSION = "admissionregistration.k8s.io/v1"


def _dry_run_only() -> list[dict[str, Any]]:
    """A ValidatingAdmissionPolicy that refuses every create by the controller that is not a
    dry run, but for its Events and its Lease: RBAC cannot say "dry-run only", the hub can.
    It covers every kind, so one an admin lets the controller read (and create, for the
    admission check) stays dry-run only too."""
    account = f"system:serviceaccount:{SYSTEM_NAMESPACE}:{CONTROLLER}"
    rules = [
        {"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["CREATE"], "resources": ["*"]}
    ]
    its_own = [
        {"apiGroups": ["", "events.k8s.io"], "apiVersions": ["*"], "operations": ["CREATE"],
         "resources": ["events"]},
        {"apiGroups": ["coordination.k8s.io"], "apiVersions": ["*"], "operations": ["CREATE"],
         "resources": ["leases"]},
    ]  # fmt: skip
    return [
        {
            "apiVersion": _ADMISSION,
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": DRY_RUN_ONLY, "labels": LABELS},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": rules, "excludeResourceRules": its_own},
                "matchConditions": [
                    {
                        "name": "the-controller",
                        "expression": f"request.userInfo.username == '{account}'",
                    }
                ],
                "validations": [
                    {
                        "expression": "request.dryRun == true",
                        "message": "the Flotilla controller may only dry-run create templates",
                    }
                ],
            },
        },
        {
            "apiVersion": _ADMISSION,
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": DRY_RUN_ONLY, "labels": LABELS},
            "spec": {"policyName": DRY_RUN_ONLY, "validationActions": ["Deny"]},
        },
    ]


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": f"{_RBAC}/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": LABELS},
        "rules": rules,
    }


def _cluster_role_binding(role: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{_RBAC}/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": role, "labels": LABELS},
        "roleRef": {"apiGroup": _RBAC, "kind": "ClusterRole", "name": role},
        "subjects": _SUBJECTS,
    }


def _deployment(metadata: dict[str, Any]) -> dict[str, Any]:
    probe = {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3}
    container = {
        "name": "controller",
        "image": IMAGE,
        "args": [
            "controller",
            "run",
            "--in-cluster",
            "--leader-elect",
            "--identity=$(POD_NAME)",
            f"--metrics-bind-address=0.0.0.0:{METRICS_PORT}",
        ],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "metrics"}, **probe},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "metrics"}, **probe},
        # Measured: see the module docstring.
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "512Mi"},
        },
        "securityContext": dict(CONTAINER_SECURITY),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "serviceAccountName": CONTROLLER,
                    "securityContext": dict(POD_SECURITY),
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                    # Two replicas on two nodes where there are two; one node still runs both.
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": LABELS},
                        }
                    ],
                },
            },
        },
    }
