"""A small OpenAI-compatible server on 127.0.0.1 for tests: chat completions and audio
transcriptions.

It records every request body, answers from a script (or with a default short echo), counts
usage as words, and fails loudly: any other path, method or a malformed body gets an HTTP
error and is recorded in `unexpected`, which `assert_no_unexpected()` checks.

Chat content may be a string or an array of content parts; the images of image_url parts are
decoded and recorded in `images` (rules and their sources: `openai_parts.py`). Transcriptions
are multipart uploads, checked and recorded in `transcriptions` (`openai_audio.py`), and
answered with the transcript scripted for that audio's sha256 (`hear`), or `default_transcript`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.fakes.http_fake import FakeServer
from tests.support.fakes.openai_audio import (
    DURATION_MODELS,
    AudioRejected,
    AudioRequest,
    read_request,
)
from tests.support.fakes.openai_parts import (
    IMAGE_TOKENS,
    ContentError,
    SeenImage,
    check_content,
    image_count,
    images_of,
    text_of,
)

logger = logging.getLogger(__name__)

_ROLES = frozenset({"system", "developer", "user", "assistant"})


@dataclass(frozen=True)
class Reply:
    """Answer with `text`; usage is counted in words unless given."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Refusal:
    """Answer with the `refusal` field set and no content."""

    text: str = "I'm sorry, I can't help with that."


@dataclass(frozen=True)
class Status:
    """Answer with an HTTP error; `retry_after_ms` keeps the SDK's back-off short."""

    status: int
    code: str | None = None
    retry_after_ms: int | None = 1


@dataclass(frozen=True)
class Delay:
    """Wait `seconds` (or until the server closes), then answer `then`."""

    seconds: float
    then: Reply | None = None


@dataclass(frozen=True)
class Raw:
    """Answer HTTP 200 with this exact body, to play a broken server."""

    body: str
    content_type: str = "application/json"


Scripted = Reply | Refusal | Status | Delay | Raw


@dataclass(frozen=True)
class Heard:
    """A transcription's answer: `text`, and the usage to report. Token-billed models report
    `input_tokens` (default: one per KB of audio) plus the text's words as output; whisper-1
    reports `seconds` (default 1.0)."""

    text: str
    seconds: float | None = None
    input_tokens: int | None = None


AudioScripted = Heard | Status | Delay | Raw


CLASSIFIER_MARKER = "Classify the user's WhatsApp message"


def _is_classification(body: dict[str, Any]) -> bool:
    """Intent classifications (engine.ia.analyzer) are kept apart from reply requests."""
    first = body["messages"][0] if body["messages"] else {}
    return first.get("role") == "system" and str(first.get("content", "")).startswith(
        CLASSIFIER_MARKER
    )


def _words(text: str) -> int:
    return len(text.split())


class FakeOpenAI(FakeServer):
    """`async with FakeOpenAI() as fake:` then point the SDK at `fake.base_url`."""

    platform = "OpenAI"

    def __init__(self, *, separate_classifications: bool = False) -> None:
        """With `separate_classifications`, intent classifications are answered from `label()`
        and recorded in `classifications`, so `requests` holds only reply turns."""
        super().__init__()
        self._separate_classifications = separate_classifications
        self.requests: list[dict[str, Any]] = []
        self.classifications: list[dict[str, Any]] = []
        self.images: list[SeenImage] = []
        self.transcriptions: list[AudioRequest] = []
        self.default_transcript = "Hola, quería hacer una consulta."
        self._heard: dict[str, Heard] = {}
        self._audio_script: deque[AudioScripted] = deque()
        self._labels: deque[str] = deque()
        self._script: deque[Scripted] = deque()
        self._closing = asyncio.Event()
        self._classifier_free = asyncio.Event()
        self._classifier_free.set()
        self.classification_arrived = asyncio.Event()

    @property
    def base_url(self) -> str:
        """The URL to give `AsyncOpenAI(base_url=...)`."""
        return f"{self.origin}/v1"

    def label(self, *labels: str) -> None:
        """Queue answers for the next intent classifications (default: `other`)."""
        self._labels.extend(labels)

    def hang_classifications(self, hanging: bool = True) -> None:
        """Classifications get no answer (a model that stopped responding) until released
        with `hang_classifications(False)` or the server closes."""
        if hanging:
            self._classifier_free.clear()
        else:
            self._classifier_free.set()

    def script(self, *responses: Scripted) -> None:
        """Queue answers for the next requests, in order."""
        self._script.extend(responses)

    def hear(self, audio: bytes | str, heard: Heard | str) -> None:
        """Answer transcriptions of `audio` (its bytes or their sha256 hex) with `heard`."""
        key = audio if isinstance(audio, str) else hashlib.sha256(audio).hexdigest()
        self._heard[key] = heard if isinstance(heard, Heard) else Heard(heard)

    def script_transcriptions(self, *responses: AudioScripted) -> None:
        """Queue answers for the next transcriptions, before any `hear` answer; a `Delay`
        without `then` waits, then answers as if not scripted."""
        self._audio_script.extend(responses)

    @property
    def messages(self) -> list[list[dict[str, Any]]]:
        """The `messages` of every recorded request."""
        return [request["messages"] for request in self.requests]

    async def close(self) -> None:
        """Release whatever waits (delays, hung classifications) and stop answering."""
        self._closing.set()
        await super().close()

    def _routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/chat/completions", self._chat)
        router.add_post("/v1/audio/transcriptions", self._transcribe)

    def _not_found(self, request: web.Request) -> web.Response:
        return self._error(404, "unknown_url", f"no route for {request.method} {request.path}")

    async def _chat(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            self.unexpected.append("request without a bearer token")
            return self._error(401, "invalid_api_key", "missing bearer token")
        try:
            # Read the stream, not `request.json()`: aiohttp caps that at 1 MiB, and a photo
            # as a data URL is bigger.
            body = json.loads(await request.content.read())
        except (json.JSONDecodeError, UnicodeDecodeError):
            self.unexpected.append("body is not JSON")
            return self._error(400, "invalid_json", "body is not JSON")
        problem = self._validate(body)
        if problem is not None:
            self.unexpected.append(problem)
            return self._error(400, "invalid_request", problem)
        if self._separate_classifications and _is_classification(body):
            self.classifications.append(body)
            self.images.extend(images_of(-1, body["messages"]))
            self.classification_arrived.set()
            closing = asyncio.ensure_future(self._closing.wait())
            free = asyncio.ensure_future(self._classifier_free.wait())
            await asyncio.wait({closing, free}, return_when=asyncio.FIRST_COMPLETED)
            closing.cancel()
            free.cancel()
            label = self._labels.popleft() if self._labels else "other"
            return self._completion(body, Reply(label))
        self.images.extend(images_of(len(self.requests), body["messages"]))
        self.requests.append(body)
        step = self._script.popleft() if self._script else None
        if isinstance(step, Delay):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), step.seconds)
            step = step.then
        if isinstance(step, Status):
            headers = {}
            if step.retry_after_ms is not None:
                headers["retry-after-ms"] = str(step.retry_after_ms)
            return self._error(step.status, step.code, f"scripted HTTP {step.status}", headers)
        if isinstance(step, Raw):
            return web.Response(text=step.body, content_type=step.content_type)
        if isinstance(step, Refusal):
            return self._completion(body, None, refusal=step.text)
        if isinstance(step, Reply):
            return self._completion(body, step)
        last_user = next(
            (text_of(m["content"]) for m in reversed(body["messages"]) if m["role"] == "user"),
            "",
        )
        return self._completion(body, Reply(f"Recibido: {last_user[:60]}"))

    @staticmethod
    def _validate(body: object) -> str | None:
        if not isinstance(body, dict):
            return "body is not a JSON object"
        if not isinstance(body.get("model"), str) or not body["model"]:
            return "missing model"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "messages must be a non-empty list"
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in _ROLES:
                return f"message {index} has no valid role"
            try:
                check_content(index, message["role"], message.get("content"))
            except ContentError as exc:
                return str(exc)
        for field in ("max_tokens", "max_completion_tokens"):
            value = body.get(field)
            if value is not None and (not isinstance(value, int) or value < 1):
                return f"{field} must be a positive integer"
        if body.get("stream"):
            return "streaming is not supported by the fake"
        return None

    def _completion(
        self, body: dict[str, Any], reply: Reply | None, *, refusal: str | None = None
    ) -> web.Response:
        text = reply.text if reply is not None else None
        prompt_tokens = sum(
            _words(text_of(m["content"])) + IMAGE_TOKENS * image_count(m["content"])
            for m in body["messages"]
        )
        completion_tokens = _words(text or refusal or "")
        if reply is not None:
            prompt_tokens = (
                reply.prompt_tokens if reply.prompt_tokens is not None else prompt_tokens
            )
            if reply.completion_tokens is not None:
                completion_tokens = reply.completion_tokens
        payload = {
            "id": f"chatcmpl-fake-{len(self.requests)}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": refusal},
                    "finish_reason": reply.finish_reason if reply is not None else "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return web.json_response(payload)

    async def _transcribe(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            self.unexpected.append("transcription without a bearer token")
            return self._error(401, "invalid_api_key", "missing bearer token")
        try:
            audio = await read_request(request)
        except AudioRejected as exc:
            self.unexpected.append(f"transcription: {exc}")
            return self._error(
                exc.status, exc.code, str(exc), param=exc.param, error_type=exc.error_type
            )
        self.transcriptions.append(audio)
        step = self._audio_script.popleft() if self._audio_script else None
        if isinstance(step, Delay):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), step.seconds)
            step = None
        if isinstance(step, Status):
            headers = {}
            if step.retry_after_ms is not None:
                headers["retry-after-ms"] = str(step.retry_after_ms)
            return self._error(step.status, step.code, f"scripted HTTP {step.status}", headers)
        if isinstance(step, Raw):
            return web.Response(text=step.body, content_type=step.content_type)
        heard = step or self._heard.get(audio.sha256) or Heard(self.default_transcript)
        return web.json_response({"text": heard.text, "usage": _audio_usage(audio, heard)})

    @staticmethod
    def _error(
        status: int,
        code: str | None,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        param: str | None = None,
        error_type: str = "fake_error",
    ) -> web.Response:
        payload = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
        return web.json_response(payload, status=status, headers=headers)


def _audio_usage(audio: AudioRequest, heard: Heard) -> dict[str, Any]:
    """Usage as the model bills it: by duration for whisper-1, else by tokens."""
    if audio.model in DURATION_MODELS:
        return {"type": "duration", "seconds": heard.seconds if heard.seconds is not None else 1.0}
    input_tokens = (
        heard.input_tokens if heard.input_tokens is not None else max(1, len(audio.data) // 1000)
    )
    output_tokens = _words(heard.text)
    return {
        "type": "tokens",
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "input_token_details": {"audio_tokens": input_tokens, "text_tokens": 0},
    }
