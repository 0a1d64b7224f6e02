"""Placement: which clusters a Placement chooses, and how its replicas are shared.

Scheduling is pure (``schedule``) so that the controller and ``flotilla placement
preview`` make exactly the same choice; the reasons are those of the ``Scheduled``
condition.
"""

from flotilla.placement.scheduling import (
    NO_MATCHING_CLUSTERS,
    NO_READY_CLUSTERS,
    NO_WEIGHT,
    SCHEDULED,
    SPREAD_UNSATISFIABLE,
    ClusterView,
    ScheduleResult,
    schedule,
)

__all__ = [
    "NO_MATCHING_CLUSTERS",
    "NO_READY_CLUSTERS",
    "NO_WEIGHT",
    "SCHEDULED",
    "SPREAD_UNSATISFIABLE",
    "ClusterView",
    "ScheduleResult",
    "schedule",
]
