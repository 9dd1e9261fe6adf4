"""The one typed settings object, read from `WAOPS_*` environment variables and `.env`.

Start-up calls `load_settings()`; a wrong value raises `SettingsError` whose message names the
variable and what is wrong with it, so the process can stop with a readable line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WA_JS_PATH = (
    PROJECT_ROOT / "node_modules" / "@wppconnect" / "wa-js" / "dist" / "wppconnect-wa.js"
)

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
            raise ValueError(
                f"expected seconds as MIN-MAX like 20-60 (or one number), got {text!r}"
            )
        low = float(match.group(1))
        high = float(match.group(2)) if match.group(2) is not None else low
        if high < low:
            raise ValueError(f"the maximum must not be below the minimum in {text!r}")
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
            raise ValueError(f"expected HH:MM-HH:MM like 09:00-20:00, or 'always', got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a valid time range: {exc}") from exc
        if start == end:
            raise ValueError(f"the window {text!r} is empty; use 'always' for no window")
        return cls(start, end)

    def contains(self, moment: time) -> bool:
        """True when the local time `moment` falls inside the window."""
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


class Settings(BaseSettings):
    """Every `WAOPS_*` setting of DESIGN.md, validated once at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="WAOPS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///./data/waops.db"
    data_dir: Path = Path("./data")
    chromium_path: Path = Path("/usr/bin/chromium")
    whatsapp_url: str = "https://web.whatsapp.com"
    wa_js_path: Path = DEFAULT_WA_JS_PATH
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
    language: Literal["es", "en"] = "es"
    send_gap_s: Annotated[SecondsRange, NoDecode] = SecondsRange(20, 60)
    send_window: Annotated[SendWindow | None, NoDecode] = SendWindow(time(9), time(20))
    alert_grace_s: float = 60.0
    digest_schedule: str = "daily 09:00"
    health_port: int = 9108

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

    def whatsapp_url_for(self, client_slug: str, session_name: str) -> str:
        """The page a session opens; `{session}` becomes `<client>-<session>`."""
        return self.whatsapp_url.replace("{session}", f"{client_slug}-{session_name}")


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
