"""Inbound messages as the bridge serialises them: kinds, captions, @lid peers, filtering."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.whatsapp import MessageReceived
from engine.whatsapp.simulator import SimulatorClient
from tests.engine.whatsapp.conftest import CONTACT, CONTACT_WID, LID, LID_WID, SESSION, Paired

pytestmark = pytest.mark.browser


async def inbound(control: SimulatorClient, **fields: Any) -> str:
    """``POST .../inbound`` with the extended fields; the message id."""
    body = {"from": CONTACT, **fields}
    data = await control.request("POST", f"/control/sessions/{SESSION}/inbound", body)
    return str(data["id"])


async def test_an_image_arrives_with_its_caption_and_never_its_thumbnail(
    paired: Paired, control: SimulatorClient
) -> None:
    _, events = paired
    image = await inbound(control, type="image", caption="¿tienen este?", mimetype="image/jpeg")
    voice = await inbound(control, type="ptt", mimetype="audio/ogg; codecs=opus")
    first = (await events.expect(MessageReceived)).message
    assert (first.id, first.type, first.body) == (image, "image", "¿tienen este?")
    assert first.is_media and first.mimetype == "image/jpeg"
    second = (await events.expect(MessageReceived)).message
    assert (second.id, second.type, second.body) == (voice, "ptt", "")  # no caption: no text
    assert second.mimetype == "audio/ogg; codecs=opus"


async def test_notifications_status_and_ciphertext_are_not_conversation(
    paired: Paired, control: SimulatorClient
) -> None:
    _, events = paired
    for kind in ("e2e_notification", "notification_template", "call_log", "protocol"):
        await inbound(control, type=kind, body="")
    await inbound(control, type="gp2", body="", group="120363025555555555@g.us")
    await inbound(control, body="mi estado", status=True)
    hello = await inbound(control, body="hola", ciphertext=True)  # decrypted copy follows
    again = await inbound(control, body="hola", id=hello)  # a redelivery of the same id
    last = await inbound(control, body="último")
    assert again == hello
    # The decrypted copy may come after later messages, as in WhatsApp Web.
    received = [(await events.expect(MessageReceived)).message for _ in range(2)]
    assert {m.id for m in received} == {hello, last}
    assert {m.body for m in received} == {"hola", "último"}
    await asyncio.sleep(0.5)  # nothing else trickles in: no notification, no duplicate
    assert len(events.of_type(MessageReceived)) == 2


async def test_a_contact_writing_from_its_lid_is_resolved_to_its_phone(
    paired: Paired, control: SimulatorClient
) -> None:
    _, events = paired
    await control.request("POST", "/control/lids", {CONTACT: LID})
    known = await inbound(control, body="soy Ana", lid=True)
    message = (await events.expect(MessageReceived)).message
    assert (message.id, message.chat_id, message.sender_id) == (known, LID_WID, LID_WID)
    assert (message.peer_phone, message.peer_lid) == (CONTACT_WID, LID_WID)
    assert message.key_id and message.id.endswith(message.key_id)

    # The page's lidPnCache does not know this LID's phone yet: the message still arrives.
    other_lid = "987654321098765"
    unknown = await inbound(
        control, **{"from": "5491166667777"}, body="hola", lid=other_lid, lid_unknown=True
    )
    message = (await events.expect(MessageReceived)).message
    assert (message.id, message.chat_id) == (unknown, f"{other_lid}@lid")
    assert (message.peer_phone, message.peer_lid) == (None, f"{other_lid}@lid")


async def test_a_contact_without_a_lid_has_only_its_phone(
    paired: Paired, control: SimulatorClient
) -> None:
    _, events = paired
    await inbound(control, body="hola")
    message = (await events.expect(MessageReceived)).message
    assert (message.chat_id, message.peer_phone, message.peer_lid) == (
        CONTACT_WID,
        CONTACT_WID,
        None,
    )
