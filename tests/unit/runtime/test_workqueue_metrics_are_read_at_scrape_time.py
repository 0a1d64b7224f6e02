"""Work queue metrics come from the queue when Prometheus scrapes, with client-go's names.

Totals are counters (``rate()`` works on them), and the two in-flight measures show a
stuck reconcile while it is stuck, not after it finished.
"""

from prometheus_client.parser import text_string_to_metric_families

from flotilla.runtime.clock import FakeClock
from flotilla.runtime.controller import Controller, Result
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.queue import WorkQueue


def scrape(metrics: Metrics) -> dict[str, tuple[str, dict[str, float]]]:
    """Family name -> (type, {queue name: value})."""
    found: dict[str, tuple[str, dict[str, float]]] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        if family.name.startswith("workqueue_"):
            values = {sample.labels["name"]: sample.value for sample in family.samples}
            found[family.name] = (family.type, values)
    return found


async def _done(_: str) -> Result:
    return Result()


async def test_a_controllers_queue_is_exported_at_zero() -> None:
    metrics = Metrics()
    Controller("things", WorkQueue[str](name="things", clock=FakeClock()), _done, metrics=metrics)
    assert scrape(metrics) == {
        "workqueue_depth": ("gauge", {"things": 0}),
        "workqueue_adds": ("counter", {"things": 0}),
        "workqueue_retries": ("counter", {"things": 0}),
        "workqueue_unfinished_work_seconds": ("gauge", {"things": 0}),
        "workqueue_longest_running_processor_seconds": ("gauge", {"things": 0}),
    }


async def test_totals_are_counters_that_count_before_any_worker_ran() -> None:
    metrics, clock = Metrics(), FakeClock()
    async with WorkQueue[str](name="q", clock=clock) as queue:
        metrics.register_queue(queue)
        queue.add("a")
        queue.add("a")
        queue.add("b")
        queue.add_after("c", 5.0)
        exported = scrape(metrics)
    assert exported["workqueue_adds"] == ("counter", {"q": 2})
    assert exported["workqueue_retries"] == ("counter", {"q": 1})
    assert exported["workqueue_depth"] == ("gauge", {"q": 2})
    text = metrics.render().decode()
    assert 'workqueue_adds_total{name="q"} 2.0' in text
    assert "# TYPE workqueue_adds_total counter" in text


async def test_work_in_flight_is_measured_at_scrape_time() -> None:
    metrics, clock = Metrics(), FakeClock()
    queue = WorkQueue[str](name="q", clock=clock)
    metrics.register_queue(queue)
    queue.add("a")
    queue.add("b")
    await queue.get()
    await clock.advance(2.0)
    await queue.get()
    await clock.advance(1.0)
    exported = scrape(metrics)
    assert exported["workqueue_unfinished_work_seconds"] == ("gauge", {"q": 4.0})
    assert exported["workqueue_longest_running_processor_seconds"] == ("gauge", {"q": 3.0})
    queue.done("a")
    queue.done("b")
    exported = scrape(metrics)
    assert exported["workqueue_unfinished_work_seconds"] == ("gauge", {"q": 0.0})
    assert exported["workqueue_longest_running_processor_seconds"] == ("gauge", {"q": 0.0})


async def test_each_queue_has_its_own_series() -> None:
    metrics, clock = Metrics(), FakeClock()
    first, second = WorkQueue[str](name="one", clock=clock), WorkQueue[str](name="two", clock=clock)
    metrics.register_queue(first)
    metrics.register_queue(second)
    second.add("x")
    assert scrape(metrics)["workqueue_adds"] == ("counter", {"one": 0, "two": 1})
