"""A private MariaDB for the fault bench: its own datadir, port and socket under a temp dir.

The machine's shared MariaDB (port 3306) is never touched: the bench stops and starts only
this one, which it installs with `mariadb-install-db` and serves with `mariadbd
--skip-grant-tables` on 127.0.0.1 (no users to manage; nothing but loopback can reach it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from pathlib import Path

from sqlalchemy import text

from storage.db import Database
from storage.migrate import upgrade


class PrivateMariaDB:
    """`install()` once, then `start()` / `stop()` as the faults need; `remove()` at the end."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.datadir = root / "data"
        self.socket = root / "mysqld.sock"
        self.pid_file = root / "mysqld.pid"
        self.log_path = root / "mysqld.log"
        self._process: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def url(self, database: str = "") -> str:
        return f"mysql+aiomysql://root@127.0.0.1:{self.port}/{database}"

    async def install(self) -> None:
        tool = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if tool is None:
            raise RuntimeError("mariadb-install-db is not installed")
        self.root.mkdir(parents=True, exist_ok=True)
        args = [tool, "--no-defaults", f"--datadir={self.datadir}", "--skip-test-db"]
        args.append("--auth-root-authentication-method=normal")
        if os.geteuid() == 0:
            args.append("--user=root")
        with self.log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(*args, stdout=log, stderr=log)
            if await process.wait() != 0:
                raise RuntimeError(f"mariadb-install-db failed; see {self.log_path}")

    async def start(self, timeout_s: float = 60.0) -> float:
        """Start the server and return the seconds until it answered a query."""
        mariadbd = shutil.which("mariadbd") or shutil.which("mysqld") or "/usr/sbin/mariadbd"
        args = [
            mariadbd,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.socket}",
            f"--pid-file={self.pid_file}",
            "--skip-grant-tables",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=128M",
            "--max-connections=300",
        ]
        if os.geteuid() == 0:
            args.append("--user=root")
        started = time.monotonic()
        log = self.log_path.open("ab")
        self._process = await asyncio.create_subprocess_exec(*args, stdout=log, stderr=log)
        log.close()
        while time.monotonic() - started < timeout_s:
            if self._process.returncode is not None:
                raise RuntimeError(f"mariadbd exited; see {self.log_path}")
            if await self._answers():
                return time.monotonic() - started
            await asyncio.sleep(0.2)
        raise RuntimeError(f"mariadbd did not answer within {timeout_s} s")

    async def stop(self) -> None:
        """A clean shutdown (what `systemctl stop mariadb` does)."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(60):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()

    async def remove(self) -> None:
        await self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    async def fresh_database(self, name: str) -> str:
        """An empty database migrated to head; returns its URL."""
        async with Database(self.url()) as admin, admin.engine.begin() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            await connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        url = self.url(name)
        async with Database(url) as db:
            await upgrade(db)
        return url

    async def _answers(self) -> bool:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        writer.close()
        try:
            async with Database(self.url()) as db, db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True
