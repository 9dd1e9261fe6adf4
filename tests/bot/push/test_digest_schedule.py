"""WAOPS_DIGEST_SCHEDULE: when digests go out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.push.digests import DigestSchedule
from engine.settings import SettingsError, load_settings


def test_digest_schedule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert DigestSchedule.from_setting(load_settings().digest_schedule) == DigestSchedule("9", "0")
    assert DigestSchedule.from_setting("business/3") == DigestSchedule("9-19/3", "0", "mon-fri")
    assert DigestSchedule.from_setting("off") is None
    monkeypatch.setenv("WAOPS_DIGEST_SCHEDULE", "hourly")
    with pytest.raises(SettingsError, match="WAOPS_DIGEST_SCHEDULE: 'hourly': use 'daily HH:MM'"):
        load_settings()
