"""Turn what the in-page bridge (bridge/*.js) forwards into typed driver events."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from engine.whatsapp.types import (
    CONVERSATION_TYPES,
    MEDIA_TYPES,
    AckChanged,
    Authenticated,
    Backlog,
    DriverEvent,
    InboundMessage,
    LinkCodeChanged,
    LinkCodeExpired,
    LinkCodeFailed,
    LoggedOut,
    MessageReceived,
    OnlineChanged,
    PageReady,
    QrCodeChanged,
    QrIdle,
    StreamMode,
    StreamModeChanged,
    key_id_of,
)

logger = logging.getLogger(__name__)

BINDING_NAME = "__waopsEmit"
# The bridge's parts, in injection order: core.js creates what the later ones share.
BRIDGE_JS_PATHS = tuple(
    Path(__file__).with_name("bridge") / name
    for name in ("core.js", "inbound.js", "connection.js", "media.js", "commands.js")
)


def bridge_config_script(*, peer_lookup_ms: int) -> str:
    """The init script that hands the bridge its settings (``BridgeConfig`` in bridge.globals.d.ts),
    so the message kinds it forwards are the ones types.py names."""
    config = {
        "conversationTypes": sorted(CONVERSATION_TYPES),
        "mediaTypes": sorted(MEDIA_TYPES),
        "peerLookupMs": peer_lookup_ms,
    }
    return f"window.__waopsConfig = {json.dumps(config)};"


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def inbound_message(data: dict[str, Any]) -> InboundMessage:
    """One message as bridge/inbound.js serialises it (``chat.new_message`` and ``catchUp``)."""
    message_id = str(data["id"])
    return InboundMessage(
        id=message_id,
        chat_id=str(data["chat_id"]),
        sender_id=str(data["sender_id"]),
        from_me=bool(data["from_me"]),
        body=str(data.get("body") or ""),
        type=str(data.get("type") or "chat"),
        timestamp=int(data.get("timestamp") or 0),
        notify_name=_opt_str(data.get("notify_name")),
        is_group=bool(data.get("is_group")),
        quoted_id=_opt_str(data.get("quoted_id")),
        peer_phone=_opt_str(data.get("peer_phone")),
        peer_lid=_opt_str(data.get("peer_lid")),
        key_id=str(data.get("key_id") or key_id_of(message_id)),
        mimetype=_opt_str(data.get("mimetype")),
        filename=_opt_str(data.get("filename")),
        size_bytes=_opt_int(data.get("size")),
        duration_s=_opt_int(data.get("duration")),
        filehash=_opt_str(data.get("filehash")),
        is_view_once=bool(data.get("is_view_once")),
    )


def decode(payload: Any) -> DriverEvent | None:
    """The event for one bridge payload ``{event, data}``; ``None`` (logged) if malformed."""
    try:
        name = str(payload["event"])
        data = payload.get("data")
        match name:
            case "bridge.ready":
                return PageReady()
            case "conn.auth_code_change":
                return QrCodeChanged(_opt_str(data))
            case "conn.link_code_change":
                return LinkCodeChanged(str(data))
            case "conn.link_code_expired":
                return LinkCodeExpired()
            case "conn.link_code_error":
                return LinkCodeFailed(str(data))
            case "conn.qrcode_idle":
                return QrIdle()
            case "conn.authenticated":
                return Authenticated()
            case "conn.logout":
                return LoggedOut(_opt_str(data))
            case "conn.stream":
                return StreamModeChanged(StreamMode.parse(data["mode"]), str(data["info"]))
            case "conn.online":
                return OnlineChanged(bool(data))
            case "chat.new_message":
                message = inbound_message(data)
                if message.type not in CONVERSATION_TYPES:  # the page filters; this is a backstop
                    logger.warning("non-conversation message from the page: %r", data)
                    return None
                return MessageReceived(message)
            case "chat.msg_ack_change":
                return AckChanged(tuple(str(i) for i in data["ids"]), int(data["ack"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        logger.warning("malformed event from the page: %r", payload, exc_info=True)
        return None
    logger.warning("unknown event from the page: %r", name)
    return None


def decode_backlog(raw: dict[str, Any]) -> Backlog:
    """bridge/inbound.js ``catchUp``'s answer; a malformed message is logged and left out, like a
    malformed live event."""
    messages = []
    for data in raw["messages"]:
        try:
            message = inbound_message(data)
        except (KeyError, TypeError, ValueError):
            logger.warning("malformed caught-up message from the page: %r", data, exc_info=True)
            continue
        if message.type in CONVERSATION_TYPES and not message.from_me:
            messages.append(message)
    messages.sort(key=lambda m: m.timestamp)
    return Backlog(
        tuple(messages),
        frozenset(str(i) for i in raw["newest"] if i is not None),
        bool(raw["complete"]),
    )
