"""An alert the engine raises while the app starts reaches the owner: a campaign whose send a
crash cut off becomes `unknown` as the campaigns start, before Telegram is up (or reachable at
all), and the owner still hears of it on Telegram, once."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

from bot.app import App
from engine.directory import Directory
from storage.db import Database
from storage.records import CampaignStatus, ContactInput, RecipientState
from storage.repos import CampaignRepo, ContactRepo, SessionRepo
from storage.repos.alert_subscriptions import AlertSubscriptionRepo
from tests.support.app_settings import telegram_app_settings
from tests.support.fakes.telegram_server import FakeTelegram

OWNER = 400
UNKNOWN = "sends were interrupted by a restart"


async def _crashed_campaign(url: str) -> int:
    """The database a crash left: a running campaign with one send in flight (`sending`)."""
    async with Database(url) as db:
        directory = Directory(db)
        client = await directory.add_client("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
        session = await directory.add_session("haby", "main")
        # No browser in this test: the number stays off, the campaign only recovers.
        await SessionRepo(db).set_enabled(session.id, False)
        await directory.add_operator(f"tg:{OWNER}", "owner", language="en")
        await AlertSubscriptionRepo(db).set_reachable(f"tg:{OWNER}")
        await ContactRepo(db).upsert_many(
            client.id, [ContactInput("5491150000001", "Ana", ("feria",))]
        )
        repo = CampaignRepo(db)
        campaign = await repo.create(client.id, session.id, "feria", "Hola", {"tag": "feria"})
        await repo.materialize(campaign)
        await repo.set_status(campaign.id, CampaignStatus.RUNNING)
        recipient = await repo.next_queued(campaign.id)
        assert recipient is not None and await repo.mark_sending(recipient.id, "Hola")
        return campaign.id


async def _until(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            while not check():  # noqa: ASYNC110 - the fake Bot API records, it sets no event
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def _start_after_crash(
    tmp_path: Path, sqlite_template: Path, *, telegram_down_s: float
) -> None:
    shutil.copy(sqlite_template, tmp_path / "app.db")
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    campaign_id = await _crashed_campaign(url)
    async with FakeTelegram() as tg:
        tg.opened_by(OWNER)  # the owner said /start long ago
        if telegram_down_s:
            tg.outage_for(telegram_down_s)
        settings = telegram_app_settings(url, tmp_path / "data", tg, slack_bot_token=None)
        async with App(settings) as app:
            states = [r.state async for r in CampaignRepo(app.db).recipients(campaign_id)]
            assert states == [RecipientState.UNKNOWN], "the crash recovery ran at start"
            [telegram] = app.channels
            if telegram_down_s:
                assert not telegram.is_up, "Telegram is still down after the start"
                assert tg.sent("sendMessage") == []
            await telegram.wait_up(telegram_down_s + 30)

            def alerted() -> int:
                return sum(UNKNOWN in text for text in tg.texts(OWNER))

            await _until(lambda: alerted() >= 1, "the campaign_unknown alert on Telegram")
            await asyncio.sleep(0.2)  # anything more would come right behind it
            assert alerted() == 1, "told once"
            [text] = [t for t in tg.texts(OWNER) if UNKNOWN in t]
            assert "haby/main" in text and f"#{campaign_id}" in text
        tg.assert_no_unexpected()


async def test_an_alert_raised_as_the_engine_starts_reaches_the_owner(
    tmp_path: Path, sqlite_template: Path
) -> None:
    await _start_after_crash(tmp_path, sqlite_template, telegram_down_s=0)


async def test_it_waits_for_telegram_down_at_start_and_arrives_once_it_is_back(
    tmp_path: Path, sqlite_template: Path
) -> None:
    await _start_after_crash(tmp_path, sqlite_template, telegram_down_s=3.0)
