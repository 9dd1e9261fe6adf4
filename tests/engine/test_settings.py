from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from engine.settings import SecondsRange, SendWindow, SettingsError, load_settings


def test_defaults_match_the_design(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./data/waops.db"
    assert settings.send_gap_s == SecondsRange(20, 60)
    assert settings.send_window == SendWindow(time(9), time(20))
    assert settings.alert_grace_s == 60
    assert settings.language == "es"


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("WAOPS_SEND_GAP_S=0.5\nWAOPS_LANGUAGE=en\n")
    monkeypatch.setenv("WAOPS_SEND_WINDOW", "always")
    monkeypatch.setenv("WAOPS_WHATSAPP_URL", "http://127.0.0.1:8765/s/{session}")
    settings = load_settings()
    assert settings.send_gap_s == SecondsRange(0.5, 0.5)
    assert settings.send_window is None
    assert settings.language == "en"
    assert settings.whatsapp_url_for("haby", "main") == "http://127.0.0.1:8765/s/haby-main"


def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WAOPS_SEND_GAP_S", "60-20")
    monkeypatch.setenv("WAOPS_SEND_WINDOW", "9am-8pm")
    monkeypatch.setenv("WAOPS_DATABASE_URL", "postgres://x")
    monkeypatch.setenv("WAOPS_ALERT_GRACE_S", "soon")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "WAOPS_SEND_GAP_S: the maximum must not be below the minimum in '60-20'" in message
    assert "WAOPS_SEND_WINDOW: expected HH:MM-HH:MM" in message
    assert "WAOPS_DATABASE_URL: use sqlite+aiosqlite" in message
    assert "WAOPS_ALERT_GRACE_S" in message


def test_window_across_midnight() -> None:
    window = SendWindow.parse("22:00-06:00")
    assert window is not None
    assert (
        window.contains(time(23)) and window.contains(time(5, 59)) and not window.contains(time(12))
    )


def test_media_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.media_max_bytes == 16 * 1024 * 1024
    assert settings.media_retention_days == 30
    assert settings.transcribe_model == "gpt-4o-mini-transcribe" and settings.transcription_on
    assert settings.media_download_attempts == 3
    assert settings.media_send_timeout_s == 120


def test_media_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WAOPS_MEDIA_MAX_BYTES", "5242880")
    monkeypatch.setenv("WAOPS_MEDIA_RETENTION_DAYS", "0")
    monkeypatch.setenv("WAOPS_TRANSCRIBE_MODEL", "  ")
    monkeypatch.setenv("WAOPS_VISION_MODELS", " llava*, Qwen2-VL ,")
    settings = load_settings()
    assert (settings.media_max_bytes, settings.media_retention_days) == (5242880, 0)
    assert settings.transcribe_model == "" and not settings.transcription_on
    assert settings.vision_models == "llava*,Qwen2-VL"
    assert settings.accepts_images("llava-1.6") and settings.accepts_images("qwen2-vl")
    assert not settings.accepts_images("gpt-4o")


@pytest.mark.parametrize(
    ("model", "images"),
    [
        ("gpt-4o", True),
        ("gpt-4o-mini", True),
        ("gpt-4o-2024-08-06", True),
        ("gpt-4o-mini-2024-07-18", True),
        ("gpt-4.1-nano", True),
        ("gpt-5-mini", True),
        ("GPT-4o", True),
        ("gpt-4o-mini-transcribe", False),
        ("gpt-4o-audio-preview", False),
        ("gpt-3.5-turbo", False),
        ("llama3", False),
    ],
)
def test_default_vision_models(
    model: str, images: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings().accepts_images(model) is images


def test_no_vision_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(vision_models="NONE")
    assert settings.vision_models == "none" and not settings.accepts_images("gpt-4o")


def test_bad_media_settings_say_what_to_write(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WAOPS_MEDIA_MAX_BYTES", "2000000000")
    monkeypatch.setenv("WAOPS_MEDIA_RETENTION_DAYS", "-1")
    monkeypatch.setenv("WAOPS_TRANSCRIBE_MODEL", "gpt 4o")
    monkeypatch.setenv("WAOPS_MEDIA_DOWNLOAD_ATTEMPTS", "0")
    monkeypatch.setenv("WAOPS_MEDIA_SEND_TIMEOUT_S", "1")
    monkeypatch.setenv("WAOPS_VISION_MODELS", "gpt-4o;rm -rf")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "WAOPS_MEDIA_MAX_BYTES: 2000000000 bytes: give the largest file" in message
    assert "up to 1073741824 (1 GiB" in message
    assert "WAOPS_MEDIA_RETENTION_DAYS: give whole days from 0 (keep files for ever)" in message
    assert "WAOPS_TRANSCRIBE_MODEL: 'gpt 4o' is not a model name" in message
    assert "or leave it empty to turn transcription off" in message
    assert "WAOPS_MEDIA_DOWNLOAD_ATTEMPTS: give how many times" in message
    assert "WAOPS_MEDIA_SEND_TIMEOUT_S: give seconds from 5 to 3600" in message
    assert "WAOPS_VISION_MODELS: 'gpt-4o;rm -rf': write model names separated by commas" in message
