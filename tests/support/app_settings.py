"""Settings for a whole `App` in a test: English, no model, no health port, campaigns at any
hour, and Telegram on the fake Bot API; each test adds what its world needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.settings import Settings, load_settings
from tests.support.fakes.telegram_server import TOKEN, FakeTelegram


def telegram_app_settings(url: str, data_dir: Path, tg: FakeTelegram, **more: Any) -> Settings:
    """The App on the database at `url`, its files in `data_dir`, talking to `tg`."""
    return load_settings(
        database_url=url,
        data_dir=data_dir,
        send_window="always",
        health_port=0,
        openai_api_key=None,
        openai_base_url=None,
        language="en",
        telegram_token=TOKEN,
        telegram_api_url=tg.base_url,
        telegram_file_url=tg.base_file_url,
        **more,
    )
