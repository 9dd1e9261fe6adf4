"""Commands across processes (issue 17, engine/remote.py): what the bot asks is run by the worker
holding the number and answered through `worker_commands`; engine errors come back as the same
exceptions; a command nobody takes is withdrawn and never run later; a send taken but never
answered is `SendUnknown` and is not made again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.texts import render
from engine.errors import InvalidInput, Text
from engine.events import ContactForgotten, EventBus
from engine.inbound.conversations import Conversations
from engine.media_store import MediaStore
from engine.remote import CommandTaker, NoWorker, RemoteEngine, RemotePolicy
from engine.texts import phrase
from engine.whatsapp.errors import NotInConflict, SendUnknown, SessionLost
from storage.db import Database
from storage.models import WorkerCommandRow
from storage.records import CampaignStatus, ContactInput, MessageStatus, SessionState
from storage.repos import CampaignRepo, ClientRepo, ContactRepo, MessageRepo, SessionRepo
from storage.repos.worker_commands import WorkerCommandRepo
from tests.support.fakes.worker_engine import FakeCampaigns, FakeWorkerEngine
from tests.support.poll import poll_until

FAST = RemotePolicy(take_within_s=1.0, answer_margin_s=1.0, stop_timeout_s=1.0, look_every_s=0.02)
PHONE = "5491155550000"


@dataclass
class Rig:
    db: Database
    session_id: int
    client_id: int
    engine: FakeWorkerEngine
    campaigns: FakeCampaigns
    worker_bus: EventBus
    bot_bus: EventBus
    remote: RemoteEngine
    taker: CommandTaker
    held: set[int]
    media: MediaStore


@pytest.fixture
async def rig(db: Database, tmp_path: Path) -> AsyncIterator[Rig]:
    client = await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    session = await SessionRepo(db).add(client.id, "main")
    await SessionRepo(db).set_state(session.id, SessionState.CONNECTED)
    media = MediaStore(tmp_path / "media")
    engine, campaigns = FakeWorkerEngine(), FakeCampaigns(db)
    worker_bus, bot_bus = EventBus(), EventBus()
    held = {session.id}
    taker = CommandTaker(
        db, "w1", lambda: held, engine, campaigns, worker_bus, media, poll_every_s=0.05
    )
    remote = RemoteEngine(db, bot_bus, policy=FAST)
    await taker.start()
    await remote.start()
    yield Rig(
        db,
        session.id,
        client.id,
        engine,
        campaigns,
        worker_bus,
        bot_bus,
        remote,
        taker,
        held,
        media,
    )
    await remote.stop()
    await taker.stop()


async def test_session_commands_run_on_the_owning_worker(rig: Rig) -> None:
    assert await rig.remote.pair("haby", "main", "+54 9 11 5555-0000") == "2@qr-text"
    assert await rig.remote.take_over("haby") is SessionState.CONNECTED
    await rig.remote.restart("haby")
    await rig.remote.logout("haby")
    assert rig.engine.calls == [
        ("pair", "haby", "main", "+54 9 11 5555-0000"),
        ("take_over", "haby", "main"),
        ("restart", "haby", "main"),
        ("logout", "haby", "main"),
    ]
    assert rig.remote.state(rig.session_id) is None, "the bot knows only the stored state"


async def test_engine_errors_come_back_as_the_same_exceptions(rig: Rig) -> None:
    rig.engine.fail_with = NotInConflict("haby/main is not open in another window")
    with pytest.raises(NotInConflict, match="not open in another window"):
        await rig.remote.take_over("haby")
    rig.engine.fail_with = SessionLost("page closed", maybe_sent=True, message_id="true_x_K")
    with pytest.raises(SessionLost) as lost:
        await rig.remote.send_text(rig.session_id, f"{PHONE}@c.us", "hola")
    assert lost.value.maybe_sent and lost.value.message_id == "true_x_K"
    rig.engine.fail_with = None
    campaign = await CampaignRepo(rig.db).create(
        rig.client_id, rig.session_id, "c", "Hola", {"all": True}
    )
    with pytest.raises(InvalidInput) as refused:
        await rig.remote.change(
            campaign.id, CampaignStatus.PAUSED, None, expect=[CampaignStatus.SCHEDULED]
        )
    assert refused.value.text.key == "transition.refused", "said in the operator's language"
    # A text inside a text (the reason a phone is refused) crosses whole too.
    rig.engine.fail_with = InvalidInput(
        "phone.not_a_phone", raw="+54 9", reason=phrase("phone.too_short")
    )
    with pytest.raises(InvalidInput) as bad_phone:
        await rig.remote.pair("haby", "main", "+54 9")
    reason = bad_phone.value.text.params["reason"]
    assert isinstance(reason, Text) and reason.key == "phone.too_short"
    assert render("es", bad_phone.value.text) == render("es", rig.engine.fail_with.text)
    rig.engine.fail_with = None
    moved = await rig.remote.change(campaign.id, CampaignStatus.RUNNING, None)
    assert moved.id == campaign.id and moved.status is CampaignStatus.RUNNING


async def test_a_command_nobody_takes_is_withdrawn_and_never_run(rig: Rig) -> None:
    rig.held.clear()  # no worker holds the number
    with pytest.raises(NoWorker, match="no waops worker took the command"):
        await rig.remote.send_text(rig.session_id, f"{PHONE}@c.us", "hola")
    rig.held.add(rig.session_id)  # a worker takes the number over afterwards
    await asyncio.sleep(0.3)
    assert rig.engine.calls == [], "the withdrawn send is not made late"


async def test_a_send_taken_and_never_answered_is_unknown_and_not_made_again(rig: Rig) -> None:
    rig.engine.hang = asyncio.Event()  # the worker takes it and stalls
    with pytest.raises(SendUnknown, match="not sent again"):
        await rig.remote._call_send(rig.session_id, "send_text", _text_args(), within_s=0.5)
    rig.engine.hang.set()
    await poll_until(lambda: len(rig.engine.calls) == 1, "the stalled send to end", 5)
    await asyncio.sleep(0.3)
    assert len(rig.engine.calls) == 1, "nobody sends it a second time"


async def test_sends_to_one_number_keep_their_order(rig: Rig) -> None:
    texts = [f"mensaje {n}" for n in range(5)]
    await asyncio.gather(
        *(rig.remote.send_text(rig.session_id, f"{PHONE}@c.us", text) for text in texts)
    )
    submitted = [json.loads(row.args)["text"] for row in await _commands(rig.db)]
    assert sorted(submitted) == texts
    assert [call[3] for call in rig.engine.calls] == submitted, "sent in the order asked"


async def test_an_operator_reply_and_file_go_out_through_the_worker(rig: Rig) -> None:
    await ContactRepo(rig.db).upsert_many(rig.client_id, [ContactInput(PHONE, "Ana")])
    conversations = Conversations(rig.db, rig.remote, rig.bot_bus, media=rig.media)
    message = await conversations.reply("haby", PHONE, "hola Ana")
    assert message.status is MessageStatus.SENT and message.wa_message_id is not None
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 200
    sent = await conversations.reply_media("haby", PHONE, jpeg, "a.jpg", "image/jpeg", "mirá")
    assert sent.status is MessageStatus.SENT
    assert rig.engine.calls[-1] == (
        "send_media",
        rig.session_id,
        f"{PHONE}@c.us",
        jpeg,
        "image",
        "mirá",
    )
    contact = await ContactRepo(rig.db).get(rig.client_id, PHONE)
    bodies = [m.body for m in await MessageRepo(rig.db).conversation(contact.id)]
    assert sorted(bodies) == ["hola Ana", "mirá"]


async def test_a_forgotten_contact_reaches_the_workers_of_its_client(rig: Rig) -> None:
    heard: list[ContactForgotten] = []

    async def hear(event: ContactForgotten) -> None:
        heard.append(event)

    rig.worker_bus.subscribe(ContactForgotten, hear)
    await rig.bot_bus.publish(ContactForgotten(rig.client_id, 77))
    await poll_until(lambda: heard == [ContactForgotten(rig.client_id, 77)], "the worker", 5)


async def test_answered_commands_are_pruned_after_a_day(rig: Rig) -> None:
    await rig.remote.restart("haby")
    repo = WorkerCommandRepo(rig.db)
    (row,) = await _commands(rig.db)
    command = await repo.get(row.id)
    assert command.done_at is not None and command.taken_by == "w1"
    assert await repo.prune(command.created_at) == 0
    later = command.created_at.replace(year=command.created_at.year + 1)
    assert await repo.prune(later) == 1


def _text_args() -> dict[str, object]:
    return {"chat_id": f"{PHONE}@c.us", "text": "hola", "typing_ms": 0}


async def _commands(db: Database) -> list[WorkerCommandRow]:
    """Every command row, in id order (the order they were submitted)."""
    async with db.session() as session:
        return list(await session.scalars(select(WorkerCommandRow).order_by(WorkerCommandRow.id)))


async def test_a_bug_in_taking_the_commands_leaves_the_worker_listening(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    take = WorkerCommandRepo.take
    failures: list[str] = []

    async def fails_once(self: WorkerCommandRepo, *args: object, **kwargs: object) -> object:
        if not failures:
            failures.append("a bug")
            raise RuntimeError("a bug in take")
        return await take(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(WorkerCommandRepo, "take", fails_once)
    await rig.remote.restart("haby")  # taken by a later look
    assert failures == ["a bug"] and rig.engine.calls == [("restart", "haby", "main")]
