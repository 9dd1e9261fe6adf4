"""Chromium's and Playwright's processes: find them in /proc (crash tests, memory bench), hear
when one exits, and keep them out of the terminal's Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import playwright

logger = logging.getLogger(__name__)

PROC = Path("/proc")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:  # the process went away between listing and reading
        return None


def _stat_fields(pid: int) -> list[bytes] | None:
    stat = _read(PROC / str(pid) / "stat")
    if stat is None:
        return None
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    return stat[stat.rfind(b")") + 2 :].split()


def parent_pid(pid: int) -> int | None:
    """The parent of ``pid``, or None when it is gone."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[1])


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped, is not alive)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in (b"Z", b"X")


def is_playwright_driver(pid: int) -> bool:
    """True when ``pid`` is Playwright's Node.js driver (``node .../cli.js run-driver``)."""
    cmdline = _read(PROC / str(pid) / "cmdline")
    return cmdline is not None and b"run-driver" in cmdline.split(b"\0")


def playwright_drivers(parent: int | None = None) -> list[int]:
    """The Playwright drivers this process (or ``parent``) started that are alive now."""
    parent = os.getpid() if parent is None else parent
    return sorted(
        int(entry.name)
        for entry in PROC.iterdir()
        if entry.name.isdigit()
        and parent_pid(int(entry.name)) == parent
        and alive(int(entry.name))
        and is_playwright_driver(int(entry.name))
    )


def on_exit(pid: int, callback: Callable[[], None]) -> Callable[[], None] | None:
    """Call ``callback`` once, from the running loop, when ``pid`` exits; returns what cancels
    the watch. A pidfd becomes readable when its process ends (Linux 5.3+, for any process we
    can see, not only our children). None, and no watch, without pidfds or when ``pid`` is gone."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError) as exc:
        logger.debug("cannot watch process %s: %s", pid, exc)
        return None
    loop = asyncio.get_running_loop()
    watching = True

    def cancel() -> None:
        nonlocal watching
        if watching:
            watching = False
            loop.remove_reader(fd)
            os.close(fd)

    def exited() -> None:
        cancel()
        callback()

    loop.add_reader(fd, exited)
    return cancel


def browser_pid(profile_dir: Path) -> int | None:
    """The pid of the Chromium browser process whose ``--user-data-dir`` is ``profile_dir``."""
    wanted = f"--user-data-dir={profile_dir.resolve()}".encode()
    candidates: list[int] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        cmdline = _read(entry / "cmdline")
        if cmdline and wanted in cmdline.split(b"\0") and b"--type=" not in cmdline:
            candidates.append(int(entry.name))
    # The browser process is the one whose parent is not itself a candidate.
    roots = [pid for pid in candidates if parent_pid(pid) not in candidates]
    return min(roots) if roots else None


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            parent = parent_pid(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    tree: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rollup_kib(pids: list[int], *fields: str) -> int:
    """Sum of ``smaps_rollup`` fields (``Pss``, ``Private_Dirty``, ...) of these processes, KiB."""
    wanted = {f"{name}:".encode() for name in fields}
    total = 0
    for pid in pids:
        rollup = _read(PROC / str(pid) / "smaps_rollup")
        for line in (rollup or b"").splitlines():
            key, _, rest = line.partition(b" ")
            if key in wanted:
                total += int(rest.split()[0])
    return total


def pss_kib(pids: list[int]) -> int:
    """Proportional set size of these processes in KiB (shared pages split among users)."""
    return rollup_kib(pids, "Pss")


def private_kib(pids: list[int]) -> int:
    """Memory only these processes use (clean + dirty private pages), in KiB."""
    return rollup_kib(pids, "Private_Clean", "Private_Dirty")


def isolate_from_terminal_signals(workdir: Path) -> bool:
    """Run Playwright's driver (and so the browsers) in a session of its own.

    A Ctrl-C in a terminal reaches the whole foreground process group: without this the
    browsers die at once while waops is still closing them in order. With it, only waops gets
    the signal and shuts the sessions down itself. Uses `setsid` from util-linux; returns False
    (and changes nothing) where it or Playwright's bundled Node.js is missing, or when
    PLAYWRIGHT_NODEJS_PATH is set already.
    """
    setsid = shutil.which("setsid")
    if setsid is None or os.environ.get("PLAYWRIGHT_NODEJS_PATH"):
        return False
    node = Path(playwright.__file__).parent / "driver" / "node"
    if not node.is_file():
        return False
    workdir.mkdir(parents=True, exist_ok=True)
    wrapper = workdir / "node-own-session"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(setsid)} {shlex.quote(str(node))} "$@"\n')
    wrapper.chmod(0o755)
    os.environ["PLAYWRIGHT_NODEJS_PATH"] = str(wrapper)
    return True
