"""Inbound voice notes: time and memory to receive and store N voice notes of 30 s (issue 15).

The production path runs as in bench/inbound_throughput.py: the simulator in-process, one
session on real Chromium built by `bot.app.App` from settings that point at the simulator, the
inbound spool and the listener, with AI off (no model, so no transcription). Each note comes
from a contact of its own through the control API; the listener stores the message, then
`MediaIntake` downloads the file through the page (`WPP.chat.downloadMedia` of the fake WA-JS)
into the `MediaStore`. The clock runs from the first post until every note is stored (the
engine's `MessageStored` events) and the listener is idle (every download and file written).
Every note has bytes of its own, or the content-addressed store would keep one file: a small
header with its number, then random bytes. At the end of each pass every note's row must say
`stored` with the sha256 and size of the bytes posted, and its file must hash to them.

The baseline, in the same run on the same disk (the data folder's): writing the same bytes to
files of one folder, plainly, with an fsync per file, and as the store does (a temporary file,
fsync, rename, fsync of the folder). For the share of the file in the time, the same number
of new contacts also write a text message each, timed the same way.

Memory is read in another pass of as many new notes, as tracemalloc slows Python down and the
timed pass runs without it: the Python heap's growth (tracemalloc, started after the warm-up:
its peak, and what stays by the file that allocated it), this process's RSS and peak RSS
(`ru_maxrss`), Playwright's driver (node) and the RSS and PSS of Chromium's process tree
before, at its highest (read every 0.1 s) and after. The simulator lives in this process and
keeps every note (it is WhatsApp's media servers): N x the note size of what stays is its own.

Assumption, not verified: a 30 s voice note is 60,000 bytes. WhatsApp records voice notes as
Opus in Ogg, mono; at about 16 kbit/s that is 16,000 / 8 x 30 = 60,000 bytes (Ogg pages add
about 1 %). The simulator's stand-in voice note, 9,810 bytes for 4 s, is about 20 kbit/s.

    .venv/bin/python bench/media_inbound.py [--notes 100] [--note-bytes 60000] [--posters 4]
        [--mysql URL] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import itertools
import logging
import os
import random
import resource
import shutil
import statistics
import sysconfig
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from baseline import fresh_database, post_concurrently
from connected_app import connected_app

from bot.app import App
from engine.events import EventBus, MessageStored
from engine.media_store import TEMP_DIR
from engine.session.profiles import profile_dir
from engine.whatsapp.processes import browser_pid, process_tree, pss_kib, rollup_kib
from engine.whatsapp.simulator import SimulatorClient
from storage.db import Database
from storage.records import Direction, MediaState
from storage.repos import AISettingsRepo, ClientRepo, ContactRepo, MessageRepo

CLIENT, SESSION = "bench", "main"
SIM_NAME = f"{CLIENT}-{SESSION}"
BUSINESS_PHONE = "5491100000000"
VOICE_MIMETYPE = "audio/ogg; codecs=opus"  # WA-JS MsgModel `mimetype` of a voice note
NOTE_S = 30
OPUS_BIT_S = 16_000  # the assumption of the docstring
DEFAULT_NOTE_BYTES = OPUS_BIT_S // 8 * NOTE_S
WARM_UP_NOTES = 5
BASELINE_ROUNDS = 3
SAMPLE_EVERY_S = 0.1
KEPT_FILES = 6
TIMEOUT_S = 600.0
KIB_PER_MIB = 1024


@dataclass(frozen=True)
class Note:
    """One voice note to post: the contact who sends it and its bytes."""

    phone: str
    data: bytes
    sha256: str


class NoteMaker:
    """Voice notes of `size` bytes, each from a new contact and with bytes of its own."""

    def __init__(self, size: int, seed: int = 15) -> None:
        self.size = size
        self._rng = random.Random(seed)
        self._numbers = itertools.count(1)

    def make(self, count: int) -> list[Note]:
        notes = []
        for _ in range(count):
            n = next(self._numbers)
            header = f"OggS waops bench voice note {n:06d}\n".encode()
            data = header + self._rng.randbytes(self.size - len(header))
            notes.append(Note(f"54911{n:08d}", data, hashlib.sha256(data).hexdigest()))
        return notes


# The disk baseline: the same bytes written to files in one folder, three ways.


def _write(path: Path, data: bytes, *, fsync: bool) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
        if fsync:
            os.fsync(handle)
    finally:
        os.close(handle)


def _write_plain(folder: Path, name: str, data: bytes) -> None:
    _write(folder / name, data, fsync=False)


def _write_synced(folder: Path, name: str, data: bytes) -> None:
    _write(folder / name, data, fsync=True)


def _write_as_store(folder: Path, name: str, data: bytes) -> None:
    temp = folder / f"{name}.tmp"
    _write(temp, data, fsync=True)
    os.replace(temp, folder / name)
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


WRITERS: list[tuple[str, Callable[[Path, str, bytes], None]]] = [
    ("write, no fsync", _write_plain),
    ("write + fsync per file", _write_synced),
    ("as the store: temp, fsync, rename, fsync dir", _write_as_store),
]


def disk_baseline(notes: Sequence[Note], root: Path) -> list[tuple[str, float]]:
    """Seconds to write every note to a file of its own, for each of `WRITERS`: the median
    of `BASELINE_ROUNDS` rounds, the writers taking turns (the disk is shared)."""
    rounds: list[list[float]] = [[] for _ in WRITERS]
    for turn in range(BASELINE_ROUNDS):
        for n, (_label, write) in enumerate(WRITERS):
            folder = root / f"baseline-{turn}-{n}"
            folder.mkdir(parents=True)
            start = time.perf_counter()
            for i, note in enumerate(notes):
                write(folder, f"{i:06d}", note.data)
            rounds[n].append(time.perf_counter() - start)
            shutil.rmtree(folder)
    return [(label, statistics.median(rounds[n])) for n, (label, _) in enumerate(WRITERS)]


def filesystem_of(path: Path) -> str:
    """The type and device of the filesystem holding `path` (the longest mount point over it)."""
    resolved = str(path.resolve())
    best, found = "", "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        device, mount, kind = line.split()[:3]
        inside = resolved == mount or resolved.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best):
            best, found = mount, f"{kind} on {device}"
    return found


# Memory, from /proc.


@dataclass(frozen=True)
class Footprint:
    """Memory at one moment, KiB: this process, Playwright's driver (node, its child) and
    Chromium's process tree; `python_max_rss` is the peak RSS of this process so far."""

    python_rss: int
    python_pss: int
    python_max_rss: int
    node_rss: int
    chromium_rss: int
    chromium_pss: int

    def figures(self) -> dict[str, int]:
        """Each figure by its label, in the order printed."""
        return {
            "this process RSS": self.python_rss,
            "this process PSS": self.python_pss,
            "this process peak RSS (ru_maxrss)": self.python_max_rss,
            "Playwright driver (node) RSS": self.node_rss,
            "Chromium tree RSS": self.chromium_rss,
            "Chromium tree PSS": self.chromium_pss,
        }


def footprint(browser: int) -> Footprint:
    me = os.getpid()
    chromium = process_tree(browser)
    node = [pid for pid in process_tree(me) if pid != me and pid not in chromium]
    return Footprint(
        python_rss=rollup_kib([me], "Rss"),
        python_pss=pss_kib([me]),
        python_max_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,  # KiB on Linux
        node_rss=rollup_kib(node, "Rss"),
        chromium_rss=rollup_kib(chromium, "Rss"),
        chromium_pss=pss_kib(chromium),
    )


class ChromiumPeak:
    """The highest RSS and PSS of Chromium's process tree, read every `SAMPLE_EVERY_S`."""

    def __init__(self, browser: int) -> None:
        self._browser = browser
        self.rss = 0
        self.pss = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            pids = process_tree(self._browser)
            self.rss = max(self.rss, rollup_kib(pids, "Rss"))
            self.pss = max(self.pss, pss_kib(pids))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY_S)


# The passes.


class Arrivals:
    """Counts inbound messages stored, from the engine's own `MessageStored` events."""

    def __init__(self, bus: EventBus) -> None:
        self.stored = 0
        self._changed = asyncio.Condition()
        bus.subscribe(MessageStored, self._on_stored)

    async def _on_stored(self, event: MessageStored) -> None:
        if event.message.direction is Direction.IN:
            async with self._changed:
                self.stored += 1
                self._changed.notify_all()

    async def wait(self, stored: int) -> None:
        """Until `stored` inbound messages have been stored since the start."""
        async with asyncio.timeout(TIMEOUT_S), self._changed:
            await self._changed.wait_for(lambda: self.stored >= stored)


@dataclass(frozen=True)
class Pass:
    """One pass: how long posting took, and the first post to the last note stored."""

    notes: int
    post_s: float
    done_s: float


async def post_all(
    control: SimulatorClient, notes: Sequence[Note], posters: int, *, text: bool
) -> float:
    """Post every note (or, with `text`, a text message from its contact instead) with
    `posters` concurrent callers; seconds it took."""

    async def post(note: Note) -> None:
        if text:
            await control.inbound(SIM_NAME, note.phone, "hola, te mando un audio")
            return
        answer = await control.inbound_media(
            SIM_NAME, note.phone, "ptt", note.data, mimetype=VOICE_MIMETYPE, duration=NOTE_S
        )
        assert answer["size"] == len(note.data), answer

    return await post_concurrently(notes, posters, post)


class Bench:
    """The running app, its paired session and the control API, for several passes."""

    def __init__(self, app: App, control: SimulatorClient, client_id: int) -> None:
        self.app = app
        self.control = control
        self.client_id = client_id
        self.arrivals = Arrivals(app.bus)
        self.posted: set[str] = set()

    async def run(self, notes: Sequence[Note], posters: int, *, text: bool = False) -> Pass:
        """Post the notes (or a text from each note's contact); wait until each message is
        stored and the listener is idle."""
        listener = self.app.listener
        assert listener is not None
        target = self.arrivals.stored + len(notes)
        start = time.perf_counter()
        post_s = await post_all(self.control, notes, posters, text=text)
        await self.arrivals.wait(target)
        await listener.run_until_idle(timeout_s=TIMEOUT_S)
        done_s = time.perf_counter() - start
        if not text:
            self.posted.update(note.sha256 for note in notes)
        return Pass(len(notes), post_s, done_s)

    async def verify(self, notes: Sequence[Note]) -> None:
        """Each note is one row `stored` with its sha256 and size, and its file holds its bytes;
        the store holds the files of every note posted so far and no temporary file."""
        contacts, messages = ContactRepo(self.app.db), MessageRepo(self.app.db)
        store = self.app.media
        states: Counter[str] = Counter()
        rows = 0
        for note in notes:
            contact = await contacts.get(self.client_id, note.phone)
            found = await messages.media_messages(self.client_id, contact.id, limit=2)
            rows += len(found)
            media = found[0].media if len(found) == 1 else None
            assert media is not None and media.kind == "ptt", f"{note.phone}: {found}"
            states[media.state.value] += 1
            if media.state is not MediaState.STORED:
                continue
            assert media.sha256 == note.sha256 and media.size_bytes == len(note.data), media
            kept = await asyncio.to_thread(store.path(note.sha256).read_bytes)
            assert hashlib.sha256(kept).hexdigest() == note.sha256, f"{note.phone}: file differs"
        assert rows == len(notes), f"{rows} rows for {len(notes)} notes"
        assert states[MediaState.STORED.value] == len(notes), f"notes by state: {dict(states)}"
        in_store = await store.older_than(datetime.now(UTC) + timedelta(days=1))
        assert set(in_store) == self.posted, f"{len(in_store)} files for {len(self.posted)} notes"
        assert set(await messages.media_in_use()) == self.posted
        temporaries = list((store.root / TEMP_DIR).iterdir())
        assert not temporaries, f"temporary files left: {temporaries}"
        assert await self.control.sent(SIM_NAME) == [], "AI off, yet something was sent"


@dataclass(frozen=True)
class MemoryPass:
    """The memory pass: its timing, the heap's growth (bytes) and the footprints (KiB)."""

    run: Pass
    heap_peak: int
    heap_kept: int
    before: Footprint
    after: Footprint
    chromium_peak_rss: int
    chromium_peak_pss: int
    kept_by_file: list[tuple[str, int]]


async def memory_pass(
    bench: Bench, notes: Sequence[Note], posters: int, browser: int
) -> MemoryPass:
    """A pass under tracemalloc, with Chromium's tree read every `SAMPLE_EVERY_S`."""
    gc.collect()
    before = footprint(browser)
    peak = ChromiumPeak(browser)
    stop = asyncio.Event()
    tracemalloc.start()
    heap_start, _ = tracemalloc.get_traced_memory()
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(peak.run(stop), name="bench:chromium-peak")
            try:
                measured = await bench.run(notes, posters)
            finally:
                stop.set()
        gc.collect()  # what stays is what a collection leaves; the peak is kept as it was
        heap_now, heap_peak = tracemalloc.get_traced_memory()
        kept = tracemalloc.take_snapshot().statistics("filename")[:KEPT_FILES]
    finally:
        tracemalloc.stop()
    after = footprint(browser)
    return MemoryPass(
        measured,
        heap_peak - heap_start,
        heap_now - heap_start,
        before,
        after,
        max(peak.rss, after.chromium_rss),
        max(peak.pss, after.chromium_pss),
        [(_short(stat.traceback[0].filename), stat.size) for stat in kept],
    )


def _short(filename: str) -> str:
    """A traced file's name within site-packages, the project or the standard library."""
    paths = sysconfig.get_paths()
    for root in (paths["purelib"], str(Path.cwd()), paths["stdlib"]):
        if filename.startswith(root + os.sep):
            return filename[len(root) + 1 :]
    return filename


@dataclass(frozen=True)
class Timing:
    """The timed pass of one database, its baselines and the footprints around it."""

    filesystem: str
    disk: list[tuple[str, float]]
    texts: Pass
    timed: Pass
    timed_before: Footprint
    timed_after: Footprint


async def measure(
    url: str, count: int, note_bytes: int, posters: int, chromium: Path, workdir: Path | None
) -> None:
    """A warm-up, the text pass, the disk baseline, the timed pass and the memory pass, in
    one app; each pass's figures are printed once its notes are verified."""
    maker = NoteMaker(note_bytes)
    with tempfile.TemporaryDirectory(prefix="waops-bench-", dir=workdir) as tmp:
        if url.startswith("sqlite"):
            url = url.replace("{tmp}", tmp)
        async with Database(url) as db:
            await fresh_database(db)
            client = await ClientRepo(db).add(
                CLIENT, "Bench", "AR", "America/Argentina/Buenos_Aires"
            )
            await AISettingsRepo(db).update(client.id, enabled=False)
        async with AsyncExitStack() as stack:
            app, control, settings = await connected_app(
                stack,
                url=url,
                data_dir=Path(tmp) / "data",
                chromium=chromium,
                client=CLIENT,
                session=SESSION,
                business_phone=BUSINESS_PHONE,
            )
            assert app.llm is None, "AI must be off: no model client"
            browser = browser_pid(profile_dir(settings.data_dir, CLIENT, SESSION))
            assert browser is not None, "the session's Chromium process not found"
            bench = Bench(app, control, client.id)

            warm_up = maker.make(min(count, WARM_UP_NOTES))
            await bench.run(warm_up, posters)
            await bench.verify(warm_up)

            texts = await bench.run(maker.make(count), posters, text=True)
            notes = maker.make(count)
            disk = await asyncio.to_thread(disk_baseline, notes, settings.data_dir)
            timed_before = footprint(browser)
            timed = await bench.run(notes, posters)
            timed_after = footprint(browser)
            await bench.verify(notes)
            filesystem = filesystem_of(settings.data_dir)
            timing = Timing(filesystem, disk, texts, timed, timed_before, timed_after)
            report_timing(timing)

            more = maker.make(count)
            memory = await memory_pass(bench, more, posters, browser)
            await bench.verify(more)
            report_memory(timing, memory, note_bytes)


def _mib(kib: int) -> str:
    return f"{kib / KIB_PER_MIB:.1f}"


def report_timing(timing: Timing) -> None:
    timed, texts = timing.timed, timing.texts
    print(f"data folder: {timing.filesystem}; disk rows: median of {BASELINE_ROUNDS} rounds")
    print(f"{'what':<48} {'total ms':>9} {'ms/note':>8} {'waops x':>8}")
    for label, seconds in timing.disk:
        print(
            f"{label:<48} {1000 * seconds:>9.1f} {1000 * seconds / timed.notes:>8.2f}"
            f" {timed.done_s / seconds:>8.1f}"
        )
    for label, run in [
        (f"waops: first post to last stored ({timed.post_s:.2f} s posting)", timed),
        ("waops: a text from each of as many contacts", texts),
    ]:
        print(f"{label:<48} {1000 * run.done_s:>9.0f} {1000 * run.done_s / run.notes:>8.1f}")
    added_ms = 1000 * (timed.done_s - texts.done_s) / timed.notes
    print(f"the file adds {added_ms:.1f} ms per note to the message", flush=True)


def report_memory(timing: Timing, memory: MemoryPass, note_bytes: int) -> None:
    print(
        f"\nmemory pass, tracemalloc on, {memory.run.notes} more notes:"
        f" {1000 * memory.run.done_s / memory.run.notes:.1f} ms per note"
    )
    print(
        f"Python heap growth: peak {memory.heap_peak / 2**20:.1f} MiB, kept"
        f" {memory.heap_kept / 2**20:.1f} MiB (the simulator's copy of the notes is"
        f" {memory.run.notes * note_bytes / 2**20:.1f} MiB); kept, by the file that allocated it:"
    )
    for filename, size in memory.kept_by_file:
        print(f"  {filename:<70} {size / 2**20:>6.2f} MiB")
    print(
        f"{'MiB':<36} {'timed: before':>13} {'after':>7} {'memory: before':>15}"
        f" {'peak':>6} {'after':>7}"
    )
    peaks = {
        "Chromium tree RSS": memory.chromium_peak_rss,
        "Chromium tree PSS": memory.chromium_peak_pss,
    }
    before, after = timing.timed_before.figures(), timing.timed_after.figures()
    memory_before, memory_after = memory.before.figures(), memory.after.figures()
    for label, kib in before.items():
        peak = _mib(peaks[label]) if label in peaks else "-"
        print(
            f"{label:<36} {_mib(kib):>13} {_mib(after[label]):>7}"
            f" {_mib(memory_before[label]):>15} {peak:>6} {_mib(memory_after[label]):>7}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=100, help="voice notes per pass")
    parser.add_argument(
        "--note-bytes",
        type=int,
        default=DEFAULT_NOTE_BYTES,
        help=f"bytes of one 30 s voice note (default {DEFAULT_NOTE_BYTES}: Opus at ~16 kbit/s)",
    )
    parser.add_argument("--posters", type=int, default=4, help="concurrent control API callers")
    parser.add_argument(
        "--mysql", help="also run on this mysql+aiomysql:// URL (its tables are dropped)"
    )
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    parser.add_argument(
        "--workdir", type=Path, help="where the temporary data folder goes (default: $TMPDIR)"
    )
    args = parser.parse_args()
    if args.note_bytes < 64:
        parser.error("--note-bytes must be at least 64 (the header of each note)")
    logging.basicConfig(level=logging.ERROR)
    # A note that ends `failed` says why: the intake logs its failed attempts as warnings, the
    # session runner its state changes as info.
    logging.getLogger("engine").setLevel(logging.WARNING)
    logging.getLogger("engine.session.runner").setLevel(logging.INFO)
    targets = [("SQLite (WAL)", "sqlite+aiosqlite:///{tmp}/bench.db")]
    if args.mysql:
        targets.append(("MariaDB/MySQL", args.mysql))
    print(
        f"{args.notes} voice notes of {args.note_bytes:,} bytes ({NOTE_S} s), each from its own"
        f" contact, one session on real Chromium, AI off, {args.posters} concurrent posters"
    )
    for label, url in targets:
        print(f"\n{label}", flush=True)
        asyncio.run(
            measure(url, args.notes, args.note_bytes, args.posters, args.chromium, args.workdir)
        )


if __name__ == "__main__":
    main()
