"""The operator side of media: a reply with a file, and a chat's files fetched back."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from engine.errors import InvalidInput
from engine.inbound.conversations import Conversations
from engine.media import MediaRejected
from engine.media_store import MediaStore
from storage.records import Direction, MediaState, Origin
from storage.repos import ContactRepo
from tests.engine.inbound.env import CONTACT, Env
from tests.support.fakes.openai_server import Reply

PDF = b"%PDF-1.4 lista de precios"


async def test_an_operator_replies_with_a_file_and_fetches_the_chats_files(
    env: Env, tmp_path: Path
) -> None:
    store = MediaStore(tmp_path / "media")
    conversations = Conversations(env.db, env.sender, env.bus, media=store)
    env.fake.script(Reply("¡Hola!"))
    await env.inbound("hola")
    await env.listener.run_until_idle()

    sent = await conversations.reply_media(
        "haby", f"+{CONTACT}", PDF, "precios.pdf", "application/pdf", "  te paso la lista "
    )
    assert (sent.origin, sent.type, sent.body) == (Origin.OPERATOR, "document", "te paso la lista")
    assert sent.media is not None and sent.media.state is MediaState.STORED
    [(chat, file)] = env.sender.files
    assert (chat, file.kind, file.filename, file.data) == (
        f"{CONTACT}@c.us",
        "document",
        "precios.pdf",
        PDF,
    )
    assert env.sender.texts[-1] == "te paso la lista", "the text is the caption"
    contact = await ContactRepo(env.db).get(env.haby.client_id, CONTACT)
    assert contact.ai_paused_until is not None, "the operator took the chat over"

    [(message, data)] = await conversations.media_of("haby", f"+{CONTACT}", 3)
    assert message.id == sent.id and message.direction is Direction.OUT
    assert data == PDF and hashlib.sha256(data).hexdigest() == file.sha256

    await store.delete(file.sha256)
    [(_message, gone)] = await conversations.media_of("haby", f"+{CONTACT}")
    assert gone is None, "a file no longer kept comes back as None"


async def test_a_reply_file_is_checked_and_a_failed_send_says_so(env: Env, tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    conversations = Conversations(env.db, env.sender, env.bus, media=store)
    await env.inbound("hola")
    await env.listener.run_until_idle()
    with pytest.raises(MediaRejected):
        await conversations.reply_media(
            "haby", f"+{CONTACT}", b"\xff\xd8" + b"x" * 6_000_000, "foto.jpg", "image/jpeg"
        )
    env.sender.broken = True
    with pytest.raises(InvalidInput) as unsure:
        await conversations.reply_media("haby", f"+{CONTACT}", PDF, "p.pdf", "application/pdf")
    assert unsure.value.text.key in {"outgoing.unconfirmed", "outgoing.not_taken"}
    without_store = Conversations(env.db, env.sender, env.bus)
    with pytest.raises(InvalidInput) as off:
        await without_store.reply_media("haby", f"+{CONTACT}", PDF, "p.pdf", "application/pdf")
    assert off.value.text.key == "attach.no_store"


async def test_forget_deletes_the_contacts_files_but_not_one_another_contact_has(
    env: Env, tmp_path: Path
) -> None:
    store = MediaStore(tmp_path / "media")
    conversations = Conversations(env.db, env.sender, env.bus, media=store)
    other = "5491155550001"
    flyer = b"\xff\xd8\xff\xe0 el flyer de la feria"
    for phone in (CONTACT, other):
        await env.inbound("hola", sender=phone)
    await env.listener.run_until_idle()
    await conversations.reply_media("haby", f"+{CONTACT}", PDF, "precios.pdf", "application/pdf")
    for phone in (CONTACT, other):
        await conversations.reply_media("haby", f"+{phone}", flyer, "feria.jpg", "image/jpeg")
    pdf_sha, flyer_sha = hashlib.sha256(PDF).hexdigest(), hashlib.sha256(flyer).hexdigest()
    assert store.exists(pdf_sha) and store.exists(flyer_sha)

    await conversations.forget("haby", f"+{CONTACT}")
    assert not store.exists(pdf_sha), "the forgotten contact's file went with it"
    assert store.exists(flyer_sha), "the other contact's copy of the flyer stays"
    [(_message, data)] = await conversations.media_of("haby", f"+{other}")
    assert data == flyer
