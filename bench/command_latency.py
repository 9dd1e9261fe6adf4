"""Command latency with 1,000,000 stored messages, against the database's own round trip.

A database is filled with N messages (default 1,000,000) over 20,000 contacts of two clients
with bulk core inserts (batches of 10,000; the fill is timed). Then conversation and prospect
commands run through the real `Dispatcher` (identify, authorise, run, answer, audit) as an
owner operator, each repeated, and their median and p95 are printed next to the baseline of
the same run: a trivial `SELECT 1` and a primary-key lookup, each in its own unit of work like
the repositories use. A command reads as "so many database round trips".

For a command slower than `--slow-ms`, its most expensive statements are printed with the
database's query plan (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on MySQL/MariaDB).

    .venv/bin/python -m bench.command_latency [--messages 1000000] [--repeat 20] [--mysql URL]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Connection

from bench.baseline import fresh_database
from bench.command_world import CLIENTS, World, fill
from bot.app import App
from bot.commands.base import ConfirmPrompt
from bot.commands.parsing import parse_request
from engine.settings import load_settings
from storage.db import Database
from storage.models import MessageRow
from storage.records import AuditResult, Role
from storage.repos import OperatorRepo

_SELECT_LIST = re.compile(r"^(SELECT) (?!count).*? (FROM)")
ACTOR = "console"
COMMANDS = (
    "/conv haby {phone}",
    "/chats haby",
    "/chats haby unanswered",
    "/chats marketing unanswered",
    "/chats haby hot",
    "/prospects haby",
)


@dataclass
class BenchReply:
    """A `Reply` that keeps what the command answered (text, files), as a chat would show it."""

    text_limit: int = 4096
    command_prefix: str = "/"
    texts: list[str] = field(default_factory=list)
    files: list[tuple[str, bytes]] = field(default_factory=list)

    async def text(self, text: str) -> None:
        self.texts.append(text)

    async def image(self, png: bytes, caption: str = "") -> None:
        self.texts.append(caption)

    async def file(self, name: str, data: bytes, caption: str = "") -> None:
        self.files.append((name, data))

    async def confirm(self, prompt: ConfirmPrompt) -> None:
        raise AssertionError(f"a read-only command asked for confirmation: {prompt.text}")

    async def progress(self, text: str) -> BenchReply:
        self.texts.append(text)
        return self

    async def update(self, text: str) -> None:
        self.texts.append(text)


@dataclass
class SqlStats:
    """One SQL text: how often it ran, for how long in total, and its last parameters."""

    calls: int = 0
    seconds: float = 0.0
    params: Any = None


class StatementLog:
    """Every statement the engine runs while `active`: count, and time per SQL text."""

    def __init__(self) -> None:
        self.active = False
        self.count = 0
        self.by_sql: dict[str, SqlStats] = {}

    def before(self, conn: Connection, *_args: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(self, conn: Connection, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        elapsed = time.perf_counter() - conn.info["bench_started"].pop()
        if not self.active:
            return
        self.count += 1
        stats = self.by_sql.setdefault(sql, SqlStats())
        stats.calls += 1
        stats.seconds += elapsed
        stats.params = params

    def reset(self) -> None:
        self.count = 0
        self.by_sql = {}


@dataclass(frozen=True)
class Timing:
    label: str
    samples_ms: list[float]
    statements: float = 0.0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def _timed(label: str, repeat: int, call: Any, budget_s: float = float("inf")) -> Timing:
    """Run `call` `repeat` times, or fewer (at least 3) once `budget_s` is spent."""
    samples: list[float] = []
    spent_s = 0.0
    for n in range(repeat):
        if len(samples) >= 3 and spent_s > budget_s:
            break
        begin = time.perf_counter()
        await call(n)
        samples.append(1000 * (time.perf_counter() - begin))
        spent_s += samples[-1] / 1000
    return Timing(label, samples)


async def baselines(db: Database, repeat: int, messages: int) -> list[Timing]:
    """`SELECT 1` and a primary-key lookup of a random message, one unit of work each."""
    rng = random.Random(1)

    async def select_one(_n: int) -> None:
        async with db.session() as session:
            await session.execute(text("SELECT 1"))

    async def by_key(_n: int) -> None:
        async with db.session() as session:
            found = await session.scalar(
                select(MessageRow).where(MessageRow.id == rng.randint(1, messages))
            )
            assert found is not None

    await _timed("warm-up", 5, select_one)
    return [
        await _timed("SELECT 1", repeat * 5, select_one),
        await _timed("message by primary key", repeat * 5, by_key),
    ]


async def commands(
    app: App, world: World, repeat: int, budget_s: float, log: StatementLog
) -> tuple[list[Timing], dict[str, dict[str, SqlStats]]]:
    """Each command `repeat` times (within `budget_s`) through the dispatcher; returns the
    timings and, per command, the statements it ran (calls, seconds, last parameters)."""
    rng = random.Random(3)
    timings: list[Timing] = []
    statements: dict[str, dict[str, SqlStats]] = {}
    for template in COMMANDS:
        client = template.split()[1]

        async def run(_n: int, template: str = template, client: str = client) -> None:
            line = template.format(phone="+" + rng.choice(world.phones[client]))
            reply = BenchReply()
            request = parse_request(line, actor=ACTOR, platform="console", channel="bench")
            assert request is not None
            result = await app.dispatcher.dispatch(request, reply)
            assert result is AuditResult.OK, (line, result, reply.texts)
            assert reply.texts or reply.files

        label = template.format(phone="<phone>")
        await run(0)  # the first call pays for imports and statement compilation
        log.reset()
        log.active = True
        timing = await _timed(label, repeat, run, budget_s)
        log.active = False
        runs = len(timing.samples_ms)
        timings.append(Timing(label, timing.samples_ms, log.count / runs))
        statements[label] = log.by_sql
    return timings, statements


async def explain(db: Database, sql: str, params: Any) -> list[str]:
    """The database's plan for one statement, as lines."""
    prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
    async with db.engine.connect() as connection:
        rows = (await connection.exec_driver_sql(prefix + sql, params)).all()
    return ["  ".join(str(value) for value in row) for row in rows]


def report(
    label: str, fill_s: float, messages: int, base: list[Timing], cmds: list[Timing]
) -> None:
    select_one = base[0].median_ms
    print(f"\n{label}: filled {messages:,} messages in {fill_s:.0f} s ({messages / fill_s:,.0f}/s)")
    print(
        f"{'what':<30} {'runs':>5} {'median ms':>10} {'p95 ms':>9} {'SQL/run':>8}"
        f" {'x SELECT 1':>11}"
    )
    for timing in base + cmds:
        stmts = f"{timing.statements:.0f}" if timing.statements else "1"
        print(
            f"{timing.label:<30} {len(timing.samples_ms):>5} {timing.median_ms:>10.2f}"
            f" {timing.p95_ms:>9.2f} {stmts:>8} {timing.median_ms / select_one:>11.1f}"
        )


async def slow_statements(
    db: Database, cmds: list[Timing], statements: dict[str, dict[str, SqlStats]], slow_ms: float
) -> None:
    """For each command slower than `slow_ms`: its two costliest statements and their plans."""
    for timing in cmds:
        if timing.median_ms <= slow_ms:
            continue
        runs = len(timing.samples_ms)
        print(f"\n{timing.label} is slow ({timing.median_ms:.0f} ms median); its costliest SQL:")
        ranked = sorted(statements[timing.label].items(), key=lambda kv: -kv[1].seconds)[:2]
        for sql, stats in ranked:
            share_ms = 1000 * stats.seconds / runs
            print(f"- {stats.calls / runs:.0f} call(s), {share_ms:.0f} ms per command:")
            print("    " + _SELECT_LIST.sub(r"\1 … \2", " ".join(sql.split())))
            for line in await explain(db, sql, stats.params):
                print(f"    plan: {line}")


async def measure(
    url: str, messages: int, contacts: int, repeat: int, budget_s: float, slow_ms: float
) -> None:
    with tempfile.TemporaryDirectory(prefix="waops-bench-") as tmp:
        if url.startswith("sqlite"):
            url = url.replace("{tmp}", tmp)
        async with Database(url) as db:
            await fresh_database(db)
            begin = time.perf_counter()
            world = await fill(db, messages, contacts)
            fill_s = time.perf_counter() - begin
            await OperatorRepo(db).add(ACTOR, Role.OWNER)
            async with db.session() as session:
                stored = await session.scalar(select(func.count()).select_from(MessageRow))
            assert stored == messages, stored
        settings = load_settings(
            _env_file=None,
            database_url=url,
            data_dir=Path(tmp) / "data",
            telegram_token=None,
            slack_bot_token=None,
            health_port=0,
        )
        app = App(settings)  # nothing started: the dispatcher and its services only
        log = StatementLog()
        event.listen(app.db.engine.sync_engine, "before_cursor_execute", log.before)
        event.listen(app.db.engine.sync_engine, "after_cursor_execute", log.after)
        try:
            base = await baselines(app.db, repeat, messages)
            cmds, statements = await commands(app, world, repeat, budget_s, log)
            name = "SQLite (WAL)" if app.db.dialect == "sqlite" else "MariaDB/MySQL"
            report(name, fill_s, messages, base, cmds)
            await slow_statements(app.db, cmds, statements, slow_ms)
        finally:
            await app.db.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, help="default: one per 50 messages")
    parser.add_argument("--repeat", type=int, default=20, help="runs of each command")
    parser.add_argument(
        "--budget-s", type=float, default=30.0, help="stop repeating a command after this"
    )
    parser.add_argument("--slow-ms", type=float, default=150.0, help="explain commands above this")
    parser.add_argument(
        "--mysql", help="also run on this mysql+aiomysql:// URL (its tables are dropped)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    contacts = args.contacts or max(len(CLIENTS), args.messages // 50)
    print(
        f"{args.messages:,} messages over {contacts:,} contacts of {len(CLIENTS)} clients;"
        f" each command {args.repeat} times through the dispatcher as an owner"
    )
    targets = ["sqlite+aiosqlite:///{tmp}/bench.db"]
    if args.mysql:
        targets.append(args.mysql)
    for url in targets:
        asyncio.run(measure(url, args.messages, contacts, args.repeat, args.budget_s, args.slow_ms))


if __name__ == "__main__":
    main()
