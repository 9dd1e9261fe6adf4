"""What the fake WPP emits for incoming messages and receipts (registerNewMessageEvent.ts,
registerAckMessageEvent.ts, MsgModel.ts) and how it maps LIDs (getPnLidEntry.ts)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import Page

from engine.whatsapp.simulator import SimulatorClient
from engine.whatsapp.simulator.client import SimulatorControlError
from engine.whatsapp.simulator.messages import THUMBNAIL_B64
from tests.engine.whatsapp import simulator_page
from tests.engine.whatsapp.conftest import SESSION
from tests.engine.whatsapp.simulator_page import OpenPage, pair, rejection, seen, wait_seen

browser = simulator_page.browser
open_page = simulator_page.open_page

pytestmark = pytest.mark.browser

CONTACT = "5491122223333"
LID = "111222333444555"


@pytest.fixture
async def page(open_page: OpenPage, control: SimulatorClient) -> Page:
    """A paired page."""
    opened = await open_page()
    await pair(control, opened)
    return opened


async def messages(page: Page, count: int) -> list[dict[str, Any]]:
    """The first ``count`` chat.new_message payloads."""
    await wait_seen(page, "chat.new_message", count)
    return [e["args"][0] for e in await seen(page, "chat.new_message")]


async def test_media_carries_a_thumbnail_body_and_the_text_in_caption(
    page: Page, control: SimulatorClient
) -> None:
    await control.inbound(SESSION, CONTACT, type="image", caption="mirá esto")
    await control.inbound(
        SESSION, CONTACT, type="document", filename="lista.pdf", caption="precios"
    )
    await control.inbound(SESSION, CONTACT, type="ptt")
    image, document, voice = await messages(page, 3)
    assert image["type"] == "image" and image["body"] == THUMBNAIL_B64
    assert image["caption"] == "mirá esto" and image["mimetype"] == "image/jpeg"
    assert image["isMedia"] and not image["isNotification"] and image["size"] > 0
    assert (document["filename"], document["caption"]) == ("lista.pdf", "precios")
    assert document["mimetype"] == "application/pdf"
    assert voice["type"] == "ptt" and voice["duration"] > 0 and "caption" not in voice
    with pytest.raises(SimulatorControlError, match="no caption for sticker"):
        await control.inbound(SESSION, CONTACT, type="sticker", caption="x")
    with pytest.raises(SimulatorControlError, match='put the text in "caption"'):
        await control.inbound(SESSION, CONTACT, "texto", type="image")


async def test_notifications_arrive_on_the_same_event(page: Page, control: SimulatorClient) -> None:
    group = "120363025555555555@g.us"
    await control.inbound(SESSION, CONTACT, type="e2e_notification")
    await control.inbound(SESSION, CONTACT, type="call_log")
    await control.inbound(SESSION, CONTACT, type="gp2", group=group)
    await control.inbound(SESSION, CONTACT, type="notification_template")
    await control.inbound(SESSION, CONTACT, type="protocol")
    received = await messages(page, 5)
    assert [m["type"] for m in received] == [
        "e2e_notification",
        "call_log",
        "gp2",
        "notification_template",
        "protocol",
    ]
    assert all(m["isNotification"] and not m["isMedia"] for m in received)
    assert received[1]["subtype"] == "miss" and received[2]["isGroupMsg"]


async def test_ciphertext_fires_first_then_again_with_its_real_type(
    page: Page, control: SimulatorClient
) -> None:
    key = await control.inbound(SESSION, CONTACT, "hola", name="Ana", ciphertext=True)
    first, second = await messages(page, 2)
    assert first["id"] == second["id"] == key
    assert (first["type"], first["body"]) == ("ciphertext", "")
    assert (second["type"], second["body"], second["notifyName"]) == ("chat", "hola", "Ana")
    # One model, mutated in place, as MsgStore keeps it.
    assert await page.evaluate("__objects[0] === __objects[1]")

    # The same id again reaches the same page's MsgStore as a merge: no new event.
    await control.inbound(SESSION, CONTACT, "hola", message_id=key)
    await control.inbound(SESSION, CONTACT, "otro")
    assert [m["body"] for m in await messages(page, 3)] == ["", "hola", "otro"]


async def test_a_lid_contact_writes_from_its_lid_and_maps_both_ways(
    page: Page, control: SimulatorClient
) -> None:
    await control.lids({CONTACT: LID})
    key = await control.inbound(SESSION, CONTACT, "desde mi lid", name="Ana")
    [msg] = await messages(page, 1)
    me_lid = (await control.session(SESSION))["lid"]
    assert key == f"false_{LID}@lid_{key.split('_')[2]}"
    assert (msg["from"], msg["to"]) == (f"{LID}@lid", f"{me_lid}@lid")

    entry = await page.evaluate("(id) => WPP.contact.getPnLidEntry(id)", f"{LID}@lid")
    assert entry["lid"] == {"id": LID, "server": "lid", "_serialized": f"{LID}@lid"}
    assert entry["phoneNumber"]["_serialized"] == f"{CONTACT}@c.us"
    assert entry["contact"]["pushname"] == "Ana"
    back = await page.evaluate("(id) => WPP.contact.getPnLidEntry(id)", f"{CONTACT}@c.us")
    assert back["lid"]["_serialized"] == f"{LID}@lid"

    bad = await rejection(page, "(id) => WPP.contact.getPnLidEntry(id)", "120363025@g.us")
    assert bad["code"] == "invalid_wid" and "only supports @c.us and @lid" in bad["message"]


async def test_a_lid_the_page_cannot_map_yet_has_no_phone_number(
    page: Page, control: SimulatorClient
) -> None:
    await control.inbound(SESSION, "5491166667777", "hola", lid="222333444555666", lid_unknown=True)
    [msg] = await messages(page, 1)
    assert msg["from"] == "222333444555666@lid"
    entry = await page.evaluate("(id) => WPP.contact.getPnLidEntry(id)", "222333444555666@lid")
    assert entry["lid"]["_serialized"] == "222333444555666@lid"
    assert "phoneNumber" not in entry or entry["phoneNumber"] is None
    # Asked by phone, the LID comes from the servers (queryExists).
    by_phone = await page.evaluate("(id) => WPP.contact.getPnLidEntry(id)", "5491166667777@c.us")
    assert by_phone["lid"]["_serialized"] == "222333444555666@lid"


async def test_receipts_carry_the_lid_remote_and_only_ack_2_and_up(
    page: Page, control: SimulatorClient
) -> None:
    sent = await page.evaluate("(to) => WPP.chat.sendTextMessage(to, 'hola')", f"{CONTACT}@c.us")
    await control.lids({CONTACT: LID})  # the contact migrates after our send
    [ack_key] = (await control.request(
        "POST", f"/control/sessions/{SESSION}/ack", {"id": sent["id"], "ack": 3}
    ))["ids"]  # fmt: skip
    raw = sent["id"].split("_")[2]
    assert ack_key == f"true_{LID}@lid_{raw}"
    await wait_seen(page, "chat.msg_ack_change", 2)
    one, read = [e["args"][0] for e in await seen(page, "chat.msg_ack_change")]
    assert one["ack"] == 1 and one["ids"] == [sent["id"]]
    assert (read["ack"], read["chat"], read["ids"]) == (3, f"{LID}@lid", [ack_key])
    for bad in (-1, 0, 1, 5):
        with pytest.raises(SimulatorControlError, match="must be 2"):
            await control.ack(SESSION, sent["id"], bad)
    with pytest.raises(SimulatorControlError, match="this session sent"):
        await control.ack(SESSION, f"false_{CONTACT}@c.us_3EB0AA", 2)


async def test_messages_queued_for_an_unpaired_phone_arrive_after_pairing(
    open_page: OpenPage, control: SimulatorClient
) -> None:
    page = await open_page()
    await control.inbound(SESSION, CONTACT, "temprano")
    await asyncio.sleep(0.2)
    assert await seen(page, "chat.new_message") == []
    await pair(control, page)
    [msg] = await messages(page, 1)
    assert msg["to"] == "5491100000000@c.us" and msg["body"] == "temprano"
