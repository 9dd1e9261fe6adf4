"""The listener with WhatsApp as it is after the LID migration: contacts by phone or LID,
message kinds (a media message's text is its caption), notifications dropped."""

from __future__ import annotations

from engine.events import ContactOptedOut
from storage.records import ContactInput, Direction
from storage.repos import ContactRepo, MessageRepo
from tests.engine.inbound.env import CONTACT, Env
from tests.support.fakes.openai_server import Reply

LID = "210987654321098@lid"


async def test_a_prospect_writing_from_a_lid_is_the_imported_phone(env: Env) -> None:
    contacts = ContactRepo(env.db)
    await contacts.upsert_many(env.haby.client_id, [ContactInput(CONTACT, "Ana")])
    env.fake.script(Reply("¡Hola Ana!"))
    await env.inbound("hola", chat=LID, peer_phone=f"{CONTACT}@c.us", peer_lid=LID)
    await env.listener.run_until_idle()

    prospect = await contacts.get(env.haby.client_id, CONTACT)
    assert prospect.lid == LID
    assert await contacts.count(env.haby.client_id) == 1
    assert await env.conversation() == [("in", "contact", "hola"), ("out", "ai", "¡Hola Ana!")]
    assert env.sender.sent[0][1] == LID, "the answer goes to the chat the contact wrote from"

    await env.inbound("BAJA", chat=LID, peer_lid=LID)  # WhatsApp did not repeat the phone
    await env.listener.run_until_idle()
    assert (await contacts.get(env.haby.client_id, CONTACT)).opted_out_at is not None
    assert [(e.phone, e.lid) for e in env.of(ContactOptedOut)] == [(CONTACT, LID)]


async def test_a_lid_only_contact_is_kept_and_merged_when_its_phone_is_known(env: Env) -> None:
    contacts = ContactRepo(env.db)
    await contacts.upsert_many(env.haby.client_id, [ContactInput(CONTACT, "Ana")])
    await env.inbound("STOP", chat=LID, peer_lid=LID)
    await env.listener.run_until_idle()
    stranger = await contacts.get_by_lid(env.haby.client_id, LID)
    assert stranger.phone is None and stranger.opted_out_at is not None
    assert stranger.label == "lid:210987654321098"

    await env.inbound("perdón, era yo", chat=LID, peer_phone=f"{CONTACT}@c.us", peer_lid=LID)
    await env.listener.run_until_idle()
    prospect = await contacts.get(env.haby.client_id, CONTACT)
    assert prospect.opted_out_at is not None, "the STOP from the LID opts the phone out"
    assert await contacts.count(env.haby.client_id) == 1
    bodies = [body for direction, _o, body in await env.conversation() if direction == "in"]
    assert bodies == ["STOP", "perdón, era yo"]


async def test_an_image_is_stored_as_an_image_and_the_model_sees_only_its_caption(
    env: Env,
) -> None:
    env.fake.script(Reply("¡Qué lindo sillón! Lo tenemos en gris."))
    await env.inbound("tienen este en gris?", kind="image")
    await env.listener.run_until_idle()
    contact = await ContactRepo(env.db).get(env.haby.client_id, CONTACT)
    stored = list(reversed(await MessageRepo(env.db).conversation(contact.id)))
    assert [(m.direction, m.type, m.body) for m in stored] == [
        (Direction.IN, "image", "tienen este en gris?"),
        (Direction.OUT, "chat", "¡Qué lindo sillón! Lo tenemos en gris."),
    ]
    prompt = env.fake.messages[-1][-1]["content"]
    assert "tienen este en gris?" in prompt


async def test_a_voice_note_without_text_is_named_to_the_model_never_as_its_thumbnail(
    env: Env,
) -> None:
    env.fake.script(Reply("¡Hola! ¿Me lo escribís?"))
    await env.inbound("", kind="ptt")
    await env.listener.run_until_idle()
    prompt = env.fake.messages[-1][-1]["content"]
    # The prompts' marker for media (engine/ia/prompts.py media_text) is Spanish.
    assert "nota de voz" in prompt


async def test_notifications_get_no_reply_and_are_not_stored(env: Env) -> None:
    for kind in ("e2e_notification", "notification_template", "call_log", "gp2", "protocol"):
        await env.inbound("", kind=kind)
    await env.listener.run_until_idle()
    assert env.sender.sent == []
    assert await ContactRepo(env.db).count(env.haby.client_id) == 0
