"""Files in and out through the driver and the simulator on real Chromium (WA-JS 4.6.0 rules).

downloadMedia.ts: the Blob of a message (msg_not_found, message_not_contains_media,
media_not_found); sendFileMessage.ts: messageId honoured, file_too_large before queueing, the
caption ``options.caption || filename``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from engine.whatsapp import (
    MediaUnavailable,
    MessageReceived,
    OutgoingMedia,
    PageReady,
    SendFailed,
    SendUnknown,
)
from engine.whatsapp.media_io import CHUNK_BYTES
from engine.whatsapp.simulator import Simulator, SimulatorClient
from tests.engine.whatsapp.conftest import (
    CONTACT,
    CONTACT_WID,
    SESSION,
    Launch,
    Paired,
    driver_config,
    pair,
)

pytestmark = pytest.mark.browser

# Larger than two chunks and not a multiple of one: the reads and the staging are sliced.
BIG = os.urandom(2 * CHUNK_BYTES + 12345)


def _media(data: bytes, kind: str = "image", mimetype: str = "image/jpeg") -> OutgoingMedia:
    name = None if kind != "document" else "catalogo.pdf"
    return OutgoingMedia(kind, mimetype, name, data, hashlib.sha256(data).hexdigest())


async def test_a_voice_note_arrives_with_its_filehash_and_downloads_byte_for_byte(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, recorder = paired
    note = os.urandom(30_000)
    answer = await control.inbound_media(
        SESSION, CONTACT, "ptt", note, mimetype="audio/ogg; codecs=opus", duration=31
    )
    event = await recorder.expect(MessageReceived, lambda e: e.message.id == answer["id"])
    message = event.message
    assert (message.type, message.size_bytes, message.duration_s) == ("ptt", len(note), 31)
    assert message.mimetype == "audio/ogg; codecs=opus" and not message.is_view_once
    assert message.filehash == answer["filehash"] and message.body == ""
    assert await driver.download_media(message.id, max_bytes=len(note)) == note


async def test_a_large_file_comes_in_chunks_and_a_cap_stops_it_before_any_read(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, recorder = paired
    answer = await control.inbound_media(
        SESSION, CONTACT, "document", BIG, caption="la lista", filename="lista.pdf"
    )
    await recorder.expect(MessageReceived, lambda e: e.message.id == answer["id"])
    assert await driver.download_media(answer["id"], max_bytes=len(BIG)) == BIG
    with pytest.raises(MediaUnavailable) as refused:
        await driver.download_media(answer["id"], max_bytes=len(BIG) - 1)
    assert refused.value.code == "too_large" and not refused.value.retryable


async def test_download_failures_are_told_apart(paired: Paired, control: SimulatorClient) -> None:
    driver, recorder = paired
    photo = os.urandom(5000)
    answer = await control.inbound_media(SESSION, CONTACT, "image", photo, caption="¿este?")
    text = await control.inbound(SESSION, CONTACT, "hola")
    await recorder.expect(MessageReceived, lambda e: e.message.id == text)
    await control.media_failures(SESSION, 2)
    for _ in range(2):
        with pytest.raises(MediaUnavailable) as failed:
            await driver.download_media(answer["id"], max_bytes=10**6)
        assert failed.value.code == "media_not_found" and failed.value.retryable
    assert await driver.download_media(answer["id"], max_bytes=10**6) == photo
    with pytest.raises(MediaUnavailable) as no_media:
        await driver.download_media(text, max_bytes=10**6)
    assert no_media.value.code == "message_not_contains_media"
    with pytest.raises(MediaUnavailable) as gone:
        await driver.download_media(f"false_{CONTACT_WID}_3A0000000000000000", max_bytes=10)
    assert gone.value.code == "msg_not_found"


async def test_the_old_type_shortcut_is_downloadable_too(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, recorder = paired
    message_id = await control.inbound(SESSION, CONTACT, type="ptt")
    event = await recorder.expect(MessageReceived, lambda e: e.message.id == message_id)
    data = await driver.download_media(message_id, max_bytes=10**6)
    assert len(data) == event.message.size_bytes == 9810


async def test_a_file_goes_out_under_our_id_with_its_caption(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, _ = paired
    media = _media(BIG)
    sent = await driver.send_media(CONTACT_WID, media, caption="Hola Ana", typing_ms=20)
    [row] = await control.sent(SESSION)
    assert row["id"] == sent.id and row["result"] == "OK" and sent.ack == 1
    assert (row["type"], row["kind"], row["mimetype"]) == ("image", "image", "image/jpeg")
    assert (row["size"], row["sha256"], row["caption"]) == (len(BIG), media.sha256, "Hola Ana")
    assert row["body"] == "Hola Ana"
    # No caption: WhatsApp shows the file name (sendFileMessage.ts l.369-378).
    doc = _media(b"%PDF-1.4 catalogo", "document", "application/pdf")
    await driver.send_media(CONTACT_WID, doc, caption="")
    row = (await control.sent(SESSION))[-1]
    assert (row["kind"], row["caption"], row["filename"]) == (
        "document",
        "catalogo.pdf",
        "catalogo.pdf",
    )
    # The same file again is not staged again, and still sent whole.
    await driver.send_media(CONTACT_WID, media, caption="otra vez")
    assert (await control.sent(SESSION))[-1]["sha256"] == media.sha256


async def test_a_reload_between_sends_stages_the_file_again(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, recorder = paired
    media = _media(os.urandom(4000))
    await driver.send_media(CONTACT_WID, media, caption="uno")
    await control.reload(SESSION)
    await recorder.expect(PageReady)  # a new page: its staged files are gone
    await driver.send_media(CONTACT_WID, media, caption="dos")
    rows = await control.sent(SESSION)
    assert [r["caption"] for r in rows] == ["uno", "dos"]
    assert {r["sha256"] for r in rows} == {media.sha256}


async def test_a_file_over_whatsapps_limit_is_refused_before_anything_is_queued(
    launch: Launch, tmp_path: Path
) -> None:
    async with (
        Simulator(qr_rotate_s=60.0, upload_limits={"image": 1000, "document": 10**6}) as sim,
        SimulatorClient(sim.base_url) as control,
    ):
        driver, recorder = await launch(driver_config(sim, tmp_path / "small"))
        await pair(control, recorder)
        with pytest.raises(SendFailed, match="file_too_large"):
            await driver.send_media(CONTACT_WID, _media(os.urandom(1001)), caption="grande")
        assert await control.sent(SESSION) == []
        await driver.send_media(CONTACT_WID, _media(os.urandom(1000)), caption="justo")
        assert [r["size"] for r in await control.sent(SESSION)] == [1000]


async def test_a_send_with_no_answer_by_its_deadline_is_unknown(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, _ = paired
    await control.action(SESSION, "stall-sends")
    with pytest.raises(SendUnknown) as unknown:
        await driver.send_media(CONTACT_WID, _media(os.urandom(3000)), caption="x", timeout_s=1.5)
    [row] = await control.sent(SESSION)  # it reached WhatsApp: never send it again
    assert unknown.value.message_id is not None
    assert unknown.value.message_id.split("_")[-1] == row["id"].split("_")[-1]
    await control.action(SESSION, "release-sends")
