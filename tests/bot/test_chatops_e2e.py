"""Chat-ops end to end: the whole App with real Chromium on the simulator, the real PTB against
the fake Bot API, and real slack-bolt behind signed HTTP requests with the fake Web API."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.repos import CampaignRepo
from tests.bot.e2e_stack import (
    CSV,
    SLACK_OPERATOR,
    TG_OPERATOR,
    TG_OTHER,
    TG_VIEWER,
    Stack,
    make_stack,
)
from tests.bot.slack.requests import dm_event
from tests.support.poll import poll_until
from tests.support.sim_world import decode_png

pytestmark = pytest.mark.browser


@pytest.fixture
async def stack(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Stack]:
    async for built in make_stack(tmp_path, sqlite_template):
        yield built


async def test_an_operator_day_through_telegram(stack: Stack) -> None:
    listing = await stack.tg_say(TG_OPERATOR, "/sessions", "WhatsApp sessions")
    assert "haby/main" in listing and "marketing" not in listing

    await stack.tg.write(TG_OPERATOR, "/pair haby main")
    await stack.until(lambda: bool(stack.tg.sent("sendPhoto", TG_OPERATOR)), "the QR photo")
    photo = stack.tg.sent("sendPhoto", TG_OPERATOR)[0]
    [(_name, png)] = photo.files.values()
    assert decode_png(png) == (await stack.sim.session("haby-main"))["auth_code"]
    await stack.sim.scan("haby-main", "5491100000001")
    await stack.until(
        lambda: any("linked and connected" in t for t in stack.tg_texts(TG_OPERATOR)), "connected"
    )

    assert "AI replies are on for haby" in await stack.tg_say(
        TG_OPERATOR, "/ai haby on", "AI replies"
    )
    await stack.tg.upload(TG_OPERATOR, "lista.csv", CSV.encode(), caption="/import haby feria")
    report = "3 rows: 2 added"
    await stack.until(
        lambda: any(report in t for t in stack.tg_texts(TG_OPERATOR)), "the import report"
    )
    assert any("not a phone number" in t for t in stack.tg_texts(TG_OPERATOR))

    await stack.sim.inbound("haby-main", "5491150000001", "hola, tienen envíos?")
    await stack.until(lambda: len(stack.stored) == 1, "the inbound message stored")
    conv = await stack.tg_say(TG_OPERATOR, "/conv haby 5491150000001", "hola, tienen envíos?")
    assert "[contact]" in conv

    created = await stack.tg_say(
        TG_OPERATOR, "/campaign new haby main feria Hola {name}!", "created"
    )
    campaign_id = int(re.search(r"#(\d+)", created).group(1))  # type: ignore[union-attr]
    assert "operator" in await stack.tg_say(TG_VIEWER, f"/campaign launch {campaign_id}", "role")
    await stack.tg.write(TG_OPERATOR, f"/campaign launch {campaign_id}")
    await stack.until(
        lambda: any(c.buttons for c in stack.tg.sent("sendMessage", TG_OPERATOR)), "confirm buttons"
    )
    proposal = next(c for c in stack.tg.sent("sendMessage", TG_OPERATOR) if c.buttons)
    assert "to 2 recipients" in str(proposal.params["text"])
    await stack.tg.press(TG_VIEWER, proposal, "Confirm")  # someone else's press does nothing
    await stack.tg.press(TG_OPERATOR, proposal, "Confirm")
    await stack.until(
        lambda: len(_campaign_sends(stack)) == 2, "the campaign messages", timeout_s=30
    )
    assert sorted(_campaign_sends(stack)) == ["Hola Ana!", "Hola Beto!"]

    async def committed() -> bool:  # the simulator has them; the `sent` commits follow
        return (await CampaignRepo(stack.app.db).counts(campaign_id)).get("sent", 0) >= 2

    await poll_until(committed, "the two `sent` commits", 10, every_s=0.05)

    denied = await stack.tg_say(TG_OTHER, "/conv haby 5491150000001", "access")
    assert "hola" not in denied
    assert len(await stack.sim.sent("haby-main")) == 2, "the viewer's press sent nothing more"


async def test_slack_pairs_answers_and_imports(stack: Stack) -> None:
    assert await stack.signed.command(SLACK_OPERATOR, "sessions") == 200
    await stack.until(
        lambda: any("haby/ventas" in t for t in stack.slack_texts()), "the sessions list"
    )

    assert await stack.signed.command(SLACK_OPERATOR, "pair haby ventas") == 200
    await stack.until(lambda: bool(stack.slack.uploads), "the QR upload")
    assert (
        decode_png(stack.slack.uploads[0].data)
        == (await stack.sim.session("haby-ventas"))["auth_code"]
    )
    await stack.sim.scan("haby-ventas", "5491100000002")
    await stack.until(
        lambda: any("linked and connected" in t for t in stack.slack_texts()), "connected"
    )

    assert await stack.signed.command(SLACK_OPERATOR, "ai haby on") == 200
    await stack.until(lambda: any("AI replies are on" in t for t in stack.slack_texts()), "ai on")

    shared = stack.slack.share_file("lista.csv", CSV.encode())
    assert (
        await stack.signed.event(
            dm_event(SLACK_OPERATOR, "/waops import haby slack", "D1", [shared])
        )
        == 200
    )
    await stack.until(
        lambda: any("2 added" in m.section_text for m in stack.slack.in_channel("D1")),
        "the import report",
    )
    assert await stack.signed.command("U999", "sessions") == 200
    await stack.until(lambda: any("not allowed" in t for t in stack.slack_texts()), "one refusal")


def _campaign_sends(stack: Stack) -> list[str]:
    """What haby/main sent that starts like the campaign's text."""
    phone = stack.simulator.state.phones.get("haby-main")
    return [] if phone is None else [r.body for r in phone.sent if r.body.startswith("Hola ")]
