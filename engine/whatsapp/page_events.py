"""Turn what the in-page bridge (bridge.js) forwards into typed driver events."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from engine.whatsapp.types import (
    AckChanged,
    Authenticated,
    DriverEvent,
    InboundMessage,
    LinkCodeChanged,
    LoggedOut,
    MessageReceived,
    OnlineChanged,
    PageReady,
    QrCodeChanged,
    StreamMode,
    StreamModeChanged,
)

logger = logging.getLogger(__name__)

BINDING_NAME = "__waopsEmit"
BRIDGE_JS_PATH = Path(__file__).with_name("bridge.js")


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _inbound(data: dict[str, Any]) -> InboundMessage:
    return InboundMessage(
        id=str(data["id"]),
        chat_id=str(data["chat_id"]),
        sender_id=str(data["sender_id"]),
        from_me=bool(data["from_me"]),
        body=str(data.get("body") or ""),
        type=str(data.get("type") or "chat"),
        timestamp=int(data.get("timestamp") or 0),
        notify_name=_opt_str(data.get("notify_name")),
        is_group=bool(data.get("is_group")),
        quoted_id=_opt_str(data.get("quoted_id")),
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
            case "conn.authenticated":
                return Authenticated()
            case "conn.logout":
                return LoggedOut(_opt_str(data))
            case "conn.stream":
                return StreamModeChanged(StreamMode.parse(data["mode"]), str(data["info"]))
            case "conn.online":
                return OnlineChanged(bool(data))
            case "chat.new_message":
                return MessageReceived(_inbound(data))
            case "chat.msg_ack_change":
                return AckChanged(tuple(str(i) for i in data["ids"]), int(data["ack"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        logger.warning("malformed event from the page: %r", payload, exc_info=True)
        return None
    logger.warning("unknown event from the page: %r", name)
    return None
