"""The demo model: a tiny local OpenAI-compatible server for `waops demo` without an API key.

It is not a language model. It answers from the client's business context (the fenced
reference data of the system turn) by picking the facts that share the most words with the
contact's message, and labels intents with the same rules waops uses without a model. Every
answer says it comes from the demo model. The real openai SDK talks to it exactly as it would
to OpenAI, so the demo runs the production code path.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from aiohttp import web

from engine.ia.analyzer import classify_by_rules
from engine.ia.text import words
from engine.lifecycle import TwoPhase

logger = logging.getLogger(__name__)

MODEL_NAME = "waops-demo-model"
_CONTEXT_RE = re.compile(r"<business_reference_data>\n(.*?)\n</business_reference_data>", re.DOTALL)
_CLASSIFIER_MARK = "Classify the user's WhatsApp message"
_STOP_WORDS = frozenset(
    {
        "a",
        "al",
        "con",
        "de",
        "del",
        "el",
        "en",
        "es",
        "la",
        "las",
        "lo",
        "los",
        "me",
        "mi",
        "para",
        "por",
        "que",
        "se",
        "su",
        "un",
        "una",
        "y",
        "o",
        "the",
        "is",
        "are",
        "to",
        "of",
        "and",
        "or",
        "for",
        "in",
        "on",
        "at",
        "do",
        "you",
        "your",
        "i",
        "my",
        "hola",
        "hi",
        "hello",
        "buenas",
    }
)


def _facts(system: str) -> list[str]:
    found = _CONTEXT_RE.search(system)
    if found is None:
        return []
    text = found.group(1)
    return [part.strip() for part in re.split(r"(?<=[.!?])\s+|\n+", text) if part.strip()]


def answer(system: str, question: str) -> str:
    """The facts most related to `question`, or a polite hand-over when none is."""
    asked = {w for w in words(question) if w not in _STOP_WORDS}
    scored = sorted(
        ((len(asked & set(words(fact))), i, fact) for i, fact in enumerate(_facts(system))),
        key=lambda item: (-item[0], item[1]),
    )
    best = [fact for score, _i, fact in scored[:2] if score > 0]
    if best:
        return " ".join(best) + " (demo model)"
    return "¡Gracias por escribir! En breve te responde alguien del equipo. (demo model)"


def _last_user(messages: list[dict[str, Any]]) -> str:
    return next(
        (str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), ""
    )


async def _completions(request: web.Request) -> web.Response:
    body = await request.json()
    messages = list(body.get("messages") or [])
    system = next((str(m.get("content", "")) for m in messages if m.get("role") == "system"), "")
    question = _last_user(messages)
    text = (
        classify_by_rules(question).value
        if system.startswith(_CLASSIFIER_MARK)
        else answer(system, question)
    )
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
    completion_tokens = len(text.split())
    return web.json_response(
        {
            "id": f"chatcmpl-demo-{time.monotonic_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL_NAME,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


class DemoModel(TwoPhase):
    """`async with DemoModel() as model:` then use `model.base_url` as the OpenAI base URL."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}/v1"

    async def start(self) -> None:
        """Serve on `host:port` (port 0 picks a free one, `base_url` holds the real one)."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", _completions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        logger.info("demo model on %s", self.base_url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
