"""The WebSocket between a simulated page (wpp-fake.js) and the simulator."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from engine.whatsapp.simulator import ids
from engine.whatsapp.simulator.phone import Json, Phone, SimulatorError
from engine.whatsapp.simulator.state import STATE, SimulatorState

logger = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 10.0


class SocketLink:
    """``PageLink`` over an aiohttp WebSocket."""

    def __init__(self, ws: web.WebSocketResponse, user_agent: str) -> None:
        self.ws = ws
        self.user_agent = user_agent

    async def push(self, message: Json) -> None:
        """Send, ignoring a page that is already going away (it will be detached)."""
        if self.ws.closed:
            return
        try:
            await self.ws.send_json(message)
        except ConnectionResetError:
            logger.debug("page went away before a push")

    async def close(self) -> None:
        """Disconnect the page."""
        await self.ws.close()


async def _answer(state: SimulatorState, phone: Phone, op: str, args: dict[str, Any]) -> Any:
    match op:
        case "send":
            to = ids.to_wid(str(args["to"]))
            record = phone.record_send(to, str(args["body"]), str(args["messageId"]))
            await phone.send_answer_released()
            return {"id": record.id, "to": to, "ack": 1, "t": int(record.time)}
        case "exists":
            wid = state.query_exists(str(args["number"]))
            return None if wid is None else {"wid": wid, "biz": False}
        case "logout":
            await phone.logout("user_initiated")
            return True
        case "refresh_qr":
            await phone.rotate()
            return None
        case "link_code":
            return phone.issue_link_code()
        case "composing":
            return True
    raise SimulatorError(400, f"unknown operation {op!r}")


async def _serve(state: SimulatorState, phone: Phone, link: SocketLink) -> None:
    ws = link.ws
    while not ws.closed:
        try:
            msg = await ws.receive(timeout=phone.seconds_to_rotation(link))
        except TimeoutError:
            await phone.rotate()
            continue
        if msg.type is not WSMsgType.TEXT:
            return
        request = json.loads(msg.data)
        op = str(request.get("op"))
        if op == "confirm":
            phone.confirm(int(request["seq"]))
            continue
        reply: Json = {"type": "reply", "rid": request.get("rid")}
        try:
            reply["result"] = await _answer(state, phone, op, dict(request.get("args") or {}))
        except (SimulatorError, ids.BadAddress, KeyError) as exc:
            reply["error"] = exc.message if isinstance(exc, SimulatorError) else str(exc)
        await link.push(reply)


async def page_socket(request: web.Request) -> web.WebSocketResponse:
    """``GET /s/{name}/socket``: one loaded page; the newest page of a phone wins."""
    state = request.app[STATE]
    phone = state.open(request.match_info["name"])
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    link = SocketLink(ws, request.headers.get("User-Agent", ""))
    try:
        hello = await ws.receive_json(timeout=HELLO_TIMEOUT_S)
    except (TimeoutError, TypeError, ValueError):
        await ws.close()
        return ws
    token = hello.get("token")
    await phone.attach(link, token if isinstance(token, str) else None)
    try:
        await _serve(state, phone, link)
    finally:
        phone.detach(link)
    return ws
