"""Prometheus metrics, with controller-runtime's names so existing dashboards work.

One ``Metrics`` object per process, passed explicitly (no module-level registry). Label
values are constants below, and series a dashboard expects are created at zero.

Work queues are read when Prometheus scrapes (``register_queue``), as client-go's
workqueue metrics provider does: totals are counters, and the in-flight measures
(``workqueue_unfinished_work_seconds``, ``workqueue_longest_running_processor_seconds``)
show a reconcile that is stuck *now*, which a value set after each item could never do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

RESULT_SUCCESS = "success"
RESULT_ERROR = "error"
RESULT_REQUEUE = "requeue"
RESULT_REQUEUE_AFTER = "requeue_after"
RESULTS = (RESULT_SUCCESS, RESULT_ERROR, RESULT_REQUEUE, RESULT_REQUEUE_AFTER)


class QueueStats(Protocol):
    """What a work queue tells its metrics (``flotilla.runtime.queue.WorkQueue`` does)."""

    @property
    def name(self) -> str: ...
    @property
    def depth(self) -> int: ...
    @property
    def adds_total(self) -> int: ...
    @property
    def retries_total(self) -> int: ...
    @property
    def unfinished_work_seconds(self) -> float: ...
    @property
    def longest_running_processor_seconds(self) -> float: ...


class _WorkQueueCollector(Collector):
    """client-go's workqueue metrics, computed from the registered queues at scrape time."""

    def __init__(self) -> None:
        self.queues: dict[str, QueueStats] = {}

    def describe(self) -> Iterator[Metric]:
        return self._collect({})

    def collect(self) -> Iterator[Metric]:
        return self._collect(self.queues)

    @staticmethod
    def _collect(queues: dict[str, QueueStats]) -> Iterator[Metric]:
        labels = ["name"]
        depth = GaugeMetricFamily("workqueue_depth", "Current depth of workqueue", labels=labels)
        adds = CounterMetricFamily(
            "workqueue_adds", "Total number of adds handled by workqueue", labels=labels
        )
        retries = CounterMetricFamily(
            "workqueue_retries", "Total number of retries handled by workqueue", labels=labels
        )
        unfinished = GaugeMetricFamily(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been "
            "observed by work_duration. Large values indicate stuck threads.",
            labels=labels,
        )
        longest = GaugeMetricFamily(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            labels=labels,
        )
        for name, queue in sorted(queues.items()):
            depth.add_metric([name], queue.depth)
            adds.add_metric([name], queue.adds_total)
            retries.add_metric([name], queue.retries_total)
            unfinished.add_metric([name], queue.unfinished_work_seconds)
            longest.add_metric([name], queue.longest_running_processor_seconds)
        yield from (depth, adds, retries, unfinished, longest)


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
        self._queues = _WorkQueueCollector()
        r.register(self._queues)
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

    def register_queue(self, queue: QueueStats) -> None:
        """Export ``queue`` under its name from now on (a later queue of that name replaces it)."""
        self._queues.queues[queue.name] = queue

    def render(self) -> bytes:
        return generate_latest(self.registry)
