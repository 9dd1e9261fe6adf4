"""The two steps of a send (``prepareSend`` and ``sendText`` in bridge/commands.js) and what
their answers mean.

WA-JS 4.6.0 accepts a caller's ``messageId`` only if it is a fromMe key whose remote is the chat
it resolves (``src/chat/functions/prepareRawMessage.ts``), and that chat may be the contact's
``@lid`` although we addressed ``@c.us`` (``src/chat/functions/find.ts``). So the page first
resolves the chat and makes the key (``generateMessageID.ts``); the driver then knows the id
before anything can go out, and records it as its own.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from engine.whatsapp.errors import (
    NotLoggedIn,
    SendFailed,
    SendUnknown,
    SessionLost,
    WhatsAppError,
)
from engine.whatsapp.types import SendResult, SentMessage


class OwnKeys:
    """Key ids of the messages this driver sent, newest ``limit`` kept.

    Their echo (``chat.new_message`` with fromMe) is not a person typing on the phone. The page
    keeps the same set, but a reload empties it; this one lives as long as the driver.
    """

    def __init__(self, limit: int = 2000) -> None:
        self._order: deque[str] = deque()
        self._keys: set[str] = set()
        self._limit = limit

    def add(self, key_id: str) -> None:
        """Remember ``key_id`` (the oldest one is forgotten beyond the limit)."""
        if key_id in self._keys:
            return
        self._keys.add(key_id)
        self._order.append(key_id)
        if len(self._order) > self._limit:
            self._keys.discard(self._order.popleft())

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys


@dataclass(frozen=True, slots=True)
class PreparedSend:
    """The chat WA-JS resolved (maybe ``@lid``) and the serialised key made for it."""

    chat: str
    key: str
    key_id: str


def refusal(code: str, message: str, chat_id: str) -> WhatsAppError:
    """The error for a send the page refused before anything was handed to WhatsApp."""
    if code == "not_logged_in":
        return NotLoggedIn(f"cannot send to {chat_id}: {message}")
    if code == "offline":
        return SessionLost(f"message to {chat_id} was not sent: {message}", maybe_sent=False)
    if code == "banned":
        return SendFailed(f"message to {chat_id} was not sent: {message}")
    # WPPError codes thrown by WA-JS's own checks (chat_not_found, invalid_wid, ...), or a plain
    # error from find/generateMessageID: nothing was queued.
    return SendFailed(f"message to {chat_id} was not sent ({code}): {message}")


def prepared(result: dict[str, Any], chat_id: str) -> PreparedSend:
    """``prepareSend``'s answer, or the refusal it stands for."""
    if not result["ok"]:
        raise refusal(str(result["code"]), str(result["message"]), chat_id)
    value = result["value"]
    return PreparedSend(chat=str(value["chat"]), key=str(value["key"]), key_id=str(value["keyId"]))


def outcome(result: dict[str, Any], send: PreparedSend, chat_id: str) -> SentMessage:
    """``sendText``'s answer as a ``SentMessage``, or the error that says what happened.

    Only ``sendMsgResult.messageSendResult == "OK"`` is a send (``src/chat/functions/
    sendRawMessage.ts``, ``src/whatsapp/enums/SendMsgResult.ts``); a network or unknown error may
    still go out (WhatsApp Web retries), the other errors did not.
    """
    where = f"message {send.key_id} to {chat_id}"
    if not result["ok"]:
        code, message = str(result["code"]), str(result["message"])
        if code == "refused":
            raise SendFailed(f"{where} was not sent ({result.get('wpp')}): {message}")
        if code == "unknown":
            raise SendUnknown(f"{where} may have been sent: {message}", message_id=send.key)
        raise refusal(code, message, chat_id)
    value = result["value"]
    sent_id = str(value["id"])
    raw = value.get("result")
    if raw is None:
        raise SendUnknown(f"{where}: WhatsApp gave no send result", message_id=sent_id)
    try:
        send_result = SendResult(str(raw))
    except ValueError:
        raise SendUnknown(f"{where}: unknown send result {raw!r}", message_id=sent_id) from None
    if send_result is not SendResult.OK:
        if send_result.maybe_sent:
            raise SendUnknown(f"{where} may have been sent: {send_result}", message_id=sent_id)
        raise SendFailed(f"{where} was not sent: {send_result}")
    return SentMessage(
        id=sent_id,
        ack=int(value["ack"]),
        to=str(value["to"]),
        timestamp=time.time(),
        key_id=send.key_id,
    )
