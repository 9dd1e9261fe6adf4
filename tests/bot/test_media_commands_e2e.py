"""Media through the bot: /media delivers a chat's file privately, /campaign attach takes a
photo or document sent with the command as its caption (WhatsApp's limits answered as they
are), /campaign preview shows the file, /reply sends one, and /conv and digests show files as
one line each. Real PTB against the fake Bot API, real slack-bolt against the fake Web API,
real engine services and media store; WhatsApp is faked at its port."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.push.digests import conversation_text, message_line
from bot.slack.adapter import SlackAdapter
from bot.telegram.adapter import TelegramAdapter
from storage.db import Database
from storage.records import MediaState
from storage.repos import CampaignRepo, ClientRepo, ContactRepo, MessageRepo
from tests.bot.media_world import (
    GROUP,
    JPEG,
    OGG,
    OPERATOR,
    OTHER,
    OWNER,
    PDF,
    PHONE,
    SLACK_OPERATOR,
    MediaWorld,
    build_world,
    slack_adapter,
    telegram_adapter,
)
from tests.bot.slack.requests import SignedSender, dm_event
from tests.bot.slack.world import SECRET
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.telegram_server import FakeTelegram


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def world(db: Database, tmp_path: Path) -> AsyncIterator[MediaWorld]:
    built = await build_world(db, tmp_path)
    yield built
    await built.engine.stop()


@pytest.fixture
async def tg(world: MediaWorld) -> AsyncIterator[tuple[FakeTelegram, TelegramAdapter]]:
    async with FakeTelegram().checked() as fake:
        adapter = telegram_adapter(fake, world.dispatcher)
        async with adapter:
            yield fake, adapter


async def _say(
    tg: tuple[FakeTelegram, TelegramAdapter], user: int, text: str, chat_id: int | None = None
) -> None:
    fake, adapter = tg
    await adapter.handled(await fake.write(user, text, chat_id=chat_id))


async def _send_file(
    tg: tuple[FakeTelegram, TelegramAdapter], user: int, name: str, data: bytes, **kw: object
) -> None:
    fake, adapter = tg
    await adapter.handled(await fake.upload(user, name, data, **kw))  # type: ignore[arg-type]


async def _campaign(world: MediaWorld, tg: tuple[FakeTelegram, TelegramAdapter]) -> int:
    await world.prospects("5491150000001", "5491150000002")
    await _say(tg, OPERATOR, "/campaign new haby main feria Hola {name}, te esperamos!")
    [campaign] = await CampaignRepo(world.db).list(client_id=world.client_id)
    return campaign.id


async def test_media_sends_the_file_privately_as_its_kind(
    world: MediaWorld, tg: tuple[FakeTelegram, TelegramAdapter]
) -> None:
    fake, _ = tg
    await world.file_message(
        "ptt", data=OGG, mimetype="audio/ogg; codecs=opus", duration_s=31, transcript="quiero baja"
    )
    await world.file_message("image", data=JPEG, mimetype="image/jpeg", caption="gris?", minutes=1)
    await world.file_message("video", data=None, mimetype="video/mp4", minutes=2, duration_s=9,
                             state=MediaState.TOO_LARGE)  # fmt: skip

    # Typed in the group: the file goes to the operator's private chat, a pointer stays.
    await _say(tg, OPERATOR, f"/media haby {PHONE}", chat_id=GROUP)
    pointer = fake.texts(GROUP)[-1]
    assert "private" in pointer.lower(), pointer
    answer = fake.texts(OPERATOR)[-1]
    assert "🎬 video 0:09 (too large, not kept)" in answer and "WAOPS_MEDIA_MAX_BYTES" in answer

    await _say(tg, OPERATOR, f"/media haby {PHONE} 2")
    await _say(tg, OPERATOR, f"/media haby {PHONE} 3", chat_id=GROUP)
    photo, voice = fake.files_to(OPERATOR)
    assert photo[0] == "sendPhoto" and photo[2] == JPEG and "🖼 photo 48 KB: gris?" in photo[3]
    assert voice[0] == "sendVoice" and voice[2] == OGG and voice[1].endswith(".ogg")
    assert "🎤 voice note 0:31 — transcript: «quiero baja»" in voice[3]
    [call] = fake.sent("sendVoice")
    assert call.params["duration"] == "31", "Telegram shows the length"
    shown = "\n".join(fake.group_sends())
    assert "quiero baja" not in shown and "gris?" not in shown, "nothing of the chat in the group"

    other = fake.texts(OPERATOR)
    await _say(tg, OPERATOR, f"/media haby {PHONE} 9")
    assert "has 3 files: ask for 1 to 3" in fake.texts(OPERATOR)[-1]
    assert len(fake.texts(OPERATOR)) == len(other) + 1
    await _say(tg, OTHER, f"/media haby {PHONE}")
    assert "haby" in fake.texts(OTHER)[-1] and fake.files_to(OTHER) == []


async def test_conv_and_digests_show_a_file_as_one_line(
    world: MediaWorld, tg: tuple[FakeTelegram, TelegramAdapter]
) -> None:
    fake, _ = tg
    await world.file_message(
        "ptt", data=OGG, mimetype="audio/ogg", duration_s=31, transcript="quiero el sillón"
    )
    await world.file_message("image", data=JPEG, mimetype="image/jpeg", caption="gris?", minutes=1)
    await world.file_message(
        "document", data=PDF, mimetype="application/pdf", filename="factura.pdf", minutes=2
    )
    await world.file_message("sticker", data=None, mimetype="image/webp", minutes=3,
                             state=MediaState.FAILED)  # fmt: skip

    await _say(tg, OPERATOR, f"/conv haby {PHONE}")
    conv = fake.texts(OPERATOR)[-1]
    assert "← [contact] 🎤 voice note 0:31 — transcript: «quiero el sillón»" in conv
    assert "← [contact] 🖼 photo 48 KB: gris?" in conv
    assert "← [contact] 📄 document factura.pdf 183 KB" in conv
    assert "← [contact] 🏷 sticker 9 MB (not downloaded)" in conv
    await _say(tg, OWNER, f"/conv haby {PHONE}")
    spanish = fake.texts(OWNER)[-1]
    assert "🎤 nota de voz 0:31 — transcripción: «quiero el sillón»" in spanish
    assert "🖼 foto 48 KB: gris?" in spanish and "(no se pudo descargar)" in spanish

    messages = await MessageRepo(world.db).conversation(world.contact_id, 10)
    zone = ZoneInfo("America/Argentina/Buenos_Aires")
    lines = [message_line(m, zone, "es") for m in messages]
    assert any("🎤 nota de voz 0:31 — transcripción: «quiero el sillón»" in x for x in lines)
    client = await ClientRepo(world.db).get("haby")
    contact = await ContactRepo(world.db).get(world.client_id, PHONE.lstrip("+"))
    forwarded = conversation_text(client, contact, messages, "en")
    assert "📄 document factura.pdf 183 KB" in forwarded


async def test_campaign_attach_takes_the_largest_photo_and_preview_shows_it(
    world: MediaWorld, tg: tuple[FakeTelegram, TelegramAdapter]
) -> None:
    fake, _ = tg
    cid = await _campaign(world, tg)
    await _send_file(tg, OPERATOR, "flyer.jpg", JPEG, kind="photo",
                     caption=f"/campaign attach {cid}")  # fmt: skip
    answer = fake.texts(OPERATOR)[-1]
    assert f"Campaign #{cid} now goes with 🖼 photo photo.jpg (48 KB)" in answer, answer
    campaign = await CampaignRepo(world.db).get(cid)
    assert campaign.media is not None
    assert campaign.media.sha256 == hashlib.sha256(JPEG).hexdigest(), "not the thumbnail"
    assert (campaign.media.kind, campaign.media.mimetype) == ("image", "image/jpeg")
    assert world.store.exists(campaign.media.sha256)

    await _say(tg, OPERATOR, f"/campaign preview {cid}")
    [(method, _name, data, caption)] = fake.files_to(OPERATOR)
    assert (method, data) == ("sendPhoto", JPEG)
    assert caption == "Hola N1, te esperamos!", "the first recipient's own text is the caption"
    assert "Every message goes with 🖼 photo photo.jpg (48 KB)" in "\n".join(fake.texts(OPERATOR))

    await _say(tg, OPERATOR, f"/campaign detach {cid}")
    assert (await CampaignRepo(world.db).get(cid)).media is None


async def test_campaign_attach_answers_whatsapps_limits_as_they_are(
    world: MediaWorld, tg: tuple[FakeTelegram, TelegramAdapter]
) -> None:
    fake, _ = tg
    cid = await _campaign(world, tg)
    big = b"\xff\xd8\xff" + b"\x00" * 7_200_000
    await _send_file(tg, OPERATOR, "big.jpg", big, mime_type="image/jpeg",
                     caption=f"/campaign attach {cid}")  # fmt: skip
    said = fake.texts(OPERATOR)[-1]
    assert "the image weighs 7.2 MB; WhatsApp takes images up to 5 MB" in said, said
    await _send_file(tg, OWNER, "big.jpg", big, mime_type="image/jpeg",
                     caption=f"/campaign attach {cid}")  # fmt: skip
    assert "la imagen pesa 7,2 MB; WhatsApp acepta imágenes de hasta 5 MB" in fake.texts(OWNER)[-1]
    assert (await CampaignRepo(world.db).get(cid)).media is None, "nothing attached"

    await _say(tg, OPERATOR, f"/campaign attach {cid}")
    assert "with /campaign attach" in fake.texts(OPERATOR)[-1], "a file is needed"
    # Over what the Bot API lets bots download: refused before getFile, from its file_size.
    huge = b"x" * (20 * 1024 * 1024 + 1)
    fetched = len(fake.sent("getFile"))
    await _send_file(tg, OPERATOR, "catalogo.pdf", huge, mime_type="application/pdf",
                     caption=f"/campaign attach {cid}")  # fmt: skip
    assert "The file is over 20 MB" in fake.texts(OPERATOR)[-1]
    assert len(fake.sent("getFile")) == fetched
    fetched = len(fake.sent("getFile"))
    await _send_file(tg, OTHER, "f.pdf", PDF, mime_type="application/pdf",
                     caption=f"/campaign attach {cid}")  # fmt: skip
    assert "belongs to a client you cannot see" in fake.texts(OTHER)[-1]
    assert len(fake.sent("getFile")) == fetched, "another client's operator's file is not read"
    assert (await CampaignRepo(world.db).get(cid)).media is None


async def test_reply_with_a_file_sends_it_with_the_text_as_caption(
    world: MediaWorld, tg: tuple[FakeTelegram, TelegramAdapter]
) -> None:
    fake, _ = tg
    await world.file_message("image", data=JPEG, mimetype="image/jpeg", caption="precio?")
    await _send_file(tg, OPERATOR, "precios.pdf", PDF, mime_type="application/pdf",
                     caption=f"/reply haby {PHONE} te paso la lista")  # fmt: skip
    [(chat, file)] = world.sender.files
    assert (chat, file.kind, file.filename, file.data) == (
        f"{PHONE.lstrip('+')}@c.us",
        "document",
        "precios.pdf",
        PDF,
    )
    assert world.sender.texts == ["te paso la lista"]
    assert "Sent 📄 document precios.pdf (183 KB) to" in fake.texts(OPERATOR)[-1]

    await _send_file(tg, OPERATOR, "foto.jpg", JPEG, kind="photo", caption=f"/reply haby {PHONE}")
    assert world.sender.files[-1][1].kind == "image" and world.sender.texts[-1] == ""
    await _say(tg, OPERATOR, f"/reply haby {PHONE}")
    assert "or send a file with /reply haby" in fake.texts(OPERATOR)[-1]
    assert len(world.sender.files) == 2


@pytest.fixture
async def slack(world: MediaWorld) -> AsyncIterator[tuple[FakeSlack, SlackAdapter, SignedSender]]:
    async with FakeSlack().checked() as fake:
        adapter = slack_adapter(fake, world.dispatcher)
        async with adapter, aiohttp.ClientSession() as session:
            yield fake, adapter, SignedSender(adapter.http_url, SECRET, session, fake)


async def test_slack_media_goes_to_the_dm_and_a_shared_file_attaches(
    world: MediaWorld, slack: tuple[FakeSlack, SlackAdapter, SignedSender]
) -> None:
    fake, adapter, signed = slack
    await world.file_message("ptt", data=OGG, mimetype="audio/ogg", duration_s=4)
    assert await signed.command(SLACK_OPERATOR, f"media haby {PHONE}", channel="C1") == 200
    await adapter.run_until_idle()
    dm = fake.dm_of(SLACK_OPERATOR)
    assert dm is not None and dm.startswith("D"), "files go to a D… channel (conversations.open)"
    [upload] = fake.uploads
    assert (upload.channel, upload.data) == (dm, OGG)
    assert "voice note 0:04" in (upload.initial_comment or "")
    assert all(m.ephemeral_to == SLACK_OPERATOR for m in fake.in_channel("C1"))

    cid = (
        await CampaignRepo(world.db).create(
            world.client_id, world.session_id, "c", "Hola {name}", {"tag": "feria"}
        )
    ).id
    png = fake.share_file("flyer.png", b"\x89PNG\r\n\x1a\n" + b"\x01" * 900, "image/png")
    event = dm_event(SLACK_OPERATOR, f"/waops campaign attach {cid}", dm, [png])
    assert await signed.event(event) == 200
    await adapter.run_until_idle()
    media = (await CampaignRepo(world.db).get(cid)).media
    assert media is not None and (media.kind, media.mimetype) == ("image", "image/png")
    assert media.filename == "flyer.png"
