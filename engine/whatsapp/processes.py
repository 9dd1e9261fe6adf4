"""Find a profile's Chromium processes in /proc (crash tests, memory bench, watchdog)."""

from __future__ import annotations

import logging
from pathlib import Path

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
