"""Control API for messages: a contact writes, the phone itself writes, receipts arrive."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from engine.whatsapp.simulator import ids, messages
from engine.whatsapp.simulator.control_base import body_of, field, phone_of
from engine.whatsapp.simulator.messages import Content
from engine.whatsapp.simulator.phone import SimulatorError
from engine.whatsapp.simulator.state import SimulatorState

MEDIA_KEYS = frozenset({"kind", "mimetype", "data", "filename", "duration"})


def _content(body: dict[str, Any]) -> Content:
    media = field(body, "media", dict, required=False)
    if media is not None:
        return _media_content(body, media)
    return Content(
        type=field(body, "type", str, required=False) or "chat",
        body=field(body, "body", str, required=False),
        caption=field(body, "caption", str, required=False),
        mimetype=field(body, "mimetype", str, required=False),
        filename=field(body, "filename", str, required=False),
        subtype=field(body, "subtype", str, required=False),
    )


def _media_content(body: dict[str, Any], media: dict[str, Any]) -> Content:
    """``"media": {kind, mimetype?, data, filename?, duration?}`` plus ``"caption"``: a file a
    contact sends; its size and filehash come from ``data``."""
    unknown = set(media) - MEDIA_KEYS
    if unknown:
        raise SimulatorError(
            400, f'unknown "media" fields {sorted(unknown)}; use {sorted(MEDIA_KEYS)}'
        )
    kind = field(media, "kind", str)
    if kind not in messages.MEDIA:
        kinds = ", ".join(sorted(messages.MEDIA))
        raise SimulatorError(400, f'"media.kind" must be one of {kinds}, got {kind!r}')
    given = field(body, "type", str, required=False)
    if given is not None and given != kind:
        raise SimulatorError(400, f'"type" {given!r} contradicts "media.kind" {kind!r}: drop one')
    for key in ("mimetype", "filename", "body"):
        if body.get(key) is not None:
            raise SimulatorError(400, f'with "media", put "{key}" inside it (or leave it out)')
    try:
        data = base64.b64decode(field(media, "data", str), validate=True)
    except binascii.Error as exc:
        raise SimulatorError(400, f'"media.data" is not valid base64: {exc}') from exc
    duration = field(media, "duration", int, required=False)
    if duration is not None and duration < 0:
        raise SimulatorError(400, f'"media.duration" must be seconds >= 0, got {duration}')
    return Content(
        type=kind,
        caption=field(body, "caption", str, required=False),
        mimetype=field(media, "mimetype", str, required=False),
        filename=field(media, "filename", str, required=False),
        data=data,
        duration=duration,
    )


def _address(state: SimulatorState, body: dict[str, Any], key: str) -> tuple[str, str | None]:
    """The contact's address (``<lid>@lid`` once it has a LID, unless ``"lid": false``) and
    its phone id when WhatsApp knows it."""
    wid = ids.to_wid(field(body, key, str))
    lid = body.get("lid")
    if lid is not None and not isinstance(lid, bool | str):
        raise SimulatorError(400, f'"lid" must be true, false or a LID (digits), got {lid!r}')
    if wid.endswith("@lid"):
        return wid, state.phone_of(wid)
    if not wid.endswith("@c.us"):
        raise SimulatorError(400, f'"{key}" must be a person (a phone number, @c.us or @lid)')
    if isinstance(lid, str):
        state.set_lid(wid, lid)
    known = state.lid_of(ids.canonical_wid(wid))
    if lid is True and known is None:
        raise SimulatorError(
            400, f'{wid} has no LID: add it with POST /control/lids or give "lid": "<digits>"'
        )
    if lid is False or known is None:
        return wid, None
    return known, ids.canonical_wid(wid)


async def inbound(request: web.Request) -> web.Response:
    """``POST .../inbound``: a contact writes (see the README for every field)."""
    state, phone = phone_of(request)
    body = await body_of(request)
    content = _content(body)
    sender, pn = _address(state, body, "from")
    group = field(body, "group", str, required=False)
    status = bool(field(body, "status", bool, required=False))
    lid_unknown = bool(field(body, "lid_unknown", bool, required=False))
    ciphertext = bool(field(body, "ciphertext", bool, required=False))
    if group is not None and not ids.to_wid(group).endswith("@g.us"):
        raise SimulatorError(400, f'"group" must be a group id (...@g.us), got {group!r}')
    if content.type == "gp2" and group is None:
        raise SimulatorError(400, 'a "gp2" notification happens in a group: give "group"')
    remote = "status@broadcast" if status else ids.to_wid(group) if group else sender
    participant = sender if group or status else None
    raw_id = field(body, "id", str, required=False)
    if raw_id and "_" in raw_id:
        raw_id = ids.split_key(raw_id)[2]
    name = field(body, "name", str, required=False) or ""
    msg = messages.build(
        phone.me,
        content,
        from_me=False,
        chat=remote,
        participant=participant,
        raw_id=raw_id,
        notifyName=name,
        isGroupMsg=bool(group),
        isStatusV3=status,
        quotedMsgId=field(body, "quoted_id", str, required=False),
        # The sender's phone travels with the message (WhatsApp's sender_pn), so the page's
        # lidPnCache learns it, unless the test says the page does not know it yet.
        pn=None if lid_unknown else pn,
        ciphertext=ciphertext,
    )
    if pn and not lid_unknown and sender.endswith("@lid"):
        phone.account.lid_pn[sender] = pn
    if not status:
        phone.account.chats.add(remote)
    if name and not group and not status:
        phone.account.contacts[sender] = name
    if content.type in messages.MEDIA:
        state.media[msg["filehash"]] = content.file()  # on WhatsApp's media servers
    await phone.deliver({"type": "message", "msg": msg})
    key = ids.serialized_key(False, remote, msg["id"], participant)
    answer = {"id": key, "chat": remote, "from": sender}
    if content.type in messages.MEDIA:
        answer.update(filehash=msg["filehash"], size=msg["size"])
    return web.json_response(answer)


async def phone_message(request: web.Request) -> web.Response:
    """``POST .../phone-message {"to", "body", "lid"?}``: typed on the business phone itself."""
    state, phone = phone_of(request)
    if phone.me is None:
        raise SimulatorError(409, f"{phone.name} is not paired: scan its QR first")
    body = await body_of(request)
    chat, _ = _address(state, body, "to")
    content = Content(body=field(body, "body", str))
    msg = messages.build(phone.me, content, from_me=True, chat=chat, notifyName="")
    phone.account.chats.add(chat)
    await phone.deliver({"type": "message", "msg": msg})
    return web.json_response({"id": ids.serialized_key(True, chat, msg["id"]), "chat": chat})


async def ack(request: web.Request) -> web.Response:
    """``POST .../ack {"id", "ack"}``: a delivery (2), read (3) or played (4) receipt of a
    message this session sent. The key's remote becomes the contact's @lid when it has one."""
    state, phone = phone_of(request)
    body = await body_of(request)
    message_id = field(body, "id", str)
    value = field(body, "ack", int)
    from_me, remote, raw_id, participant = ids.split_full_key(message_id)
    if not from_me:
        raise SimulatorError(
            400, f"receipts are for messages this session sent (true_...), got {message_id!r}"
        )
    if value not in (2, 3, 4):
        # registerAckMessageEvent.ts: receipts below 2 are ignored, ack 1 comes from the
        # server accepting a send, and -1 (FAILED) is never emitted.
        raise SimulatorError(
            400, f'"ack" must be 2 (delivered), 3 (read) or 4 (played), got {value}'
        )
    if remote.endswith("@c.us"):
        remote = state.lid_of(ids.canonical_wid(remote)) or remote
    key = ids.serialized_key(True, remote, raw_id, participant)
    push = {"type": "ack", "ids": [key], "ack": value, "chat": remote, "participant": participant}
    await phone.deliver(push)
    return web.json_response({"ok": True, "ids": [key]})
