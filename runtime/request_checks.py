"""Refuse request values no database can hold, for every route at once.

NUL characters (PostgreSQL text cannot hold them), integers beyond their column and JSON
bodies nested deeper than any schema needs are a 422 in the shared error shape on SQLite and
PostgreSQL alike, never an OverflowError or a database error. Two pieces, applied app-wide
so no route can forget them:

- ``check_params``, an app dependency: path parameters and query values (it knows from the
  matched route which of them are integers);
- ``BodyGuard``, a middleware: JSON bodies, whose depth it checks before any parser runs.
  Routes that read their body raw and answer per element (``POST /actions``) are exempt.
  Their size is not its business: ``BodyLimit`` (runtime/http_limits.py), outside it,
  holds every body to the one limit the deployment sets.
"""

import json
import re
from collections.abc import Iterator
from typing import Any, get_args

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from protocol.wire import nesting_depth
from runtime.http_errors import error_response

# Path and query integers name rows (ids are 32-bit integer columns on PostgreSQL) or count
# them (limit, offset): none needs more than 32 bits.
PARAM_INT_MIN, PARAM_INT_MAX = -(2**31), 2**31 - 1
# Body integers are held to the widest integer column (BIGINT); schemas narrow it per field.
BODY_INT_MIN, BODY_INT_MAX = -(2**63), 2**63 - 1
MAX_BODY_DEPTH = 32
_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
_MAX_DIGITS = 40

Problem = dict[str, Any]


async def check_params(request: Request) -> None:
    """App dependency: NUL in a path parameter or query value, or an integer parameter out
    of range, is a 422 before the route's own code (or any database query) runs."""
    int_path, int_query = _integer_params(request.scope.get("route"))
    values = [("path", name, value) for name, value in request.path_params.items()]
    values += [("query", name, value) for name, value in request.query_params.multi_items()]
    values += [("query", name, name) for name in request.query_params]  # names too
    problems = []
    for where, name, value in values:
        if not isinstance(value, str):
            continue
        if "\x00" in value:
            problems.append(_nul((where, name.replace("\x00", "\\u0000"))))
        elif name in (int_path if where == "path" else int_query) and _out_of_range(value):
            problems.append(_range((where, name), PARAM_INT_MIN, PARAM_INT_MAX))
    if problems:
        raise RequestValidationError(problems)


def _integer_params(route: Any) -> tuple[set[str], set[str]]:
    """The route's integer path and query parameters, its dependencies' included."""
    dependant = getattr(route, "dependant", None)
    if not isinstance(dependant, Dependant):
        return set(), set()
    int_path: set[str] = set()
    int_query: set[str] = set()
    for part in _all(dependant):
        int_path |= {f.alias for f in part.path_params if _is_narrow_int(f.field_info)}
        int_query |= {f.alias for f in part.query_params if _is_narrow_int(f.field_info)}
    return int_path, int_query


def _is_narrow_int(field: Any) -> bool:
    """An integer parameter held to 32 bits here; one that declares a wider upper bound
    itself (``le``: event ids are 64-bit) is held to that bound by its schema instead."""
    wide = any((getattr(m, "le", None) or 0) > PARAM_INT_MAX for m in field.metadata)
    return _is_int(field.annotation) and not wide


def _all(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _all(sub)


def _is_int(annotation: Any) -> bool:
    """True for int, and for types holding one (int | None, list[int], Annotated[int, ...])."""
    return annotation is int or any(_is_int(arg) for arg in get_args(annotation))


def _out_of_range(text: str) -> bool:
    """True when ``text`` is an integer outside 32 bits (other text is left to the schema)."""
    if not _INTEGER.match(text):
        return False
    digits = text.strip().lstrip("+-")
    return len(digits) > _MAX_DIGITS or not PARAM_INT_MIN <= int(text) <= PARAM_INT_MAX


class BodyGuard:
    """Middleware: a JSON body nested too deep, holding an integer beyond 64 bits or a NUL
    character is answered 422 before the app parses it. It reads the whole body, so it goes
    inside ``BodyLimit``, which has already bounded it."""

    def __init__(self, app: ASGIApp, *, raw_body_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.raw_body_paths = raw_body_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.raw_body_paths:
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(b"", message, receive), send)
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        problems = body_problems(body) if _is_json(scope) else []
        if problems:
            await _refusal(problems)(scope, receive, send)
            return
        await self.app(scope, _replay(body, None, receive), send)


def _is_json(scope: Scope) -> bool:
    """A body the app will read as JSON: a JSON content type, or none given."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return b"json" in value.lower()
    return True


def _replay(body: bytes, pending: Message | None, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then the real channel."""
    first: list[Message] = [pending or {"type": "http.request", "body": body}]

    async def replayed() -> Message:
        return first.pop() if first else await receive()

    return replayed


def _refusal(problems: list[Problem]) -> ASGIApp:
    """The same answer as a request that fails its schema (runtime/http_errors.py)."""
    errors = [
        {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]} for e in problems
    ]
    summary = "; ".join(f"{'.'.join(e['loc'][1:]) or 'body'}: {e['msg']}" for e in errors[:5])
    return error_response(422, "VALIDATION_ERROR", summary, {"errors": errors})


class _TooLong(ValueError):
    """An integer literal far beyond any column, refused before it is converted."""


def _bounded_int(text: str) -> int:
    if len(text) > _MAX_DIGITS:
        raise _TooLong(text)
    return int(text)


def body_problems(payload: bytes) -> list[Problem]:
    """Depth (before parsing), integers beyond 64 bits and NUL characters in a JSON body.
    A body that is not JSON at all is left to the framework's own answer."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return []
    depth = nesting_depth(text)
    if depth > MAX_BODY_DEPTH:
        message = f"the body nests {depth} levels deep; the limit is {MAX_BODY_DEPTH}"
        return [{"loc": ("body",), "msg": message, "type": "too_deep"}]
    try:
        value = json.loads(text, parse_int=_bounded_int)
    except _TooLong:
        return [_range(("body",), BODY_INT_MIN, BODY_INT_MAX)]
    except ValueError:
        return []
    return list(_value_problems(value, ("body",)))


def _value_problems(value: Any, loc: tuple[str | int, ...]) -> Iterator[Problem]:
    if isinstance(value, str):
        if "\x00" in value:
            yield _nul(loc)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not BODY_INT_MIN <= value <= BODY_INT_MAX:
            yield _range(loc, BODY_INT_MIN, BODY_INT_MAX)
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                yield _nul((*loc, key.replace("\x00", "\\u0000")))
            yield from _value_problems(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _value_problems(item, (*loc, index))


def _nul(loc: tuple[str | int, ...]) -> Problem:
    message = "the NUL character (\\u0000) is not allowed"
    return {"loc": loc, "msg": message, "type": "nul_character"}


def _range(loc: tuple[str | int, ...], low: int, high: int) -> Problem:
    return {
        "loc": loc,
        "msg": f"integer out of range; it must lie in {low}..{high}",
        "type": "value_out_of_range",
    }
