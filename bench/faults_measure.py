"""What a fault row measures, each from outside the engine (see bench/README.md):

- duplicates: a prospect's phone more than once in the simulator's `sent` for one campaign;
- inbound lost: a message the simulator accepted (it returned an id) not stored exactly once;
- alerts lost: an alert row without every one of its outbox deliveries `sent` and seen by the
  fake platform, or an alert the fault should raise that never was;
- tracebacks shown: "Traceback" or an exception's repr in any text Telegram or Slack received
  (and, for contacts, anything the number sent them).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.faults_rig import KEY, Rig, until
from engine.whatsapp.simulator.client import SimulatorControlError
from engine.whatsapp.types import key_id_of

_TRACE = re.compile(
    r"Traceback \(most recent call last\)"
    r"|File \"[^\"]+\", line \d+"
    r"|\b[A-Z][A-Za-z]*(?:Error|Exception|Exit|Interrupt)\b\s*[(:]"
    r"|\b[a-z_]+(?:\.[a-z_]+)+\.[A-Z]\w+\b"
    r"|<(?:class|object|coroutine|Task) "
)


@dataclass
class RowResult:
    name: str
    did: str = ""
    duplicates: int = 0
    inbound_lost: int = 0
    alerts_lost: int = 0
    crashes: int = 0
    tracebacks: int = 0
    recovery_s: list[float | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def recovery(self) -> str:
        """Median and worst of the recoveries; a recovery that never came is shown as such."""
        if not self.recovery_s:
            return "-"
        done = [r for r in self.recovery_s if r is not None]
        never = len(self.recovery_s) - len(done)
        if not done:
            return "never"
        text = f"{done[0]:.1f} s"
        if len(self.recovery_s) > 1:
            text = f"{statistics.median(done):.1f} s (max {max(done):.1f})"
        return text + (f", {never}× never" if never else "")


class InboundFeed:
    """Contacts writing to the number every `every_s` while a fault runs; keeps the ids the
    simulator returned (its promise that the message exists and will reach the page)."""

    def __init__(self, rig: Rig, label: str, *, every_s: float = 0.5, contacts: int = 12) -> None:
        self._rig = rig
        self._label = label
        self._every_s = every_s
        self._phones = [f"549117{label_digits(label)}{i:03d}" for i in range(contacts)]
        self.ids: list[str] = []
        self.accepted: dict[str, tuple[float, str]] = {}
        self.refused = 0
        self._task: asyncio.Task[None] | None = None
        self._count = itertools.count(1)

    async def one(self, body: str | None = None, phone: str | None = None) -> str | None:
        n = next(self._count)
        phone = phone or self._phones[n % len(self._phones)]
        try:
            message_id = await self._rig.sim.inbound(
                KEY, phone, body or f"{self._label} consulta {n}", name=f"C{n % 100}"
            )
        except (SimulatorControlError, OSError, TimeoutError):
            self.refused += 1
            return None
        self.ids.append(message_id)
        self.accepted[message_id] = (time.monotonic(), body or f"{self._label} consulta {n}")
        return message_id

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await self.one()
            await asyncio.sleep(self._every_s)


def label_digits(label: str) -> str:
    return f"{sum(map(ord, label)) % 1000:03d}"


async def duplicates(rig: Rig, marker: str) -> tuple[int, int]:
    """(extra sends to a phone already sent this campaign, sends in all)."""
    tos = [s["to"] for s in await rig.sent() if marker in s["body"]]
    return sum(n - 1 for n in Counter(tos).values() if n > 1), len(tos)


async def stored_counts(rig: Rig, ids: list[str]) -> dict[str, int]:
    rows = await rig.rows(
        "SELECT wa_key_id, COUNT(*) FROM messages WHERE direction = 'in' GROUP BY wa_key_id"
    )
    counts = {key: n for key, n in rows}
    return {i: counts.get(key_id_of(i), 0) for i in ids}


async def inbound_lost(rig: Rig, ids: list[str], settle_s: float = 60.0) -> tuple[int, float]:
    """(messages not stored exactly once after up to `settle_s`, seconds waited for the last)."""
    if not ids:
        return 0, 0.0

    async def all_stored() -> bool:
        return all(n == 1 for n in (await stored_counts(rig, ids)).values())

    waited = await until(all_stored, settle_s, 0.5)
    counts = await stored_counts(rig, ids)
    return sum(n != 1 for n in counts.values()), waited if waited is not None else settle_s


async def all_stored(rig: Rig, ids: list[str]) -> bool:
    """Every one of these inbound messages is stored exactly once."""
    return all(n == 1 for n in (await stored_counts(rig, ids)).values())


async def opted_out(rig: Rig, phone: str) -> bool:
    """The contact with this phone is opted out of campaigns."""
    value = await rig.scalar("SELECT opted_out_at FROM contacts WHERE phone = :p", p=phone)
    return value is not None


async def pending_deliveries(rig: Rig) -> int:
    return int(await rig.scalar("SELECT COUNT(*) FROM alert_deliveries WHERE status = 'pending'"))


async def alerts_lost(
    rig: Rig, expected: tuple[str, ...] = (), settle_s: float = 120.0
) -> tuple[int, list[str], dict[str, int]]:
    """(lost, why, alerts raised by kind), once the outbox has drained (or `settle_s` passed)."""

    async def drained() -> bool:
        return await pending_deliveries(rig) == 0

    await until(drained, settle_s, 0.5)
    rows = await rig.rows(
        "SELECT a.id, a.kind, d.id, d.status, d.chat_ref, d.text FROM alerts a "
        "LEFT JOIN alert_deliveries d ON d.alert_id = a.id ORDER BY a.id, d.id"
    )
    kinds: Counter[str] = Counter()
    lost: list[str] = []
    seen_alert: set[int] = set()
    bad_alert: set[int] = set()
    for alert_id, kind, delivery_id, status, chat_ref, body in rows:
        if alert_id not in seen_alert:
            seen_alert.add(alert_id)
            kinds[kind] += 1
        if delivery_id is None:
            lost.append(f"alert {alert_id} ({kind}) has no delivery")
            bad_alert.add(alert_id)
        elif status != "sent":
            lost.append(f"alert {alert_id} ({kind}) delivery {delivery_id} is {status}")
            bad_alert.add(alert_id)
        elif not seen_on_platform(rig, chat_ref, body):
            lost.append(f"alert {alert_id} ({kind}) marked sent, not seen on {chat_ref}")
            bad_alert.add(alert_id)
    missing = [k for k in expected if kinds[k] == 0]
    lost += [f"expected a {k} alert; none was raised" for k in missing]
    return len(bad_alert) + len(missing), lost, dict(kinds)


def _words(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def seen_on_platform(rig: Rig, chat_ref: str, body: str) -> bool:
    """The delivery's first words reached the chat it was meant for (formatting aside)."""
    needle = _words(body)[:24]
    if chat_ref.startswith("tg:"):
        chat = chat_ref.removeprefix("tg:")
        texts = [
            str(c.params.get("text") or c.params.get("caption") or "")
            for c in rig.tg.sent()
            if c.chat_id == chat
        ]
    else:
        texts = [f"{m.text} {m.section_text} {m.context_text}" for m in rig.slack.messages]
        texts += [u.initial_comment or "" for u in rig.slack.uploads]
    return any(needle in _words(t) for t in texts)


def platform_texts(rig: Rig) -> list[str]:
    """Every text the fake Telegram and Slack received from waops, files included."""
    out: list[str] = []
    for call in rig.tg.sent():
        out.append(str(call.params.get("text") or call.params.get("caption") or ""))
        out += [data.decode("utf-8", errors="replace") for _n, data in call.files.values()]
    for message in rig.slack.messages:
        out.append(f"{message.text}\n{message.section_text}\n{message.context_text}")
        out += [old for old, _blocks in message.history]
    for upload in rig.slack.uploads:
        out.append(f"{upload.initial_comment or ''}\n{upload.data.decode('utf-8', 'replace')}")
    return out


async def tracebacks(rig: Rig, *, contacts_too: bool = True) -> list[str]:
    """Snippets of every text shown to a person that reads like a traceback or an exception."""
    texts = platform_texts(rig)
    if contacts_too:
        texts += [s["body"] for s in await rig.sent()]
    found = []
    for body in texts:
        match = _TRACE.search(body)
        if match:
            start = max(0, match.start() - 40)
            found.append(body[start : match.end() + 40].replace("\n", " "))
    return found


async def finish(
    rig: Rig,
    result: RowResult,
    feed: InboundFeed,
    expected: tuple[str, ...],
    *,
    marker: str | None = None,
) -> None:
    """The common end of a row: settle, stop waops cleanly, and count what was lost; the
    campaign's duplicates are counted over every send it made, the last ones included."""
    ids = feed.ids
    lost, _waited = await inbound_lost(rig, ids)
    result.inbound_lost = lost
    if lost:
        queued = (await rig.sim.session(KEY)).get("queued", 0)
        counts = await stored_counts(rig, ids)
        missing = [i for i in ids if counts[i] != 1]
        where = [
            f"{feed.accepted[i][1]!r} accepted {rig.when(feed.accepted[i][0])}" for i in missing[:3]
        ]
        result.notes.append(
            f"inbound not stored: {len(missing)} ({queued} pushes still queued on the phone); "
            + "; ".join(where)
        )
    n_lost, why, kinds = await alerts_lost(rig, expected)
    result.alerts_lost = n_lost
    if why:
        result.notes.append("alerts: " + "; ".join(why[:5]))
    result.notes.append(
        "alerts raised: " + (", ".join(f"{k} {n}" for k, n in kinds.items()) or "none")
    )
    shown = await tracebacks(rig)
    result.tracebacks = len(shown)
    if shown:
        result.notes.append("shown: " + " | ".join(shown[:3]))
    result.crashes = len(rig.waops.crashes)
    if rig.waops.crashes:
        result.notes.append("crashes: " + ", ".join(rig.waops.crashes))
    if rig.waops.running:
        await rig.waops.stop()
    if marker is not None:
        result.duplicates, total = await duplicates(rig, marker)
        result.notes.append(f"{total} campaign sends in all by the stop (duplicates over all)")
    if any(code != 0 for code in rig.waops.stop_codes):
        result.notes.append(f"SIGTERM exit codes {rig.waops.stop_codes}")
    await rig.reap_orphans()
    if rig.orphans:
        result.notes.append(f"{rig.orphans} Chromium processes outlived waops and were killed")
    traces = log_tracebacks(rig.waops.log_path.read_text(errors="replace"))
    if traces:
        summary = "; ".join(f"{n}× {what}" for what, n in traces.most_common(4))
        result.notes.append(f"tracebacks in waops' own log (not shown to users): {summary}")


def log_tracebacks(log: str) -> Counter[str]:
    """Each traceback in the log as "<the log line before it> / <the exception line>"."""
    lines = log.splitlines()
    found: Counter[str] = Counter()
    for i, line in enumerate(lines):
        if not line.startswith("Traceback (most recent call last)"):
            continue
        logged = lines[i - 1].split(" ", 3)[-1] if i else ""
        if not logged or logged.startswith(("The above", "During handling")):
            continue  # a chained traceback of the one before
        end = i + 1
        while end < len(lines) and not lines[end][:4].isdigit():  # up to the next record
            end += 1
        last = next((x.strip() for x in reversed(lines[i + 1 : end]) if x.strip()), "")
        found[f"{_shorten(logged)} / {_shorten(last)}"] += 1
    return found


def _shorten(text: str, limit: int = 110) -> str:
    text = re.sub(r"0x[0-9a-f]+", "0x…", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
