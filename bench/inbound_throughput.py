"""Inbound throughput: messages per second from the simulator to stored and answered.

The whole production path runs: the simulator in-process, one session on real Chromium
(SessionManager and the Playwright driver, built by `bot.app.App` from settings that point at
the simulator), the inbound spool, the listener and, with AI on, the intent classification and
one reply turn per message through a zero-latency fake model, sent back through the browser.
N messages from N different contacts are posted through the control API as fast as it takes
them; the clock stops when every one is stored and every reply is in the simulator's `sent`
list. The same is measured with AI off (stored only), so the cost of the AI turn shows.

The baseline, measured in the same run on the same database, is the rate of single-row
INSERT transactions: one stored message needs a few of them.

    .venv/bin/python bench/inbound_throughput.py [--messages 300] [--mysql URL]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from baseline import fresh_database, post_concurrently, raw_insert_rate
from connected_app import connected_app
from sqlalchemy import event
from sqlalchemy.engine import Connection

from bot.app import App
from engine.events import EventBus, InboundReceived, MessageSent, MessageStored, SessionRef
from engine.ia.llm import ChatTurn, Completion
from engine.listener import ListenerPolicy
from engine.whatsapp.simulator import SimulatorClient
from engine.whatsapp.types import InboundMessage
from storage.db import Database
from storage.records import Direction, Origin
from storage.repos import AISettingsRepo, ClientRepo

CLIENT, SESSION = "bench", "main"
SIM_NAME = f"{CLIENT}-{SESSION}"
BUSINESS_PHONE = "5491100000000"
REPLY = "Gracias por escribir: abrimos de 9 a 18 y te respondemos enseguida."
CLASSIFIER_MARK = "Classify the user's WhatsApp message"
TIMEOUT_S = 600.0


class InstantModel:
    """An `LLMClient` that answers at once: the label `question` or a fixed reply."""

    def __init__(self) -> None:
        self.calls = 0

    async def complete(
        self, turns: Sequence[ChatTurn], *, model: str, max_tokens: int, timeout_s: float
    ) -> Completion:
        self.calls += 1
        prompt_tokens = sum(len(turn.content) for turn in turns) // 4
        if turns[0].content.startswith(CLASSIFIER_MARK):
            return Completion("question", prompt_tokens, 1)
        return Completion(REPLY, prompt_tokens, len(REPLY) // 4)


class Progress:
    """Counts inbound messages received from the page, stored, and AI replies sent, from the
    engine's own events."""

    def __init__(self, bus: EventBus) -> None:
        self.received = 0
        self.last_received_s = 0.0
        self.ref: SessionRef | None = None  # the session's, from the first message
        self.stored = 0
        self.answered = 0
        self.failed = 0
        self.last_stored_s = 0.0
        self.last_answered_s = 0.0
        self._changed = asyncio.Condition()
        bus.subscribe(InboundReceived, self._on_received)
        bus.subscribe(MessageStored, self._on_stored)
        bus.subscribe(MessageSent, self._on_sent)

    def reset(self) -> None:
        self.received = self.stored = self.answered = self.failed = 0

    async def _on_received(self, event: InboundReceived) -> None:
        self.ref = event.session
        if not event.message.from_me:
            self.received += 1
            self.last_received_s = time.perf_counter()

    async def _on_stored(self, event: MessageStored) -> None:
        if event.message.direction is Direction.IN:
            async with self._changed:
                self.stored += 1
                self.last_stored_s = time.perf_counter()
                self._changed.notify_all()

    async def _on_sent(self, event: MessageSent) -> None:
        if event.origin is Origin.AI:
            async with self._changed:
                if event.ok:
                    self.answered += 1
                    self.last_answered_s = time.perf_counter()
                else:
                    self.failed += 1
                self._changed.notify_all()

    async def wait(self, stored: int, answered: int) -> None:
        """Until `stored` inbound messages are stored and `answered` replies sent."""
        async with asyncio.timeout(TIMEOUT_S), self._changed:
            await self._changed.wait_for(
                lambda: self.failed > 0 or (self.stored >= stored and self.answered >= answered)
            )
        if self.failed:
            raise RuntimeError(f"{self.failed} AI replies failed to send")


@dataclass(frozen=True)
class Run:
    """One pass: how long posting took, and when the last message was stored and answered."""

    messages: int
    post_s: float
    received_s: float
    """Until the page had handed the last message to waops (the driver's event)."""
    stored_s: float
    answered_s: float | None
    transactions: int
    statements: int

    def line(self, label: str, baseline: float) -> str:
        done_s = self.stored_s if self.answered_s is None else self.answered_s
        answered = "-" if self.answered_s is None else f"{self.messages / self.answered_s:.1f}"
        return (
            f"{label:<24} {self.messages / self.post_s:>9.0f}"
            f" {self.messages / self.received_s:>10.0f}"
            f" {self.messages / self.stored_s:>9.1f} {answered:>10}"
            f" {1000 * done_s / self.messages:>8.1f} {self.transactions / self.messages:>7.2f}"
            f" {self.statements / self.messages:>8.1f} {baseline * done_s / self.messages:>10.1f}"
            f" {self.messages / done_s / baseline:>8.3f}"
        )


async def post_all(control: SimulatorClient, phones: Sequence[str], posters: int) -> float:
    """Post one message from each phone with `posters` concurrent callers; seconds it took."""

    async def post(numbered: tuple[int, str]) -> None:
        n, phone = numbered
        body = f"consulta {n}: tienen turno para el martes?"
        await control.inbound(SIM_NAME, phone, body, name=f"Contacto {n}")

    return await post_concurrently(enumerate(phones), posters, post)


class Bench:
    """The running app, its paired session, and the control API, for several passes."""

    def __init__(self, app: App, control: SimulatorClient, client_id: int) -> None:
        self.app = app
        self.control = control
        self.client_id = client_id
        self.progress = Progress(app.bus)
        self._phones = (f"54911{n:08d}" for n in itertools.count(1))
        self.transactions = 0
        self.statements = 0
        event.listen(app.db.engine.sync_engine, "begin", self._on_begin)
        event.listen(app.db.engine.sync_engine, "before_cursor_execute", self._on_statement)

    def _on_begin(self, _connection: Connection) -> None:
        self.transactions += 1

    def _on_statement(self, *_args: object) -> None:
        self.statements += 1

    async def run(self, messages: int, *, ai: bool, posters: int) -> Run:
        """Post `messages` from as many new contacts; wait until stored (and answered)."""
        listener = self.app.listener
        assert listener is not None
        await AISettingsRepo(self.app.db).update(self.client_id, enabled=ai)
        phones = [next(self._phones) for _ in range(messages)]
        sent_before = len(await self.control.sent(SIM_NAME))
        self.progress.reset()
        transactions_before, statements_before = self.transactions, self.statements
        start = time.perf_counter()
        post_s = await post_all(self.control, phones, posters)
        await self.progress.wait(messages, messages if ai else 0)
        stored_s = self.progress.last_stored_s - start
        received_s = self.progress.last_received_s - start
        answered_s = self.progress.last_answered_s - start if ai else None
        await listener.run_until_idle(timeout_s=TIMEOUT_S)
        transactions = self.transactions - transactions_before
        statements = self.statements - statements_before
        sent = (await self.control.sent(SIM_NAME))[sent_before:]
        replied = {entry["to"].partition("@")[0] for entry in sent if entry["body"] == REPLY}
        expected = set(phones) if ai else set()
        assert replied == expected and len(sent) == len(expected), (
            f"{len(replied)} of {len(expected)} contacts answered, {len(sent)} messages sent"
        )
        return Run(messages, post_s, received_s, stored_s, answered_s, transactions, statements)

    async def run_from_driver(self, messages: int, *, posters: int) -> Run:
        """AI off, the messages handed to the engine as the driver hands them (the bus's
        `InboundReceived`), so the page and the browser are left out: what waops' own path
        (spool, lanes, storing) does per second."""
        listener, ref = self.app.listener, self.progress.ref
        assert listener is not None and ref is not None
        await AISettingsRepo(self.app.db).update(self.client_id, enabled=False)
        phones = [next(self._phones) for _ in range(messages)]
        self.progress.reset()
        transactions_before, statements_before = self.transactions, self.statements
        now = int(time.time())

        async def hand_over(numbered: tuple[int, str]) -> None:
            n, phone = numbered
            chat = f"{phone}@c.us"
            message = InboundMessage(
                id=f"false_{chat}_BENCH{n:06d}{phone}",
                chat_id=chat,
                sender_id=chat,
                from_me=False,
                body=f"consulta {n}: tienen turno para el martes?",
                type="chat",
                timestamp=now,
                notify_name=f"Contacto {n}",
                is_group=False,
                quoted_id=None,
                peer_phone=chat,
            )
            await self.app.bus.publish(InboundReceived(ref, message))

        start = time.perf_counter()
        post_s = await post_concurrently(enumerate(phones), posters, hand_over)
        await self.progress.wait(messages, 0)
        stored_s = self.progress.last_stored_s - start
        await listener.run_until_idle(timeout_s=TIMEOUT_S)
        return Run(
            messages,
            post_s,
            self.progress.last_received_s - start,
            stored_s,
            None,
            self.transactions - transactions_before,
            self.statements - statements_before,
        )


async def measure(
    url: str, messages: int, posters: int, chromium: Path, own_process: bool
) -> tuple[float, list[Run]]:
    """Baseline, then a warm-up, a pass with AI off and one with AI on, in one app."""
    with tempfile.TemporaryDirectory(prefix="waops-bench-") as tmp:
        if url.startswith("sqlite"):
            url = url.replace("{tmp}", tmp)
        async with Database(url) as db:
            await fresh_database(db)
            baseline = await raw_insert_rate(db, 2000)
            client = await ClientRepo(db).add(
                CLIENT, "Bench", "AR", "America/Argentina/Buenos_Aires"
            )
            await AISettingsRepo(db).update(
                client.id,
                system_prompt="Sos el asistente de un comercio.",
                business_context="Abrimos de 9 a 18.",
                debounce_s=0.0,
                daily_token_budget=10**9,
            )
        async with AsyncExitStack() as stack:
            app, control, _ = await connected_app(
                stack,
                url=url,
                data_dir=Path(tmp) / "data",
                chromium=chromium,
                client=CLIENT,
                session=SESSION,
                business_phone=BUSINESS_PHONE,
                llm=InstantModel(),
                listener_policy=ListenerPolicy(typing_scale=0.0),
                own_process=own_process,
            )
            bench = Bench(app, control, client.id)
            await bench.run(min(messages, 20), ai=True, posters=posters)  # warm-up
            stored_only = await bench.run(messages, ai=False, posters=posters)
            with_ai = await bench.run(messages, ai=True, posters=posters)
            from_driver = await bench.run_from_driver(messages, posters=posters)
    return baseline, [stored_only, with_ai, from_driver]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300, help="inbound messages per pass")
    parser.add_argument("--posters", type=int, default=4, help="concurrent control API callers")
    parser.add_argument(
        "--mysql", help="also run on this mysql+aiomysql:// URL (its tables are dropped)"
    )
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    parser.add_argument(
        "--simulator-process",
        action="store_true",
        help="run the simulator in a process of its own instead of in the bench's",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    targets = [("SQLite (WAL)", "sqlite+aiosqlite:///{tmp}/bench.db")]
    if args.mysql:
        targets.append(("MariaDB/MySQL", args.mysql))
    print(
        f"{args.messages} inbound messages from as many contacts, one session on real Chromium,"
        f" zero-latency fake model, {args.posters} concurrent posters"
    )
    for label, url in targets:
        baseline, (stored_only, with_ai, from_driver) = asyncio.run(
            measure(url, args.messages, args.posters, args.chromium, args.simulator_process)
        )
        print(f"\n{label}: raw single-row inserts {baseline:.0f}/s")
        print(
            f"{'pass':<24} {'posted/s':>9} {'received/s':>10} {'stored/s':>9} {'answered/s':>10}"
            f" {'ms/msg':>8} {'tx/msg':>7} {'stmt/msg':>8} {'x insert':>10} {'of raw':>8}"
        )
        print(stored_only.line("AI off (stored only)", baseline))
        print(with_ai.line("AI on (stored+answered)", baseline))
        print(from_driver.line("AI off, from the driver", baseline))
        if with_ai.answered_s is not None:
            per_turn_ms = 1000 * (with_ai.answered_s - stored_only.stored_s) / args.messages
            print(f"AI turn adds {per_turn_ms:.1f} ms per message over storing it")


if __name__ == "__main__":
    main()
