"""Fault rows at the engine's edges: the model failing, the chat platform down, strangers."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from functools import partial
from statistics import median

from bench.faults_engine_rows import RowEnv, campaign_sends, paired, progressed, running_campaign
from bench.faults_measure import (
    InboundFeed,
    RowResult,
    all_stored,
    finish,
    opted_out,
    pending_deliveries,
)
from bench.faults_rig import KEY, OWNER, Rig, until
from tests.support.fakes.openai_server import Delay, Status

REFUSAL = "You are not allowed to use this bot."
SESSIONS_ANSWER = "WhatsApp sessions ("
FALLBACK = "Gracias por escribir, enseguida te respondemos."
STRANGERS_FROM = 900_000  # Telegram user ids of people who are not operators


def _clear_script(rig: Rig) -> None:
    """Forget scripted answers not used yet (the fake has no public way; a bench may peek)."""
    rig.model._script.clear()


async def model_row(env: RowEnv) -> RowResult:
    """AI on; the model answers HTTP 500 to everything, then hangs, then is healthy again.
    Contacts write throughout; one writes BAJA while the model hangs."""
    phase_s = 10.0 if env.quick else 25.0
    result = RowResult("Model returning 500, then hanging")
    async with env.rig("model") as rig:
        await paired(rig, ai=True)
        feed = InboundFeed(rig, "model", every_s=1.5, contacts=8)
        rig.model.script(*[Status(500)] * 2000)
        feed.start()
        await asyncio.sleep(phase_s)
        _clear_script(rig)
        rig.model.script(*[Delay(3600)] * 2000)
        await asyncio.sleep(3)
        asked = time.monotonic()
        await feed.one("BAJA", phone="5491180000077")
        honoured = await until(lambda: opted_out(rig, "5491180000077"), 60)
        await asyncio.sleep(max(0.0, phase_s - (time.monotonic() - asked)))
        await feed.stop()
        _clear_script(rig)
        healthy = time.monotonic()
        probe_phone = "5491180000078"
        await feed.one("hola, ¿hacen envíos a Quilmes?", phone=probe_phone)

        async def answered() -> bool:
            return any(
                s["to"].startswith(probe_phone) and s["body"].startswith("Recibido")
                for s in await rig.sent()
            )

        back = await until(answered, 120)
        result.recovery_s.append(None if back is None else time.monotonic() - healthy)
        sent = [s["body"] for s in await rig.sent()]
        bodies = Counter(
            "fallback" if b == FALLBACK else "AI reply" if b.startswith("Recibido") else b[:60]
            for b in sent
        )
        result.did = (
            f"{len(feed.ids)} inbound, {len(rig.model.requests)} model calls "
            f"({phase_s:.0f} s of 500s, {phase_s:.0f} s hanging)"
        )
        result.notes.append(f"contacts were sent: {dict(bodies)}")
        result.notes.append(
            "BAJA during the hang: "
            + (f"opted out after {honoured:.1f} s" if honoured is not None else "NOT opted out")
        )
        if honoured is None:
            result.inbound_lost += 1
        result.notes.append("recovery: from the model healthy to a new contact's AI reply sent")
        lost_before = result.inbound_lost
        await finish(rig, result, feed, ("ai_failing",))
        result.inbound_lost += lost_before
    return result


def _owner_answers(rig: Rig, after: int) -> bool:
    return any(SESSIONS_ANSWER in t for t in rig.tg.texts(OWNER)[after:])


async def platform_row(env: RowEnv) -> RowResult:
    """Telegram answers 502 to everything (getUpdates included) for a minute while the number
    drops and comes back mid-campaign, contacts write, and the owner sends /sessions."""
    outage_s = 20.0 if env.quick else 60.0
    result = RowResult(f"Telegram returning 502 for {outage_s:.0f} s")
    marker = "oferta de plataforma"
    async with env.rig("platform") as rig:
        feed = await running_campaign(rig, marker, 200, "tg502")
        await until(lambda: progressed(rig, marker, 3), 60)
        rig.tg.outage_for(outage_s)
        began = time.monotonic()
        await asyncio.sleep(3)
        await rig.sim.action(KEY, "drop")
        await asyncio.sleep(8)
        await rig.sim.action(KEY, "restore")
        before = len(rig.tg.texts(OWNER))
        await rig.tg.write(OWNER, "/sessions")
        await asyncio.sleep(max(0.0, outage_s - (time.monotonic() - began)))
        ended = time.monotonic()

        async def caught_up() -> bool:
            return _owner_answers(rig, before) and await pending_deliveries(rig) == 0

        back = await until(caught_up, 180, 0.2)
        result.recovery_s.append(None if back is None else time.monotonic() - ended)
        sends = await campaign_sends(rig, feed, marker)
        refused = sum(c.status == 502 for c in rig.tg.calls)
        result.did = (
            f"{refused} Telegram calls answered 502, a drop of 8 s, {sends} sends, "
            f"{len(feed.ids)} inbound"
        )
        result.notes.append("recovery: from Telegram up to /sessions answered and outbox empty")
        await finish(rig, result, feed, ("session_down",), marker=marker)
    return result


_COMMANDS = [
    "start",
    "help",
    "whoami",
    "sessions",
    "pair",
    "takeover",
    "usehere",
    "logout",
    "forget",
    "campaign",
    "launch",
    "pause",
    "resume",
    "cancel",
    "preview",
    "report",
    "status",
    "ai",
    "alerts",
    "mute",
    "digest",
    "forward",
    "reply",
    "chats",
    "conv",
    "prospects",
    "import",
    "pacing",
    "operator",
    "operators",
    "backup",
    "confirm",
]
_ODD = [
    "\u202e", "\u200b", "\u200d", "\ufeff", "\u0301", "\u00a0", "😀", "👩‍👩‍👧", "ñ", "ß", "Ω",
    "中文", "العربية", "\\", '"', "'", "“", "”", "«", "»", "`", "[/]", "[bold]", "*", "_", "~",
    "<b>", "&amp;", "<@U1>", "{name}", "{a|b}", "%s", "%n", "${x}", "$(id)", ";", "|", "\t",
    "\n", "\r\n", "\x07", "../../etc/passwd", "' OR 1=1 --", "NaN", "-1", "99999999999999999999",
    "5491112345678", "+54 9 11 1234-5678", "haby", "marketing", "main", "@waops_test_bot",
]  # fmt: skip


def random_commands(rng: random.Random, count: int) -> list[str]:
    """What strangers might type: real and made-up commands with odd arguments, a few near
    Telegram's 4096-character limit (one full of quotes), bare text, other bots' commands."""
    out = []
    for i in range(count):
        kind = rng.random()
        if kind < 0.01:
            out.append("/campaign " + '"a" ' * 1000)  # the quote-heavy argument of issue 13.6
            continue
        if kind < 0.02:
            out.append("/reply haby 5491112345678 " + rng.choice(_ODD) * rng.randint(500, 3500))
            continue
        words = [
            rng.choice(_ODD) if rng.random() < 0.4 else _word(rng) for _ in range(rng.randint(0, 8))
        ]
        if kind < 0.75:
            addressee = rng.choice(["", "", "@waops_test_bot", "@otherbot"])
            head = "/" + rng.choice(_COMMANDS) + addressee
        elif kind < 0.9:
            head = "/" + _word(rng)
        else:
            head = _word(rng)
        text = " ".join([head, *words])[:4096]
        out.append(text if text.strip() else f"/x{i}")
    return out


def _word(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzáéíóúñ0123456789-_."
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))


async def strangers_row(env: RowEnv) -> RowResult:
    """`count` random command strings (fixed seed) as Telegram updates from 1,000 people who
    are not operators, pushed at once; then the owner's /sessions. Contacts write meanwhile,
    and a probe message every 2 s measures how long storing one takes during the flood."""
    count = 1000 if env.quick else 10_000
    result = RowResult(f"{count:,} random command strings from strangers")
    strings = random_commands(random.Random(13), count)
    senders = [STRANGERS_FROM + i % 1000 for i in range(count)]
    async with env.rig("strangers") as rig:
        await paired(rig)
        feed = InboundFeed(rig, "strange", every_s=1.0)
        feed.start()
        for user, body in zip(senders, strings, strict=True):
            await rig.tg.write(user, body)
        pushed = time.monotonic()
        before = len(rig.tg.texts(OWNER))
        await rig.tg.write(OWNER, "/sessions")
        flooding = asyncio.Event()
        probes = asyncio.create_task(_probe_inbound(rig, feed, flooding))
        answered = await until(lambda: _sync(_owner_answers(rig, before)), 1800, 0.2)
        result.recovery_s.append(None if answered is None else time.monotonic() - pushed)
        await until(partial(_quiet, rig), 1800, 0)
        drained = time.monotonic() - pushed - _QUIET_S
        flooding.set()
        latencies = await probes
        before = len(rig.tg.texts(OWNER))
        await rig.tg.write(OWNER, "/sessions")
        after_flood = await until(lambda: _sync(_owner_answers(rig, before)), 120, 0.05)
        await feed.stop()
        replies = [(chat, text) for chat, text in _stranger_replies(rig)]
        not_refusal = [text for _chat, text in replies if not text.startswith(REFUSAL)]
        got = Counter(chat for chat, _text in replies)
        expected = _expected_refusals(senders, strings)
        result.did = (
            f"{count:,} strings from 1,000 strangers; {len(replies):,} refusals, "
            f"{count - len(replies):,} unanswered"
        )
        if expected is not None:
            # bot/commands/strangers.py: one refusal per chat per 10 minutes at most, and
            # refusals beyond their own budget are dropped, never queued.
            commanders = [u for u, n in expected.items() if n]
            twice = sum(got[u] > 1 for u in commanders)
            unasked = sum(got[u] > 0 for u, n in expected.items() if not n)
            result.notes.append(
                f"{sum(expected.values()):,} strings from {len(commanders):,} strangers parse "
                f"as a command; refused more than once: {twice}; refused without a command: "
                f"{unasked}; refused once: {sum(got[u] == 1 for u in commanders):,} (the rest "
                "were over the strangers' refusal budget)"
            )
        if not_refusal:
            result.notes.append(
                f"strangers got {len(not_refusal)} answers other than the refusal, e.g. "
                f"{not_refusal[:2]!r}"
            )
        owner = f"{after_flood:.2f} s" if after_flood is not None else "NO answer within 120 s"
        result.notes.append(
            f"the last refusal went out {drained:.0f} s after the flood was pushed; the owner's "
            f"/sessions after that: {owner}"
        )
        if latencies:
            result.notes.append(
                f"a contact's message during the flood was stored in {median(latencies):.2f} s "
                f"(median of {len(latencies)}, max {max(latencies):.2f})"
            )
        result.notes.append(
            "recovery: from the last stranger update pushed to the owner's /sessions answered"
            " (before the fix it queued behind the refusals)"
        )
        await finish(rig, result, feed, ())
        result.notes.append(f"audited: {await _audited(rig)}")
    return result


_QUIET_S = 5.0


def _stranger_replies(rig: Rig) -> list[tuple[int, str]]:
    return [
        (int(c.chat_id or 0), str(c.params.get("text", "")))
        for c in rig.tg.sent("sendMessage")
        if c.chat_id and int(c.chat_id) >= STRANGERS_FROM
    ]


async def _quiet(rig: Rig) -> bool:
    """No refusal went out for `_QUIET_S`."""
    seen = len(_stranger_replies(rig))
    await asyncio.sleep(_QUIET_S)
    return len(_stranger_replies(rig)) == seen


async def _probe_inbound(rig: Rig, feed: InboundFeed, done: asyncio.Event) -> list[float]:
    latencies = []
    while not done.is_set():
        asked = time.monotonic()
        probe = await feed.one("hola, ¿siguen atendiendo?")
        if probe is not None and await until(partial(all_stored, rig, [probe]), 60) is not None:
            latencies.append(time.monotonic() - asked)
        await asyncio.sleep(2)
    return latencies


def _expected_refusals(senders: list[int], strings: list[str]) -> Counter[int] | None:
    """Per stranger, how many of their strings are commands to this bot (the others, such as
    `/cmd@otherbot`, get nothing). None if the parser's signature changed under us."""
    try:
        from bot.commands.parsing import parse_request

        expected: Counter[int] = Counter()
        for user, body in zip(senders, strings, strict=True):
            request = parse_request(
                body, actor=f"tg:{user}", platform="telegram", channel=str(user),
                language="en", bot_username="waops_test_bot",
            )  # fmt: skip
            expected[user] += request is not None
        return expected
    except Exception:
        return None


async def _audited(rig: Rig) -> str:
    rows = await rig.rows("SELECT result, COUNT(*) FROM audit_log GROUP BY result")
    return ", ".join(f"{r} {n}" for r, n in rows)


async def _sync(value: bool) -> bool:
    return value
