"""Sends through the driver and the simulator on real Chromium, under WA-JS 4.6.0's rules.

The simulator enforces prepareRawMessage.ts: a messageId that is not fromMe, or whose remote is
not the chat WA-JS resolved, throws; a send to a contact with a LID resolves to its @lid chat.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.whatsapp import (
    Ack,
    AckChanged,
    MessageReceived,
    SendFailed,
    SendUnknown,
    SessionLost,
)
from engine.whatsapp.playwright_driver import PlaywrightDriver
from engine.whatsapp.simulator import SimulatorClient
from engine.whatsapp.types import key_id_of
from tests.engine.whatsapp.conftest import (
    CONTACT,
    CONTACT_WID,
    LID,
    LID_WID,
    SESSION,
    Launch,
    Paired,
    pair,
)

pytestmark = pytest.mark.browser


# Straight to WA-JS in the page, bypassing the driver: what an id not made for the chat gets.
_RAW_SEND = """async ([chat, id]) => {
  try { await WPP.chat.sendTextMessage(chat, 'x', {messageId: id}); return 'sent'; }
  catch (e) { return e.code || String(e); }
}"""


async def _raw_send(driver: PlaywrightDriver, chat: str, message_id: str) -> Any:
    assert driver._page is not None
    return await driver._page.evaluate(_RAW_SEND, [chat, message_id])


async def test_a_send_carries_an_id_made_for_its_chat(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, _ = paired
    sent = await driver.send_text(CONTACT_WID, "Hola Ana", typing_ms=50)
    assert sent.to == CONTACT_WID and sent.ack == Ack.SENT
    assert sent.id == f"true_{CONTACT_WID}_{sent.key_id}" and len(sent.key_id) >= 16
    [record] = await control.sent(SESSION)
    assert (record["id"], record["chat"], record["body"]) == (sent.id, CONTACT_WID, "Hola Ana")
    assert record["result"] == "OK"
    # The rules the driver's id passed: a bare id or one that is not fromMe is refused.
    assert await _raw_send(driver, CONTACT_WID, "3EB0C0FFEE0000000001") != "sent"
    assert await _raw_send(driver, CONTACT_WID, f"false_{CONTACT_WID}_3EB0C0FFEE0000000002") == (
        "message_key_is_not_from_me"
    )
    assert len(await control.sent(SESSION)) == 1


async def test_a_send_to_a_contact_with_a_lid_goes_to_its_lid_chat(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, events = paired
    await control.request("POST", "/control/lids", {CONTACT: LID})
    sent = await driver.send_text(CONTACT_WID, "hola por LID")
    assert sent.to == LID_WID and sent.id == f"true_{LID_WID}_{sent.key_id}"
    [record] = await control.sent(SESSION)
    assert (record["chat"], record["id"], record["result"]) == (LID_WID, sent.id, "OK")
    # An id made for the @c.us form is refused for that chat (prepareRawMessage.ts).
    foreign = f"true_{CONTACT_WID}_3EB0C0FFEE0000000003"
    assert await _raw_send(driver, CONTACT_WID, foreign) == (
        "message_key_remote_id_is_not_same_of_chat"
    )
    # The receipt names the @lid chat; its key id is the one the driver returned.
    await control.ack(SESSION, sent.id, Ack.READ)
    ack = await events.expect(AckChanged, lambda e: e.ack == Ack.READ)
    assert [key_id_of(i) for i in ack.ids] == [sent.key_id]


async def test_send_results_other_than_ok_are_never_sends(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, _ = paired
    await control.request("POST", "/control/numbers", {"send_result": {CONTACT: "ERROR_NETWORK"}})
    with pytest.raises(SendUnknown) as unknown:
        await driver.send_text(CONTACT_WID, "puede que salga")
    await control.request("POST", "/control/numbers", {"send_result": {CONTACT: "ERROR_EXPIRED"}})
    with pytest.raises(SendFailed, match="ERROR_EXPIRED"):
        await driver.send_text(CONTACT_WID, "no sale")
    first, second = await control.sent(SESSION)
    assert (first["result"], second["result"]) == ("ERROR_NETWORK", "ERROR_EXPIRED")
    assert unknown.value.message_id == first["id"]  # a later receipt can still prove it
    await control.request("POST", "/control/numbers", {"send_result": {CONTACT: None}})
    assert (await driver.send_text(CONTACT_WID, "ahora sí")).to == CONTACT_WID


async def test_a_page_that_stops_answering_after_the_send_started_is_maybe_sent(
    launch: Launch, control: SimulatorClient
) -> None:
    driver, events = await launch(call_timeout_s=2.0)
    await pair(control, events)
    await control.action(SESSION, "stall-sends")
    with pytest.raises(SessionLost) as lost:
        await driver.send_text(CONTACT_WID, "¿salió?")
    assert lost.value.maybe_sent and lost.value.message_id is not None
    await control.action(SESSION, "release-sends")


async def test_our_own_sends_are_not_reported_as_typed_on_the_phone(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, events = paired
    await control.request("POST", "/control/lids", {CONTACT: LID})
    await driver.send_text(CONTACT_WID, "respuesta del bot")
    await driver.send_text("5491144445555@c.us", "otra respuesta")
    typed = await control.phone_message(SESSION, CONTACT, "escrito en el teléfono")
    mine = (await events.expect(MessageReceived)).message
    assert (mine.id, mine.from_me, mine.body) == (typed, True, "escrito en el teléfono")
    assert mine.chat_id == LID_WID and mine.peer_lid == LID_WID
    assert len(events.of_type(MessageReceived)) == 1
