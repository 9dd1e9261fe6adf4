"""Voice notes and audio to text, within the client's AI switch and daily token budget.

A transcript is what the opt-out rules, the analyser and the model read of a voice note, so
"BAJA" said aloud opts out like "BAJA" typed. It is a model call like any other: it is made
only when the client's AI is on and today's budget covers it (`engine.ia.spending`, the same
check the replies, the classifier and the summaries use), and every call made is recorded in
the AI call log with purpose `transcribe`. A transcript that cannot be had (AI off,
transcription off, budget spent, a format the API does not take, a model error) is None, and
the caller falls back to the "voice note without text" placeholder; the reason is logged, and
recorded too when a call was made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

from engine.clock import Clock, SystemClock
from engine.ia.budget import estimate_audio_tokens
from engine.ia.llm import AIError, Transcriber
from engine.ia.spending import tokens_left_today
from storage.db import Database
from storage.records import AICall
from storage.repos import AICallRepo, AISettingsRepo, ClientRepo

logger = logging.getLogger(__name__)

PURPOSE = "transcribe"  # ai_calls.purpose is String(10): exactly fits
# The API's request cap: "Maximum content size limit (26214400) exceeded", HTTP 413
# (as quoted in github.com/chidiwilliams/buzz/issues/381); "File uploads are currently
# limited to 25 MB" (OpenAI speech-to-text guide). A bigger file is not sent at all.
MAX_AUDIO_BYTES = 26_214_400
# The formats the API takes: "flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, or webm" (openai SDK
# 3.57.0 `resources/audio/transcriptions.py` l.214-217) and `oga`, which the API's own error
# lists ("Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga',
# 'oga', 'ogg', 'wav', 'webm']", quoted in github.com/EpicenterHQ/epicenter/issues/357).
SUPPORTED_EXTENSIONS = frozenset(
    {"flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "oga", "ogg", "wav", "webm"}
)
# The extension to name a file by its mimetype when WhatsApp gave no usable file name (voice
# notes have none; they are "audio/ogg; codecs=opus"). AAC (ADTS) and AMR, which WhatsApp
# also carries, are not in the API's list, so they are not sent.
_EXTENSION_BY_MIMETYPE = {
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "m4a",
    "audio/m4a": "m4a",
    "audio/x-m4a": "m4a",
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/webm": "webm",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "video/mp4": "mp4",
    "video/webm": "webm",
}


class Skip(StrEnum):
    """Why there is no transcript."""

    OFF = "off"  # no transcriber or WAOPS_TRANSCRIBE_MODEL is empty
    AI_OFF = "ai_off"  # the client's AI is off
    UNSUPPORTED = "unsupported"  # a format the API does not take
    TOO_LARGE = "too_large"
    BUDGET_SPENT = "budget_spent"
    FAILED = "failed"  # the model call failed (recorded)
    EMPTY = "empty"  # the model heard nothing (recorded as an ok call: it cost tokens)


@dataclass(frozen=True)
class Attempt:
    """The transcript, or why there is none; `tokens` spent either way."""

    text: str | None
    skipped: Skip | None = None
    tokens: int = 0
    detail: str | None = None


def audio_filename(filename: str | None, mimetype: str) -> str | None:
    """A file name whose extension names the format for the API, or None when the API does not
    take this format. A name WhatsApp gave is kept when its extension is one the API knows."""
    if filename:
        suffix = PurePosixPath(filename).suffix.lower().lstrip(".")
        if suffix in SUPPORTED_EXTENSIONS:
            return PurePosixPath(filename).name
    base = mimetype.split(";", 1)[0].strip().lower()
    extension = _EXTENSION_BY_MIMETYPE.get(base)
    if extension is None:
        return None
    stem = PurePosixPath(filename).stem if filename else ""
    return f"{stem or 'audio'}.{extension}"


class Transcriptions:
    """Transcribes one audio message for one client, or says why not.

    `model` is `settings.transcribe_model`; empty turns transcription off. `language`
    (ISO-639-1, e.g. "es") is passed to the API, which "will improve accuracy and latency"
    (`resources/audio/transcriptions.py` l.261-263).
    """

    def __init__(
        self,
        db: Database,
        transcriber: Transcriber | None,
        *,
        model: str,
        timeout_s: float = 60.0,
        language: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._transcriber = transcriber
        self._model = model.strip()
        self._timeout_s = timeout_s
        self._language = language
        self._clock = clock or SystemClock()
        self._clients = ClientRepo(db)
        self._settings = AISettingsRepo(db)
        self._calls = AICallRepo(db)

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
    ) -> str | None:
        """The transcript of the message's audio, or None (see `attempt` for why)."""
        outcome = await self.attempt(
            client_id=client_id,
            message_id=message_id,
            data=data,
            filename=filename,
            mimetype=mimetype,
            contact_id=contact_id,
            duration_s=duration_s,
        )
        return outcome.text

    async def attempt(
        self,
        *,
        client_id: int,
        message_id: int,
        data: bytes,
        filename: str | None,
        mimetype: str,
        contact_id: int | None = None,
        duration_s: float | None = None,
    ) -> Attempt:
        """Transcribe when allowed; never raises for model trouble. `contact_id` goes into the
        AI call log; `duration_s` (WhatsApp's) sharpens the budget estimate."""
        where = f"message {message_id} of client {client_id}"
        if self._transcriber is None or not self._model:
            return Attempt(None, Skip.OFF)
        settings = await self._settings.get(client_id)
        if not settings.enabled:
            return Attempt(None, Skip.AI_OFF)
        name = audio_filename(filename, mimetype)
        if name is None:
            logger.info(
                "%s: %s audio is not a format the API takes; not transcribed", where, mimetype
            )
            return Attempt(None, Skip.UNSUPPORTED, detail=f"unsupported audio format {mimetype}")
        if len(data) > MAX_AUDIO_BYTES:
            logger.info(
                "%s: %d bytes of audio is over the API's cap; not transcribed", where, len(data)
            )
            return Attempt(None, Skip.TOO_LARGE, detail=f"{len(data)} bytes")
        client = await self._clients.get_by_id(client_id)
        now = self._clock.now()
        left = await tokens_left_today(self._calls, client, settings.daily_token_budget, now)
        if estimate_audio_tokens(duration_s, len(data)) > left:
            logger.info("%s: daily token budget spent, not transcribed", where)
            return Attempt(None, Skip.BUDGET_SPENT, detail="daily token budget spent")
        try:
            transcript = await self._transcriber.transcribe(
                data,
                filename=name,
                mimetype=mimetype,
                model=self._model,
                timeout_s=self._timeout_s,
                language=self._language,
            )
        except AIError as exc:
            logger.warning("%s: transcription failed (%s)", where, exc)
            await self._record(client_id, contact_id, exc.tokens_used, exc.kind, str(exc))
            return Attempt(None, Skip.FAILED, exc.tokens_used, str(exc))
        seconds = f", {transcript.seconds:.1f} s" if transcript.seconds is not None else ""
        if not transcript.text.strip():
            # Not a failure (a silent note): recorded as an ok call, it cost tokens.
            await self._record(
                client_id, contact_id, transcript.tokens, None, f"message {message_id}: no speech"
            )
            return Attempt(None, Skip.EMPTY, transcript.tokens, "no speech heard")
        await self._record(
            client_id, contact_id, transcript.tokens, None, f"message {message_id}{seconds}"
        )
        return Attempt(transcript.text.strip(), tokens=transcript.tokens)

    async def _record(
        self,
        client_id: int,
        contact_id: int | None,
        tokens: int,
        error_kind: str | None,
        detail: str | None,
    ) -> None:
        await self._calls.record(
            AICall(
                client_id,
                contact_id,
                self._clock.now(),
                PURPOSE,
                self._model,
                error_kind is None,
                tokens,
                error_kind,
                detail,
            )
        )
