"""Shared pieces of the control API: JSON bodies, typed fields, clear 400s."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from engine.whatsapp.simulator import ids
from engine.whatsapp.simulator.messages import BadMessage
from engine.whatsapp.simulator.phone import Phone, SimulatorError
from engine.whatsapp.simulator.state import STATE, SimulatorState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refusals become ``{"error": ...}`` with their status instead of HTML pages."""
    try:
        return await handler(request)
    except SimulatorError as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    except (ids.BadAddress, BadMessage) as exc:
        return web.json_response({"error": str(exc)}, status=400)


async def body_of(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The JSON object of a request (``{}`` for an empty body when ``optional``)."""
    if optional and not (await request.read()).strip():
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise SimulatorError(400, f"body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise SimulatorError(400, "body must be a JSON object")
    return body


def field(body: dict[str, Any], key: str, kind: type, *, required: bool = True) -> Any:
    """``body[key]`` checked against ``kind`` (``None`` when absent and not ``required``)."""
    value = body.get(key)
    if value is None and not required:
        return None
    # bool is an int in Python; only accept it where a bool is asked for.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise SimulatorError(400, f'"{key}" must be a {kind.__name__}, got {value!r}')
    return value


def seconds(body: dict[str, Any], key: str) -> float:
    """A non-negative number of seconds (0 when absent)."""
    value = body.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SimulatorError(400, f'"{key}" must be a number of seconds >= 0, got {value!r}')
    return float(value)


def phone_of(request: web.Request) -> tuple[SimulatorState, Phone]:
    """The state and the phone named in the path."""
    state = request.app[STATE]
    return state, state.phone(request.match_info["name"])
