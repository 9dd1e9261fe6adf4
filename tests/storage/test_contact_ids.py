"""Contacts by phone and LID (SQLite and MariaDB): a LID-only contact is kept, then merged into
the phone's contact once WhatsApp tells both; receipts match by the key's own id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database, NotFound
from storage.records import (
    Campaign,
    Client,
    ContactInput,
    Direction,
    MessageStatus,
    NewMessage,
    Origin,
    RecipientState,
    WaIdentity,
)
from storage.repos import CampaignRepo, ClientRepo, ContactRepo, MessageRepo, SessionRepo

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
PHONE = "5491112345678"
LID = "123456789012345@lid"


async def _client(db: Database) -> Client:
    return await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")


async def test_a_lid_only_contact_is_merged_into_the_phone_it_turns_out_to_be(
    db: Database,
) -> None:
    client = await _client(db)
    session = await SessionRepo(db).add(client.id, "main")
    contacts, messages = ContactRepo(db), MessageRepo(db)
    await contacts.upsert_many(client.id, [ContactInput(PHONE, "Ana", ("feria",), {"b": "1"})])
    prospect = await contacts.get(client.id, PHONE)

    stranger = await contacts.resolve(client.id, WaIdentity(lid=LID), name="Ani")
    assert stranger.id != prospect.id and stranger.phone is None and stranger.lid == LID
    assert stranger.label == "lid:123456789012345"
    await messages.add(
        NewMessage(
            client.id,
            stranger.id,
            Direction.IN,
            Origin.CONTACT,
            "BAJA",
            T0,
            session_id=session.id,
            wa_message_id=f"false_{LID}_AAA",
        )
    )
    await contacts.set_opted_out(stranger.id, T0)
    await contacts.pause_ai(stranger.id, T0 + timedelta(hours=1))

    merged = await contacts.resolve(
        client.id, WaIdentity(phone=PHONE, wa_id=f"{PHONE}@c.us", lid=LID)
    )
    assert merged.id == prospect.id, "the imported phone keeps its contact"
    assert (merged.phone, merged.lid, merged.wa_id) == (PHONE, LID, f"{PHONE}@c.us")
    assert merged.opted_out_at == T0, "the STOP sent from the LID opts out the phone"
    assert merged.ai_paused_until == T0 + timedelta(hours=1)
    assert (merged.name, merged.tags, merged.fields) == ("Ana", ("feria",), {"b": "1"})
    assert [m.body for m in await messages.conversation(prospect.id)] == ["BAJA"]
    with pytest.raises(NotFound):
        await contacts.get_by_id(stranger.id)
    assert (await contacts.get_by_lid(client.id, LID)).id == prospect.id
    assert await contacts.count(client.id) == 1


async def test_learning_a_prospects_lid_from_the_number_check(db: Database) -> None:
    client = await _client(db)
    contacts = ContactRepo(db)
    await contacts.upsert_many(client.id, [ContactInput(PHONE)])
    prospect = await contacts.get(client.id, PHONE)
    learned = await contacts.learn_ids(prospect.id, wa_id=f"{PHONE}@c.us", lid=LID)
    assert (learned.id, learned.lid) == (prospect.id, LID)
    # Later the prospect writes from the LID and WhatsApp does not say the phone: same contact.
    again = await contacts.resolve(client.id, WaIdentity(lid=LID))
    assert again.id == prospect.id and again.phone == PHONE


async def test_the_number_check_merges_a_lid_that_wrote_first(db: Database) -> None:
    client = await _client(db)
    contacts = ContactRepo(db)
    await contacts.upsert_many(client.id, [ContactInput(PHONE)])
    prospect = await contacts.get(client.id, PHONE)
    early = await contacts.resolve(client.id, WaIdentity(lid=LID))
    await contacts.set_opted_out(early.id, T0)
    learned = await contacts.learn_ids(prospect.id, wa_id=f"{PHONE}@c.us", lid=LID)
    assert learned.id == prospect.id and learned.opted_out_at == T0
    assert await contacts.count(client.id) == 1


async def test_a_lid_that_moves_to_another_phone_follows_it(db: Database) -> None:
    client = await _client(db)
    contacts = ContactRepo(db)
    old = await contacts.resolve(client.id, WaIdentity(phone=PHONE, lid=LID))
    other = "5491187654321"
    new = await contacts.resolve(client.id, WaIdentity(phone=other, lid=LID))
    assert new.id != old.id and new.lid == LID
    assert (await contacts.get(client.id, PHONE)).lid is None, "one LID, one contact"


async def test_receipts_match_the_key_whichever_form_of_the_chat_they_name(db: Database) -> None:
    client = await _client(db)
    session = await SessionRepo(db).add(client.id, "main")
    contacts, messages, campaigns = ContactRepo(db), MessageRepo(db), CampaignRepo(db)
    await contacts.upsert_many(client.id, [ContactInput(PHONE)])
    contact = await contacts.get(client.id, PHONE)
    campaign: Campaign = await campaigns.create(client.id, session.id, "c", "hola", {"all": True})
    await campaigns.materialize(campaign)
    recipient = await campaigns.next_queued(campaign.id)
    assert recipient is not None
    assert await campaigns.mark_sending(recipient.id, "hola")
    sent_id = f"true_{LID}_3EB0AABBCC"  # WA-JS resolved the @c.us address to the @lid chat
    await campaigns.record_sent(
        recipient.id,
        NewMessage(
            client.id,
            contact.id,
            Direction.OUT,
            Origin.CAMPAIGN,
            "hola",
            T0,
            session_id=session.id,
            wa_message_id=sent_id,
            status=MessageStatus.SENT,
            campaign_id=campaign.id,
        ),
    )
    receipt = f"true_{PHONE}@c.us_3EB0AABBCC"
    assert await messages.advance_status(session.id, receipt, MessageStatus.DELIVERED)
    assert await campaigns.advance_by_message(receipt, RecipientState.READ)
    assert [m.status for m in await messages.conversation(contact.id)] == [MessageStatus.DELIVERED]
    assert [r.state async for r in campaigns.recipients(campaign.id)] == [RecipientState.READ]


async def test_an_echo_with_the_other_form_of_the_chat_is_stored_once(db: Database) -> None:
    client = await _client(db)
    session = await SessionRepo(db).add(client.id, "main")
    contact = await ContactRepo(db).resolve(client.id, WaIdentity(phone=PHONE, lid=LID))
    messages = MessageRepo(db)

    def message(wa_id: str) -> NewMessage:
        return NewMessage(
            client.id,
            contact.id,
            Direction.OUT,
            Origin.PHONE,
            "hola",
            T0,
            session_id=session.id,
            wa_message_id=wa_id,
            status=MessageStatus.SENT,
        )

    assert await messages.add(message(f"true_{LID}_ECHO1")) is not None
    assert await messages.add(message(f"true_{PHONE}@c.us_ECHO1")) is None
