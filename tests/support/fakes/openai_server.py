"""A small OpenAI-compatible chat completions server on 127.0.0.1 for tests.

It records every request body, answers from a script (or with a default short echo), counts
usage as words, and fails loudly: any other path, method or a malformed body gets an HTTP
error and is recorded in `unexpected`, which `assert_no_unexpected()` checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.fakes.http_fake import FakeServer

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

    def _not_found(self, request: web.Request) -> web.Response:
        return self._error(404, "unknown_url", f"no route for {request.method} {request.path}")

    async def _chat(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            self.unexpected.append("request without a bearer token")
            return self._error(401, "invalid_api_key", "missing bearer token")
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            self.unexpected.append("body is not JSON")
            return self._error(400, "invalid_json", "body is not JSON")
        problem = self._validate(body)
        if problem is not None:
            self.unexpected.append(problem)
            return self._error(400, "invalid_request", problem)
        if self._separate_classifications and _is_classification(body):
            self.classifications.append(body)
            self.classification_arrived.set()
            closing = asyncio.ensure_future(self._closing.wait())
            free = asyncio.ensure_future(self._classifier_free.wait())
            await asyncio.wait({closing, free}, return_when=asyncio.FIRST_COMPLETED)
            closing.cancel()
            free.cancel()
            label = self._labels.popleft() if self._labels else "other"
            return self._completion(body, Reply(label))
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
            (m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), ""
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
            if not isinstance(message.get("content"), str):
                return f"message {index} has no string content"
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
        prompt_tokens = sum(_words(m["content"]) for m in body["messages"])
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

    @staticmethod
    def _error(
        status: int, code: str | None, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        payload = {"error": {"message": message, "type": "fake_error", "code": code}}
        return web.json_response(payload, status=status, headers=headers)
