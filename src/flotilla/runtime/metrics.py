"""Prometheus metrics, with controller-runtime's names so existing dashboards work.

One ``Metrics`` object per process, passed explicitly (no module-level registry). Label
values are constants below, and series a dashboard expects are created at zero.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

RESULT_SUCCESS = "success"
RESULT_ERROR = "error"
RESULT_REQUEUE = "requeue"
RESULT_REQUEUE_AFTER = "requeue_after"
RESULTS = (RESULT_SUCCESS, RESULT_ERROR, RESULT_REQUEUE, RESULT_REQUEUE_AFTER)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.reconcile_total = Counter(
            "controller_runtime_reconcile_total",
            "Total number of reconciliations per controller",
            ["controller", "result"],
            registry=r,
        )
        self.reconcile_errors = Counter(
            "controller_runtime_reconcile_errors_total",
            "Total number of reconciliation errors per controller",
            ["controller"],
            registry=r,
        )
        self.reconcile_time = Histogram(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            ["controller"],
            registry=r,
        )
        self.active_workers = Gauge(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller",
            ["controller"],
            registry=r,
        )
        self.workqueue_depth = Gauge(
            "workqueue_depth", "Current depth of workqueue", ["name"], registry=r
        )
        self.workqueue_adds = Gauge(
            "workqueue_adds_total",
            "Total number of adds handled by workqueue",
            ["name"],
            registry=r,
        )
        self.workqueue_retries = Gauge(
            "workqueue_retries_total",
            "Total number of retries handled by workqueue",
            ["name"],
            registry=r,
        )
        self.leader = Gauge(
            "leader_election_master_status",
            "1 while this process leads, 0 otherwise",
            ["name"],
            registry=r,
        )
        self.cluster_ready = Gauge(
            "flotilla_cluster_ready", "1 when the cluster is Ready", ["cluster"], registry=r
        )
        self.probe_seconds = Histogram(
            "flotilla_cluster_probe_seconds",
            "Duration of cluster health probes",
            ["cluster", "result"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
            registry=r,
        )
        self.status_writes = Counter(
            "flotilla_cluster_status_writes_total",
            "Cluster status updates written to the hub",
            ["cluster"],
            registry=r,
        )

        self.propagation_seconds = Histogram(
            "flotilla_propagation_seconds",
            "Time from a Placement generation to applied on all chosen clusters",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=r,
        )
        self.failover_seconds = Histogram(
            "flotilla_failover_seconds",
            "Time from a cluster NotReady to its work applied elsewhere",
            buckets=(1, 2, 5, 10, 15, 20, 30, 60, 120),
            registry=r,
        )
        self.drift_corrections = Counter(
            "flotilla_drift_corrections_total",
            "Changes to managed fields on members that were reverted",
            ["cluster"],
            registry=r,
        )

    def register_controller(self, name: str) -> None:
        """Create the series of a controller at zero."""
        for result in RESULTS:
            self.reconcile_total.labels(controller=name, result=result)
        self.reconcile_errors.labels(controller=name)
        self.active_workers.labels(controller=name).set(0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
