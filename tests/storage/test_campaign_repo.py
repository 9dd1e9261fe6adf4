"""Campaign recipients: selection, the at-most-once transitions, receipts, replies, counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.records import (
    AudienceSize,
    CampaignStatus,
    ContactInput,
    Direction,
    MessageStatus,
    NewMessage,
    Origin,
    Recipient,
    RecipientState,
)
from storage.repos import CampaignRepo, ClientRepo, ContactRepo, SessionRepo

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _message(recipient: Recipient, wa_id: str, at: datetime, ids: tuple[int, int]) -> NewMessage:
    return NewMessage(
        ids[0],
        recipient.contact_id,
        Direction.OUT,
        Origin.CAMPAIGN,
        "Hola",
        at,
        session_id=ids[1],
        wa_message_id=wa_id,
        status=MessageStatus.SENT,
        campaign_id=recipient.campaign_id,
    )


async def _setup(db: Database) -> tuple[int, int]:
    client = await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    session = await SessionRepo(db).add(client.id, "main")
    await ContactRepo(db).upsert_many(
        client.id,
        [
            ContactInput("5491100000001", "Ana", ("feria",), {"ciudad": "Rosario"}),
            ContactInput("5491100000002", "Beto", ("feria",), {"ciudad": "rosario"}),
            ContactInput("5491100000003", "Caro", (), {"ciudad": "Córdoba"}),
        ],
    )
    return client.id, session.id


async def test_selection_and_idempotent_materialize(db: Database) -> None:
    client_id, session_id = await _setup(db)
    repo = CampaignRepo(db)
    by_tag = await repo.create(client_id, session_id, "feria", "Hola {name}", {"tag": "feria"})
    assert await repo.materialize(by_tag) == 2
    assert await repo.materialize(by_tag) == 0, "UNIQUE (campaign, contact): never twice"
    by_field = await repo.create(
        client_id, session_id, "ros", "Hola", {"field": "ciudad", "value": "ROSARIO"}
    )
    assert await repo.materialize(by_field) == 2
    everyone = await repo.create(client_id, session_id, "all", "Hola", {"all": True})
    assert await repo.materialize(everyone) == 3
    assert (await repo.counts(everyone.id))["queued"] == 3


async def test_the_audience_of_a_selection(db: Database) -> None:
    client_id, _session_id = await _setup(db)
    contacts = ContactRepo(db)
    beto = await contacts.get(client_id, "5491100000002")
    await contacts.set_opted_out(beto.id, T0)
    rosario = {"field": "ciudad", "value": "ROSARIO"}
    assert [c.name for c in await contacts.audience(client_id, rosario)] == ["Ana", "Beto"]
    first = await contacts.audience(client_id, {"all": True}, limit=1)
    assert [(c.name, c.tags) for c in first] == [("Ana", ("feria",))]
    assert await contacts.audience_size(client_id, {"tag": "feria"}) == AudienceSize(2, 1)
    assert await contacts.audience_size(client_id, {"tag": "nadie"}) == AudienceSize(0, 0)


async def test_at_most_once_transitions_and_recovery(db: Database) -> None:
    client_id, session_id = await _setup(db)
    repo = CampaignRepo(db)
    campaign = await repo.create(client_id, session_id, "c", "Hola", {"all": True})
    await repo.materialize(campaign)
    await repo.set_status(campaign.id, CampaignStatus.RUNNING)

    first = await repo.next_queued(campaign.id)
    assert first is not None and first.name == "Ana"
    assert await repo.mark_sending(first.id, "Hola Ana")
    assert not await repo.mark_sending(first.id, "Hola Ana"), "only a queued row can start sending"
    assert await repo.record_sent(first.id, _message(first, "WA1", T0, (client_id, session_id)))

    second = await repo.next_queued(campaign.id)
    assert second is not None and second.name == "Beto"
    assert await repo.mark_sending(second.id, "Hola Beto")
    # The process dies here. On restart:
    assert await repo.stale_sending_to_unknown() == {campaign.id: 1}
    third = await repo.next_queued(campaign.id)
    assert third is not None and third.name == "Caro", "an interrupted row is never queued again"
    assert not await repo.record_sent(
        second.id, _message(second, "WA2", T0, (client_id, session_id))
    ), "unknown stays unknown"

    assert await repo.advance_by_message("WA1", RecipientState.READ)
    assert not await repo.advance_by_message("WA1", RecipientState.DELIVERED), "never back"
    assert await repo.link_reply(first.contact_id, T0 + timedelta(minutes=5)) == 1
    assert await repo.skip(third.id, "opted_out")
    counts = await repo.counts(campaign.id)
    assert counts == {"read": 1, "unknown": 1, "skipped": 1, "skipped:opted_out": 1, "replied": 1}
    rows = [r async for r in repo.recipients(campaign.id, batch=2)]
    assert [(r.name, r.state) for r in rows] == [
        ("Ana", RecipientState.READ),
        ("Beto", RecipientState.UNKNOWN),
        ("Caro", RecipientState.SKIPPED),
    ]
    assert await repo.sends_since(session_id, T0 - timedelta(hours=1)) == [T0]
