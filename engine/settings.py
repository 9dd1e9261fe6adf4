"""The one typed settings object, read from `WAOPS_*` environment variables and `.env`.

Start-up calls `load_settings()`; a wrong value raises `SettingsError` whose message names the
variable and what is wrong with it, so the process can stop with a readable line.
"""

from __future__ import annotations

import fnmatch
import os
import re
import socket
from dataclasses import dataclass
from datetime import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from engine.errors import InvalidInput

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WA_JS_BUNDLE = Path("node_modules") / "@wppconnect" / "wa-js" / "dist" / "wppconnect-wa.js"
"""Where `npm ci` (package.json pins @wppconnect/wa-js) puts the bundle, under its directory."""
DEFAULT_DATA_DIR = Path("./data")


def wa_js_candidates(data_dir: Path) -> list[Path]:
    """Where the WA-JS bundle is looked for when WAOPS_WA_JS_PATH is not set, in order: the
    working directory's node_modules, `<data dir>/wa-js/wppconnect-wa.js`, and a source
    checkout's node_modules (for `pip install -e .`). An installed package never holds it."""
    candidates = [Path.cwd() / WA_JS_BUNDLE, data_dir / "wa-js" / WA_JS_BUNDLE.name]
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        candidates.append(PROJECT_ROOT / WA_JS_BUNDLE)
    return candidates


def find_wa_js(data_dir: Path) -> Path:
    """The first candidate that exists, else the first one (start-up then names it)."""
    candidates = wa_js_candidates(data_dir)
    return next((path for path in candidates if path.is_file()), candidates[0])


MIB = 1024 * 1024
MEDIA_MAX_CEILING = 1024 * MIB
"""WA-JS refuses a `maxFileSize` above 1 GiB (v4.6.0 src/conn/functions/setLimit.ts l.48,
107-131): no WhatsApp Web file is larger, so a bigger cap means nothing."""
VISION_MODELS = "gpt-4o,gpt-4o-mini,gpt-4o-20*,gpt-4o-mini-20*,gpt-4.1*,gpt-5*"
"""Chat models that take image input, from OpenAI's model pages (platform.openai.com/docs/models:
"Input: text, image" for GPT-4o, GPT-4o mini, GPT-4.1 (mini, nano) and GPT-5). Not verified
against the API from here; gpt-4o-audio/-search/-realtime variants do not match the patterns,
and none of them take images. An OpenAI-compatible server's models: set WAOPS_VISION_MODELS."""
_MODEL_PATTERN_RE = re.compile(r"^[A-Za-z0-9._:/*?\[\]-]{1,100}$")
_RANGE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?)\s*)?$")
_DIGEST_RE = re.compile(r"^(off|daily ([01]?\d|2[0-3]):[0-5]\d|business(/([1-9]|1[0-2]))?)$")
_WINDOW_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class SettingsError(Exception):
    """Raised when the configuration cannot be used; the message names each bad variable."""


@dataclass(frozen=True)
class SecondsRange:
    """A random duration is drawn between `low_s` and `high_s` seconds (inclusive)."""

    low_s: float
    high_s: float

    @classmethod
    def parse(cls, text: str) -> SecondsRange:
        """Parse `20-60` or a single number like `0.5`."""
        match = _RANGE_RE.match(text)
        if not match:
            raise InvalidInput("range.expected", raw=text)
        low = float(match.group(1))
        high = float(match.group(2)) if match.group(2) is not None else low
        if high < low:
            raise InvalidInput("range.reversed", raw=text)
        return cls(low, high)

    def __str__(self) -> str:
        return f"{self.low_s:g}-{self.high_s:g}"


@dataclass(frozen=True)
class SendWindow:
    """Daily local-time window in which campaign messages may go out; may cross midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> SendWindow | None:
        """Parse `09:00-20:00`; `always` means no window (returns None)."""
        if text.strip().lower() == "always":
            return None
        match = _WINDOW_RE.match(text)
        if not match:
            raise InvalidInput("window.expected", raw=text)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError as exc:
            raise InvalidInput("window.bad_time", raw=text) from exc
        if start == end:
            raise InvalidInput("window.empty", raw=text)
        return cls(start, end)

    def contains(self, moment: time) -> bool:
        """True when the local time `moment` falls inside the window."""
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def installed_version() -> str:
    """waops' version as installed (what `waops --version` and `/workers` show)."""
    try:
        return version("waops")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


class Settings(BaseSettings):
    """Every `WAOPS_*` setting of DESIGN.md, validated once at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="WAOPS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///./data/waops.db"
    data_dir: Path = DEFAULT_DATA_DIR
    chromium_path: Path = Path("/usr/bin/chromium")
    whatsapp_url: str = "https://web.whatsapp.com"
    wa_js_path: Path = Path(WA_JS_BUNDLE)
    """Filled in from `wa_js_candidates()` when not set."""
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    telegram_token: SecretStr | None = None
    telegram_api_url: str | None = None
    telegram_file_url: str | None = None
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str | None = None
    slack_http_port: int | None = None
    slack_team_id: str | None = None
    language: Literal["es", "en"] = "es"
    send_gap_s: Annotated[SecondsRange, NoDecode] = SecondsRange(20, 60)
    send_window: Annotated[SendWindow | None, NoDecode] = SendWindow(time(9), time(20))
    alert_grace_s: float = 60.0
    digest_schedule: str = "daily 09:00"
    health_port: int = 9108
    health_host: str = "127.0.0.1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    backup_passphrase: SecretStr | None = None
    """When set, `waops session backup` encrypts archives with it and `restore` decrypts them."""
    media_max_bytes: int = 16 * MIB
    """The largest file a contact may send that waops downloads and keeps: 16 MiB, WA-JS's own
    `setLimit('maxMediaSize', 16777216)` example (src/conn/functions/setLimit.ts l.90)."""
    media_retention_days: int = 30
    """Days a received file is kept after it arrived; 0 keeps files for ever."""
    transcribe_model: str = "gpt-4o-mini-transcribe"
    """The openai SDK's audio model for voice notes and audio (types/audio_model.py); it
    reports usage in tokens. Empty turns transcription off; `whisper-1` for older servers."""
    media_download_attempts: int = 3
    media_send_timeout_s: float = 120.0
    """How long one media send may take in the page: a 16 MB video outlasts the text deadline."""
    vision_models: str = VISION_MODELS
    """Comma-separated model names (`*` and `?` wildcards) that get images; `none` for none."""
    worker_id: str | None = None
    """A `waops worker`'s name in the lease rows; by default `<host>-<pid>`."""
    worker_capacity: Annotated[int, Field(ge=1)] = 20
    """The most sessions one `waops worker` runs at once."""
    lease_ttl_s: Annotated[float, Field(ge=3.0)] = 30.0
    """How long a worker's lease on a session lasts without renewal; renewed every third of
    it, and a worker that could not renew for two thirds of it stops its browsers."""

    bot_lease_ttl_s: Annotated[float, Field(ge=3.0)] = 15.0
    """How long the active `waops bot`'s leader lease lasts without renewal: a standby takes
    over within it plus a third (renewed every third; the holder stops after two thirds)."""

    @property
    def worker_name(self) -> str:
        return self.worker_id or f"{socket.gethostname()}-{os.getpid()}"

    @property
    def worker_dir(self) -> Path:
        """A worker's own files under the shared data folder (its inbound spool, its Node.js
        wrapper): profiles and media are shared, these are not. Set WAOPS_WORKER_ID to a stable
        name (a StatefulSet's pod name) so a restarted worker finds its spool again."""
        return self.data_dir / "workers" / self.worker_name

    def split_problem(self) -> str | None:
        """Why `waops worker` or `waops bot` cannot run on these settings, or None."""
        if self.database_url.startswith("sqlite"):
            return (
                "waops worker and waops bot share one database server: set"
                " WAOPS_DATABASE_URL to a MySQL or MariaDB URL (mysql+aiomysql://...);"
                " SQLite is for `waops run` alone"
            )
        return None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("slack_team_id")
    @classmethod
    def _team_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"T[A-Z0-9]{2,}", value.strip()):
            raise ValueError("a Slack team id looks like T0123ABCD (auth.test's team_id)")
        return None if value is None else value.strip()

    @model_validator(mode="before")
    @classmethod
    def _find_wa_js(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("wa_js_path") in (None, ""):
            data_dir = Path(str(data.get("data_dir") or DEFAULT_DATA_DIR))
            data = {**data, "wa_js_path": find_wa_js(data_dir)}
        return data

    def wa_js_problem(self) -> str | None:
        """Why the WA-JS bundle cannot be used, naming where it was looked for; None if it can."""
        if self.wa_js_path.is_file():
            return None
        candidates = wa_js_candidates(self.data_dir)
        if self.wa_js_path not in candidates:
            return f"WAOPS_WA_JS_PATH is {self.wa_js_path}, which is not a file"
        looked = ", ".join(str(path) for path in candidates)
        return (
            f"the WA-JS bundle was not found (looked at {looked}). Run `npm ci` in the directory "
            "you start waops from (package.json pins @wppconnect/wa-js), copy the bundle to "
            "<data dir>/wa-js/wppconnect-wa.js, or set WAOPS_WA_JS_PATH to it"
        )

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "mysql+aiomysql://")):
            raise ValueError(
                "use sqlite+aiosqlite:///path/to/file.db or mysql+aiomysql://user:pass@host/db"
            )
        return value

    @field_validator("send_gap_s", mode="before")
    @classmethod
    def _parse_gap(cls, value: Any) -> Any:
        return SecondsRange.parse(value) if isinstance(value, str) else value

    @field_validator("send_window", mode="before")
    @classmethod
    def _parse_window(cls, value: Any) -> Any:
        return SendWindow.parse(value) if isinstance(value, str) else value

    @field_validator("slack_http_port", "health_port")
    @classmethod
    def _port(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value < 65536:
            raise ValueError("a TCP port is a number from 1 to 65535")
        return value

    @field_validator("digest_schedule")
    @classmethod
    def _digest_schedule(cls, value: str) -> str:
        if not _DIGEST_RE.match(value.strip().lower()):
            raise ValueError(
                f"{value!r}: use 'daily HH:MM', 'business' (every 2 h, 9 to 19, Monday to "
                "Friday), 'business/N' (every N hours) or 'off'"
            )
        return value.strip().lower()

    @field_validator("alert_grace_s")
    @classmethod
    def _non_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be zero or more seconds")
        return value

    @field_validator("whatsapp_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL, for example https://web.whatsapp.com")
        return value

    @field_validator("media_max_bytes")
    @classmethod
    def _media_cap(cls, value: int) -> int:
        if not 1024 <= value <= MEDIA_MAX_CEILING:
            raise ValueError(
                f"{value} bytes: give the largest file to keep in bytes, from 1024 up to "
                f"{MEDIA_MAX_CEILING} (1 GiB, WhatsApp Web's own ceiling); the default is "
                f"{16 * MIB} (16 MiB)"
            )
        return value

    @field_validator("media_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if not 0 <= value <= 36500:
            raise ValueError("give whole days from 0 (keep files for ever) to 36500")
        return value

    @field_validator("transcribe_model")
    @classmethod
    def _transcribe_model(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"[A-Za-z0-9._:/-]{1,100}", value):
            raise ValueError(
                f"{value!r} is not a model name: use one like gpt-4o-mini-transcribe or "
                "whisper-1, or leave it empty to turn transcription off"
            )
        return value

    @field_validator("media_download_attempts")
    @classmethod
    def _attempts(cls, value: int) -> int:
        if not 1 <= value <= 10:
            raise ValueError("give how many times to try a download, from 1 to 10")
        return value

    @field_validator("media_send_timeout_s")
    @classmethod
    def _send_timeout(cls, value: float) -> float:
        if not 5 <= value <= 3600:
            raise ValueError("give seconds from 5 to 3600 (the default is 120)")
        return value

    @field_validator("vision_models")
    @classmethod
    def _vision_models(cls, value: str) -> str:
        patterns = _model_patterns(value)
        bad = [p for p in patterns if not _MODEL_PATTERN_RE.match(p)]
        if bad:
            raise ValueError(
                f"{', '.join(map(repr, bad))}: write model names separated by commas, with * "
                "or ? as wildcards (like gpt-4o,gpt-4.1*), or none"
            )
        return ",".join(patterns) if patterns else "none"

    @property
    def transcription_on(self) -> bool:
        """False when WAOPS_TRANSCRIBE_MODEL is empty: voice notes keep their placeholder."""
        return bool(self.transcribe_model)

    def accepts_images(self, model: str) -> bool:
        """Whether `model` is one of WAOPS_VISION_MODELS (case-insensitive, with wildcards)."""
        name = model.strip().lower()
        return any(
            fnmatch.fnmatchcase(name, p.lower()) for p in _model_patterns(self.vision_models)
        )

    def whatsapp_url_for(self, client_slug: str, session_name: str) -> str:
        """The page a session opens; `{session}` becomes `<client>-<session>`."""
        return self.whatsapp_url.replace("{session}", f"{client_slug}-{session_name}")


def _model_patterns(value: str) -> list[str]:
    """The comma list's entries; `none` (or nothing) is no model."""
    patterns = [p.strip() for p in value.split(",") if p.strip()]
    return [] if [p.lower() for p in patterns] == ["none"] else patterns


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings, turning pydantic's report into one readable message."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"WAOPS_{field.upper()}: {message}")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from exc
