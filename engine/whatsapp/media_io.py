"""Files in and out of the page (bridge/media.js), in base64 chunks.

Playwright's ``evaluate`` carries JSON, so bytes travel as base64 strings; one string per file
would cost memory many times the file's size on both sides (docs/plans/issue-15-media.md 1.1),
so every file moves in slices of ``CHUNK_BYTES``. ``PlaywrightDriver`` owns the page; this module
holds the protocol of the media entry points so the driver stays small.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from engine.whatsapp.errors import MediaUnavailable, SendFailed, SessionLost
from engine.whatsapp.sending import OwnKeys, outcome, prepared
from engine.whatsapp.types import DriverConfig, OutgoingMedia, SentMessage

# 768 KiB: a multiple of 3, so every slice but the last encodes without padding, and about 1 MiB
# of base64 per evaluate.
CHUNK_BYTES = 768 * 1024

Evaluate = Callable[[str, Any, float], Awaitable[dict[str, Any]]]


async def download(evaluate: Evaluate, message_id: str, *, max_bytes: int, limit_s: float) -> bytes:
    """The file of ``message_id``; ``MediaUnavailable`` (only) when it cannot be had.

    The size is checked in the page before a byte is read (``too_large``), and again here.
    """
    deadline_ms = int(limit_s * 800)
    arg = {"id": message_id, "maxBytes": max_bytes, "deadlineMs": deadline_ms}
    opened = await _media_call(evaluate, "mediaOpen", arg, limit_s, message_id)
    handle, size = str(opened["handle"]), int(opened["size"])
    try:
        parts: list[bytes] = []
        received = 0
        while received < size:
            length = min(CHUNK_BYTES, size - received)
            arg = {"handle": handle, "offset": received, "length": length}
            chunk = base64.b64decode(
                str(await _media_call(evaluate, "mediaRead", arg, limit_s, message_id))
            )
            if not chunk:
                raise MediaUnavailable("error", f"{message_id}: the page gave an empty slice")
            parts.append(chunk)
            received += len(chunk)
            if received > max_bytes:
                raise MediaUnavailable("too_large", f"{message_id}: more than {max_bytes} bytes")
        return b"".join(parts)
    finally:
        with contextlib.suppress(SessionLost):  # a page that is gone took its Map with it
            await evaluate("mediaClose", handle, limit_s)


async def _media_call(
    evaluate: Evaluate, name: str, arg: Any, limit_s: float, message_id: str
) -> Any:
    try:
        result = await evaluate(name, arg, limit_s)
    except SessionLost as exc:
        raise MediaUnavailable("session_lost", f"{name} for {message_id}: {exc}") from exc
    if not result["ok"]:
        code = str(result["code"])
        if code == "not_logged_in" or code == "offline":
            code = "not_connected"
        raise MediaUnavailable(code, f"{name} for {message_id}: {result['message']}")
    return result["value"]


async def stage(evaluate: Evaluate, media: OutgoingMedia, *, limit_s: float) -> None:
    """Put ``media`` into the page's staged files unless it is there already.

    ``SendFailed`` when the page refuses it (nothing was queued); a broken page is
    ``SessionLost(maybe_sent=False)``, raised by ``evaluate`` itself.
    """
    where = f"file {media.sha256[:12]} ({len(media.data)} bytes)"
    have = await evaluate("isStaged", media.sha256, limit_s)
    if have["ok"] and have["value"]:
        return
    total = len(media.data)
    if total == 0:
        raise SendFailed(f"{where} is empty: WhatsApp sends no empty files")
    view = memoryview(media.data)
    for offset in range(0, total, CHUNK_BYTES):
        arg = {
            "sha": media.sha256,
            "offset": offset,
            "total": total,
            "data": base64.b64encode(view[offset : offset + CHUNK_BYTES]).decode("ascii"),
            "mimetype": media.mimetype,
        }
        result = await evaluate("stage", arg, limit_s)
        if not result["ok"]:
            raise SendFailed(
                f"{where} could not be staged in the page ({result['code']}): {result['message']}"
            )


class MediaCalls:
    """``download_media`` and ``send_media`` of ``PlaywrightDriver`` (mixed into it)."""

    config: DriverConfig
    _own: OwnKeys

    async def _evaluate(self, name: str, arg: Any, limit_s: float) -> dict[str, Any]:
        raise NotImplementedError  # PlaywrightDriver._evaluate

    async def download_media(self, message_id: str, *, max_bytes: int) -> bytes:
        """The file of an inbound media message (``WPP.chat.downloadMedia``), at most
        ``max_bytes``; raises only ``MediaUnavailable`` (see its codes)."""
        return await download(
            self._evaluate, message_id, max_bytes=max_bytes, limit_s=self.config.call_timeout_s
        )

    async def send_media(
        self,
        chat_id: str,
        media: OutgoingMedia,
        *,
        caption: str,
        typing_ms: int = 0,
        timeout_s: float = 120.0,
    ) -> SentMessage:
        """Send a file with ``caption`` in the same two steps as ``send_text`` (sending.py).

        The file is staged first: a refusal there is ``SendFailed``, a broken page
        ``SessionLost(maybe_sent=False)``. Then ``prepareSend`` and ``sendFile``
        (``WPP.chat.sendFileMessage`` with our messageId): ``SendFailed`` = certainly not sent
        (``file_too_large``, ``chat_not_found``, ...), ``SendUnknown`` or
        ``SessionLost(maybe_sent=True)`` = it may have gone out (never send it again).
        """
        call_s = self.config.call_timeout_s
        await stage(self._evaluate, media, limit_s=call_s)
        send = prepared(await self._evaluate("prepareSend", chat_id, call_s), chat_id)
        self._own.add(send.key_id)
        deadline_ms = int(timeout_s * 1000) + typing_ms
        arg = {
            "chatId": send.chat,
            "sha": media.sha256,
            "kind": media.kind,
            "caption": caption,
            "filename": media.filename,
            "mimetype": media.mimetype,
            "messageId": send.key,
            "keyId": send.key_id,
            "delay": typing_ms,
            "deadlineMs": deadline_ms,
        }
        # The page answers at its deadline; this one only catches a page that never answers.
        limit_s = deadline_ms / 1000 + min(call_s, 10.0)
        for attempt in range(2):
            try:
                result = await self._evaluate("sendFile", arg, limit_s)
            except SessionLost as exc:
                raise SessionLost(str(exc), maybe_sent=True, message_id=send.key) from exc
            if attempt == 0 and not result["ok"] and result.get("wpp") == "not_staged":
                # The page reloaded since staging (its Map is empty) and nothing was queued:
                # stage again and send under the same key.
                await stage(self._evaluate, media, limit_s=call_s)
                continue
            break
        return outcome(result, send, chat_id)
