"""The control API: what the phone, its contacts and the network do (see DESIGN.md)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from engine.whatsapp.simulator import ids
from engine.whatsapp.simulator.phone import Json, Phone, SimulatorError
from engine.whatsapp.simulator.state import STATE, SimulatorState

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refusals become ``{"error": ...}`` with their status instead of HTML pages."""
    try:
        return await handler(request)
    except SimulatorError as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    except ids.BadAddress as exc:
        return web.json_response({"error": str(exc)}, status=400)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise SimulatorError(400, f"body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise SimulatorError(400, "body must be a JSON object")
    return body


def _field(body: dict[str, Any], key: str, kind: type, *, required: bool = True) -> Any:
    value = body.get(key)
    if value is None and not required:
        return None
    # bool is an int in Python; only accept it where a bool is asked for.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise SimulatorError(400, f'"{key}" must be a {kind.__name__}, got {value!r}')
    return value


def _phone(request: web.Request) -> tuple[SimulatorState, Phone]:
    state = request.app[STATE]
    return state, state.phone(request.match_info["name"])


def _message(phone: Phone, *, from_me: bool, remote: str, body: str, **extra: Any) -> Json:
    me = phone.wid or "0@c.us"
    return {
        "fromMe": from_me,
        "remote": remote,
        "id": extra.pop("raw_id", None) or ids.message_id(),
        "from": me if from_me else remote,
        "to": remote if from_me else me,
        "body": body,
        "type": "chat",
        "t": int(time.time()),
        "ack": 1 if from_me else 0,
        **extra,
    }


async def list_sessions(request: web.Request) -> web.Response:
    """``GET /control/sessions``."""
    phones = request.app[STATE].phones.values()
    return web.json_response({"sessions": [p.describe() for p in phones]})


async def scan(request: web.Request) -> web.Response:
    """``POST .../scan {"phone", "code"?}``: the phone scans the QR (or types the code)."""
    _, phone = _phone(request)
    body = await _body(request)
    number = ids.to_wid(_field(body, "phone", str)).partition("@")[0]
    await phone.scan(number, _field(body, "code", str, required=False))
    return web.json_response(phone.describe())


async def inbound(request: web.Request) -> web.Response:
    """``POST .../inbound {"from", "body", "name"?, "id"?, "ciphertext"?, "group"?, "status"?}``."""
    _, phone = _phone(request)
    body = await _body(request)
    sender = ids.to_wid(_field(body, "from", str))
    text = _field(body, "body", str)
    group = _field(body, "group", str, required=False)
    status = bool(_field(body, "status", bool, required=False))
    remote = "status@broadcast" if status else ids.to_wid(group) if group else sender
    participant = sender if group or status else None
    raw_id = _field(body, "id", str, required=False)
    if raw_id and "_" in raw_id:
        raw_id = ids.split_key(raw_id)[2]
    msg = _message(
        phone,
        from_me=False,
        remote=remote,
        body=text,
        raw_id=raw_id,
        author=participant,
        participant=participant,
        notifyName=_field(body, "name", str, required=False) or "",
        isGroupMsg=bool(group),
        isStatusV3=status,
        quotedMsgId=_field(body, "quoted_id", str, required=False),
    )
    if _field(body, "ciphertext", bool, required=False):
        await phone.deliver({"type": "message", "msg": {**msg, "type": "ciphertext", "body": ""}})
    await phone.deliver({"type": "message", "msg": msg})
    key = ids.serialized_key(False, remote, msg["id"], participant)
    return web.json_response({"id": key})


async def phone_message(request: web.Request) -> web.Response:
    """``POST .../phone-message {"to", "body"}``: typed on the business phone itself."""
    _, phone = _phone(request)
    if phone.wid is None:
        raise SimulatorError(409, f"{phone.name} is not paired: scan its QR first")
    body = await _body(request)
    to = ids.to_wid(_field(body, "to", str))
    msg = _message(phone, from_me=True, remote=to, body=_field(body, "body", str))
    await phone.deliver({"type": "message", "msg": msg})
    return web.json_response({"id": ids.serialized_key(True, to, msg["id"])})


async def ack(request: web.Request) -> web.Response:
    """``POST .../ack {"id", "ack"}``: delivery or read receipt of a message."""
    _, phone = _phone(request)
    body = await _body(request)
    message_id = _field(body, "id", str)
    ids.split_key(message_id)
    await phone.deliver({"type": "ack", "ids": [message_id], "ack": _field(body, "ack", int)})
    return web.json_response({"ok": True})


def _action(name: str, act: Callable[[Phone], Awaitable[None]]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        _, phone = _phone(request)
        await act(phone)
        logger.info("simulator: %s on %s", name, phone.name)
        return web.json_response(phone.describe())

    handler.__doc__ = f"``POST .../{name}``."
    return handler


async def sent(request: web.Request) -> web.Response:
    """``GET .../sent``: what the session sent (to, body, id, time)."""
    _, phone = _phone(request)
    return web.json_response({"sent": [record.as_json() for record in phone.sent]})


async def numbers(request: web.Request) -> web.Response:
    """``POST /control/numbers {"not_on_whatsapp": [...]}``: numbers that do not exist."""
    state = request.app[STATE]
    missing = _field(await _body(request), "not_on_whatsapp", list)
    if not all(isinstance(n, str) for n in missing):
        raise SimulatorError(400, '"not_on_whatsapp" must be a list of strings')
    state.mark_missing(missing)
    return web.json_response({"not_on_whatsapp": sorted(state.not_on_whatsapp)})


def add_routes(app: web.Application) -> None:
    """Register the control API on ``app``."""
    base = "/control/sessions/{name}"
    app.router.add_get("/control/sessions", list_sessions)
    app.router.add_post(f"{base}/scan", scan)
    app.router.add_post(f"{base}/inbound", inbound)
    app.router.add_post(f"{base}/phone-message", phone_message)
    app.router.add_post(f"{base}/ack", ack)
    app.router.add_post(f"{base}/drop", _action("drop", lambda p: p.set_dropped(True)))
    app.router.add_post(f"{base}/restore", _action("restore", lambda p: p.set_dropped(False)))
    app.router.add_post(f"{base}/logout", _action("logout", lambda p: p.logout("user_initiated")))
    app.router.add_post(f"{base}/ban", _action("ban", lambda p: p.ban()))
    app.router.add_post(f"{base}/reload", _action("reload", lambda p: p.reload_page()))
    app.router.add_post(f"{base}/freeze", _action("freeze", lambda p: p.freeze_page()))
    app.router.add_post(
        f"{base}/stall-sends", _action("stall-sends", lambda p: p.set_send_stall(True))
    )
    app.router.add_post(
        f"{base}/release-sends", _action("release-sends", lambda p: p.set_send_stall(False))
    )
    app.router.add_get(f"{base}/sent", sent)
    app.router.add_post("/control/numbers", numbers)
