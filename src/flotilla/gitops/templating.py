"""ApplicationSet templates, rendered with Argo CD's two engines.

An ApplicationSet's ``template`` is an Application with parameters in its strings. Argo CD
renders each string on its own, map keys included (numbers and booleans are never
templated):

- **fasttemplate** (the default): ``{{ name }}`` is replaced by the parameter ``name`` when
  that is a string; spaces inside the braces are trimmed; a tag naming no string parameter
  is left exactly as written. Parameters are flat (``metadata.labels.env`` is one key). A
  ``{{`` with no ``}}`` after it is an error.
- **Go templates** (``goTemplate: true``): Go's text/template with Sprig and Argo CD's
  extras, ``goTemplateOptions`` such as ``missingkey=error``. There is one faithful
  implementation of those, Go's own, so they run in ``flotilla-gotemplate`` (built from
  ``hack/gotemplate`` by ``make binaries``), once per ApplicationSet for every parameter
  set, with a time, an output and a memory limit.

:func:`render` returns one rendered template per parameter set, or raises TemplateError
naming the string and the parameter set that failed (never a parameter's value).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import resource
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

MAX_OUTPUT = 16 * 1024 * 1024
"""Bytes all rendered strings of one ApplicationSet may come to."""
MAX_MEMORY = 2 << 30
"""Address space the helper may use (a template can build huge values before writing)."""
TIMEOUT = 30.0
"""Seconds one Go template rendering may take."""

_OPTION = re.compile(r"^missingkey=(default|invalid|zero|error)$")


class TemplateError(Exception):
    """A template that cannot be rendered with a parameter set."""


def fasttemplate(text: str, params: Mapping[str, Any]) -> str:
    """``text`` with each ``{{ key }}`` naming a string parameter replaced, as Argo CD's
    fasttemplate mode does; every other tag is kept as written."""
    if not _templated(text):
        return text
    out: list[str] = []
    at = 0
    while True:
        start = text.find("{{", at)
        if start < 0:
            out.append(text[at:])
            return "".join(out)
        end = text.find("}}", start + 2)
        if end < 0:
            raise TemplateError(f"cannot find the end of the tag that starts at {start}")
        out.append(text[at:start])
        tag = text[start + 2 : end]
        value = params.get(tag.strip())
        out.append(value if tag.strip() and isinstance(value, str) else "{{" + tag + "}}")
        at = end + 2


def _templated(text: str) -> bool:
    """Whether one line holds ``{{`` and, after it, ``}}`` (Argo CD's ``.*{{.*}}.*``),
    found in linear time."""
    for line in text.split("\n"):
        start = line.find("{{")
        if start >= 0 and line.find("}}", start + 2) >= 0:
            return True
    return False


def strings_of(template: Any) -> list[str]:
    """Every string in ``template``, map keys included, in a fixed walk order."""
    found: list[str] = []

    def keep(text: str) -> str:
        found.append(text)
        return text

    _walk(template, keep)
    return found


def substitute(template: Any, replace: Callable[[str], str]) -> Any:
    """A deep copy of ``template`` with every string (map keys too) passed through
    ``replace``, in the order ``strings_of`` lists them."""
    return _walk(copy.deepcopy(template), replace)


def _walk(node: Any, replace: Callable[[str], Any]) -> Any:
    if isinstance(node, str):
        return replace(node)
    if isinstance(node, dict):
        items = list(node.items())
        node.clear()
        for key, value in items:
            new_key = replace(key) if isinstance(key, str) else key
            node[new_key] = _walk(value, replace)
        return node
    if isinstance(node, list):
        for index, item in enumerate(node):
            node[index] = _walk(item, replace)
        return node
    return node


async def render(
    template: dict[str, Any],
    param_sets: Sequence[Mapping[str, Any]],
    *,
    go_template: bool = False,
    options: Sequence[str] = (),
    helper: Path | None = None,
) -> list[dict[str, Any]]:
    """``template`` rendered with each parameter set, in order (an empty parameter set
    leaves the template as it is, as in Argo CD)."""
    if not go_template:
        rendered = []
        left = [MAX_OUTPUT]  # what every rendered string together may still come to
        for number, params in enumerate(param_sets):
            if not params:
                rendered.append(copy.deepcopy(template))
                continue
            try:
                rendered.append(substitute(template, _fast(params, left)))
            except TemplateError as exc:
                raise TemplateError(f"parameter set {number + 1}: {exc}") from None
        return rendered
    for option in options:
        if not _OPTION.match(option):
            raise TemplateError(
                f"goTemplateOptions: {option!r} is not one of missingkey=default, "
                "missingkey=invalid, missingkey=zero, missingkey=error"
            )
    if helper is None:
        raise TemplateError("Go templates need flotilla-gotemplate (`make binaries` builds it)")
    texts = strings_of(template)
    answers = await _run_helper(helper, texts, param_sets, options)
    rendered = []
    # The helper stops at the first error: then it is the last answer.
    for number, (answer, params) in enumerate(zip(answers, param_sets, strict=False)):
        if not params:
            rendered.append(copy.deepcopy(template))
            continue
        if "error" in answer:
            raise TemplateError(f"parameter set {number + 1}: {answer['error']}")
        rendered.append(substitute(template, _in_order(answer["strings"])))
    return rendered


def interpolator(
    *, go_template: bool, options: Sequence[str] = (), helper: Path | None = None
) -> Callable[[Any, Sequence[Mapping[str, Any]]], Awaitable[list[Any]]]:
    """``render`` for a piece of an ApplicationSet's spec (a generator, a ``values`` map),
    in the ApplicationSet's template mode."""

    async def interpolate(node: Any, param_sets: Sequence[Mapping[str, Any]]) -> list[Any]:
        wrapped = await render(
            {"node": node}, param_sets, go_template=go_template, options=options, helper=helper
        )
        return [one["node"] for one in wrapped]

    return interpolate


def _fast(params: Mapping[str, Any], left: list[int]) -> Callable[[str], str]:
    def replace(text: str) -> str:
        out = fasttemplate(text, params)
        left[0] -= len(out)
        if left[0] < 0:
            raise TemplateError(f"the rendered templates come to more than {MAX_OUTPUT >> 20} MiB")
        return out

    return replace


def _in_order(values: Sequence[str]) -> Callable[[str], str]:
    """A ``replace`` that gives ``values`` one after the other (``strings_of``'s order)."""
    remaining = iter(values)
    return lambda _text: next(remaining)


async def _run_helper(
    helper: Path,
    texts: list[str],
    param_sets: Sequence[Mapping[str, Any]],
    options: Sequence[str],
) -> list[dict[str, Any]]:
    request = json.dumps(
        {
            "options": list(options),
            "strings": texts,
            "params": [dict(p) for p in param_sets],
            "max_bytes": MAX_OUTPUT,
        }
    ).encode()
    try:
        process = await asyncio.create_subprocess_exec(
            str(helper),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={},
        )
    except OSError as exc:
        raise TemplateError(f"cannot run {helper.name}: {exc.strerror}") from None
    try:
        # Limited once started (no preexec_fn: it is unsafe with threads, and this process
        # has them); the helper reads its whole request before it renders anything.
        resource.prlimit(process.pid, resource.RLIMIT_AS, (MAX_MEMORY, MAX_MEMORY))
        stdout, stderr = await asyncio.wait_for(process.communicate(request), TIMEOUT)
    except TimeoutError:
        raise TemplateError(f"Go templates took longer than {TIMEOUT:g}s") from None
    except (ProcessLookupError, PermissionError):
        raise TemplateError(f"{helper.name} could not be limited") from None
    finally:  # a timeout, or this task cancelled: the helper goes with it
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await asyncio.shield(process.wait())
    if process.returncode != 0:
        lines = stderr.decode("utf-8", "replace").strip().splitlines()
        if any("out of memory" in line for line in lines[:3]):
            raise TemplateError(f"Go templates needed more than {MAX_MEMORY >> 20} MiB")
        message = lines[0][:500] if lines else ""
        raise TemplateError(message or f"{helper.name} failed ({process.returncode})")
    try:
        answers: list[dict[str, Any]] = json.loads(stdout)["results"]
    except (ValueError, KeyError, TypeError):
        raise TemplateError(f"{helper.name} gave an answer that is not JSON") from None
    complete = len(answers) == len(param_sets)
    if not complete and not (answers and len(answers) < len(param_sets) and "error" in answers[-1]):
        raise TemplateError(f"{helper.name} answered for {len(answers)} parameter sets")
    return answers


__all__ = [
    "MAX_OUTPUT",
    "TIMEOUT",
    "TemplateError",
    "fasttemplate",
    "interpolator",
    "render",
    "strings_of",
]
