"""The content of an inbound media message: downloaded in the page, kept in the media store,
and for voice notes and audio, transcribed.

The message itself is stored before any of this (engine/inbound/steps.py), so a download that
never works loses nothing but the file: the row then says `failed` (or `too_large`) and the
model sees the placeholder. Every step is bounded (attempts x a per-attempt deadline), so one
broken download cannot hold its chat's lane for ever.

Why download at once: WhatsApp's servers keep a file only for a while and then need the phone to
upload it again (docs/plans/issue-15-media.md 1.1, "Expiry"), so a later download may not work.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

from engine.media_store import MediaStore, MediaTooLarge
from engine.retry import Backoff
from engine.whatsapp.errors import MediaUnavailable, NotLoggedIn, SessionLost, WhatsAppError
from engine.whatsapp.types import InboundMessage
from storage.db import Database
from storage.records import MediaInfo, MediaState
from storage.repos import MessageRepo

logger = logging.getLogger(__name__)

AUDIO_KINDS = frozenset({"ptt", "audio"})

# The driver's own check of blob.size against our cap, before any byte is read.
_TOO_LARGE = "too_large"


def media_info(message: InboundMessage, state: MediaState) -> MediaInfo:
    """The media fields of a message's row, as WhatsApp described the file, before any of it
    is kept (no sha256, no transcript yet)."""
    return MediaInfo(
        kind=message.type,
        mimetype=message.mimetype,
        size_bytes=message.size_bytes,
        duration_s=message.duration_s,
        filename=message.filename,
        sha256=None,
        state=state,
        transcript=None,
    )


class MediaSource(Protocol):
    """Downloads a message's file through its session (the SessionManager in production)."""

    async def download_media(self, session_id: int, message_id: str, *, max_bytes: int) -> bytes:
        """The file's bytes; raises `MediaUnavailable` (with its code) or a `WhatsAppError`."""
        ...


class Transcribing(Protocol):
    """Turns a voice note into text within the client's AI settings and budget
    (engine/ia/transcribe.py `Transcriptions`); None when it did not (AI off, budget spent,
    the model failed), the reason recorded by it."""

    async def transcribe(
        self,
        *,
        client_id: int,
        message_id: int,
        data: bytes,
        filename: str | None,
        mimetype: str,
        contact_id: int | None = None,
        duration_s: float | None = None,
    ) -> str | None: ...


@dataclass(frozen=True)
class MediaPolicy:
    """How hard to try: `attempts` downloads, each within `attempt_timeout_s`, with a backoff
    in between; `max_bytes` is the per-file cap (settings `media_max_bytes`)."""

    max_bytes: int = 16 * 1024 * 1024
    attempts: int = 3
    attempt_timeout_s: float = 60.0
    transcribe_timeout_s: float = 90.0
    backoff: Backoff = field(default_factory=lambda: Backoff(initial_s=1.0, max_s=10.0))
    per_session: int = 3
    """Downloads at once through one session's page: a burst of a hundred voice notes must
    not starve the page's other calls (the watchdog's liveness check among them)."""


@dataclass(frozen=True)
class Taken:
    """What became of one message's file: its state, and the bytes when they were stored."""

    state: MediaState
    sha256: str | None = None
    data: bytes | None = None
    before: bool = False
    """True when the row was no longer `pending`: fetched (or given up) by another pass."""


class MediaIntake:
    """Downloads, stores and (for audio) transcribes one message's content, and records each
    outcome on the message row.

    A download that fails because the session is not connected (it reconnects, it was logged
    out) stays `pending`: the listener fetches it again once the session is back
    (engine/listener.py `on_state`); only WhatsApp saying the file is gone, or every attempt
    failing on a connected session, makes it `failed`.
    """

    def __init__(
        self,
        db: Database,
        source: MediaSource,
        store: MediaStore,
        *,
        policy: MediaPolicy | None = None,
        transcriptions: Transcribing | None = None,
    ) -> None:
        self._messages = MessageRepo(db)
        self._source = source
        self._store = store
        self.policy = policy or MediaPolicy()
        self._transcriptions = transcriptions
        self._slots: dict[int, asyncio.Semaphore] = {}

    def info(self, message: InboundMessage) -> MediaInfo:
        """The media fields stored with the message, before any download: `too_large` when
        WhatsApp's own size (MsgModel `size`) is over the cap already, else `pending`."""
        over = message.size_bytes is not None and message.size_bytes > self.policy.max_bytes
        return media_info(message, MediaState.TOO_LARGE if over else MediaState.PENDING)

    async def take(self, session_id: int, message_id: int, message: InboundMessage) -> Taken:
        """Download and store the file of the stored message `message_id`; its row is set to
        the outcome. Raises nothing for WhatsApp or disk trouble (a failure is an outcome)."""
        if message.size_bytes is not None and message.size_bytes > self.policy.max_bytes:
            return Taken(MediaState.TOO_LARGE)  # stored so already; nothing is downloaded
        now = await self._messages.media_state(message_id)
        if now is not MediaState.PENDING:
            # A second pass (a reconnect found it pending while the first was finishing).
            return Taken(now or MediaState.NONE, before=True)
        slots = self._slots.setdefault(session_id, asyncio.Semaphore(self.policy.per_session))
        async with slots:
            data = await self._download(session_id, message)
        if data is MediaState.PENDING:
            return Taken(data)  # the row stays pending until the session is back
        if isinstance(data, MediaState):
            await self._messages.set_media_state(message_id, data)
            return Taken(data)
        try:
            put = await self._store.put(data, max_bytes=self.policy.max_bytes)
        except MediaTooLarge:
            await self._messages.set_media_state(message_id, MediaState.TOO_LARGE)
            return Taken(MediaState.TOO_LARGE)
        except OSError as exc:
            logger.error("could not store the file of %s: %s", message.id, exc)
            await self._messages.set_media_state(message_id, MediaState.FAILED)
            return Taken(MediaState.FAILED)
        await self._messages.set_media_state(
            message_id, MediaState.STORED, sha256=put.sha256, size_bytes=put.size
        )
        return Taken(MediaState.STORED, put.sha256, data)

    async def transcript(
        self, client_id: int, contact_id: int, message_id: int, message: InboundMessage, data: bytes
    ) -> str | None:
        """The transcript of a voice note or audio (stored on its row), None when there is
        none: no transcriber, AI off or over budget, a failure, or a timeout."""
        if self._transcriptions is None or message.type not in AUDIO_KINDS:
            return None
        # A voice note is "audio/ogg; codecs=opus" (WA-JS MsgModel `mimetype`); the name for
        # the API comes from it (engine/ia/transcribe.py `audio_filename`).
        mimetype = (message.mimetype or "audio/ogg").split(";", 1)[0].strip().lower()
        try:
            async with asyncio.timeout(self.policy.transcribe_timeout_s):
                text = await self._transcriptions.transcribe(
                    client_id=client_id,
                    message_id=message_id,
                    data=data,
                    filename=message.filename,
                    mimetype=mimetype,
                    contact_id=contact_id,
                    duration_s=message.duration_s,
                )
        except TimeoutError:
            logger.warning("transcribing %s took too long; it stays without text", message.id)
            return None
        if text is None or not text.strip():
            return None
        await self._messages.set_transcript(message_id, text.strip())
        return text.strip()

    async def _download(self, session_id: int, message: InboundMessage) -> bytes | MediaState:
        """The bytes, or the final state when every attempt failed (or one said it is final);
        `pending` when the last attempt found the session not connected."""
        attempts = max(1, self.policy.attempts)
        offline = False
        for attempt in range(attempts):
            try:
                async with asyncio.timeout(self.policy.attempt_timeout_s):
                    return await self._source.download_media(
                        session_id, message.id, max_bytes=self.policy.max_bytes
                    )
            except MediaUnavailable as exc:
                if exc.code == _TOO_LARGE:
                    return MediaState.TOO_LARGE
                if not exc.retryable:
                    # No new attempt can change it (WA-JS 4.6.0 downloadMedia.ts l.41-49: a
                    # message without `mediaData`; the page no longer holds it).
                    logger.warning("%s has no file to download: %s", message.id, exc)
                    return MediaState.FAILED
                reason: str = f"{exc.code}: {exc}"
                offline = False
            except (WhatsAppError, TimeoutError) as exc:
                reason = str(exc) or type(exc).__name__
                offline = isinstance(exc, NotLoggedIn | SessionLost)
            if attempt + 1 < attempts:
                delay_s = self.policy.backoff.delay_s(attempt)
                logger.info(
                    "download of %s failed (%s); attempt %d of %d in %.1f s",
                    message.id,
                    reason,
                    attempt + 2,
                    attempts,
                    delay_s,
                )
                await asyncio.sleep(delay_s)
            elif offline:
                logger.info("%s waits for its session to connect again: %s", message.id, reason)
                return MediaState.PENDING
            else:
                logger.warning("download of %s failed %d times: %s", message.id, attempts, reason)
        return MediaState.FAILED
