"""Structured logs: one JSON object per line, a constant message plus key/value fields.

Fields keep their JSON shape (numbers, booleans, null, lists and objects such as
``error_chain``); anything else is written as its text. A logged exception
(``logger.exception``, ``exc_info=``) becomes the fields of
``flotilla.runtime.failures.exception_fields`` plus its ``traceback``, unless the call
gave those fields itself. Every string in the line goes through ``failures.redact`` last,
so a credential that slipped into a message still never reaches the log.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys

from flotilla.runtime.failures import exception_fields, redact

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            for key, value in exception_fields(record.exc_info[1]).items():
                entry.setdefault(key, value)
            entry.setdefault("traceback", self.formatException(record.exc_info))
        return json.dumps(_safe(entry))


def _safe(value: object) -> object:
    """``value`` as JSON-ready data, every string redacted."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(key): _safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(item) for item in value]
    return redact(str(value))


def setup(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request line at INFO; ours say what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
