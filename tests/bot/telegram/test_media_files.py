"""WhatsApp files sent to Telegram as their kind, within the Bot API's limits, through the real
PTB against the fake Bot API (whose rules cite the Bot API: tests/support/fakes/telegram/)."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest

from bot.commands.base import CommandError, MediaFile, send_media
from bot.telegram.media import method_for
from tests.bot.telegram.world import ADMIN, TelegramWorld
from tests.support.fakes.telegram_server import FakeTelegram

OGG = b"OggS" + b"\x01" * 5000


async def test_each_kind_goes_by_its_method(world: TelegramWorld, tg: FakeTelegram) -> None:
    reply = world.adapter.reply_to(str(ADMIN))
    files = [
        MediaFile("ptt", "voice.ogg", OGG, "audio/ogg; codecs=opus", 4),
        MediaFile("audio", "song.mp3", b"ID3" + b"\x00" * 99, "audio/mpeg", 60),
        MediaFile("image", "a.jpg", b"\xff\xd8" + b"\x00" * 99, "image/jpeg"),
        MediaFile("video", "v.mp4", b"\x00" * 99, "video/mp4", 9),
        MediaFile("sticker", "s.webp", b"RIFF" + b"\x00" * 99, "image/webp"),
        MediaFile("audio", "nota.opus", b"OggS" + b"\x00" * 99, "audio/ogg"),
    ]
    for file in files:
        await send_media(reply, file, f"caption of {file.name}")
    sent = tg.files_to(ADMIN)
    assert [(method, name) for method, name, _data, _caption in sent] == [
        ("sendVoice", "voice.ogg"),
        ("sendAudio", "song.mp3"),
        ("sendPhoto", "a.jpg"),
        ("sendVideo", "v.mp4"),
        ("sendDocument", "s.webp"),
        ("sendDocument", "nota.opus"),  # sendAudio takes only MP3 and M4A
    ]
    assert [data for _m, _n, data, _c in sent] == [file.data for file in files]
    assert sent[0][3] == "caption of voice.ogg"


async def test_a_long_caption_follows_and_a_large_photo_goes_as_a_document(
    world: TelegramWorld, tg: FakeTelegram
) -> None:
    reply = world.adapter.reply_to(str(ADMIN))
    long = "transcript " * 120  # 1320 characters: over the 1024 a caption takes
    await send_media(reply, MediaFile("ptt", "voice.ogg", OGG, "audio/ogg"), long)
    [voice] = tg.sent("sendVoice", ADMIN)
    assert "caption" not in voice.params
    assert tg.sent("sendMessage", ADMIN)[-1].params["text"] == long
    photo = MediaFile("image", "big.jpg", b"\xff\xd8" + b"\x00" * 10_000_001, "image/jpeg")
    assert method_for(photo) == "sendDocument", "sendPhoto takes 10 MB at most"


async def test_a_file_over_the_upload_limit_is_refused_before_uploading(
    world: TelegramWorld, tg: FakeTelegram
) -> None:
    reply = world.adapter.reply_to(str(ADMIN))
    huge = MediaFile("document", "big.pdf", b"\x00" * 50_000_001, "application/pdf")
    with pytest.raises(CommandError) as refused:
        await send_media(reply, huge)
    assert refused.value.key == "media.too_big_for_chat"
    assert "up to 50 MB" in refused.value.text("en")
    assert tg.files_to(ADMIN) == []


async def test_the_fake_refuses_what_the_bot_api_refuses(
    world: TelegramWorld, tg: FakeTelegram
) -> None:
    """getFile over 20 MiB, and a caption over 1024 UTF-16 units, as Telegram answers them."""
    bot = world.adapter.reply_to(str(ADMIN)).sender.bot
    await tg.upload(ADMIN, "big.pdf", b"\x00" * ((20 << 20) + 1), mime_type="application/pdf")
    [file_id] = tg.user_files()
    with pytest.raises(BadRequest, match="too big"):
        await bot.get_file(file_id)
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_voice(ADMIN, OGG, caption="x" * 1025, filename="v.ogg")
