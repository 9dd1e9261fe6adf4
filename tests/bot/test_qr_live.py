"""One live message per /pair: as the QR rotates (or a pairing code is renewed) the operator's
chat keeps one message showing the newest, through the real PTB and slack-bolt/slack_sdk
against the fake Bot API and the fake Slack Web API. The session commands run over a
SessionManager on the scripted driver, with the late-reply queue the App uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import pytest

from bot.commands.dispatcher import Dispatcher, Incident
from bot.commands.late_replies import LateReplies
from bot.commands.registry import CommandRegistry
from bot.commands.sessions import SessionCommands
from bot.slack.adapter import SlackAdapter
from bot.telegram.adapter import TelegramAdapter
from bot.telegram.limiter import TelegramRateLimiter
from bot.texts import t
from engine.events import QrUpdated
from engine.session.qr import qr_png
from engine.sessions import SessionManager
from storage.db import Database
from storage.records import Role
from storage.repos import AuditRepo, OperatorRepo
from tests.bot.slack.requests import SignedSender
from tests.bot.slack.world import http_adapter
from tests.support.clocks import SteppingClock
from tests.support.fakes.slack_server import FakeSlack, Message
from tests.support.fakes.telegram_server import Call, FakeTelegram
from tests.support.session_rig import POLICY, Rig, S, make_rig
from tests.support.sim_world import decode_png

TG_OPERATOR, GROUP = 100, -100500
SLACK_OPERATOR = "UOPS00001"
SECRET = "signing-secret-for-qr-tests"


@dataclass
class Desk:
    rig: Rig
    manager: SessionManager
    dispatcher: Dispatcher

    async def rotate(self) -> str:
        """The QR rotates once; the new code."""
        before = len(self.rig.of(QrUpdated))
        self.rig.account.page.qr_rotates()
        await self.rig.wait(lambda: len(self.rig.of(QrUpdated)) > before, "the next QR")
        code: str = self.rig.of(QrUpdated)[-1].code
        return code

    @property
    def code_now(self) -> str:
        code: str = self.rig.of(QrUpdated)[-1].code
        return code

    async def until(self, check: Callable[[], bool], what: str) -> None:
        await self.rig.until(check, what)


@pytest.fixture
async def desk(db: Database, tmp_path: Path) -> AsyncIterator[Desk]:
    rig = await make_rig(db, tmp_path / "data")
    operators = OperatorRepo(db)
    await operators.add(f"tg:{TG_OPERATOR}", Role.OPERATOR, ["haby"], language="en")
    await operators.add(f"slack:{SLACK_OPERATOR}", Role.OPERATOR, ["haby"], language="en")
    manager = rig.manager(replace(POLICY, max_qr_attempts=10))
    await manager.add("haby", "main")
    await manager.start()
    await rig.wait_state(S.QR_PENDING)
    incidents: list[Incident] = []

    async def record(incident: Incident) -> None:
        incidents.append(incident)

    late = LateReplies()
    commands = SessionCommands(manager, rig.bus)
    await commands.start()
    dispatcher = Dispatcher(
        CommandRegistry(commands.commands()),
        operators,
        AuditRepo(db),
        default_language="en",
        on_unexpected=record,
        late_replies=late,
    )
    try:
        yield Desk(rig, manager, dispatcher)
    finally:
        await late.stop()
        await manager.stop()
        assert incidents == [], [i.traceback for i in incidents[:1]]


@pytest.fixture
async def telegram(desk: Desk) -> AsyncIterator[tuple[FakeTelegram, TelegramAdapter]]:
    async with FakeTelegram() as tg:
        tg.opened_by(TG_OPERATOR)
        tg.add_group(GROUP)
        clock = SteppingClock()
        adapter = TelegramAdapter(
            tg.token,
            desk.dispatcher,
            base_url=tg.base_url,
            base_file_url=tg.base_file_url,
            language="en",
            rate_limiter=TelegramRateLimiter(clock=clock, sleep=clock.sleep),
            poll_timeout_s=5.0,
            request_timeout_s=5.0,
            publish_commands=False,
        )
        async with adapter:
            yield tg, adapter
        tg.assert_no_unexpected()


@pytest.fixture
async def slack(desk: Desk) -> AsyncIterator[tuple[FakeSlack, SignedSender, SlackAdapter]]:
    clock = SteppingClock()  # Slack's processing of uploads and our wait for it share it
    async with FakeSlack(clock=clock.monotonic) as fake:
        adapter = http_adapter(
            fake, desk.dispatcher, signing_secret=SECRET, clock=clock, sleep=clock.sleep
        )
        async with adapter, aiohttp.ClientSession() as http:
            yield fake, SignedSender(adapter.http_url, SECRET, http, fake), adapter
        fake.assert_no_unexpected()


async def _paired(tg: FakeTelegram, adapter: TelegramAdapter) -> Call:
    """The operator asks for the QR in their private chat: the one photo the bot sent."""
    await adapter.handled(await tg.write(TG_OPERATOR, "/pair haby main"))
    [first] = tg.sent("sendPhoto", TG_OPERATOR)
    return first


def _photo_code(tg: FakeTelegram, message_id: int) -> str:
    png = tg.photo_of(TG_OPERATOR, message_id)
    assert png is not None, f"message {message_id} shows no photo"
    return decode_png(png)


def _uploaded_codes(tg: FakeTelegram, method: str) -> list[str]:
    return [
        decode_png(png)
        for call in tg.sent(method, TG_OPERATOR)
        for _name, png in call.files.values()
    ]


async def test_telegram_shows_one_qr_message_whose_picture_is_the_newest_code(
    desk: Desk, telegram: tuple[FakeTelegram, TelegramAdapter]
) -> None:
    tg, adapter = telegram
    first = await _paired(tg, adapter)
    codes = [desk.code_now]
    assert _photo_code(tg, first.message_id) == codes[0]

    for _ in range(3):  # one edit per rotation, each before the next rotation
        codes.append(await desk.rotate())
        await tg.wait_for(lambda: len(tg.sent("editMessageMedia", TG_OPERATOR)) == len(codes) - 1)

    assert tg.sent("sendPhoto", TG_OPERATOR) == [first], "no new photo as the QR rotates"
    assert tg.photo_messages(TG_OPERATOR) == [first.message_id]
    assert _photo_code(tg, first.message_id) == codes[-1]
    edits = tg.sent("editMessageMedia", TG_OPERATOR)
    assert {int(edit.params["message_id"]) for edit in edits} == {first.message_id}
    assert _uploaded_codes(tg, "editMessageMedia") == codes[1:]
    assert "(4 of 10)" in edits[-1].params["media"]["caption"]
    assert len(set(codes)) == 4

    for _ in range(3):  # a burst: pending pictures give way to the newest
        codes.append(await desk.rotate())
    await tg.wait_for(lambda: _photo_code(tg, first.message_id) == codes[-1])
    assert tg.photo_messages(TG_OPERATOR) == [first.message_id]


async def test_telegram_sends_the_qr_anew_when_the_old_message_cannot_be_edited(
    desk: Desk, telegram: tuple[FakeTelegram, TelegramAdapter]
) -> None:
    tg, adapter = telegram
    first = await _paired(tg, adapter)
    tg.deleted_by_user(TG_OPERATOR, first.message_id)

    code = await desk.rotate()
    await tg.wait_for(lambda: len(tg.sent("sendPhoto", TG_OPERATOR)) == 2)
    [refused] = [c for c in tg.calls if c.method == "editMessageMedia"]
    assert refused.status == 400 and int(refused.params["message_id"]) == first.message_id
    second = tg.sent("sendPhoto", TG_OPERATOR)[1]
    assert tg.photo_messages(TG_OPERATOR) == [second.message_id]
    assert _photo_code(tg, second.message_id) == code

    code = await desk.rotate()  # and that new message is the one kept up to date
    await tg.wait_for(lambda: len(tg.sent("editMessageMedia", TG_OPERATOR)) == 1)
    assert int(tg.sent("editMessageMedia")[0].params["message_id"]) == second.message_id
    assert tg.photo_messages(TG_OPERATOR) == [second.message_id]
    assert _photo_code(tg, second.message_id) == code


async def test_showing_the_same_picture_again_is_harmless_on_telegram(
    telegram: tuple[FakeTelegram, TelegramAdapter],
) -> None:
    tg, adapter = telegram
    live = adapter.reply_to(str(TG_OPERATOR)).live_image()
    png = qr_png("2@same-ref")
    await live.show(png, "scan me")
    await live.show(png, "scan me")  # Telegram: "message is not modified"

    [refused] = [c for c in tg.calls if c.method == "editMessageMedia"]
    assert refused.status == 400
    assert len(tg.sent("sendPhoto", TG_OPERATOR)) == 1
    [message_id] = tg.photo_messages(TG_OPERATOR)
    assert _photo_code(tg, message_id) == "2@same-ref"


async def test_a_pair_typed_in_a_telegram_group_keeps_its_live_qr_private(
    desk: Desk, telegram: tuple[FakeTelegram, TelegramAdapter]
) -> None:
    tg, adapter = telegram
    await adapter.handled(await tg.write(TG_OPERATOR, "/pair haby main", chat_id=GROUP))
    code = await desk.rotate()
    await tg.wait_for(lambda: len(tg.sent("editMessageMedia", TG_OPERATOR)) == 1)

    [photo] = tg.sent("sendPhoto", TG_OPERATOR)
    assert _photo_code(tg, photo.message_id) == code
    assert tg.texts(GROUP) == [t("en", "private.sent", command="/pair")]
    assert tg.photo_messages(GROUP) == [] and tg.sent("editMessageMedia", GROUP) == []


async def test_telegram_edits_one_pairing_code_message_as_the_code_is_renewed(
    desk: Desk, telegram: tuple[FakeTelegram, TelegramAdapter]
) -> None:
    tg, adapter = telegram
    await adapter.handled(await tg.write(TG_OPERATOR, "/pair haby main --code +5491155550000"))
    [message] = [m for m in tg.sent("sendMessage", TG_OPERATOR) if "CODE0001" in m.params["text"]]

    desk.rig.account.page.link_code_runs_out()
    await tg.wait_for(lambda: len(tg.sent("editMessageText", TG_OPERATOR)) == 1)
    [edit] = tg.sent("editMessageText", TG_OPERATOR)
    assert int(edit.params["message_id"]) == message.message_id
    assert edit.params["text"] == (
        "The previous code ran out. New pairing code for +5491155550000: CODE0002"
    )
    assert not any("CODE0002" in text for text in tg.texts(TG_OPERATOR)), "no second message"
    assert tg.photo_messages(TG_OPERATOR) == []


def _images(fake: FakeSlack, channel: str) -> list[Message]:
    return [m for m in fake.in_channel(channel) if m.image_files]


def _shown_code(fake: FakeSlack, message: Message) -> str:
    [file_id] = message.image_files
    return decode_png(fake.upload(file_id).data)


async def test_slack_shows_one_qr_message_in_the_dm_whose_image_is_the_newest_code(
    desk: Desk, slack: tuple[FakeSlack, SignedSender, SlackAdapter]
) -> None:
    fake, signed, adapter = slack
    assert await signed.command(SLACK_OPERATOR, "pair haby main", channel="C1") == 200
    await adapter.run_until_idle()
    dm = fake.dm_of(SLACK_OPERATOR)
    assert dm is not None
    [live] = _images(fake, dm)
    codes = [desk.code_now]
    assert _shown_code(fake, live) == codes[0]

    for _ in range(3):  # one update per rotation, each before the next rotation
        codes.append(await desk.rotate())
        await desk.until(lambda: len(fake.calls_to("chat.update")) == len(codes) - 1, "the update")

    assert _images(fake, dm) == [live], "no new message as the QR rotates"
    assert _shown_code(fake, live) == codes[-1]
    assert len(live.history) == 3 and "(4 of 10)" in live.section_text
    assert {call.params["ts"] for call in fake.calls_to("chat.update")} == {live.ts}
    assert [upload.channel for upload in fake.uploads] == [None] * 4, "private files only"
    assert [fake.where_shown(u.file_id) for u in fake.uploads] == [set()] * 3 + [{dm}]
    assert fake.calls_to("files.info"), "each file is shown once Slack has processed it"
    shown_in_channel = [m for m in fake.in_channel("C1") if m.ephemeral_to is None]
    assert shown_in_channel == [] and not any(m.image_files for m in fake.in_channel("C1"))

    for _ in range(3):  # a burst: pending pictures give way to the newest
        codes.append(await desk.rotate())
    await desk.until(lambda: _shown_code(fake, live) == codes[-1], "the newest code shown")
    assert _images(fake, dm) == [live]


async def test_slack_posts_the_qr_anew_when_its_message_is_gone(
    desk: Desk, slack: tuple[FakeSlack, SignedSender, SlackAdapter]
) -> None:
    fake, signed, adapter = slack
    dm = fake.dm_for(SLACK_OPERATOR)  # the operator writes to the app in its Messages tab
    assert await signed.command(SLACK_OPERATOR, "pair haby main", channel=dm) == 200
    await adapter.run_until_idle()
    [first] = _images(fake, dm)
    fake.delete_message(first)

    code = await desk.rotate()
    await desk.until(lambda: bool(_images(fake, dm)), "the QR posted anew")
    [refused] = fake.calls_to("chat.update")
    assert refused.error == "message_not_found" and refused.params["ts"] == first.ts
    [second] = _images(fake, dm)
    assert second.ts != first.ts and _shown_code(fake, second) == code

    code = await desk.rotate()
    await desk.until(lambda: len(fake.calls_to("chat.update")) == 2, "the next update")
    assert fake.calls_to("chat.update")[1].params["ts"] == second.ts
    assert _images(fake, dm) == [second] and _shown_code(fake, second) == code


async def test_slack_shares_the_qr_as_a_file_when_slack_never_finishes_the_upload(
    desk: Desk, slack: tuple[FakeSlack, SignedSender, SlackAdapter]
) -> None:
    fake, signed, adapter = slack
    fake.file_processing_s = 3600.0
    dm = fake.dm_for(SLACK_OPERATOR)
    assert await signed.command(SLACK_OPERATOR, "pair haby main", channel=dm) == 200
    await adapter.run_until_idle()

    assert _images(fake, dm) == [], "no image block names a file Slack is still processing"
    [shared] = [upload for upload in fake.uploads if upload.channel is not None]
    assert shared.channel == dm and decode_png(shared.data) == desk.code_now
