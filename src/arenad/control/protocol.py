"""Wire rules of the control protocol (pure; no sockets here).

Request:   {"id": 1, "cmd": "status", "args": {...}}      (id: int or str; args optional)
Response:  {"id": 1, "ok": true, "result": {...}}
           {"id": 1, "ok": false, "error": {"code": "...", "message": "..."}}
Event:     {"event": "system_event", "ts": "...", "data": {...}}   (after `subscribe`)

Error codes: ``bad_request`` (not JSON, not an object, missing/invalid fields, or over one of
the limits below), ``unknown_command``, ``invalid_args`` (the command refused its arguments),
``failed`` (the command raised), ``unavailable`` (the component is not running).

The parser is strict because a request can engage or release the kill switch: an ambiguous one
must be refused, not guessed at. Duplicate keys are refused (``{"cmd": "status", "cmd": "kill"}``
would otherwise run ``kill``: the last key wins in ``json``), and so is anything a parser could
choke on or a consumer misread: nesting deeper than ``MAX_DEPTH``, integers beyond 2^53 (they
lose precision in JavaScript and other float-based clients; 4,300+ digits even make Python's
``int`` raise), NaN/Infinity and overflowing floats, and lone UTF-16 surrogates (SQLite cannot
store them, so a ``kill`` reason with one would fail in the writer instead of here).
Frames over ``MAX_FRAME_BYTES`` never reach the parser: the websocket layer closes the
connection with 1009 (it cannot skip a message it has not read).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

MAX_FRAME_BYTES = 256 << 10
"""Largest request frame; a larger one closes the connection (websocket close code 1009).

Requests are small (the largest, a ``strategies.batch`` sweep, is a few KiB). Strict parsing
costs up to ~0.1 ms per KiB of pathological input (100k small objects), so this also bounds
how long one frame can hold the event loop that runs the trading loops (~30 ms), while a
100,000-deep array (200 KB) still gets its error reply."""
MAX_DEPTH = 32
"""Deepest nesting of arrays/objects in a request (the request object itself is level 1)."""
MAX_INT = 1 << 53
"""Largest integer magnitude in a request (exactly representable as a JSON/JavaScript number)."""
MAX_ID_CHARS = 128
"""Longest string ``id`` (it is echoed in every reply)."""
MAX_CMD_CHARS = 128
"""Longest ``cmd`` (longer is no command's name, and it is echoed in the error)."""
BUSY_CLOSE_CODE = 1013
"""Websocket close code of a connection refused over the cap (RFC 6455: try again later)."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, request_id: int | str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


class InvalidArgs(ProtocolError):
    def __init__(self, message: str) -> None:
        super().__init__("invalid_args", message)


@dataclass(frozen=True, slots=True)
class Request:
    id: int | str | None
    cmd: str
    args: dict[str, Any] = field(default_factory=dict)


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else f"{text[:n]}… ({len(text)} characters)"


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ProtocolError("bad_request", f"duplicate key {_clip(key)!r} in a JSON object")
        obj[key] = value
    return obj


def _int(text: str) -> int:
    # Checked on the digits first: int() of 4,300+ digits raises, and is slow well before.
    if len(text.lstrip("-")) > len(str(MAX_INT)) or abs(v := int(text)) > MAX_INT:
        raise ProtocolError(
            "bad_request",
            f"integer {_clip(text, 24)} is out of range: integers must be at most 2^53 "
            f"({MAX_INT}) in magnitude",
        )
    return v


def _float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ProtocolError("bad_request", f"number {_clip(text, 24)} is out of range")
    return v


def _constant(text: str) -> Any:
    raise ProtocolError("bad_request", f"{text} is not a JSON value")


def _check_parsed(raw: str, obj: Any) -> None:
    """Depth and surrogate checks, iteratively (the value may be ~1,000 levels deep).

    Each walk runs only when the raw text says it could find something: fewer brackets than
    the depth limit cannot nest past it, and a lone surrogate needs a literal one or a
    ``\\uD8xx``-``\\uDFxx`` escape (a valid escaped pair also matches, then the walk decides).
    """
    if raw.count("[") + raw.count("{") > MAX_DEPTH:
        stack: list[tuple[Any, int]] = [(obj, 1)] if isinstance(obj, dict | list) else []
        while stack:
            value, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise ProtocolError(
                    "bad_request", f"request is nested deeper than {MAX_DEPTH} levels"
                )
            for v in value.values() if isinstance(value, dict) else value:
                if isinstance(v, dict | list):
                    stack.append((v, depth + 1))
    if _SURROGATE_ESCAPE.search(raw) or _SURROGATE.search(raw):
        todo: list[Any] = [obj]
        while todo:
            value = todo.pop()
            if isinstance(value, str):
                if _SURROGATE.search(value):
                    raise ProtocolError(
                        "bad_request",
                        "request contains a lone UTF-16 surrogate (\\ud800-\\udfff)",
                    )
            elif isinstance(value, dict):
                todo.extend(value.keys())
                todo.extend(value.values())
            elif isinstance(value, list):
                todo.extend(value)


def parse_request(raw: str | bytes) -> Request:  # noqa: C901
    """The request in ``raw``, or :class:`ProtocolError` (``bad_request``) naming what is wrong.

    Never raises anything else, whatever the input: the control server answers every frame.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError("bad_request", "request is not UTF-8 text") from e
    try:
        obj = json.loads(
            raw,
            object_pairs_hook=_object,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_constant,
        )
    except ProtocolError:
        raise
    except json.JSONDecodeError as e:
        raise ProtocolError(
            "bad_request", f"request is not JSON: {e.msg} at column {e.colno}"
        ) from e
    except RecursionError as e:
        raise ProtocolError(
            "bad_request", f"request is nested deeper than {MAX_DEPTH} levels"
        ) from e
    except Exception as e:  # any other parser failure is the request's fault
        raise ProtocolError(
            "bad_request", f"request is not valid JSON ({type(e).__name__}: {_clip(str(e), 80)})"
        ) from e
    _check_parsed(raw, obj)
    if not isinstance(obj, dict):
        raise ProtocolError("bad_request", "request must be a JSON object")
    rid = obj.get("id")
    if rid is not None and (not isinstance(rid, int | str) or isinstance(rid, bool)):
        raise ProtocolError("bad_request", "`id` must be an integer or a string")
    if isinstance(rid, str) and len(rid) > MAX_ID_CHARS:
        raise ProtocolError("bad_request", f"`id` is longer than {MAX_ID_CHARS} characters")
    cmd = obj.get("cmd")
    if not isinstance(cmd, str) or not cmd:
        raise ProtocolError("bad_request", "`cmd` must be a non-empty string", rid)
    if len(cmd) > MAX_CMD_CHARS:
        raise ProtocolError("bad_request", f"`cmd` is longer than {MAX_CMD_CHARS} characters", rid)
    args = obj.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ProtocolError("bad_request", "`args` must be a JSON object", rid)
    return Request(rid, cmd, args)


def ok(request_id: int | str | None, result: Any) -> str:
    return json.dumps({"id": request_id, "ok": True, "result": result}, default=str)


def error(request_id: int | str | None, code: str, message: str) -> str:
    return json.dumps(
        {"id": request_id, "ok": False, "error": {"code": code, "message": message}}, default=str
    )


def event(wire: dict[str, Any]) -> str:
    return json.dumps(wire, default=str)


# Small argument helpers so each command validates the same way.
def arg_str(
    args: dict[str, Any], name: str, default: str | None = None, *, required: bool = False
) -> str | None:
    v = args.get(name, default)
    if v is None:
        if required:
            raise InvalidArgs(f"`{name}` is required")
        return None
    if not isinstance(v, str):
        raise InvalidArgs(f"`{name}` must be a string")
    return v


def arg_int(args: dict[str, Any], name: str, default: int, *, lo: int, hi: int) -> int:
    v = args.get(name, default)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise InvalidArgs(f"`{name}` must be an integer from {lo} to {hi}")
    return v
