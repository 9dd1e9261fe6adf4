"""The WebSocket between a simulated page (static/wpp-fake/) and the simulator.

The page asks WhatsApp's servers through it (``op`` requests, answered by ``reply`` pushes)
and receives what the servers push (messages, receipts, stream changes).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from engine.tasks import TaskOwner
from engine.whatsapp.simulator import ids
from engine.whatsapp.simulator.phone import Json, Phone, SentRecord, SimulatorError
from engine.whatsapp.simulator.state import STATE, SimulatorState

logger = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 10.0


class SocketLink:
    """``PageLink`` over an aiohttp WebSocket."""

    def __init__(self, ws: web.WebSocketResponse, user_agent: str, token: str | None) -> None:
        self.ws = ws
        self.user_agent = user_agent
        self.token = token

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


def _require_online(phone: Phone) -> None:
    # Server queries need a live stream; WA-JS turns the failure into null/fallbacks.
    if phone.state != "connected":
        raise SimulatorError(503, f"no connection to WhatsApp (state: {phone.state})")


async def _send(state: SimulatorState, phone: Phone, args: dict[str, Any]) -> Json:
    chat = ids.to_wid(str(args["chat"]))
    key = ids.serialized_key(True, chat, str(args["id"]), args.get("participant"))
    result = state.send_result(chat)
    to = state.phone_of(chat) if chat.endswith("@lid") else chat
    record = SentRecord(
        to=to or chat, chat=chat, body=str(args["body"]), id=key, time=0.0, result=result
    )
    if args.get("media") is not None:
        record.media = _sent_media(state, dict(args["media"]))
        record.type = str(record.media["kind"])
    await phone.send(record)
    return {"result": result, "t": int(record.time)}


def _sent_media(state: SimulatorState, media: dict[str, Any]) -> Json:
    """The ``/sent`` fields of a file the page uploaded before sending (``POST .../upload``)."""
    data = state.media.get(str(media["filehash"]))
    if data is None:
        raise SimulatorError(400, f"no uploaded file has the filehash {media['filehash']!r}")
    return {
        "kind": str(media["kind"]),
        "mimetype": str(media["mimetype"]),
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "caption": media.get("caption"),
        "filename": media.get("filename"),
    }


def _exists(state: SimulatorState, phone: Phone, number: str) -> Json | None:
    _require_online(phone)
    found = state.query_exists(number)
    if found and found.get("lid"):
        phone.account.lid_pn[found["lid"]] = found["wid"]
    return found


def _find(state: SimulatorState, phone: Phone, wid: str) -> Json:
    """findOrCreateLatestChat: the contact's latest chat, its @lid one after the migration."""
    _require_online(phone)
    wid = ids.to_wid(wid)
    chat = state.chat_of(wid) if wid.endswith("@c.us") else wid
    if chat.endswith("@lid") and wid.endswith("@c.us"):
        phone.account.lid_pn[chat] = ids.canonical_wid(wid)
    phone.account.chats.add(chat)
    return {"chat": chat, "pn": phone.account.lid_pn.get(chat)}


async def _answer(
    state: SimulatorState, phone: Phone, link: SocketLink, op: str, args: dict[str, Any]
) -> Any:
    match op:
        case "send":
            return await _send(state, phone, args)
        case "exists":
            return _exists(state, phone, str(args["id"]))
        case "find":
            return _find(state, phone, str(args["id"]))
        case "logout":
            await phone.logout("user_initiated", notify=False)
            return True
        case "refresh_qr":
            await phone.refresh_qr()
            return None
        case "link_code":
            number = ids.digits(str(args["phone"]), "phone number")
            return phone.issue_link_code(number)
        case "takeover":
            await phone.take_over(link, link.token, state.page.as_json())
            return None
        case "presence" | "seen":
            # Presence and read receipts are fire-and-forget: offline they are just lost.
            return True
    raise SimulatorError(400, f"unknown operation {op!r}")


async def _reply(
    state: SimulatorState, phone: Phone, link: SocketLink, request: dict[str, Any]
) -> None:
    op = str(request.get("op"))
    reply: Json = {"type": "reply", "rid": request.get("rid")}
    try:
        reply["result"] = await _answer(state, phone, link, op, dict(request.get("args") or {}))
    except (SimulatorError, ids.BadAddress, KeyError, ValueError) as exc:
        reply["error"] = exc.message if isinstance(exc, SimulatorError) else str(exc)
    await link.push(reply)


async def _serve(state: SimulatorState, phone: Phone, link: SocketLink) -> None:
    ws = link.ws
    tasks = TaskOwner(f"simulator-page:{phone.name}")
    try:
        while not ws.closed:
            try:
                msg = await ws.receive(timeout=phone.seconds_to_rotation(link))
            except TimeoutError:
                await phone.rotate()
                continue
            if msg.type is not WSMsgType.TEXT:
                return
            request = json.loads(msg.data)
            if request.get("op") == "confirm":
                phone.confirm(int(request["seq"]))
                continue
            # Each request runs on its own: a send held while offline must not block others.
            tasks.spawn(f"simulator-reply:{phone.name}", _reply(state, phone, link, request))
    finally:
        await tasks.shutdown(grace_s=0)


async def page_socket(request: web.Request) -> web.WebSocketResponse:
    """``GET /s/{name}/socket``: one loaded page; the newest page of a phone wins."""
    state = request.app[STATE]
    phone = state.open(request.match_info["name"])
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    try:
        hello = await ws.receive_json(timeout=HELLO_TIMEOUT_S)
    except (TimeoutError, TypeError, ValueError):
        await ws.close()
        return ws
    token = hello.get("token")
    link = SocketLink(
        ws, request.headers.get("User-Agent", ""), token if isinstance(token, str) else None
    )
    await phone.attach(link, link.token, state.page.as_json())
    if hello.get("takeover") is True:
        await phone.set_conflict(False)  # Socket.takeover() from a page another one replaced
    try:
        await _serve(state, phone, link)
    finally:
        phone.detach(link)
    return ws
