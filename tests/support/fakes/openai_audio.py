"""`POST /v1/audio/transcriptions` for the fake OpenAI server: parse the multipart request the
SDK sends and check it as the API does.

Sources:
- The SDK posts `/audio/transcriptions` as multipart/form-data, `file` as the file part and the
  other arguments as form fields (openai SDK 3.57.0 `resources/audio/transcriptions.py`
  l.1395-1419; lists become `key[]` fields, `_base_client.py` l.704-710). A file given as a
  `(filename, bytes, content_type)` tuple keeps its name and type (`_types.py` l.72-81); bare
  bytes are named "upload" with no extension (`httpx2/_multipart.py` l.135).
- `file` and `model` are required (`required_args`, transcriptions.py `create`).
- Formats: "flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, or webm ... We recommend an
  extension-bearing filename" (transcriptions.py l.214-217); the API's error names `oga` too:
  "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga',
  'ogg', 'wav', 'webm']" (HTTP 400, quoted in github.com/EpicenterHQ/epicenter/issues/357).
  The fake, like the API, goes by the file name's extension.
- `response_format`: json, text, srt, verbose_json, vtt, diarized_json
  (`types/audio_response_format.py`); "For `gpt-4o-transcribe` and `gpt-4o-mini-transcribe`, the
  only supported format is `json`" (transcriptions.py l.273-277). The fake answers json only.
- Size: "Maximum content size limit (26214400) exceeded (N bytes read)", HTTP 413, type
  server_error (quoted in github.com/chidiwilliams/buzz/issues/381).
- Answer: `Transcription{text, usage}`, `usage` a union on `type`: tokens
  `{input_tokens, output_tokens, total_tokens, type}` or duration `{seconds, type}`
  (`types/audio/transcription.py` l.34-88); whisper-1 reports duration
  (github.com/murtaza-nasir/speakr/issues/42 shows `'usage': {'type': 'duration', ...}`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from aiohttp import BodyPartReader, web

MAX_BYTES = 26_214_400
EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
RESPONSE_FORMATS = frozenset({"json", "text", "srt", "verbose_json", "vtt", "diarized_json"})
_JSON_ONLY_MODELS = frozenset({"gpt-4o-transcribe", "gpt-4o-mini-transcribe"})
DURATION_MODELS = frozenset({"whisper-1"})


@dataclass(frozen=True)
class AudioRequest:
    """One transcription request as the fake received it."""

    model: str
    filename: str | None
    mimetype: str | None
    data: bytes
    fields: dict[str, list[str]] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def field(self, name: str) -> str | None:
        """The first value of a form field, or None."""
        values = self.fields.get(name)
        return values[0] if values else None


class AudioRejected(Exception):
    """The API would refuse this request: `status`, `code`, `param` and message as it answers.
    `supported` is False when the API would take it but the fake does not implement it."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        error_type: str = "invalid_request_error",
        supported: bool = True,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.param = status, code, param
        self.error_type, self.supported = error_type, supported


async def read_request(request: web.Request) -> AudioRequest:
    """Parse and check a transcription request; raise `AudioRejected` like the API would."""
    if not request.content_type.startswith("multipart/form-data"):
        raise AudioRejected(400, "the request must be multipart/form-data")
    declared = request.content_length
    if declared is not None and declared > MAX_BYTES:
        raise AudioRejected(
            413,
            f"Maximum content size limit ({MAX_BYTES}) exceeded ({declared} bytes read)",
            error_type="server_error",
        )
    reader = await request.multipart()
    fields: dict[str, list[str]] = {}
    file: tuple[str | None, str | None, bytes] | None = None
    read = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            raise AudioRejected(400, "every multipart part must be a named form field")
        if part.name == "file":
            data = await part.read(decode=False)
            file = (part.filename, part.headers.get("Content-Type"), bytes(data))
            read += len(data)
        else:
            text = await part.text()
            read += len(text)
            fields.setdefault(part.name, []).append(text)
        if read > MAX_BYTES:
            raise AudioRejected(
                413,
                f"Maximum content size limit ({MAX_BYTES}) exceeded ({read} bytes read)",
                error_type="server_error",
            )
    return _checked(file, fields)


def _checked(
    file: tuple[str | None, str | None, bytes] | None, fields: dict[str, list[str]]
) -> AudioRequest:
    model = (fields.get("model") or [""])[0]
    if file is None:
        raise AudioRejected(400, "you must provide a file", param="file")
    if not model:
        raise AudioRejected(400, "you must provide a model parameter", param="model")
    filename, mimetype, data = file
    extension = PurePosixPath(filename or "").suffix.lower().lstrip(".")
    if extension not in EXTENSIONS:
        listed = ", ".join(f"'{name}'" for name in EXTENSIONS)
        raise AudioRejected(
            400, f"Invalid file format. Supported formats: [{listed}]", param="file"
        )
    response_format = (fields.get("response_format") or ["json"])[0]
    if response_format not in RESPONSE_FORMATS:
        raise AudioRejected(
            400, f"invalid response_format {response_format!r}", param="response_format"
        )
    if response_format != "json" and model in _JSON_ONLY_MODELS:
        raise AudioRejected(
            400,
            f"response_format '{response_format}' is not compatible with model '{model}'. "
            "Use 'json'.",
            param="response_format",
        )
    if response_format != "json":
        raise AudioRejected(400, "the fake answers response_format json only", supported=False)
    if fields.get("stream", ["false"])[0] == "true":
        raise AudioRejected(400, "the fake does not stream transcriptions", supported=False)
    return AudioRequest(model, filename, mimetype, data, fields)
