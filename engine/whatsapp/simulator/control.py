"""The control API: what the phone, its contacts and the network do (see README, Simulator)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from engine.whatsapp.simulator import control_messages, ids
from engine.whatsapp.simulator.control_base import (
    Handler,
    body_of,
    field,
    json_errors,
    phone_of,
    seconds,
)
from engine.whatsapp.simulator.phone import Phone, SimulatorError
from engine.whatsapp.simulator.state import STATE, SimulatorState

logger = logging.getLogger(__name__)

__all__ = ["add_routes", "json_errors"]


async def list_sessions(request: web.Request) -> web.Response:
    """``GET /control/sessions``."""
    phones = request.app[STATE].phones.values()
    return web.json_response({"sessions": [p.describe() for p in phones]})


async def scan(request: web.Request) -> web.Response:
    """``POST .../scan {"phone", "code"?}``: the phone scans the QR (or types the code)."""
    state, phone = phone_of(request)
    body = await body_of(request)
    number = ids.phone_digits(field(body, "phone", str))
    code = field(body, "code", str, required=False)
    await phone.scan(number, code, lid=state.lids.get(number))
    return web.json_response(phone.describe())


def _action(name: str, act: Callable[[Phone], Awaitable[None]]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        _, phone = phone_of(request)
        await act(phone)
        logger.info("simulator: %s on %s", name, phone.name)
        return web.json_response(phone.describe())

    handler.__doc__ = f"``POST .../{name}``."
    return handler


async def reload(request: web.Request) -> web.Response:
    """``POST .../reload {"ready_after_s"?}``: the page reloads; WA-JS is injected at once
    but ``WPP.isReady`` waits ``ready_after_s``."""
    _, phone = phone_of(request)
    body = await body_of(request, optional=True)
    await phone.reload_page(seconds(body, "ready_after_s"))
    return web.json_response(phone.describe())


async def sent(request: web.Request) -> web.Response:
    """``GET .../sent``: what the session sent (to, chat, body, id, time, result, type)."""
    _, phone = phone_of(request)
    return web.json_response({"sent": [record.as_json() for record in phone.sent]})


def _numbers_json(state: SimulatorState) -> dict[str, Any]:
    return {
        "not_on_whatsapp": sorted(state.not_on_whatsapp),
        "send_result": dict(sorted(state.send_results.items())),
    }


async def numbers(request: web.Request) -> web.Response:
    """``POST /control/numbers {"not_on_whatsapp"?: [...], "send_result"?: {phone: result}}``."""
    state = request.app[STATE]
    body = await body_of(request)
    unknown = set(body) - {"not_on_whatsapp", "send_result"}
    if unknown or not body:
        raise SimulatorError(
            400, 'give "not_on_whatsapp" (a list) and/or "send_result" (an object)'
        )
    missing = field(body, "not_on_whatsapp", list, required=False) or []
    if not all(isinstance(n, str) for n in missing):
        raise SimulatorError(400, '"not_on_whatsapp" must be a list of strings')
    results = field(body, "send_result", dict, required=False) or {}
    if not all(isinstance(v, str | None) for v in results.values()):
        raise SimulatorError(400, '"send_result" values must be a result name or null')
    state.mark_missing(missing)
    for number, result in results.items():
        state.set_send_result(number, result)
    return web.json_response(_numbers_json(state))


async def get_lids(request: web.Request) -> web.Response:
    """``GET /control/lids``: the LID table (phone digits -> LID digits)."""
    return web.json_response({"lids": dict(sorted(request.app[STATE].lids.items()))})


async def post_lids(request: web.Request) -> web.Response:
    """``POST /control/lids {"<phone>": "<lid>" | null}``: who has migrated to a LID."""
    state = request.app[STATE]
    body = await body_of(request)
    for number, lid in body.items():
        if lid is not None and not isinstance(lid, str):
            raise SimulatorError(400, f"the LID of {number!r} must be a string of digits or null")
    for number, lid in body.items():
        state.set_lid(number, lid)
    return await get_lids(request)


def add_routes(app: web.Application) -> None:
    """Register the control API on ``app``."""
    base = "/control/sessions/{name}"
    app.router.add_get("/control/sessions", list_sessions)
    app.router.add_post(f"{base}/scan", scan)
    app.router.add_post(f"{base}/inbound", control_messages.inbound)
    app.router.add_post(f"{base}/phone-message", control_messages.phone_message)
    app.router.add_post(f"{base}/ack", control_messages.ack)
    actions: dict[str, Callable[[Phone], Awaitable[None]]] = {
        "drop": lambda p: p.set_dropped(True),
        "restore": lambda p: p.set_dropped(False),
        "logout": lambda p: p.logout("user_initiated"),
        "ban": lambda p: p.ban(),
        "freeze": lambda p: p.freeze_page(),
        "stall-sends": lambda p: p.set_send_stall(True),
        "release-sends": lambda p: p.set_send_stall(False),
        "conflict": lambda p: p.set_conflict(True),
        "expire-link-code": lambda p: p.expire_link_code(),
        "qr-idle": lambda p: p.make_idle(),
    }
    for name, act in actions.items():
        app.router.add_post(f"{base}/{name}", _action(name, act))
    app.router.add_post(f"{base}/reload", reload)
    app.router.add_get(f"{base}/sent", sent)
    app.router.add_post("/control/numbers", numbers)
    app.router.add_get("/control/lids", get_lids)
    app.router.add_post("/control/lids", post_lids)
