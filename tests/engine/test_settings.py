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
