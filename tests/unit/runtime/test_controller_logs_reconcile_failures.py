"""A failed reconcile is logged with what failed and why: the exception's type, message and
the chain of exceptions behind it, as fields (never a credential)."""

import logging
from typing import Any

import pytest

from flotilla.kube import Forbidden
from flotilla.runtime.clock import FakeClock
from flotilla.runtime.controller import Controller, Result
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.queue import WorkQueue
from tests.unit.fakeapi import eventually, running

TOKEN = "s3cret-canary-token"


async def _failures(caplog: pytest.LogCaptureFixture, reconcile: Any) -> logging.LogRecord:
    async with WorkQueue[str](name="things", clock=FakeClock()) as queue:
        controller = Controller("things", queue, reconcile, metrics=Metrics(), workers=1)
        queue.add("ns/a")
        with caplog.at_level(logging.WARNING, logger="flotilla.runtime.controller"):
            async with running(controller.run()):
                await eventually(
                    lambda: any(r.getMessage() == "reconcile failed" for r in caplog.records)
                )
    return next(r for r in caplog.records if r.getMessage() == "reconcile failed")


async def test_the_type_message_and_cause_are_fields(caplog: pytest.LogCaptureFixture) -> None:
    async def reconcile(_: str) -> Result:
        template: dict[str, object] = {}
        try:
            template["spec"]
        except KeyError as error:
            raise RuntimeError("could not render the template") from error
        return Result()

    record = await _failures(caplog, reconcile)
    fields = record.__dict__
    assert (fields["controller"], fields["key"]) == ("things", "ns/a")
    assert fields["error_type"] == "RuntimeError"
    assert fields["error"] == "could not render the template"
    assert fields["error_chain"] == [{"relation": "cause", "type": "KeyError", "error": "'spec'"}]
    assert record.exc_info is not None, "an unexpected exception keeps its traceback"


async def test_an_exception_raised_while_handling_another_names_it_as_context(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def reconcile(_: str) -> Result:
        try:
            raise ValueError("first")
        except ValueError:
            raise LookupError("second")  # noqa: B904 - the implicit context is the point
        return Result()

    record = await _failures(caplog, reconcile)
    assert record.__dict__["error_chain"] == [
        {"relation": "context", "type": "ValueError", "error": "first"}
    ]


async def test_an_api_error_is_logged_without_a_traceback_and_without_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def reconcile(_: str) -> Result:
        raise Forbidden(
            status=403,
            reason="Forbidden",
            message=f"the proxy said: Authorization: Bearer {TOKEN}",
            method="PATCH",
            path="/apis/apps/v1/namespaces/ns/deployments/a",
        )

    record = await _failures(caplog, reconcile)
    assert record.__dict__["error_type"] == "Forbidden"
    assert record.__dict__["error_chain"] == []
    assert record.exc_info is None
    assert TOKEN not in repr(record.__dict__)
