"""One JSON object per line: fields keep their JSON shape, an exception becomes fields,
and no credential reaches the line."""

import json
import logging
import sys

from flotilla.cli.logs import JsonFormatter
from flotilla.runtime.failures import exception_fields

TOKEN = "s3cret-canary-token"


def _line(record: logging.LogRecord) -> dict[str, object]:
    entry: dict[str, object] = json.loads(JsonFormatter().format(record))
    return entry


def _record(msg: str, *, exc_info: object = None, **fields: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "flotilla.test",
        logging.WARNING,
        __file__,
        1,
        msg,
        None,
        exc_info,  # type: ignore[arg-type]
    )
    record.__dict__.update(fields)
    return record


def _failure() -> BaseException:
    try:
        try:
            raise KeyError("spec")
        except KeyError as error:
            raise RuntimeError("could not render") from error
    except RuntimeError as error:
        return error


def test_fields_keep_their_json_shape() -> None:
    entry = _line(
        _record(
            "reconcile failed",
            controller="things",
            retries=3,
            ready=False,
            **exception_fields(_failure()),
        )
    )
    assert entry["msg"] == "reconcile failed"
    assert (entry["controller"], entry["retries"], entry["ready"]) == ("things", 3, False)
    assert entry["error_type"] == "RuntimeError"
    assert entry["error_chain"] == [{"relation": "cause", "type": "KeyError", "error": "'spec'"}]


def test_other_values_are_written_as_text() -> None:
    entry = _line(_record("m", path=_Shown(), none=None))
    assert entry["path"] == "shown"
    assert entry["none"] is None


class _Shown:
    def __str__(self) -> str:
        return "shown"


def test_a_logged_exception_becomes_type_message_chain_and_traceback() -> None:
    error = _failure()
    entry = _line(_record("handler failed", exc_info=(type(error), error, error.__traceback__)))
    assert entry["error_type"] == "RuntimeError"
    assert entry["error"] == "could not render"
    assert entry["error_chain"] == [{"relation": "cause", "type": "KeyError", "error": "'spec'"}]
    assert isinstance(entry["traceback"], str)
    assert "raise RuntimeError" in entry["traceback"]


def test_fields_given_explicitly_win_over_the_exception() -> None:
    error = _failure()
    entry = _line(_record("m", exc_info=(type(error), error, None), error="said otherwise"))
    assert entry["error"] == "said otherwise"


def test_credentials_are_redacted_everywhere_in_the_line() -> None:
    try:
        raise ValueError(f"Illegal header value b'Bearer {TOKEN}'")
    except ValueError:
        exc_info = sys.exc_info()
    record = _record(
        f"calling https://robot:{TOKEN}@proxy.test",
        exc_info=exc_info,
        header=f"Authorization: Basic {TOKEN}",
        nested={"url": f"https://u:{TOKEN}@x.test/a"},
    )
    line = JsonFormatter().format(record)
    assert TOKEN not in line
    entry = json.loads(line)
    assert entry["msg"] == "calling https://<redacted>@proxy.test"
    assert entry["header"] == "Authorization: Basic <redacted>"
