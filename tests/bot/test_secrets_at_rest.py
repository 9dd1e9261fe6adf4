"""What waops leaves on disk is for its own user alone: session backups (a WhatsApp login each),
the data folder, the database and the spool; backups can be encrypted with a passphrase."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App
from engine.settings import load_settings
from tests.support.cli import cli_env, waops

UNIT = Path(__file__).parents[2] / "deploy" / "waops.service"
PASSPHRASE = "correct horse battery staple"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def current_umask() -> int:
    previous = os.umask(0)
    os.umask(previous)
    return previous


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask most shells and containers start with, restored afterwards."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, loose_umask: None) -> Path:
    monkeypatch.setenv("WAOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("WAOPS_BACKUP_PASSPHRASE", raising=False)
    return cli_env(monkeypatch, tmp_path)


def _session_with_profile(env: Path) -> Path:
    assert waops("db", "upgrade")[0] == 0
    assert waops("client", "add", "haby", "--name", "Haby")[0] == 0
    assert waops("session", "add", "haby", "--name", "ventas")[0] == 0
    profile = env / "data" / "sessions" / "haby" / "ventas"
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Cookies").write_text("the pairing: whoever has it is the number")
    return profile


def _archive(output: str) -> Path:
    return Path(output.rsplit(" archived to ", 1)[1].split()[0])


def test_a_backup_is_written_0600_in_a_0700_folder(env: Path) -> None:
    _session_with_profile(env)
    (env / "data" / "backups").mkdir(mode=0o755)  # left by an older version
    code, output = waops("session", "backup", "haby", "ventas")
    assert code == 0, output
    archive = _archive(output)
    assert archive.parent == env / "data" / "backups"
    assert mode(archive) == 0o600
    assert mode(archive.parent) == 0o700

    elsewhere = env / "exports"
    code, output = waops("session", "backup", "haby", "ventas", "--dest", str(elsewhere))
    assert code == 0, output
    assert (mode(_archive(output)), mode(elsewhere)) == (0o600, 0o700)


def test_an_encrypted_backup_round_trips_and_a_wrong_passphrase_is_a_clear_error(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = _session_with_profile(env)
    monkeypatch.setenv("WAOPS_BACKUP_PASSPHRASE", PASSPHRASE)
    code, output = waops("session", "backup", "haby", "ventas")
    assert code == 0, output
    assert "(encrypted)" in output
    archive = _archive(output)
    data = archive.read_bytes()
    assert not data.startswith(b"\x1f\x8b"), "not a plain .tar.gz"
    assert b"the pairing" not in data and b"Cookies" not in data
    assert mode(archive) == 0o600
    shutil.rmtree(profile)

    monkeypatch.setenv("WAOPS_BACKUP_PASSPHRASE", "not the one")
    code, output = waops("session", "restore", "haby", "ventas", str(archive))
    assert code == 1
    assert "wrong passphrase" in output and "WAOPS_BACKUP_PASSPHRASE" in output
    assert "Traceback" not in output
    assert not profile.exists() or not any(profile.iterdir()), "nothing restored"

    monkeypatch.delenv("WAOPS_BACKUP_PASSPHRASE")
    code, output = waops("session", "restore", "haby", "ventas", str(archive))
    assert code == 1 and "is encrypted" in output and "WAOPS_BACKUP_PASSPHRASE" in output

    monkeypatch.setenv("WAOPS_BACKUP_PASSPHRASE", PASSPHRASE)
    code, output = waops("session", "restore", "haby", "ventas", str(archive))
    assert code == 0, output
    cookies = profile / "Default" / "Cookies"
    assert cookies.read_text() == "the pairing: whoever has it is the number"
    assert mode(profile) == 0o700


def test_a_plain_backup_still_restores_with_a_passphrase_set(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = _session_with_profile(env)
    code, output = waops("session", "backup", "haby", "ventas")
    assert code == 0 and "(plain: set WAOPS_BACKUP_PASSPHRASE" in output
    shutil.rmtree(profile)
    monkeypatch.setenv("WAOPS_BACKUP_PASSPHRASE", PASSPHRASE)
    code, output = waops("session", "restore", "haby", "ventas", str(_archive(output)))
    assert code == 0, output
    assert (profile / "Default" / "Cookies").is_file()


async def test_after_start_the_data_dir_database_and_spool_are_private(
    tmp_path: Path, sqlite_template: Path, loose_umask: None
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # as an older version left them
    database = data / "waops.db"
    shutil.copy(sqlite_template, database)
    database.chmod(0o644)
    wa_js = tmp_path / "wa.js"
    wa_js.write_text("// not loaded: no session starts")
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        data_dir=data,
        wa_js_path=wa_js,
        openai_api_key=None,
        openai_base_url=None,
        telegram_token=None,
        slack_bot_token=None,
        health_port=0,
    )
    async with App(settings):
        assert current_umask() == 0o077, "what waops and its Chromium create is theirs alone"
        assert mode(data) == 0o700
        assert mode(database) == 0o600
        spool = data / "inbound.spool"
        assert spool.is_file() and mode(spool) == 0o600
    assert current_umask() == 0o022, "given back when the app stops"


def test_every_waops_command_runs_with_a_private_umask(env: Path) -> None:
    """The console script itself: `waops db upgrade` (as systemd's ExecStartPre runs it)."""
    database = env / "fresh.db"
    environ = {**os.environ, "WAOPS_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli.main import main; main()", "db", "upgrade"],
        env=environ,
        cwd=env,
        capture_output=True,
        text=True,
        timeout=120,
        umask=0o022,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert mode(database) == 0o600


def test_the_systemd_unit_keeps_the_state_directory_private() -> None:
    lines = UNIT.read_text().splitlines()
    service = lines[lines.index("[Service]") + 1 : lines.index("[Install]")]
    assert "UMask=0077" in service
    assert "StateDirectory=waops" in service
    assert "StateDirectoryMode=0700" in service
