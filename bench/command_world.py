"""The data of bench/command_latency.py: a database filled with N messages over two clients.

Bulk core inserts in batches of 10,000, messages interleaved across contacts in time order as
real traffic is, with tags and campaign links, so the commands read realistic tables.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from storage.db import Database
from storage.models import Base, ContactRow, ContactTagRow, MessageRow
from storage.repos import ClientRepo, SessionRepo

CLIENTS = ("haby", "marketing")
AI_CLIENT = "marketing"  # AI answers its chats: only 1 % of them wait for an answer

BATCH = 10_000
TAGS = ("feria", "web", "instagram", "referido", "2025", "mayorista")
BODIES_IN = (
    "hola, ¿tienen turno para el martes?",
    "gracias! nos vemos",
    "¿cuánto sale la instalación completa?",
    "ok perfecto",
    "me interesa, quiero comprar dos",
    "¿hacen envíos al interior?",
    "buenas tardes, ¿siguen abiertos?",
)
BODIES_OUT = (
    "¡Hola! Sí, tenemos turnos de 9 a 18. ¿Qué día te queda mejor?",
    "Gracias a vos, cualquier cosa escribinos.",
    "La instalación completa sale $120.000 con materiales incluidos.",
    "Te esperamos el martes a las 10.",
    "Novedades de noviembre: 20% off en toda la tienda.",
)


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class World:
    """What the fill created: client ids, and the contacts (id, phone) of each client."""

    client_ids: dict[str, int]
    phones: dict[str, list[str]]


async def fill(db: Database, messages: int, contacts: int, seed: int = 7) -> World:
    """Clients, sessions, contacts with tags, and `messages` messages in time order, spread
    over the last 180 days and interleaved across contacts as real traffic is."""
    rng = random.Random(seed)
    client_ids: dict[str, int] = {}
    session_ids: dict[int, int] = {}
    for slug in CLIENTS:
        client = await ClientRepo(db).add(
            slug, slug.title(), "AR", "America/Argentina/Buenos_Aires"
        )
        client_ids[slug] = client.id
        session_ids[client.id] = (await SessionRepo(db).add(client.id, "main")).id
    per_client = contacts // len(CLIENTS)
    owner = [client_ids[CLIENTS[min(n // per_client, len(CLIENTS) - 1)]] for n in range(contacts)]
    phones = [f"549115{n:07d}" for n in range(contacts)]
    now = datetime.now(UTC)
    contact_rows: Iterator[dict[str, Any]] = (
        {
            "id": n + 1,
            "client_id": owner[n],
            "phone": phones[n],
            "name": f"Contacto {n}" if n % 3 else None,
            "fields": {},
            "created_at": now - timedelta(days=200),
            "updated_at": now - timedelta(days=200),
        }
        for n in range(contacts)
    )
    tag_rows: Iterator[dict[str, Any]] = (
        {"contact_id": n + 1, "tag": tag}
        for n in range(contacts)
        for tag in rng.sample(TAGS, 1 + n % 2)
    )
    start = now - timedelta(days=180)
    step = timedelta(days=180) / max(messages, 1)
    writer = array("i", (rng.randrange(contacts) for _ in range(messages)))
    last_of = {contact: n for n, contact in enumerate(writer)}
    ai_client = client_ids[AI_CLIENT]

    def message_rows() -> Iterator[dict[str, Any]]:
        for n, contact in enumerate(writer):
            incoming = rng.random() < 0.55
            if last_of[contact] == n and owner[contact] == ai_client:
                # With AI on, a chat's last word is nearly always the reply.
                incoming = contact % 100 == 0
            intent = None
            if incoming:
                roll = rng.random()
                intent = "hot_lead" if roll < 0.005 else "question" if roll < 0.35 else "other"
            yield {
                "client_id": owner[contact],
                "session_id": session_ids[owner[contact]],
                "contact_id": contact + 1,
                "direction": "in" if incoming else "out",
                "origin": "contact"
                if incoming
                else rng.choice(("ai", "ai", "operator", "campaign")),
                "wa_message_id": f"3EB0{n:016X}",
                "body": rng.choice(BODIES_IN if incoming else BODIES_OUT),
                "type": "chat",
                "status": "received" if incoming else "read",
                "intent": intent,
                "campaign_id": None,
                "sent_at": start + n * step,
                "stored_at": start + n * step,
            }

    tables: tuple[tuple[type[Base], Iterator[dict[str, Any]]], ...] = (
        (ContactRow, contact_rows),
        (ContactTagRow, tag_rows),
        (MessageRow, message_rows()),
    )
    for table, rows in tables:
        for batch in _batches(rows):
            async with db.engine.begin() as connection:
                await connection.execute(insert(table), batch)
    async with db.engine.begin() as connection:
        # What MessageRepo.add keeps up to date on every stored message.
        await connection.execute(
            text(
                "UPDATE contacts SET last_message_at = (SELECT MAX(m.sent_at) FROM messages m"
                " WHERE m.contact_id = contacts.id)"
            )
        )
    return World(
        client_ids,
        {
            slug: [phones[n] for n in range(contacts) if owner[n] == cid]
            for slug, cid in client_ids.items()
        },
    )
