"""Chat message content for the fake OpenAI server: a string or an array of content parts,
checked per role as the API does, and the images it carries, decoded.

Sources (openai SDK 3.57.0, `.venv/.../openai/types/chat/`):
- user content is `str | Iterable[ChatCompletionContentPartParam]`
  (`chat_completion_user_message_param.py` l.19); the parts are text, image_url, input_audio and
  file (`chat_completion_content_part_param.py` l.60-65).
- system content is `str | Iterable[ChatCompletionContentPartTextParam]`
  (`chat_completion_system_message_param.py` l.20), developer likewise
  (`chat_completion_developer_message_param.py`); assistant parts are text or refusal
  (`chat_completion_assistant_message_param.py` l.25, 58).
- a text part is `{type: "text", text: str}` (`chat_completion_content_part_text_param.py`);
  an image part is `{type: "image_url", image_url: {url: str, detail?: auto|low|high|original}}`,
  url "Either a URL of the image or the base64 encoded image data"
  (`chat_completion_content_part_image_param.py` l.10-19, 35-43).
- An image on another role is refused by the API: "Invalid 'messages[2]'. Image URLs are only
  allowed for messages with role 'user', but this message with role 'assistant' contains an
  image URL." (HTTP 400, quoted in github.com/openai/openai-node/issues/1030).
- Image formats: PNG, JPEG, WEBP and non-animated GIF (OpenAI vision guide; NOT verified here).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any

_DETAILS = frozenset({"auto", "low", "high", "original"})
_USER_PARTS = frozenset({"text", "image_url", "input_audio", "file"})
_TEXT_ONLY_ROLES = {"system": {"text"}, "developer": {"text"}, "assistant": {"text", "refusal"}}
_IMAGE_MIMETYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
_DATA_URL_RE = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.DOTALL)
# The fake counts an image as this many prompt tokens (85 is the fixed cost of a low-detail
# image in OpenAI's vision guide; the fake does not model tiles).
IMAGE_TOKENS = 85


@dataclass(frozen=True)
class SeenImage:
    """An image part as the fake received it: decoded bytes for a data URL, else only the URL."""

    request: int  # index into FakeOpenAI.requests (or -1 for a classification)
    message: int  # index into that request's messages
    mimetype: str | None
    data: bytes | None
    url: str
    detail: str | None

    @property
    def sha256(self) -> str | None:
        return hashlib.sha256(self.data).hexdigest() if self.data is not None else None


class ContentError(ValueError):
    """The content is not what the API takes; the message says what was wrong. `supported`
    is False when the API would take it but the fake does not implement it."""

    def __init__(self, message: str, *, supported: bool = True) -> None:
        super().__init__(message)
        self.supported = supported


def check_content(index: int, role: str, content: object) -> None:
    """Raise `ContentError` unless `content` is valid for `role` at `messages[index]`."""
    if isinstance(content, str):
        return
    where = f"Invalid 'messages[{index}]'"
    if not isinstance(content, list) or not content:
        raise ContentError(f"{where}: content must be a string or a non-empty array of parts")
    allowed = _USER_PARTS if role == "user" else _TEXT_ONLY_ROLES.get(role, {"text"})
    for number, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "image_url" and role != "user":
            raise ContentError(
                f"{where}. Image URLs are only allowed for messages with role 'user', but this "
                f"message with role '{role}' contains an image URL."
            )
        if kind not in allowed:
            raise ContentError(f"{where}.content[{number}]: type {kind!r} is not valid here")
        assert isinstance(part, dict)
        if kind in ("text", "refusal"):
            if not isinstance(part.get(kind), str):
                raise ContentError(f"{where}.content[{number}]: {kind} must be a string")
        elif kind == "image_url":
            _check_image(f"{where}.content[{number}]", part.get("image_url"))
        else:
            raise ContentError(f"the fake does not implement {kind} parts", supported=False)


def _check_image(where: str, image_url: object) -> None:
    if not isinstance(image_url, dict) or not isinstance(image_url.get("url"), str):
        raise ContentError(f"{where}: image_url must be an object with a url string")
    detail = image_url.get("detail")
    if detail is not None and detail not in _DETAILS:
        raise ContentError(f"{where}: detail must be one of {sorted(_DETAILS)}")
    url = image_url["url"]
    if url.startswith(("http://", "https://")):
        return
    match = _DATA_URL_RE.match(url)
    if match is None:
        raise ContentError(f"{where}: url must be an http(s) URL or a base64 data URL")
    if match["mime"] not in _IMAGE_MIMETYPES:
        raise ContentError(f"{where}: unsupported image type {match['mime']}")
    try:
        base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ContentError(f"{where}: the data URL is not valid base64") from exc


def text_of(content: object) -> str:
    """The text of a content string or of its text parts, joined by newlines."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(
        part["text"] for part in content if isinstance(part, dict) and part.get("type") == "text"
    )


def images_of(request: int, messages: list[dict[str, Any]]) -> list[SeenImage]:
    """Every image part of already checked `messages`, data URLs decoded."""
    seen: list[SeenImage] = []
    for index, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            if part.get("type") != "image_url":
                continue
            url, detail = part["image_url"]["url"], part["image_url"].get("detail")
            match = _DATA_URL_RE.match(url)
            if match is None:
                seen.append(SeenImage(request, index, None, None, url, detail))
            else:
                data = base64.b64decode(match["data"], validate=True)
                seen.append(SeenImage(request, index, match["mime"], data, url, detail))
    return seen


def image_count(content: object) -> int:
    """How many image parts `content` has."""
    if not isinstance(content, list):
        return 0
    return sum(1 for part in content if isinstance(part, dict) and part.get("type") == "image_url")
