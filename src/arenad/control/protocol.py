"""Wire rules of the control protocol (pure; no sockets here).

Request:   {"id": 1, "cmd": "status", "args": {...}}      (id: int or str; args optional)
Response:  {"id": 1, "ok": true, "result": {...}}
           {"id": 1, "ok": false, "error": {"code": "...", "message": "..."}}
Event:     {"event": "system_event", "ts": "...", "data": {...}}   (after `subscribe`)

Error codes: ``bad_request`` (not JSON, not an object, missing/invalid fields),
``unknown_command``, ``invalid_args`` (the command refused its arguments), ``failed`` (the
command raised), ``unavailable`` (the component is not running).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MAX_MESSAGE_BYTES = 1 << 20


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


def parse_request(raw: str | bytes) -> Request:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError("bad_request", "request is not UTF-8 text") from e
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ProtocolError(
            "bad_request", f"request is not JSON: {e.msg} at column {e.colno}"
        ) from e
    if not isinstance(obj, dict):
        raise ProtocolError("bad_request", "request must be a JSON object")
    rid = obj.get("id")
    if rid is not None and (not isinstance(rid, int | str) or isinstance(rid, bool)):
        raise ProtocolError("bad_request", "`id` must be an integer or a string")
    cmd = obj.get("cmd")
    if not isinstance(cmd, str) or not cmd:
        raise ProtocolError("bad_request", "`cmd` must be a non-empty string", rid)
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
