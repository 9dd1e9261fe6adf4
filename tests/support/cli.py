"""The `waops` command run in-process with typer's runner, in a folder of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app

runner = CliRunner()


def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run from `tmp_path` on a SQLite file there, with output lines wide enough to match."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WAOPS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def waops(*args: str) -> tuple[int, str]:
    """`waops *args`: (exit code, output)."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output
