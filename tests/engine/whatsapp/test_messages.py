"""Messages through the driver and the simulator on real Chromium."""

from __future__ import annotations

import pytest

from engine.whatsapp import (
    Ack,
    AckChanged,
    MessageReceived,
    NumberInfo,
    OnlineChanged,
    SessionLost,
    StreamMode,
    StreamModeChanged,
)
from engine.whatsapp.playwright_driver import PlaywrightDriver
from engine.whatsapp.simulator import SimulatorClient
from tests.engine.whatsapp.conftest import BUSINESS_PHONE, SESSION
from tests.engine.whatsapp.recorder import EventRecorder

pytestmark = pytest.mark.browser

CONTACT = "5491122223333"
CONTACT_WID = f"{CONTACT}@c.us"
Paired = tuple[PlaywrightDriver, EventRecorder]


async def test_each_inbound_message_reaches_the_driver_exactly_once(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, events = paired
    # (a ciphertext's decrypted copy may overtake later messages: test_driver_inbound.py)
    hello = await control.inbound(SESSION, CONTACT, "hola", name="Ana")
    await control.inbound(SESSION, CONTACT, "mi estado", status=True)
    await control.inbound(SESSION, CONTACT, "hola otra vez", message_id=hello)  # redelivery
    await driver.send_text(CONTACT_WID, "respuesta del bot")
    typed = await control.phone_message(SESSION, CONTACT, "escrito en el teléfono")
    last = await control.inbound(SESSION, "5491144445555", "último")

    await events.expect(MessageReceived, lambda e: e.message.id == last)
    received = [e.message for e in events.of_type(MessageReceived)]
    assert [m.id for m in received] == [hello, typed, last]

    first, mine, _ = received
    assert (first.body, first.type, first.notify_name) == ("hola", "chat", "Ana")
    assert (first.chat_id, first.sender_id, first.from_me) == (CONTACT_WID, CONTACT_WID, False)
    assert not first.is_group and first.quoted_id is None and first.timestamp > 0
    assert mine.from_me and mine.chat_id == CONTACT_WID
    assert mine.sender_id == f"{BUSINESS_PHONE}@c.us"


async def test_group_message_names_its_author(paired: Paired, control: SimulatorClient) -> None:
    _, events = paired
    group = "120363025555555555@g.us"
    message_id = await control.inbound(SESSION, CONTACT, "en el grupo", group=group)
    message = (await events.expect(MessageReceived)).message
    assert message.id == message_id
    assert (message.chat_id, message.sender_id, message.is_group) == (group, CONTACT_WID, True)


async def test_sent_text_is_recorded_and_acks_arrive(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, events = paired
    sent = await driver.send_text(CONTACT_WID, "Hola Ana", typing_ms=50)
    assert sent.to == CONTACT_WID and sent.ack == Ack.SENT and sent.id.startswith("true_")
    [record] = await control.sent(SESSION)
    assert (record["to"], record["body"], record["id"]) == (CONTACT_WID, "Hola Ana", sent.id)

    await control.ack(SESSION, sent.id, Ack.READ)
    # registerAckMessageEvent.ts also reports ack 1 when the server accepted the send.
    ack = await events.expect(AckChanged, lambda e: e.ack == Ack.READ)
    assert ack == AckChanged(ids=(sent.id,), ack=Ack.READ)


async def test_drop_and_restore(paired: Paired, control: SimulatorClient) -> None:
    driver, events = paired
    await control.action(SESSION, "drop")
    await events.expect(OnlineChanged, lambda e: not e.online)
    await events.expect(StreamModeChanged, lambda e: e.mode is StreamMode.OFFLINE)
    with pytest.raises(SessionLost) as lost:
        await driver.send_text(CONTACT_WID, "no llega")
    assert not lost.value.maybe_sent
    queued = await control.inbound(SESSION, CONTACT, "escrito mientras no había conexión")
    assert (await control.session(SESSION))["state"] == "offline"

    await control.action(SESSION, "restore")
    await events.expect(StreamModeChanged, lambda e: e.mode is StreamMode.MAIN)
    await events.expect(OnlineChanged, lambda e: e.online)
    assert (await events.expect(MessageReceived)).message.id == queued
    assert (await driver.status()).logged_in
    assert await control.sent(SESSION) == []


async def test_check_number(paired: Paired, control: SimulatorClient) -> None:
    driver, _ = paired
    # Misses (asked twice, after WA-JS's miss cache): test_driver_session.py.
    assert await driver.check_number("541112345678") == NumberInfo("5491112345678@c.us")
    assert await driver.check_number("5491112345678@c.us") == NumberInfo("5491112345678@c.us")
    assert await driver.check_number("34612345678") == NumberInfo("34612345678@c.us")
