"""An exception as log fields: its type, its message and the exceptions behind it.

Why: "reconcile failed: 'spec'" says nothing; a structured line that says ``KeyError``
caused ``RuntimeError: could not render the template`` does, and a log query can group by
``error_type``. The chain follows ``__cause__`` (``raise ... from``) and ``__context__``
(raised while handling another) as Python's traceback printer does, honouring ``from None``.

Credentials: the API client keeps tokens and header values out of its errors and does not
chain the raw transport errors that could quote them (``flotilla.kube.client``). Messages
here are still passed through ``redact`` — bearer/basic credentials and URL passwords
become ``<redacted>`` — because an exception from anywhere else can end up in a log.
"""

from __future__ import annotations

import re

__all__ = ["MAX_CHAIN", "REDACTED", "exception_fields", "redact"]

REDACTED = "<redacted>"
MAX_CHAIN = 8
"""Exceptions listed behind the one logged, at most."""

_SCHEME_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s'\",;)\]}]+")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@:'\"]*:[^/\s@'\"]*@")


def redact(text: str) -> str:
    """``text`` with bearer/basic credentials and passwords in URLs replaced by REDACTED."""
    text = _SCHEME_CREDENTIAL.sub(rf"\1\2{REDACTED}", text)
    return _URL_USERINFO.sub(rf"\1{REDACTED}@", text)


def exception_fields(error: BaseException) -> dict[str, object]:
    """``error_type``, ``error`` (the message) and ``error_chain`` for ``extra=``.

    ``error_chain`` lists what is behind ``error``, nearest first, as
    ``{"relation": "cause" | "context", "type": ..., "error": ...}``.
    """
    chain: list[dict[str, str]] = []
    seen = {id(error)}
    current = error
    while len(chain) < MAX_CHAIN:
        behind, relation = _behind(current)
        if behind is None or id(behind) in seen:
            break
        seen.add(id(behind))
        chain.append({"relation": relation, "type": _type(behind), "error": _message(behind)})
        current = behind
    return {"error_type": _type(error), "error": _message(error), "error_chain": chain}


def _behind(error: BaseException) -> tuple[BaseException | None, str]:
    if error.__cause__ is not None:
        return error.__cause__, "cause"
    if error.__context__ is not None and not error.__suppress_context__:
        return error.__context__, "context"
    return None, ""


def _type(error: BaseException) -> str:
    return type(error).__name__


def _message(error: BaseException) -> str:
    return redact(str(error))
