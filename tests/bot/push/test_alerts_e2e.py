"""Alerts end to end: the simulator drops, restores and logs out a number; the owner hears about
it through the real Telegram adapter, once, in order, even across a Telegram outage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.records import SessionState
from tests.bot.e2e_stack import TG_OWNER, Stack, make_stack

pytestmark = pytest.mark.browser

GRACE_S = 1.5
DOWN = "WhatsApp is disconnected"
BACK = "WhatsApp is connected again"


@pytest.fixture
async def stack(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Stack]:
    async for built in make_stack(tmp_path, sqlite_template, alert_grace_s=GRACE_S):
        yield built


async def _paired_and_reachable(stack: Stack) -> None:
    await stack.tg_say(TG_OWNER, "/start", "alerts")
    await stack.app.sessions.pair("haby", "main")
    await stack.sim.scan("haby-main", "5491100000001")
    session = await stack.app.sessions.get("haby", "main")
    await stack.app.sessions.wait_for_state(session.id, {SessionState.CONNECTED}, 20)


def _count(stack: Stack, needle: str) -> int:
    return sum(needle in text for text in stack.tg_texts(TG_OWNER))


async def test_drop_restore_flapping_and_logout(stack: Stack) -> None:
    await _paired_and_reachable(stack)

    await stack.sim.action("haby-main", "drop")
    await stack.until(
        lambda: _count(stack, DOWN) == 1, "one disconnect alert after the grace period"
    )
    await stack.sim.action("haby-main", "restore")
    await stack.until(lambda: _count(stack, BACK) == 1, "one resolved notice")

    session_id = (await stack.app.sessions.get("haby", "main")).id
    for _ in range(3):  # each drop seen by the engine, and shorter than the grace period
        await stack.sim.action("haby-main", "drop")
        await stack.until(
            lambda: stack.app.sessions.state(session_id) is SessionState.DISCONNECTED, "a drop"
        )
        await stack.sim.action("haby-main", "restore")
        await stack.until(
            lambda: stack.app.sessions.state(session_id) is SessionState.CONNECTED, "back"
        )
    await stack.until(lambda: _count(stack, "keeps disconnecting") == 1, "one flapping alert")
    assert _count(stack, DOWN) == 1, "short drops raise no disconnect alert each"

    await stack.sim.action("haby-main", "logout")
    await stack.until(lambda: _count(stack, "was logged out") == 1, "the logged-out alert")
    alert = next(
        c
        for c in stack.tg.sent("sendMessage", TG_OWNER)
        if "was logged out" in str(c.params["text"])
    )
    assert [label for label, _data in alert.buttons] == ["Pair again"]
    photos_before = len(stack.tg.sent("sendPhoto", TG_OWNER))
    await stack.tg.press(TG_OWNER, alert, "Pair again")
    await stack.until(
        lambda: len(stack.tg.sent("sendPhoto", TG_OWNER)) > photos_before, "a fresh QR"
    )


async def test_alerts_raised_during_a_telegram_outage_arrive_in_order_once(stack: Stack) -> None:
    await _paired_and_reachable(stack)
    stack.tg.fail(2)  # the next two sends answer 502 Bad Gateway
    await stack.sim.action("haby-main", "drop")
    session_id = (await stack.app.sessions.get("haby", "main")).id
    await stack.until(
        lambda: stack.app.sessions.state(session_id) is SessionState.DISCONNECTED, "the drop"
    )
    await stack.until(lambda: _failed_sends(stack) >= 1, "the alert to hit the outage")
    await stack.sim.action("haby-main", "restore")
    await stack.until(
        lambda: _count(stack, BACK) == 1, "both notices after the outage", timeout_s=60
    )
    texts = [t for t in stack.tg_texts(TG_OWNER) if DOWN in t or BACK in t]
    assert len(texts) == 2 and DOWN in texts[0] and BACK in texts[1]


def _failed_sends(stack: Stack) -> int:
    return sum(1 for call in stack.tg.calls if call.status == 502)
