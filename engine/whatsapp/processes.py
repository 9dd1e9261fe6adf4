"""Chromium's processes: find a profile's in /proc (crash tests, memory bench), and keep
them out of the terminal's Ctrl-C."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
from pathlib import Path

import playwright

logger = logging.getLogger(__name__)

PROC = Path("/proc")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:  # the process went away between listing and reading
        return None


def _parent_pid(pid: int) -> int | None:
    stat = _read(PROC / str(pid) / "stat")
    if stat is None:
        return None
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(fields[1])


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
    roots = [pid for pid in candidates if _parent_pid(pid) not in candidates]
    return min(roots) if roots else None


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            parent = _parent_pid(int(entry.name))
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
